package core_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// fuzzTarget is an Auth that verifies HS256, HS384, HS512, RS256, ES256 and EdDSA
// tokens, with the tokens genuinely signed for it: the only inputs that may
// authenticate.
//
// The fuzzing engine runs the setup again in each worker process, so a seed must be
// genuine in every process: the keys are fixed (testkeys_test.go) and the seeds are
// signed over fixed claims. Only ES256 signatures differ from process to process, so a
// token counts as genuine when its signed part (header.payload) is one the test signed
// and it is written in the one canonical encoding.
type fuzzTarget struct {
	auth    *core.Auth
	genuine map[string]string // header.payload of a genuine access token → its subject
	refresh map[string]bool   // refresh tokens issued in this process
	seeds   []string
}

type fixedClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Aud string `json:"aud"`
	Exp int64  `json:"exp"`
	Iat int64  `json:"iat"`
	Jti string `json:"jti"`
	Sid string `json:"sid"`
	N   int    `json:"n,omitempty"`
}

func newFuzzTarget(f *testing.F) *fuzzTarget {
	f.Helper()
	clk := newClock()
	store := memstore.New()
	keys := algKeys(f)
	var verify []*core.Key
	for _, k := range keys {
		verify = append(verify, k.key)
	}
	quiet := core.WithLogger(slog.New(slog.DiscardHandler))
	common := []core.Option{core.WithClock(clk.Now), core.WithIssuer(testIssuer), core.WithAudience(testAudience), quiet}
	auth := must(core.New(store, append(common, core.WithSigningKey(hsKey(f)), core.WithVerificationKeys(verify...))...))
	ft := &fuzzTarget{auth: auth, genuine: map[string]string{}, refresh: map[string]bool{}}
	ctx := context.Background()
	for i, k := range keys {
		// The headers gatehouse writes for this key, taken from tokens it issues.
		issuer := must(core.New(store, append(common, core.WithSigningKey(k.key))...))
		issued := must(issuer.Issue(ctx, core.Identity{Subject: "issued-" + string(k.alg)}, core.Client{}))
		ah, _, _ := split(f, issued.AccessToken)
		rh, _, _ := split(f, issued.RefreshToken)
		ft.refresh[issued.RefreshToken] = true

		sub := "user-" + string(k.alg)
		c := fixedClaims{Iss: testIssuer, Sub: sub, Aud: testAudience, Exp: base.Add(time.Hour).Unix(),
			Iat: base.Unix(), Jti: "jti-" + string(k.alg), Sid: "sid-" + string(k.alg), N: i}
		access := forge(ah, seg(c), k.sign)
		c.Aud, c.Jti, c.N = testIssuer+"#refresh", "rjti-"+string(k.alg), 0
		refresh := forge(rh, seg(c), k.sign)
		if _, err := auth.Authenticate(ctx, access); err != nil {
			f.Fatalf("fixed %s token refused: %v", k.alg, err)
		}
		h, p, _ := split(f, access)
		ft.genuine[h+"."+p] = sub
		ft.seeds = append(ft.seeds, access, refresh)
	}
	// A genuine token, revoked.
	ah, _, _ := split(f, must(auth.Issue(ctx, alice, core.Client{})).AccessToken)
	revoked := forge(ah, seg(fixedClaims{Iss: testIssuer, Sub: "revoked", Aud: testAudience,
		Exp: base.Add(time.Hour).Unix(), Iat: base.Unix(), Jti: "jti-revoked", Sid: "sid-revoked"}), hsSigner)
	if err := auth.Revoke(ctx, revoked); err != nil {
		f.Fatal(err)
	}
	h, p, _ := split(f, revoked)
	ft.genuine[h+"."+p] = "revoked"
	ft.seeds = append(ft.seeds, revoked)

	// Near misses of a genuine token, and the usual garbage.
	tok := ft.seeds[0]
	h, p, s := split(f, tok)
	ft.seeds = append(ft.seeds,
		"", ".", "..", "...", "a.b.c", "a.b.c.d.e",
		h+"."+p+".", h+"."+p, h+".."+s, "."+p+"."+s, tok+".x.y",
		forge(hdr("alg", "none", "kid", "HS256-k", "typ", "at+jwt"), p, nil),
		forge(hdr("alg", "HS256", "kid", "../../x", "typ", "at+jwt"), p, hsSigner),
		forge(hdr("alg", "HS256", "kid", "HS256-k", "typ", "JWT"), p, hsSigner),
		forge(hdr("alg", "HS256", "kid", "HS256-k", "typ", "at+jwt", "jwk", map[string]any{"kty": "oct", "k": "AAAA"}), p, hsSigner),
		h+"."+p+"."+pad(s),
		strings.Repeat(".", 64),
		strings.Repeat("A", core.MaxTokenSize+1),
	)
	return ft
}

