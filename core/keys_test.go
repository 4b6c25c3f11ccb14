package core_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/golang-jwt/jwt/v5"
)

// TestKeyConstructorsRefuseWeakKeys: short HMAC secrets (RFC 7518 §3.2, CVE-2023-22463),
// small RSA moduli and unsupported keys are configuration errors.
func TestKeyConstructorsRefuseWeakKeys(t *testing.T) {
	rsa1024 := must(rsa.GenerateKey(rand.Reader, 1024))
	p384 := must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	cases := []struct {
		name string
		key  func() (*core.Key, error)
		ok   bool
	}{
		{"HS256 nil secret", func() (*core.Key, error) { return core.KeyFromSecret("", core.HS256, nil) }, false},
		{"HS256 empty secret", func() (*core.Key, error) { return core.KeyFromSecret("", core.HS256, []byte{}) }, false},
		{"HS256 31-byte secret", func() (*core.Key, error) { return core.KeyFromSecret("", core.HS256, make([]byte, 31)) }, false},
		{"HS256 32-byte secret", func() (*core.Key, error) { return core.KeyFromSecret("", core.HS256, make([]byte, 32)) }, true},
		{"HS384 32-byte secret", func() (*core.Key, error) { return core.KeyFromSecret("", core.HS384, make([]byte, 32)) }, false},
		{"HS384 47-byte secret", func() (*core.Key, error) { return core.KeyFromSecret("", core.HS384, make([]byte, 47)) }, false},
		{"HS384 48-byte secret", func() (*core.Key, error) { return core.KeyFromSecret("", core.HS384, make([]byte, 48)) }, true},
		{"HS512 63-byte secret", func() (*core.Key, error) { return core.KeyFromSecret("", core.HS512, make([]byte, 63)) }, false},
		{"HS512 64-byte secret", func() (*core.Key, error) { return core.KeyFromSecret("", core.HS512, make([]byte, 64)) }, true},
		{"HMAC key for RS256", func() (*core.Key, error) { return core.KeyFromSecret("", core.RS256, make([]byte, 64)) }, false},
		{"HMAC key for none", func() (*core.Key, error) { return core.KeyFromSecret("", "none", make([]byte, 64)) }, false},
		{"HMAC key without algorithm", func() (*core.Key, error) { return core.KeyFromSecret("", "", make([]byte, 64)) }, false},
		{"HMAC kid of 129 bytes", func() (*core.Key, error) { return core.KeyFromSecret(strings.Repeat("k", 129), core.HS256, hsSecret) }, false},
		{"RSA 1024 private key", func() (*core.Key, error) { return core.KeyFromSigner("", rsa1024) }, false},
		{"RSA 1024 public key", func() (*core.Key, error) { return core.KeyFromPublicKey("", &rsa1024.PublicKey) }, false},
		{"RSA 2048 private key", func() (*core.Key, error) { return core.KeyFromSigner("", rsaPriv()) }, true},
		{"ECDSA P-384 private key", func() (*core.Key, error) { return core.KeyFromSigner("", p384) }, false},
		{"ECDSA P-384 public key", func() (*core.Key, error) { return core.KeyFromPublicKey("", &p384.PublicKey) }, false},
		{"Ed25519 public key of 31 bytes", func() (*core.Key, error) { return core.KeyFromPublicKey("", ed25519.PublicKey(make([]byte, 31))) }, false},
		{"nil private key", func() (*core.Key, error) { return core.KeyFromSigner("", nil) }, false},
		{"nil public key", func() (*core.Key, error) { return core.KeyFromPublicKey("", nil) }, false},
		{"HMAC secret as a public key", func() (*core.Key, error) { return core.KeyFromPublicKey("", hsSecret) }, false},
		{"GenerateKey none", func() (*core.Key, error) { return core.GenerateKey("none") }, false},
		{"GenerateKey PS256", func() (*core.Key, error) { return core.GenerateKey("PS256") }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.key()
			if tc.ok {
				if err != nil || k == nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantIs(t, "constructor", err, core.ErrConfig)
			if k != nil {
				t.Errorf("returned a key with the error")
			}
		})
	}
}

