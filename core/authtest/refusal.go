package authtest

import (
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/oauth2-proxy/mockoidc"
)

// testRefusal: what the app makes of a refused request. OnRefused answers every refusal
// in the app's words; RedirectToLogin sends a page load to the sign-in and back; Skip
// leaves the requests it picks unauthenticated; claims that the app's own middleware
// put in the request's context are found by the adapter's getter.
func testRefusal(t *testing.T, s *suite) {
	e := s.newEnv(t)
	tok := e.signIn()
	revoked := e.signIn()
	e.do("POST", prefix+"/revoke", formBody("token", revoked.access)).want(t, http.StatusOK)
	refusals := []struct {
		name string
		opts []opt
		code string // of core.ErrorResponse
	}{
		{"NoToken", nil, ""},
		{"BadToken", []opt{bearer("garbage")}, "invalid_token"},
		{"RefreshTokenAsBearer", []opt{bearer(tok.refresh)}, "invalid_token"},
		{"Revoked", []opt{bearer(revoked.access)}, "invalid_token"},
	}

	t.Run("OnRefused", func(t *testing.T) {
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				e.do("GET", "/custom", tc.opts...).wantAppRefusal(t, tc.code)
			})
		}
		t.Run("Valid", func(t *testing.T) {
			if r := e.do("GET", "/custom", bearer(tok.access)).want(t, http.StatusOK); r.str(t, "email") != janeEmail {
				t.Fatalf("/custom answered %s", r)
			}
		})
		t.Run("RuleRefused", func(t *testing.T) {
			// A rule's refusal is the app's to answer too, as insufficient_scope; the
			// token is asked for before the rule.
			table := newGrantTable()
			e := s.newEnv(t, core.WithGrants(table.hook))
			plain := e.signIn()
			table.set(janeEmail, adminGrants)
			admin := e.signIn()
			e.do("GET", "/custom/admin", bearer(plain.access)).wantAppRefusal(t, "insufficient_scope")
			e.do("GET", "/custom/admin").wantAppRefusal(t, "")
			if r := e.do("GET", "/custom/admin", bearer(admin.access)).want(t, http.StatusOK); r.str(t, "email") != janeEmail {
				t.Fatalf("/custom/admin answered %s", r)
			}
		})
		t.Run("StoreDown", func(t *testing.T) {
			// A store failure is a refusal too: the app's answer, not a pass.
			e := s.newEnv(t)
			tok := e.signIn()
			e.store.fail(true)
			e.do("GET", "/custom", bearer(tok.access)).wantAppRefusal(t, core.ErrorResponse(core.ErrStoreUnavailable).Code)
			e.store.fail(false)
			e.do("GET", "/custom", bearer(tok.access)).want(t, http.StatusOK)
		})
	})

	t.Run("RedirectToLogin", func(t *testing.T) {
		// The page asked for, with a query whose escapes must survive the round trip.
		const page = "/page?tab=1&q=a%20b"
		login := prefix + "/login?redirect_to=/page%3Ftab%3D1%26q%3Da%2520b" // page, its slash kept
		for _, method := range []string{"GET", "HEAD"} {
			for _, tc := range refusals {
				t.Run(method+tc.name, func(t *testing.T) {
					r := e.do(method, page, tc.opts...).want(t, http.StatusFound).wantNoStore(t).wantNoTokens(t, false)
					if loc := r.header.Get("Location"); loc != login {
						t.Fatalf("Location %q, want %q", loc, login)
					}
				})
			}
		}
		for _, tc := range refusals {
			t.Run("POST"+tc.name, func(t *testing.T) {
				// A form POST is no page load: it keeps its 401.
				r := e.do("POST", page, tc.opts...).wantChallenge(t, tc.code)
				if loc := r.header.Get("Location"); loc != "" {
					t.Fatalf("Location %q, want none", loc)
				}
			})
		}
		t.Run("Opens", func(t *testing.T) {
			r := e.do("GET", "/page", bearer(tok.access)).want(t, http.StatusOK)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Fatalf("Content-Type %q, want text/html", ct)
			}
			if !strings.Contains(string(r.body), janeEmail) {
				t.Fatalf("the page does not show the user's email: %s", r)
			}
			if r := e.do("HEAD", "/page", bearer(tok.access)).want(t, http.StatusOK); len(r.body) != 0 {
				t.Fatalf("HEAD answered a body: %s", r)
			}
			e.do("POST", "/page", bearer(tok.access)).want(t, http.StatusOK)
		})
		t.Run("EscapesEmail", func(t *testing.T) {
			const email = "<i>o'hara</i>&sons@example.com"
			e.idp.m.QueueUser(&mockoidc.MockUser{Subject: "markup", Email: email, EmailVerified: true})
			r := e.do("GET", "/page", bearer(e.signIn().access)).want(t, http.StatusOK)
			if body := string(r.body); !strings.Contains(body, html.EscapeString(email)) || strings.Contains(body, "<i>") {
				t.Fatalf("the page shows the email %q unescaped: %s", email, r)
			}
		})
		t.Run("SignInComesBack", func(t *testing.T) {
			// The whole walk of a browser: the page, the sign-in it is sent to, and back
			// to the page, query included, with a session.
			b := e.browser()
			loc := b.do("GET", page).want(t, http.StatusFound).header.Get("Location")
			cb := b.callback(b.authorize(b.startLogin(loc)), false).want(t, http.StatusFound)
			if got := cb.header.Get("Location"); got != page {
				t.Fatalf("the sign-in ends at %q, want %q", got, page)
			}
			at := b.do("POST", prefix+"/refresh").want(t, http.StatusOK).str(t, "access_token")
			b.do("GET", page, bearer(at)).want(t, http.StatusOK)
		})
		t.Run("OtherRefusalsNotRedirected", func(t *testing.T) {
			// Only a refusal for the token is a reason to sign in: a store failure is
			// still 503.
			e := s.newEnv(t)
			tok := e.signIn()
			e.store.fail(true)
			defer e.store.fail(false)
			e.do("GET", "/page", bearer(tok.access)).want(t, http.StatusServiceUnavailable)
		})
	})

	t.Run("Skip", func(t *testing.T) {
		// The skipped route runs without authentication: no claims, whatever token the
		// request carries, and no refusal either.
		for _, opts := range [][]opt{nil, {bearer("garbage")}, {bearer(tok.access)}} {
			r := e.do("GET", "/skip/public", opts...).want(t, http.StatusOK)
			if email, _ := r.json(t)["email"].(string); email != "" {
				t.Fatalf("/skip/public answered %s: want no claims", r)
			}
		}
		e.do("GET", "/skip/private").wantChallenge(t, "")
		e.do("GET", "/skip/private", bearer("garbage")).wantChallenge(t, "invalid_token")
		if r := e.do("GET", "/skip/private", bearer(tok.access)).want(t, http.StatusOK); r.str(t, "email") != janeEmail {
			t.Fatalf("/skip/private answered %s", r)
		}
	})

	t.Run("AppMiddlewareClaims", func(t *testing.T) {
		// Claims the app's own middleware put in the request's context with
		// core.NewContext are what the adapter's getter returns.
		if r := e.do("GET", "/api/appclaims", bearer(tok.access)).want(t, http.StatusOK); r.str(t, "email") != janeEmail {
			t.Fatalf("/api/appclaims answered %s", r)
		}
		for _, opts := range [][]opt{nil, {bearer("garbage")}, {bearer(revoked.access)}} {
			e.do("GET", "/api/appclaims", opts...).want(t, http.StatusUnauthorized)
		}
	})
}

// wantAppRefusal checks the answer of the test app's OnRefused handler: 418, text/plain,
// "refused: " and the code core.ErrorResponse gives the error; nothing of the default
// JSON answer.
func (r *reply) wantAppRefusal(t *testing.T, code string) *reply {
	t.Helper()
	r.want(t, http.StatusTeapot)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the app's text/plain", ct)
	}
	if got, want := string(r.body), "refused: "+code; got != want {
		t.Fatalf("body %q, want the app's %q", got, want)
	}
	return r
}