// canonical reports whether token is three base64url segments written exactly as an
// encoder writes them: no other characters, no padding, no stray bits.
func canonical(token string) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
		b, err := rawURL.Strict().DecodeString(p)
		if err != nil || rawURL.EncodeToString(b) != p {
			return false
		}
	}
	return true
}

// FuzzAuthenticate: whatever the input, Authenticate does not panic, refuses with an
// ErrInvalidToken error, and accepts only a genuine token (not revoked) in its
// canonical encoding, returning that token's subject.
func FuzzAuthenticate(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range ft.seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := ft.auth.Authenticate(context.Background(), token)
		if err != nil {
			if c != nil {
				t.Fatalf("claims returned with error %v", err)
			}
			if !errors.Is(err, core.ErrInvalidToken) || errors.Is(err, core.ErrStoreUnavailable) {
				t.Fatalf("refusal %q is not an invalid_token error", err)
			}
			return
		}
		if !canonical(token) {
			t.Fatalf("authenticated a token that is not in canonical encoding: %q", token)
		}
		i := strings.LastIndexByte(token, '.')
		sub, genuine := ft.genuine[token[:i]]
		if !genuine {
			t.Fatalf("authenticated a token that was never issued: %q", token)
		}
		if c.Subject != sub || sub == "revoked" {
			t.Fatalf("authenticated %q as %q", sub, c.Subject)
		}
	})
}

// FuzzRefresh: Refresh refuses anything but a genuine refresh token with invalid_grant
// or invalid_request, and never panics. A genuine one may be spent by the first input
// that presents it; later presentations are then reuse, also invalid_grant.
func FuzzRefresh(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, s := range ft.seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		tok, err := ft.auth.Refresh(context.Background(), token)
		if err != nil {
			if tok != nil {
				t.Fatalf("tokens returned with error %v", err)
			}
			if !errors.Is(err, core.ErrInvalidGrant) && !errors.Is(err, core.ErrInvalidRequest) || errors.Is(err, core.ErrStoreUnavailable) {
				t.Fatalf("refusal %q is neither invalid_grant nor invalid_request", err)
			}
			return
		}
		if !ft.refresh[token] {
			t.Fatalf("refreshed with a token that was never issued: %q", token)
		}
	})
}

// FuzzCustomClaims: no custom claim, whatever its name and value, changes a registered
// claim of the token it is issued in (SECURITY.md case 42): either Issue refuses it,
// or the token says exactly what it would have said without it.
func FuzzCustomClaims(f *testing.F) {
	for _, name := range []string{"sub", "Sub", "ſub", "ſid", "SID", "exp", "tenant", "\u212aid", "", "a b"} {
		f.Add(name, "victim#1")
	}
	e := newEnv(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, name, value string) {
		id := alice
		id.Claims = map[string]any{name: value}
		tok, err := e.auth.Issue(ctx, id, core.Client{})
		if err != nil {
			if !errors.Is(err, core.ErrConfig) {
				t.Fatalf("Issue: %v", err)
			}
			return
		}
		c, err := e.auth.Authenticate(ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("claim %q=%q: token refused: %v", name, value, err)
		}
		if c.Subject != alice.Subject || c.SessionID != tok.Session.ID || c.Email != alice.Email ||
			c.Name != alice.Name || c.Issuer != testIssuer || !c.ExpiresAt.Equal(tok.AccessExpiresAt) ||
			len(c.Audience) != 1 || c.Audience[0] != testAudience {
			t.Fatalf("claim %q=%q changed the registered claims: %+v", name, value, c)
		}
		// JSON carries valid UTF-8 only: encoding/json writes U+FFFD for a bad byte.
		if got, ok := c.Get(name); !ok || (utf8.ValidString(value) && got != value) {
			t.Fatalf("claim %q = %v, %v; want %q", name, got, ok, value)
		}
	})
}