// TestNewRefusesBadConfig: New never starts with a configuration it cannot honour, and
// never falls back to a default key.
func TestNewRefusesBadConfig(t *testing.T) {
	pubOnly := pubKey(t, "pub", &ecPriv().PublicKey)
	otherHS := must(core.KeyFromSecret("hs-1", core.HS256, bytes.Repeat([]byte{7}, 32)))
	cases := []struct {
		name  string
		store func() core.Store
		opts  []core.Option
		ok    bool
	}{
		{"nil store", func() core.Store { return nil }, nil, false},
		{"WithHMACSecret(nil)", nil, []core.Option{core.WithHMACSecret(nil)}, false},
		{"WithHMACSecret(empty)", nil, []core.Option{core.WithHMACSecret([]byte{})}, false},
		{"WithHMACSecret(31 bytes)", nil, []core.Option{core.WithHMACSecret(make([]byte, 31))}, false},
		{"WithHMACSecret(32 bytes)", nil, []core.Option{core.WithHMACSecret(bytes.Repeat([]byte{1}, 32))}, true},
		{"WithSigningKey(nil)", nil, []core.Option{core.WithSigningKey(nil)}, false},
		{"WithSigningKey(public key only)", nil, []core.Option{core.WithSigningKey(pubOnly)}, false},
		{"WithSigningKey(zero Key)", nil, []core.Option{core.WithSigningKey(&core.Key{})}, false},
		{"WithVerificationKeys(nil)", nil, []core.Option{core.WithVerificationKeys(nil)}, false},
		{"WithVerificationKeys(zero Key)", nil, []core.Option{core.WithVerificationKeys(&core.Key{})}, false},
		{"two keys with one kid", nil, []core.Option{core.WithSigningKey(hsKey(t)), core.WithVerificationKeys(otherHS)}, false},
		{"WithAlgorithm(none)", nil, []core.Option{core.WithAlgorithm("none")}, false},
		{"WithAlgorithm(RS512)", nil, []core.Option{core.WithAlgorithm("RS512")}, false},
		{"WithAlgorithm(empty)", nil, []core.Option{core.WithAlgorithm("")}, false},
		{"WithLeeway(-1s)", nil, []core.Option{core.WithLeeway(-time.Second)}, false},
		{"WithLeeway(MaxLeeway)", nil, []core.Option{core.WithLeeway(core.MaxLeeway)}, true},
		{"WithLeeway(MaxLeeway+1ns)", nil, []core.Option{core.WithLeeway(core.MaxLeeway + 1)}, false},
		{"WithRefreshGrace(-1s)", nil, []core.Option{core.WithRefreshGrace(-time.Second)}, false},
		{"WithRefreshGrace(MaxGrace)", nil, []core.Option{core.WithRefreshGrace(core.MaxGrace)}, true},
		{"WithRefreshGrace(MaxGrace+1ns)", nil, []core.Option{core.WithRefreshGrace(core.MaxGrace + 1)}, false},
		{"WithRefreshGrace(1h)", nil, []core.Option{core.WithRefreshGrace(time.Hour)}, false},
		{"WithClock(nil)", nil, []core.Option{core.WithClock(nil)}, false},
		{"WithIssuer(empty)", nil, []core.Option{core.WithIssuer("")}, false},
		{"WithAudience(empty)", nil, []core.Option{core.WithAudience("")}, false},
		{"WithAudience(the refresh audience)", nil, []core.Option{core.WithAudience(testIssuer + "#refresh")}, false},
		{"WithAccessTTL(0)", nil, []core.Option{core.WithAccessTTL(0)}, false},
		{"WithRefreshTTL(0)", nil, []core.Option{core.WithRefreshTTL(0)}, false},
		{"WithIdleTimeout(-1s)", nil, []core.Option{core.WithIdleTimeout(-time.Second)}, false},
		{"idle timeout shorter than the access TTL", nil, []core.Option{core.WithIdleTimeout(5 * time.Minute)}, false},
		{"WithLogger(nil)", nil, []core.Option{core.WithLogger(nil)}, false},
		// Options that each choose the signing key contradict each other.
		{"WithSigningKey and WithAlgorithm", nil, []core.Option{core.WithSigningKey(hsKey(t)), core.WithAlgorithm(core.ES256)}, false},
		{"WithAlgorithm and WithHMACSecret", nil, []core.Option{core.WithAlgorithm(core.HS256), core.WithHMACSecret(hsSecret)}, false},
		{"WithHMACSecret and WithSigningKey", nil, []core.Option{core.WithHMACSecret(hsSecret), core.WithSigningKey(hsKey(t))}, false},
		{"WithSigningKey twice", nil, []core.Option{core.WithSigningKey(hsKey(t)), core.WithSigningKey(otherHS)}, true},
		{"WithAlgorithm twice", nil, []core.Option{core.WithAlgorithm(core.ES256), core.WithAlgorithm(core.EdDSA)}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var store core.Store = memstore.New()
			if tc.store != nil {
				store = tc.store()
			}
			opts := append([]core.Option{core.WithIssuer(testIssuer)}, tc.opts...)
			a, err := core.New(store, opts...)
			if tc.ok {
				if err != nil || a == nil {
					t.Fatalf("New refused: %v", err)
				}
				return
			}
			wantIs(t, "New", err, core.ErrConfig)
			if a != nil {
				t.Errorf("New returned an Auth with the error")
			}
		})
	}
}

