package authtest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/oauth2-proxy/mockoidc"
)

const otherEmail = "other@example.org"

// otherUser is a second user of the identity provider.
func otherUser() *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "other-subject", Email: otherEmail, EmailVerified: true}
}

func testProtected(t *testing.T, s *suite) {
	e := s.newEnv(t)
	tok := e.signIn()

	cases := []struct {
		name      string
		path      string
		opts      []opt
		challenge string // "-" for no 401
		status    int
	}{
		{"Valid", "/api/protected", []opt{bearer(tok.access)}, "-", 200},
		{"LowerCaseScheme", "/api/protected", []opt{header("Authorization", "bearer "+tok.access)}, "-", 200},
		{"NoToken", "/api/protected", nil, "", 401},
		{"OtherScheme", "/api/protected", []opt{header("Authorization", "Basic YTpi")}, "", 401},
		{"TokenInQueryIgnored", "/api/protected?access_token=" + tok.access, nil, "", 401},
		{"TokenInCookieIgnored", "/api/protected", []opt{withCookie("access_token", tok.access)}, "", 401},
		{"Garbage", "/api/protected", []opt{bearer("garbage")}, "invalid_token", 401},
		{"EmptyBearer", "/api/protected", []opt{header("Authorization", "Bearer ")}, "invalid_token", 401},
		{"Tampered", "/api/protected", []opt{bearer(tok.access[:len(tok.access)-3] + "AAA")}, "invalid_token", 401},
		{"RefreshTokenAsBearer", "/api/protected", []opt{bearer(tok.refresh)}, "invalid_token", 401},
		{"JWE", "/api/protected", []opt{bearer("a.b.c.d.e")}, "invalid_token", 401},
		{"OptionalAnonymous", "/api/optional", nil, "-", 200},
		{"OptionalValid", "/api/optional", []opt{bearer(tok.access)}, "-", 200},
		{"OptionalGarbage", "/api/optional", []opt{bearer("garbage")}, "invalid_token", 401},
		{"MeValid", prefix + "/me", []opt{bearer(tok.access)}, "-", 200},
		{"MeTokenInQueryIgnored", prefix + "/me?access_token=" + tok.access, nil, "", 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, tc.opts...)
			if tc.challenge != "-" {
				r.wantChallenge(t, tc.challenge)
				if tc.challenge != "" {
					r.wantError(t, 401, tc.challenge)
				}
				return
			}
			r.want(t, tc.status)
			email, _ := r.json(t)["email"].(string)
			if want := janeEmail; tc.name == "OptionalAnonymous" && email != "" || tc.name != "OptionalAnonymous" && email != want {
				t.Fatalf("email %q in %s", email, r)
			}
		})
	}

	t.Run("HugeBearer", func(t *testing.T) {
		r := e.do("GET", "/api/protected", bearer(strings.Repeat(".", 1<<20)))
		if r.status == http.StatusRequestHeaderFieldsTooLarge {
			return // refused by the server before the adapter: fine too
		}
		r.wantChallenge(t, "invalid_token")
		if r.elapsed > 2*time.Second {
			t.Fatalf("a 1 MiB bearer took %v", r.elapsed)
		}
	})

	t.Run("OverMaxTokenSize", func(t *testing.T) {
		// Past core.MaxTokenSize, yet small enough for every server's header limit
		// (Fiber's included, with fiberauth.ReadBufferSize): the adapter hands it to core,
		// which refuses it on its length, the genuine token it starts with unread.
		over := tok.access + "." + strings.Repeat("A", core.MaxTokenSize-len(tok.access))
		if len(over) != core.MaxTokenSize+1 {
			t.Fatalf("test bug: %d bytes", len(over))
		}
		r := e.do("GET", "/api/protected", bearer(over)).wantChallenge(t, "invalid_token").wantError(t, 401, "invalid_token")
		if !strings.Contains(r.str(t, "error_description"), "too large") {
			t.Fatalf("refused as %s, want for its size", r)
		}
	})

	t.Run("Expired", func(t *testing.T) {
		e := s.newEnv(t)
		tok := e.signIn()
		e.clock.Advance(15*time.Minute + time.Second)
		e.do("GET", "/api/protected", bearer(tok.access)).wantChallenge(t, "invalid_token")
	})

	t.Run("JWKS", func(t *testing.T) {
		for _, tc := range []struct {
			alg  core.Algorithm
			keys int
			kty  string
		}{{core.HS256, 0, ""}, {core.ES256, 1, "EC"}, {core.EdDSA, 1, "OKP"}} {
			t.Run(string(tc.alg), func(t *testing.T) {
				e := s.newEnv(t, core.WithAlgorithm(tc.alg))
				r := e.do("GET", prefix+"/jwks.json").want(t, http.StatusOK)
				keys, _ := r.json(t)["keys"].([]any)
				if len(keys) != tc.keys {
					t.Fatalf("%d keys, want %d: %s", len(keys), tc.keys, r)
				}
				if tc.keys > 0 {
					k := keys[0].(map[string]any)
					if k["kty"] != tc.kty || k["alg"] != string(tc.alg) || k["kid"] == "" || k["d"] != nil {
						t.Fatalf("key %v", k)
					}
				}
			})
		}
	})
}

func testStoreFailure(t *testing.T, s *suite) {
	e := s.newEnv(t)
	tok := e.signIn()
	b := e.browser()
	b.callback(b.authorize(b.startLogin(prefix+"/login")), false).want(t, http.StatusFound)
	pending := e.browser()
	cb := pending.authorize(pending.startLogin(prefix + "/login"))

	e.store.fail(true)
	cases := []struct {
		name string
		do   func() *reply
	}{
		{"Protected", func() *reply { return e.do("GET", "/api/protected", bearer(tok.access)) }},
		{"Optional", func() *reply { return e.do("GET", "/api/optional", bearer(tok.access)) }},
		{"Me", func() *reply { return e.do("GET", prefix+"/me", bearer(tok.access)) }},
		{"Sessions", func() *reply { return e.do("GET", prefix+"/sessions", bearer(tok.access)) }},
		{"Refresh", func() *reply {
			return e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", tok.refresh))
		}},
		{"RefreshCookie", func() *reply { return b.do("POST", prefix+"/refresh") }},
		{"Revoke", func() *reply { return e.do("POST", prefix+"/revoke", formBody("token", tok.access)) }},
		{"RevokeRefresh", func() *reply { return e.do("POST", prefix+"/revoke", formBody("token", tok.refresh)) }},
		{"Logout", func() *reply { return e.do("POST", prefix+"/logout", bearer(tok.access)) }},
		{"LogoutRefresh", func() *reply { return e.do("POST", prefix+"/logout", formBody("refresh_token", tok.refresh)) }},
		{"LogoutAll", func() *reply { return e.do("POST", prefix+"/logout/all", bearer(tok.access)) }},
		{"Callback", func() *reply { return pending.callback(cb, true) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.do().want(t, http.StatusServiceUnavailable)
			if r.header.Get("Retry-After") == "" {
				t.Fatal("503 without Retry-After")
			}
			r.wantNoTokens(t, false)
		})
	}
	e.store.fail(false)
	t.Run("Recovered", func(t *testing.T) {
		if e.email(tok.access) != janeEmail {
			t.Fatal("the access token does not work once the store is back")
		}
		e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", tok.refresh)).tokens(t)
		b.do("POST", prefix+"/refresh").want(t, http.StatusOK)
		pending.callback(cb, true).tokens(t)
	})
}
