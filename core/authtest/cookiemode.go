package authtest

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/oauth2-proxy/mockoidc"
)

// access is the name of the access cookie over plain http (no __Host- prefix).
const access = core.DefaultAccessCookie

// cookieEnv is an app in cookie mode whose provider counts the authorization requests
// it gets, and a browser signed in there through the browser flow.
type cookieEnv struct {
	*env
	b          *browser
	authorizes *atomic.Int64
	signedIn   *reply // the callback's answer
}

func (s *suite) newCookieEnv(t *testing.T, opts ...core.Option) *cookieEnv {
	t.Helper()
	e := s.newEnv(t, append([]core.Option{core.WithAccessCookie()}, opts...)...)
	n := new(atomic.Int64)
	e.idp.set(mockoidc.AuthorizationEndpoint, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		n.Add(1)
		next.ServeHTTP(w, r)
	})
	b := e.browser()
	r := b.callback(b.authorize(b.startLogin(prefix+"/login")), false).want(t, http.StatusFound)
	return &cookieEnv{env: e, b: b, authorizes: n, signedIn: r}
}

// hop is one request of a walk through redirects.
type hop struct {
	path string
	r    *reply
}

// walk requests path with the browser's cookies and follows the redirects the answers
// give, as a browser does, for at most limit redirects, and returns every hop. It stops
// at a redirect to the sign-in, which it does not follow.
func (b *browser) walk(method, path string, limit int) []hop {
	t := b.e.t
	t.Helper()
	var hops []hop
	for {
		r := b.do(method, path)
		hops = append(hops, hop{path, r})
		if r.status != http.StatusFound && r.status != http.StatusSeeOther ||
			strings.HasPrefix(r.header.Get("Location"), prefix+"/login") {
			return hops
		}
		if len(hops) > limit {
			t.Fatalf("more than %d redirects: %s", limit, hopList(hops))
		}
		loc, err := url.Parse(r.header.Get("Location"))
		if err != nil || loc.Host != "" && b.e.base != loc.Scheme+"://"+loc.Host {
			t.Fatalf("redirect to %q, off the app's origin: %s", r.header.Get("Location"), hopList(hops))
		}
		path = loc.RequestURI()
		method = "GET"
	}
}

func hopList(hops []hop) string {
	var s []string
	for _, h := range hops {
		s = append(s, h.path+" → "+http.StatusText(h.r.status)+" "+h.r.header.Get("Location"))
	}
	return strings.Join(s, "; ")
}

// accessCookie is the browser's access cookie, "" when it has none.
func (b *browser) accessCookie() string {
	u, _ := url.Parse(b.e.base + "/")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == access {
			return c.Value
		}
	}
	return ""
}