// TestNoBuiltInDefaultKey: without a key New generates one per store, so two stores
// never share a key by accident.
func TestNoBuiltInDefaultKey(t *testing.T) {
	clk := newClock()
	a1 := must(core.New(memstore.New(), core.WithClock(clk.Now)))
	a2 := must(core.New(memstore.New(), core.WithClock(clk.Now)))
	tok := must(a1.Issue(context.Background(), alice, core.Client{}))
	_, err := a2.Authenticate(context.Background(), tok.AccessToken)
	wantIs(t, "Authenticate on another store's instance", err, core.ErrInvalidToken, core.ErrUnknownKey)
}

// TestEveryAlgorithm signs in, authenticates and refreshes with each algorithm.
func TestEveryAlgorithm(t *testing.T) {
	for _, k := range algKeys(t) {
		t.Run(string(k.alg), func(t *testing.T) {
			e := newEnv(t, core.WithSigningKey(k.key))
			tok := e.issue(alice)
			if h := headerOf(t, tok.AccessToken); h["alg"] != string(k.alg) || h["kid"] != k.key.ID() || h["typ"] != "at+jwt" {
				t.Errorf("header %v", h)
			}
			if c := e.mustAuth(tok.AccessToken); c.Subject != alice.Subject {
				t.Errorf("subject %q", c.Subject)
			}
			next := e.mustRefresh(tok.RefreshToken)
			e.mustAuth(next.AccessToken)
			wantIs(t, "Authenticate(refresh token)", e.authErr(next.RefreshToken), core.ErrInvalidToken, core.ErrWrongTokenType)
			if k.key.Algorithm() != k.alg {
				t.Errorf("Algorithm() = %q", k.key.Algorithm())
			}
		})
	}
}

// TestBigRSAKeys: every RSA key New accepts must also verify what it signs.
func TestBigRSAKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("RSA key generation is slow")
	}
	for _, bits := range []int{3072, 4096, 4104} {
		t.Run(big.NewInt(int64(bits)).String(), func(t *testing.T) {
			priv := must(rsa.GenerateKey(rand.Reader, bits))
			k, err := core.KeyFromSigner("", priv)
			if err != nil {
				t.Skipf("PrivateKey refuses %d bits: %v", bits, err)
			}
			e := newEnv(t, core.WithSigningKey(k))
			tok := e.issue(alice)
			e.mustAuth(tok.AccessToken)
		})
	}
}

