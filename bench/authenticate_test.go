package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
	"github.com/golang-jwt/jwt/v5"
)

const (
	issuer   = "https://app.example"
	audience = "https://app.example/api"
)

// BenchmarkAuthenticate measures core.Auth.Authenticate, revocation check included, on
// a bbolt store with no revoked entries and with a million, beside golang-jwt's bare
// parse-and-validate of the same token with the same strictness. Compare the ratios
// within one run: the machines are shared and noisy.
func BenchmarkAuthenticate(b *testing.B) {
	hmacKey, err := core.KeyFromSecret("", core.HS256, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edKey, err := core.KeyFromSigner("", edPriv)
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		alg       core.Algorithm
		key       *core.Key
		verifyKey any
	}{
		{core.HS256, hmacKey, []byte("0123456789abcdef0123456789abcdef")},
		{core.EdDSA, edKey, edPriv.Public()},
	}
	// Build both stores before measuring anything, so that the garbage of loading a
	// million entries is not collected during a measurement.
	stores := map[int]*boltstore.Store{}
	for _, revoked := range []int{0, 1_000_000} {
		stores[revoked] = boltWithRevocations(b, revoked)
	}
	runtime.GC()
	for _, tc := range cases {
		b.Run(fmt.Sprintf("golang-jwt/%s", tc.alg), func(b *testing.B) {
			a := newAuth(b, stores[0], tc.key)
			tok := issue(b, a)
			p := jwt.NewParser(
				jwt.WithValidMethods([]string{string(tc.alg)}), jwt.WithExpirationRequired(),
				jwt.WithIssuedAt(), jwt.WithIssuer(issuer), jwt.WithAudience(audience),
				jwt.WithStrictDecoding(),
			)
			keyFunc := func(*jwt.Token) (any, error) { return tc.verifyKey, nil }
			b.ReportAllocs()
			for b.Loop() {
				var c jwtClaims
				if _, err := p.ParseWithClaims(tok, &c, keyFunc); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, revoked := range []int{0, 1_000_000} {
			b.Run(fmt.Sprintf("gatehouse/%s/revoked=%d", tc.alg, revoked), func(b *testing.B) {
				a := newAuth(b, stores[revoked], tc.key)
				tok := issue(b, a)
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := a.Authenticate(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func newAuth(b *testing.B, s *boltstore.Store, k *core.Key) *core.Auth {
	b.Helper()
	a, err := core.New(s, core.WithSigningKey(k), core.WithIssuer(issuer), core.WithAudience(audience))
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// jwtClaims is what a golang-jwt user would decode gatehouse's access token into.
type jwtClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	Email     string `json:"email"`
	Name      string `json:"name"`
}

func issue(b *testing.B, a *core.Auth) string {
	b.Helper()
	t, err := a.Issue(context.Background(), core.Identity{Subject: "https://accounts.google.com|110169484474386276334", Email: "ada@example.com", Name: "Ada Lovelace"}, core.Client{})
	if err != nil {
		b.Fatal(err)
	}
	return t.AccessToken
}

var (
	boltOnce sync.Map // revoked count → *boltstore.Store, built once per process
	benchDir string
	dirOnce  sync.Once
)

// boltWithRevocations returns a bbolt store holding n revoked tokens that expire in a
// day. The file is built once per process, in one temp dir for the whole run.
func boltWithRevocations(b *testing.B, n int) *boltstore.Store {
	b.Helper()
	if s, ok := boltOnce.Load(n); ok {
		return s.(*boltstore.Store)
	}
	dirOnce.Do(func() { benchDir = b.TempDir() })
	s, err := boltstore.Open(filepath.Join(benchDir, fmt.Sprintf("revoked-%d.db", n)), boltstore.WithPurgeInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	exp := time.Now().Add(24 * time.Hour)
	const batch = 50_000
	for i := 0; i < n; i += batch {
		entries := make([]core.Entry, 0, batch)
		for j := i; j < i+batch && j < n; j++ {
			entries = append(entries, core.Entry{Kind: core.EntryRevokedToken, ID: fmt.Sprintf("revoked-%09d", j), Expires: exp})
		}
		if err := s.Import(context.Background(), entries); err != nil {
			b.Fatal(err)
		}
	}
	boltOnce.Store(n, s)
	return s
}