// testCookieMode: WithAccessCookie, for server-rendered pages. The browser flow sets an
// HttpOnly access cookie for the whole site; pages open with it alone; a cookie-borne
// token on an unsafe method from another site is refused; an expired access cookie is
// resumed through {prefix}/refresh without the provider and without a 401; logout
// clears both cookies. Without the option, no access cookie is set or read.
func testCookieMode(t *testing.T, s *suite) {
	t.Run("SignInSetsAccessCookie", func(t *testing.T) {
		ce := s.newCookieEnv(t)
		c, rc := ce.signedIn.cookie(access), ce.signedIn.cookie(core.DefaultRefreshCookie)
		switch {
		case c == nil || c.Value == "" || rc == nil:
			t.Fatalf("the browser sign-in set no access cookie: %v", ce.signedIn.cookies)
		case !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Domain != "":
			t.Fatalf("access cookie %s: want HttpOnly, Path=/, SameSite=Lax, no Domain, not Secure over http", c)
		case c.MaxAge < rc.MaxAge-5 || c.MaxAge > rc.MaxAge:
			// It outlives the access token, so an expired one is still sent and resumed.
			t.Fatalf("access cookie Max-Age %d, want the refresh cookie's %d", c.MaxAge, rc.MaxAge)
		}
		if ce.email(c.Value) != janeEmail {
			t.Fatal("the access cookie's value is not a working access token")
		}
		// A JSON sign-in hands out no cookie of either kind.
		b := ce.browser()
		r := b.callback(b.authorize(b.startLogin(prefix+"/login")), true)
		r.tokens(t)
		if r.cookie(access) != nil {
			t.Fatalf("the JSON sign-in set the access cookie: %s", r.cookie(access))
		}
	})

	t.Run("PasswordSignInSetsAccessCookie", func(t *testing.T) {
		e := s.newEnv(t, core.WithAccessCookie(), s.withPasswords(t))
		b := e.browser()
		r := b.do("POST", passwordPath, formBody("username", "ann", "password", annPassword, "redirect_to", "/page")).want(t, http.StatusFound)
		if c := r.cookie(access); c == nil || c.Value == "" || c.Path != "/" || !c.HttpOnly {
			t.Fatalf("the password sign-in set the access cookie %v, want one for Path=/, HttpOnly", c)
		}
		if r := b.do("GET", r.header.Get("Location")).want(t, http.StatusOK); !strings.Contains(string(r.body), annEmail) {
			t.Fatalf("the page after the password sign-in: %s", r)
		}
		if r := b.do("POST", passwordPath, loginJSON("ann", annPassword)...); r.cookie(access) != nil {
			t.Fatalf("the JSON password sign-in set the access cookie %s", r.cookie(access))
		}
	})

	t.Run("PageWithCookieOnly", func(t *testing.T) {
		ce := s.newCookieEnv(t)
		r := ce.b.do("GET", "/page").want(t, http.StatusOK)
		if !strings.Contains(string(r.body), janeEmail) {
			t.Fatalf("the page does not show the user: %s", r)
		}
		if got := ce.b.do("GET", "/api/protected").want(t, http.StatusOK).str(t, "email"); got != janeEmail {
			t.Fatalf("email %q from the access cookie", got)
		}
		// Never from the query string.
		ce.do("GET", "/api/protected?access_token="+ce.b.accessCookie()).wantChallenge(t, "")
	})

	t.Run("HeaderAndCookie", func(t *testing.T) {
		// One method per request (RFC 6750 §2; the bar's case 9): a Bearer token
		// together with the access cookie is refused, whichever of them is good, since
		// which one counts would be a guess. A page's script that calls the API with a
		// Bearer token sends its fetches without cookies (credentials: 'omit').
		ce := s.newCookieEnv(t)
		ce.idp.m.QueueUser(otherUser())
		other := ce.signIn()
		ce.b.do("GET", "/api/protected", bearer(other.access)).wantError(t, http.StatusBadRequest, "invalid_request")
		ce.b.do("POST", "/api/protected", bearer(other.access), header("Sec-Fetch-Site", "same-origin")).wantError(t, http.StatusBadRequest, "invalid_request")
		ce.b.do("GET", "/api/protected", bearer("garbage")).wantError(t, http.StatusBadRequest, "invalid_request")
		// The same token without the cookie passes.
		if got := ce.do("GET", "/api/protected", bearer(other.access)).want(t, http.StatusOK).str(t, "email"); got != otherEmail {
			t.Fatalf("email %q with the header of %s alone", got, otherEmail)
		}
	})

	t.Run("CrossSite", func(t *testing.T) {
		// The cookie is ambient: a page of any site can make the browser send it. An
		// unsafe method carrying it from another site is refused; a safe one, a
		// same-origin one, or a request with the token in its header is not.
		ce := s.newCookieEnv(t)
		for _, h := range [][2]string{
			{"Origin", "https://evil.example"},
			{"Origin", "null"},
			{"Sec-Fetch-Site", "cross-site"},
			{"Sec-Fetch-Site", "same-site"},
		} {
			ce.b.do("POST", "/api/protected", header(h[0], h[1])).wantError(t, http.StatusForbidden, "access_denied")
		}
		for _, hs := range [][]opt{
			{header("Sec-Fetch-Site", "same-origin")},
			{header("Origin", ce.base)},
			nil, // no browser headers: not a browser
		} {
			if got := ce.b.do("POST", "/api/protected", hs...).want(t, http.StatusOK).str(t, "email"); got != janeEmail {
				t.Fatalf("same-origin POST answered email %q", got)
			}
		}
		ce.b.do("GET", "/api/protected", header("Sec-Fetch-Site", "cross-site")).want(t, http.StatusOK)
		at := ce.b.accessCookie()
		ce.do("POST", "/api/protected", bearer(at), header("Sec-Fetch-Site", "cross-site")).want(t, http.StatusOK)
	})

	t.Run("Resume", func(t *testing.T) {
		// The access token in the cookie has expired, the refresh cookie is valid: the
		// page load ends on the page, with new cookies, through at most two same-origin
		// redirects; never at the provider, never a 401.
		ce := s.newCookieEnv(t)
		before, beforeRefresh := ce.b.accessCookie(), ce.b.cookieValue(prefix, core.DefaultRefreshCookie)
		ce.clock.Advance(15*time.Minute + time.Second)
		asked := ce.authorizes.Load()
		const page = "/page?tab=1&q=a%20b"
		hops := ce.b.walk("GET", page, 2)
		last := hops[len(hops)-1]
		if last.path != page || last.r.status != http.StatusOK || !strings.Contains(string(last.r.body), janeEmail) {
			t.Fatalf("the page load ended with %d at %s: %s", last.r.status, last.path, hopList(hops))
		}
		if loc := hops[0].r.header.Get("Location"); loc != prefix+"/refresh?redirect_to=/page%3Ftab%3D1%26q%3Da%2520b" {
			t.Fatalf("the expired page load went to %q, want %s/refresh?redirect_to=…", loc, prefix)
		}
		for _, h := range hops {
			if h.r.status == http.StatusUnauthorized {
				t.Fatalf("a 401 on the way: %s", hopList(hops))
			}
			if h.r.status == http.StatusFound {
				h.r.wantNoStore(t)
			}
		}
		if n := ce.authorizes.Load() - asked; n != 0 {
			t.Fatalf("the provider got %d authorization requests while resuming", n)
		}
		after := ce.b.accessCookie()
		if after == "" || after == before || ce.b.cookieValue(prefix, core.DefaultRefreshCookie) == beforeRefresh {
			t.Fatal("the resumed page load did not rotate the access and refresh cookies")
		}
		if ce.email(after) != janeEmail {
			t.Fatal("the new access cookie does not hold a working token")
		}
		// Any GET with the expired cookie is resumed the same way; an unsafe method is
		// refused as usual (a redirect would turn it into a GET).
		if loc := ce.do("GET", "/api/protected", withCookie(access, before)).want(t, http.StatusFound).header.Get("Location"); loc != prefix+"/refresh?redirect_to=/api/protected" {
			t.Fatalf("GET /api/protected with an expired access cookie went to %q", loc)
		}
		ce.do("POST", "/api/protected", withCookie(access, before)).wantChallenge(t, "invalid_token")
		// A token from the Authorization header is never resumed: its client refreshes.
		// (This page sends a refused page load to the sign-in.)
		if loc := ce.do("GET", "/page", bearer(before)).want(t, http.StatusFound).header.Get("Location"); !strings.HasPrefix(loc, prefix+"/login?") {
			t.Fatalf("GET /page with an expired bearer token went to %q, want the sign-in", loc)
		}
		ce.do("GET", "/api/protected", bearer(before)).wantChallenge(t, "invalid_token")
	})

	t.Run("ResumeWithoutSession", func(t *testing.T) {
		// The refresh cookie no longer works (the session was revoked): the browser is
		// sent back with both cookies cleared, and the page answers the anonymous
		// request as it answers any, here with the sign-in. No loop.
		ce := s.newCookieEnv(t)
		ce.do("POST", prefix+"/revoke", formBody("token", ce.b.cookieValue(prefix, core.DefaultRefreshCookie))).want(t, http.StatusOK)
		ce.clock.Advance(15*time.Minute + time.Second)
		hops := ce.b.walk("GET", "/page", 2)
		last := hops[len(hops)-1]
		if last.r.status != http.StatusFound || !strings.HasPrefix(last.r.header.Get("Location"), prefix+"/login?redirect_to=") {
			t.Fatalf("want the page's redirect to the sign-in in the end: %s", hopList(hops))
		}
		if len(hops) < 2 {
			t.Fatalf("not sent through the refresh route: %s", hopList(hops))
		}
		hops[1].r.wantCleared(t, access).wantCleared(t, core.DefaultRefreshCookie)
		if ce.b.accessCookie() != "" {
			t.Fatal("the browser still has an access cookie")
		}
	})

	t.Run("RefreshPage", func(t *testing.T) {
		ce := s.newCookieEnv(t)
		// redirect_to is checked as the sign-in's is.
		for _, to := range []string{"//evil.example", "https://evil.example/x", "/\\evil.example"} {
			ce.b.do("GET", prefix+"/refresh?redirect_to="+url.QueryEscape(to)).wantError(t, http.StatusBadRequest, "invalid_request").wantNoTokens(t, true)
		}
		r := ce.b.do("GET", prefix+"/refresh").want(t, http.StatusFound).wantNoStore(t)
		if loc := r.header.Get("Location"); loc != "/" {
			t.Fatalf("Location %q, want the default /", loc)
		}
		// A GET from another site is allowed: it rotates the user's own cookies and
		// goes to a checked target of the app's own.
		r = ce.b.do("GET", prefix+"/refresh?redirect_to=/page", header("Sec-Fetch-Site", "cross-site"), header("Origin", "https://evil.example"))
		if r.want(t, http.StatusFound).header.Get("Location") != "/page" || r.cookie(access) == nil || r.cookie(access).Value == "" {
			t.Fatalf("cross-site GET %s/refresh: %v %s", prefix, r.header, r)
		}
		// The store down: 503, nothing cleared, no redirect to loop through.
		ce.store.fail(true)
		r = ce.b.do("GET", prefix+"/refresh?redirect_to=/page").want(t, http.StatusServiceUnavailable)
		ce.store.fail(false)
		if r.header.Get("Location") != "" || r.cookie(access) != nil || r.cookie(core.DefaultRefreshCookie) != nil {
			t.Fatalf("503 with a redirect or a cookie: %v %v", r.header, r.cookies)
		}
		ce.b.do("GET", "/page").want(t, http.StatusOK)
	})

	t.Run("CookieRefreshSetsBoth", func(t *testing.T) {
		ce := s.newCookieEnv(t)
		before := ce.b.accessCookie()
		r := ce.b.do("POST", prefix+"/refresh").want(t, http.StatusOK)
		if c := r.cookie(access); c == nil || c.Value == "" || c.Value == before || c.Value != r.str(t, "access_token") {
			t.Fatalf("cookie refresh set the access cookie %v, want the new access token", c)
		}
		// A refused cookie refresh clears both.
		ce.do("POST", prefix+"/refresh", withCookie(core.DefaultRefreshCookie, "garbage")).
			wantError(t, http.StatusBadRequest, "invalid_grant").wantCleared(t, access).wantCleared(t, core.DefaultRefreshCookie)
	})

	t.Run("CookieTwice", func(t *testing.T) {
		ce := s.newCookieEnv(t)
		mine := ce.b.accessCookie()
		theirs := ce.signIn().access
		ce.do("GET", "/api/protected", withCookie(access, theirs), withCookie(access, mine)).
			wantError(t, http.StatusBadRequest, "invalid_request").wantCleared(t, access)
	})

	t.Run("Logout", func(t *testing.T) {
		ce := s.newCookieEnv(t)
		at := ce.b.accessCookie()
		r := ce.b.do("POST", prefix+"/logout", header("Sec-Fetch-Site", "same-origin")).want(t, http.StatusOK)
		r.wantCleared(t, access).wantCleared(t, core.DefaultRefreshCookie)
		if c := r.cookie(access); c.Path != "/" {
			t.Fatalf("access cookie cleared with Path=%s, want the / it was set with", c.Path)
		}
		if ce.b.accessCookie() != "" {
			t.Fatal("the browser still has an access cookie")
		}
		ce.b.do("GET", "/page").want(t, http.StatusFound)
		ce.do("GET", "/api/protected", withCookie(access, at)).wantChallenge(t, "invalid_token")

		// Logout by bearer and logout/all clear them too.
		for _, path := range []string{"/logout", "/logout/all"} {
			ce := s.newCookieEnv(t)
			at := ce.b.accessCookie()
			ce.do("POST", prefix+path, bearer(at)).want(t, http.StatusOK).wantCleared(t, access).wantCleared(t, core.DefaultRefreshCookie)
		}
	})

	t.Run("Off", func(t *testing.T) {
		// Without WithAccessCookie, no access cookie is set, one made by hand is not
		// read, and there is no GET {prefix}/refresh.
		e := s.newEnv(t)
		b := e.browser()
		r := b.callback(b.authorize(b.startLogin(prefix+"/login")), false).want(t, http.StatusFound)
		if c := r.cookie(access); c != nil {
			t.Fatalf("the browser sign-in set %s without cookie mode", c)
		}
		r = b.do("POST", prefix+"/refresh").want(t, http.StatusOK)
		if c := r.cookie(access); c != nil {
			t.Fatalf("the cookie refresh set %s without cookie mode", c)
		}
		at := r.str(t, "access_token")
		e.do("GET", "/api/protected", withCookie(access, at)).wantChallenge(t, "")
		if loc := e.do("GET", "/page", withCookie(access, at)).want(t, http.StatusFound).header.Get("Location"); !strings.HasPrefix(loc, prefix+"/login") {
			t.Fatalf("a page load with a hand-made access cookie went to %q, want the sign-in", loc)
		}
		if r := b.do("GET", prefix+"/refresh?redirect_to=/page"); r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
			t.Fatalf("GET %s/refresh answered %d without cookie mode, want 404 or 405", prefix, r.status)
		}
	})
}