// TestInteropGolangJWT: what gatehouse mints verifies with golang-jwt's strictest
// options, for every algorithm, access and refresh tokens alike.
func TestInteropGolangJWT(t *testing.T) {
	for _, k := range algKeys(t) {
		t.Run(string(k.alg), func(t *testing.T) {
			e := newEnv(t, core.WithSigningKey(k.key))
			e.clock.Add(1234 * time.Millisecond)
			tok := e.issue(alice)
			parse := func(token, aud string) (*jwt.Token, error) {
				return jwt.Parse(token, func(*jwt.Token) (any, error) { return k.verify, nil },
					jwt.WithValidMethods([]string{string(k.alg)}),
					jwt.WithExpirationRequired(),
					jwt.WithIssuer(testIssuer),
					jwt.WithAudience(aud),
					jwt.WithStrictDecoding(),
					jwt.WithIssuedAt(),
					jwt.WithTimeFunc(e.clock.Now),
				)
			}
			at, err := parse(tok.AccessToken, testAudience)
			if err != nil {
				t.Fatalf("golang-jwt refuses the access token: %v", err)
			}
			if at.Header["typ"] != "at+jwt" || at.Header["kid"] != k.key.ID() {
				t.Errorf("access header %v", at.Header)
			}
			mc := at.Claims.(jwt.MapClaims)
			if sub, _ := mc.GetSubject(); sub != alice.Subject || mc["sid"] != tok.Session.ID || mc["jti"] == nil || mc["email"] != alice.Email {
				t.Errorf("access claims %v", mc)
			}
			if exp, _ := mc.GetExpirationTime(); exp == nil || !exp.Time.Equal(tok.AccessExpiresAt) {
				t.Errorf("exp %v, want %v", exp, tok.AccessExpiresAt)
			}
			rt, err := parse(tok.RefreshToken, testIssuer+"#refresh")
			if err != nil {
				t.Fatalf("golang-jwt refuses the refresh token: %v", err)
			}
			if rt.Header["typ"] == "at+jwt" {
				t.Errorf("refresh header %v", rt.Header)
			}
			// The options bite: the refresh token is not for the API audience, and the
			// access token is dead at its exp.
			if _, err := parse(tok.RefreshToken, testAudience); !errors.Is(err, jwt.ErrTokenInvalidAudience) {
				t.Errorf("golang-jwt accepted the refresh token for the API audience: %v", err)
			}
			e.clock.Set(tok.AccessExpiresAt)
			if _, err := parse(tok.AccessToken, testAudience); !errors.Is(err, jwt.ErrTokenExpired) {
				t.Errorf("golang-jwt accepted the access token at exp: %v", err)
			}
		})
	}
}

// TestKeyRotation: sign with a new key while the old one still verifies; drop the old
// key and its tokens are refused.
func TestKeyRotation(t *testing.T) {
	rotations := []struct {
		name     string
		old, new *core.Key
	}{
		{"HS256 to HS256", must(core.KeyFromSecret("2025-01", core.HS256, bytes.Repeat([]byte{1}, 32))),
			must(core.KeyFromSecret("2025-02", core.HS256, bytes.Repeat([]byte{2}, 32)))},
		{"ES256 to EdDSA", privKey(t, "", ecPriv()), privKey(t, "", edPriv())},
		{"HS256 to RS256", hsKey(t), privKey(t, "rs-new", rsaPriv())},
	}
	for _, r := range rotations {
		t.Run(r.name, func(t *testing.T) {
			store := memstore.New()
			clk := newClock()
			newAuth := func(opts ...core.Option) *core.Auth {
				return must(core.New(store, append([]core.Option{core.WithClock(clk.Now), core.WithIssuer(testIssuer)}, opts...)...))
			}
			ctx := context.Background()
			before := newAuth(core.WithSigningKey(r.old))
			oldTok := must(before.Issue(ctx, alice, core.Client{}))

			rotated := newAuth(core.WithSigningKey(r.new), core.WithVerificationKeys(r.old))
			if _, err := rotated.Authenticate(ctx, oldTok.AccessToken); err != nil {
				t.Fatalf("old access token refused after rotation: %v", err)
			}
			newTok := must(rotated.Issue(ctx, bob, core.Client{}))
			if kid := headerOf(t, newTok.AccessToken)["kid"]; kid != r.new.ID() {
				t.Errorf("new token kid %v, want %q", kid, r.new.ID())
			}
			refreshed, err := rotated.Refresh(ctx, oldTok.RefreshToken)
			if err != nil {
				t.Fatalf("old refresh token refused after rotation: %v", err)
			}
			if kid := headerOf(t, refreshed.AccessToken)["kid"]; kid != r.new.ID() {
				t.Errorf("refreshed token kid %v, want %q", kid, r.new.ID())
			}
			if kid := headerOf(t, refreshed.RefreshToken)["kid"]; kid != r.new.ID() {
				t.Errorf("refreshed refresh token kid %v, want %q", kid, r.new.ID())
			}

			after := newAuth(core.WithSigningKey(r.new))
			_, err = after.Authenticate(ctx, oldTok.AccessToken)
			wantIs(t, "old token after the old key is dropped", err, core.ErrInvalidToken, core.ErrUnknownKey)
			for _, tok := range []string{newTok.AccessToken, refreshed.AccessToken} {
				if _, err := after.Authenticate(ctx, tok); err != nil {
					t.Errorf("new token refused: %v", err)
				}
			}
			// Never the other way round: the old instance does not know the new key.
			_, err = before.Authenticate(ctx, newTok.AccessToken)
			wantIs(t, "new token on an instance without the new key", err, core.ErrInvalidToken, core.ErrUnknownKey)
		})
	}
}

