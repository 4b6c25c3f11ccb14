package authtest

import (
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/oauth2-proxy/mockoidc"
)

// testHardening: the attacks of the outside review (SECURITY.md cases 41, 43, 47) that
// the adapters must let core refuse: an auth cookie sent twice (cookie tossing from a
// sibling subdomain), a JSON body with a repeated member, callbacks that must cost the
// store nothing.
func testHardening(t *testing.T, s *suite) {
	t.Run("StateCookieTwice", func(t *testing.T) {
		e := s.newEnv(t)
		// The attacker's own state, from a sign-in the attacker started.
		attacker := e.browser()
		attacker.startLogin(prefix + "/login")
		theirs := attacker.cookieValue(prefix, core.DefaultStateCookie)
		victim := e.browser()
		cb := victim.authorize(victim.startLogin(prefix + "/login"))
		// The tossed cookie comes first, as a parent-domain cookie would.
		victim.do("GET", cb, withCookie(core.DefaultStateCookie, theirs)).
			wantError(t, http.StatusBadRequest, "invalid_request").wantNoTokens(t, true).
			wantCleared(t, core.DefaultStateCookie)
	})

	t.Run("RefreshCookieTwice", func(t *testing.T) {
		e := s.newEnv(t)
		attacker := e.signIn()
		for _, path := range []string{"/refresh", "/logout"} {
			victim := e.browser()
			victim.callback(victim.authorize(victim.startLogin(prefix+"/login")), false).want(t, http.StatusFound)
			before := e.store.writes.Load()
			victim.do("POST", prefix+path, withCookie(core.DefaultRefreshCookie, attacker.refresh)).
				wantError(t, http.StatusBadRequest, "invalid_request").wantNoTokens(t, true).
				wantCleared(t, core.DefaultRefreshCookie)
			if n := e.store.writes.Load() - before; n != 0 {
				t.Errorf("%s: %d store writes for a refused request", path, n)
			}
		}
		// Neither session moved: the attacker's token was not rotated.
		e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", attacker.refresh)).tokens(t)
	})

	t.Run("DuplicateJSONMember", func(t *testing.T) {
		e := s.newEnv(t)
		tok := e.signIn()
		for _, path := range []string{"/refresh", "/revoke", "/logout"} {
			body := `{"refresh_token":"garbage","token":"garbage","refresh_token":"` + tok.refresh + `","token":"` + tok.refresh + `"}`
			e.do("POST", prefix+path, rawBody("application/json", body)).
				wantError(t, http.StatusBadRequest, "invalid_request").wantNoTokens(t, true)
		}
		// Nothing was taken from the refused bodies: the token still refreshes.
		e.do("POST", prefix+"/refresh", jsonBody(map[string]string{"refresh_token": tok.refresh})).tokens(t)
	})

	t.Run("CallbackWithoutCodeWritesNothing", func(t *testing.T) {
		e := s.newEnv(t)
		b := e.browser()
		cb, err := url.Parse(b.authorize(b.startLogin(prefix + "/login")))
		if err != nil {
			t.Fatal(err)
		}
		good := cb.String()
		var exchanges atomic.Int64
		e.idp.set(mockoidc.TokenEndpoint, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			exchanges.Add(1)
			next.ServeHTTP(w, r)
		})
		before := e.store.writes.Load()
		for _, q := range []url.Values{
			{},                                 // no code
			{"code": {""}},                     // empty code
			{"code": {"a\x01b"}},               // not printable
			{"code": {"x"}, "error": {"oops"}}, // both
			{"error": {"access_denied\x7f"}},   // malformed error
		} {
			q.Set("state", cb.Query().Get("state"))
			u := *cb
			u.RawQuery = q.Encode()
			b.do("GET", u.String()).wantError(t, http.StatusBadRequest, "invalid_request").wantNoTokens(t, false)
		}
		if n := e.store.writes.Load() - before; n != 0 {
			t.Errorf("%d store writes for callbacks without a well-formed code", n)
		}
		if n := exchanges.Load(); n != 0 {
			t.Errorf("%d calls to the provider's token endpoint for callbacks without a well-formed code", n)
		}
		// The state was not spent by any of them: the real callback still signs in, and
		// the interceptor does see its exchange.
		b.callback(good, true).tokens(t)
		if exchanges.Load() == 0 {
			t.Error("the token endpoint interceptor saw no exchange for a real sign-in")
		}
	})
}

// testRateLimit: the sign-in, callback and refresh routes answer 429 with Retry-After
// past the per-IP limit; other routes are not limited; WithoutRateLimit turns it off
// (SECURITY.md case 48).
func testRateLimit(t *testing.T, s *suite) {
	t.Run("Limited", func(t *testing.T) {
		e := s.newEnv(t, core.WithRateLimit(3))
		refresh := formBody("grant_type", "refresh_token", "refresh_token", "garbage")
		for range 3 {
			e.do("POST", prefix+"/refresh", refresh).wantError(t, http.StatusBadRequest, "invalid_grant")
		}
		for _, path := range []string{"/refresh", "/login", "/callback?state=x&code=y"} {
			method := "GET"
			if path == "/refresh" {
				method = "POST"
			}
			r := e.do(method, prefix+path, refresh).wantError(t, http.StatusTooManyRequests, "too_many_requests").wantNoTokens(t, false)
			if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Errorf("%s: 429 without a Retry-After: %s", path, r)
			}
		}
		// Routes outside the limit still answer.
		e.do("GET", prefix+"/jwks.json").want(t, http.StatusOK)
		e.do("GET", prefix+"/me").want(t, http.StatusUnauthorized)
		// The budget comes back with time.
		e.clock.Advance(time.Minute)
		e.do("POST", prefix+"/refresh", refresh).wantError(t, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("Off", func(t *testing.T) {
		e := s.newEnv(t, core.WithoutRateLimit())
		for range core.DefaultRateLimit + 5 {
			e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", "garbage")).
				wantError(t, http.StatusBadRequest, "invalid_grant")
		}
	})
}