// TestVerifyOnlyInstance: an instance holding only the public key verifies and refreshes
// what the signing instance issued, and signs what it mints with its own key.
func TestVerifyOnlyInstance(t *testing.T) {
	store := memstore.New()
	clk := newClock()
	ctx := context.Background()
	signer := must(core.New(store, core.WithClock(clk.Now), core.WithSigningKey(privKey(t, "es-1", ecPriv()))))
	verifier := must(core.New(store, core.WithClock(clk.Now), core.WithSigningKey(hsKey(t)),
		core.WithVerificationKeys(pubKey(t, "es-1", &ecPriv().PublicKey))))
	tok := must(signer.Issue(ctx, alice, core.Client{}))
	if _, err := verifier.Authenticate(ctx, tok.AccessToken); err != nil {
		t.Fatalf("verifier refuses: %v", err)
	}
	next, err := verifier.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatalf("verifier cannot refresh: %v", err)
	}
	if kid := headerOf(t, next.AccessToken)["kid"]; kid != "hs-1" {
		t.Errorf("kid %v", kid)
	}
}

// TestGeneratedKeyPersisted: without a key, New generates one and keeps it in the store;
// a second Auth over the same store reads it, and both agree on every token.
func TestGeneratedKeyPersisted(t *testing.T) {
	algs := []core.Algorithm{"", core.HS256, core.HS384, core.HS512, core.ES256, core.EdDSA, core.RS256}
	for _, alg := range algs {
		name := string(alg)
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			store := newFaultStore(memstore.New())
			clk := newClock()
			ctx := context.Background()
			opts := []core.Option{core.WithClock(clk.Now)}
			if alg != "" {
				opts = append(opts, core.WithAlgorithm(alg))
			}
			first := must(core.New(store, opts...))
			second := must(core.New(store, opts...))
			if n := store.count("LoadOrStoreKey"); n != 2 {
				t.Errorf("LoadOrStoreKey called %d times for two Auths, want 2", n)
			}
			t1 := must(first.Issue(ctx, alice, core.Client{}))
			t2 := must(second.Issue(ctx, bob, core.Client{}))
			want := alg
			if want == "" {
				want = core.HS256
			}
			h1, h2 := headerOf(t, t1.AccessToken), headerOf(t, t2.AccessToken)
			if h1["alg"] != string(want) || h1["kid"] != h2["kid"] || h1["kid"] == "" {
				t.Errorf("headers %v and %v", h1, h2)
			}
			for _, c := range []struct {
				name string
				a    *core.Auth
				tok  string
			}{{"second reads first's token", second, t1.AccessToken}, {"first reads second's token", first, t2.AccessToken}} {
				if _, err := c.a.Authenticate(ctx, c.tok); err != nil {
					t.Errorf("%s: %v", c.name, err)
				}
			}
			if _, err := second.Refresh(ctx, t1.RefreshToken); err != nil {
				t.Errorf("second refreshes first's token: %v", err)
			}
			j1, j2 := must(json.Marshal(first.JWKS())), must(json.Marshal(second.JWKS()))
			if !bytes.Equal(j1, j2) {
				t.Errorf("JWKS differ:\n%s\n%s", j1, j2)
			}

			// A restart over an empty store is another key: the old tokens are refused.
			fresh := must(core.New(memstore.New(), opts...))
			_, err := fresh.Authenticate(ctx, t1.AccessToken)
			wantIs(t, "token on an instance over another store", err, core.ErrInvalidToken)
		})
	}

	t.Run("store failure", func(t *testing.T) {
		store := newFaultStore(memstore.New())
		boom := errors.New("disk on fire")
		store.failOn("LoadOrStoreKey", boom)
		a, err := core.New(store)
		wantIs(t, "New", err, core.ErrStoreUnavailable, boom)
		if a != nil {
			t.Errorf("New returned an Auth with the error")
		}
	})
}

// TestJWKS: the public keys are published, the signing key first; HMAC secrets never.
func TestJWKS(t *testing.T) {
	es := privKey(t, "es-1", ecPriv())
	ed := pubKey(t, "", edPriv().Public())
	rs := pubKey(t, "rs-1", &rsaPriv().PublicKey)
	e := newEnv(t, core.WithSigningKey(es), core.WithVerificationKeys(ed, rs, hsKey(t)))
	set := e.auth.JWKS()
	if len(set.Keys) != 3 {
		t.Fatalf("JWKS has %d keys, want 3: %+v", len(set.Keys), set)
	}
	want := []struct {
		kid, alg, kty string
		pub           crypto.PublicKey
	}{
		{"es-1", string(core.ES256), "EC", &ecPriv().PublicKey},
		{ed.ID(), string(core.EdDSA), "OKP", edPriv().Public()},
		{"rs-1", string(core.RS256), "RSA", &rsaPriv().PublicKey},
	}
	for i, w := range want {
		j := set.Keys[i]
		if j.Kid != w.kid || j.Alg != w.alg || j.Kty != w.kty || j.Use != "sig" {
			t.Errorf("key %d: %+v, want kid %q alg %s kty %s use sig", i, j, w.kid, w.alg, w.kty)
			continue
		}
		if got := jwkPublic(t, j); !got.(interface{ Equal(crypto.PublicKey) bool }).Equal(w.pub) {
			t.Errorf("key %d (%s) is not the configured public key", i, w.alg)
		}
	}
	// An empty kid becomes the RFC 7638 thumbprint.
	if len(ed.ID()) != 43 {
		t.Errorf("derived kid %q is not a SHA-256 thumbprint", ed.ID())
	}

	raw := must(json.Marshal(set))
	var generic struct {
		Keys []map[string]any `json:"keys"`
	}
	must(0, json.Unmarshal(raw, &generic))
	for _, k := range generic.Keys {
		for _, private := range []string{"k", "d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Errorf("JWKS publishes private member %q: %v", private, k)
			}
		}
		if k["kty"] == "oct" {
			t.Errorf("JWKS publishes a symmetric key: %v", k)
		}
	}
	for _, secret := range [][]byte{hsSecret} {
		for _, enc := range []string{rawURL.EncodeToString(secret), string(secret)} {
			if bytes.Contains(raw, []byte(enc)) {
				t.Errorf("JWKS contains the HMAC secret")
			}
		}
	}

	// A token the ES256 key signs verifies with the published key alone.
	tok := e.issue(alice)
	pub := jwkPublic(t, set.Keys[0])
	if _, err := jwt.Parse(tok.AccessToken, func(*jwt.Token) (any, error) { return pub, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(e.clock.Now)); err != nil {
		t.Errorf("token does not verify with the published key: %v", err)
	}

	t.Run("HMAC only", func(t *testing.T) {
		e := newEnv(t)
		raw := must(json.Marshal(e.auth.JWKS()))
		if string(raw) != `{"keys":[]}` {
			t.Errorf("JWKS = %s, want an empty set", raw)
		}
	})
}

// jwkPublic rebuilds the public key a JWK describes.
func jwkPublic(t *testing.T, j core.JWK) crypto.PublicKey {
	t.Helper()
	dec := func(s string) []byte {
		b, err := rawURL.Strict().DecodeString(s)
		if err != nil {
			t.Fatalf("JWK member %q: %v", s, err)
		}
		return b
	}
	switch j.Kty {
	case "EC":
		if j.Crv != "P-256" {
			t.Fatalf("crv %q", j.Crv)
		}
		pt := slices.Concat([]byte{4}, dec(j.X), dec(j.Y))
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
		if err != nil {
			t.Fatalf("EC JWK: %v", err)
		}
		return pub
	case "OKP":
		if j.Crv != "Ed25519" {
			t.Fatalf("crv %q", j.Crv)
		}
		return ed25519.PublicKey(dec(j.X))
	case "RSA":
		return &rsa.PublicKey{N: new(big.Int).SetBytes(dec(j.N)), E: int(new(big.Int).SetBytes(dec(j.E)).Int64())}
	}
	t.Fatalf("kty %q", j.Kty)
	return nil
}
