package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// fakeGitHub is the identity provider of the cookie mode tests: GitHub's endpoints on a
// local server (OAuth2 without an id_token, so nothing to sign). Its authorize
// endpoint signs the user in on the spot. It counts every request it gets.
type fakeGitHub struct {
	url  string
	hits atomic.Int32
}

func newFakeGitHub(t *testing.T) *fakeGitHub {
	t.Helper()
	g := &fakeGitHub{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		back := q.Get("redirect_uri") + "?" + url.Values{"code": {"code-1"}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back, http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"gh-token","token_type":"bearer"}`)
	})
	mux.HandleFunc("GET /api/user", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":1001,"login":"alice","name":"Alice"}`)
	})
	mux.HandleFunc("GET /api/user/emails", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `[{"email":"alice@example.com","primary":true,"verified":true}]`)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

// cookieApp is an app over a real http.Server: core's routes under /auth, and pages
// behind Guard. GET /account is a server-rendered page (LoginRedirect), POST /account
// changes something, GET /api/me is an API route (the zero Policy).
type cookieApp struct {
	*env
	idp   *fakeGitHub
	url   string
	base  *http.Client // the server's transport, no cookie jar, no redirects followed
	jar   http.CookieJar
	pages atomic.Int32 // handler runs behind Guard
	hops  int          // redirects the browser followed
}

type appSetup struct {
	tls         bool // the server speaks TLS
	publicHTTPS bool // plain server behind a TLS-terminating proxy: WithPublicURL https
	opts        []core.Option
}

func newCookieApp(t *testing.T, s appSetup) *cookieApp {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	if s.tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	app := &cookieApp{idp: newFakeGitHub(t), url: srv.URL, base: srv.Client()}
	app.base.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	gh := core.GitHub("client-1", "secret-1")
	gh.AuthURL, gh.TokenURL, gh.APIURL = app.idp.url+"/authorize", app.idp.url+"/token", app.idp.url+"/api"
	gh.RedirectURL = srv.URL + "/auth/callback"
	opts := []core.Option{core.WithProviders(gh)}
	if s.publicHTTPS {
		opts = append(opts, core.WithPublicURL(strings.Replace(srv.URL, "http://", "https://", 1)))
	}
	app.env = newEnv(t, append(opts, s.opts...)...)
	ad := app.auth.Adapter()
	for _, r := range ad.Routes() {
		h := r.Handle
		mux.HandleFunc(r.Method+" /auth"+r.Pattern, func(w http.ResponseWriter, r *http.Request) {
			h(&httpExchange{w: w, r: r})
		})
	}
	page := func(p *core.Policy, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			c, ok := ad.Guard(&httpExchange{w: w, r: r}, p)
			if !ok {
				return
			}
			app.pages.Add(1)
			io.WriteString(w, body+" "+c.Email)
		}
	}
	mux.Handle("GET /account", page(&core.Policy{LoginRedirect: true}, "account of"))
	mux.Handle("POST /account", page(&core.Policy{}, "updated for"))
	mux.Handle("GET /api/me", page(&core.Policy{}, "me:"))
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	app.jar = jar
	if s.publicHTTPS {
		app.jar = proxiedJar{jar}
	}
	return app
}

// proxiedJar is a real cookie jar for a plain server behind a TLS-terminating proxy:
// the browser speaks https to the proxy, so it keeps and sends Secure cookies. It
// files every URL under https.
type proxiedJar struct{ *cookiejar.Jar }

func httpsOf(u *url.URL) *url.URL {
	v := *u
	v.Scheme = "https"
	return &v
}

func (j proxiedJar) SetCookies(u *url.URL, cs []*http.Cookie) { j.Jar.SetCookies(httpsOf(u), cs) }
func (j proxiedJar) Cookies(u *url.URL) []*http.Cookie        { return j.Jar.Cookies(httpsOf(u)) }

// browser is a client with the app's cookie jar; with follow it follows redirects (at
// most 10), counting them in app.hops.
func (app *cookieApp) browser(follow bool) *http.Client {
	c := *app.base
	c.Jar = app.jar
	if follow {
		c.CheckRedirect = func(_ *http.Request, via []*http.Request) error {
			app.hops++
			if len(via) >= 10 {
				return errors.New("redirect loop")
			}
			return nil
		}
	}
	return &c
}

// send sends a request without the jar and without following redirects; header holds
// request headers, "Cookie" among them.
func (app *cookieApp) send(t *testing.T, method, path string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, app.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return app.do(t, app.base, req)
}

func (app *cookieApp) do(t *testing.T, c *http.Client, req *http.Request) *http.Response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	return resp
}

// get is a GET by the browser.
func (app *cookieApp) get(t *testing.T, path string, follow bool) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, app.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return app.do(t, app.browser(follow), req)
}

// signIn signs alice in as a browser does, from a page that needs it to the page.
func (app *cookieApp) signIn(t *testing.T) {
	t.Helper()
	resp := app.get(t, "/account", true)
	if b := bodyOf(resp); resp.StatusCode != 200 || b != "account of alice@example.com" {
		t.Fatalf("sign-in ended with %d %q", resp.StatusCode, b)
	}
}

// jarCookie is the value of the jar's cookie called name for path.
func (app *cookieApp) jarCookie(t *testing.T, path, name string) string {
	t.Helper()
	u, _ := url.Parse(app.url + path)
	for _, c := range app.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func bodyOf(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return string(b)
}

// setCookie is the response's Set-Cookie for name, or nil.
func setCookie(resp *http.Response, name string) *http.Cookie {
	var found *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == name {
			found = c
		}
	}
	return found
}

// wantCleared fails unless resp clears the cookie name at path.
func wantCleared(t *testing.T, resp *http.Response, name, path string) {
	t.Helper()
	c := setCookie(resp, name)
	if c == nil || c.Value != "" || c.MaxAge >= 0 || c.Path != path {
		t.Errorf("cookie %s not cleared at %s: %v", name, path, c)
	}
}

func cookieHeader(pairs ...string) string {
	var s []string
	for i := 0; i+1 < len(pairs); i += 2 {
		s = append(s, pairs[i]+"="+pairs[i+1])
	}
	return strings.Join(s, "; ")
}

func expOf(t *testing.T, token string) time.Time {
	t.Helper()
	n, err := payloadOf(t, token)["exp"].(json.Number).Int64()
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(n, 0)
}

// TestAccessCookieSignIn: the browser sign-in sets the refresh cookie and, in cookie
// mode, the access cookie: HttpOnly, Path=/, SameSite as configured, Max-Age until the
// refresh token's expiry, Secure and __Host- on https.
func TestAccessCookieSignIn(t *testing.T) {
	cases := []struct {
		name                    string
		setup                   appSetup
		access, refresh         string
		secure                  bool
		sameSite                http.SameSite
		wantAccess, wantRefresh bool
	}{
		{"HTTP", appSetup{}, "gatehouse_access", "gatehouse_refresh", false, http.SameSiteLaxMode, true, true},
		{"TLS", appSetup{tls: true}, "__Host-gatehouse_access", "__Secure-gatehouse_refresh", true, http.SameSiteLaxMode, true, true},
		{"HTTPSPublicURLBehindProxy", appSetup{publicHTTPS: true}, "__Host-gatehouse_access", "__Secure-gatehouse_refresh", true, http.SameSiteLaxMode, true, true},
		{"SameSiteStrict", appSetup{opts: []core.Option{core.WithCookies(core.CookieOptions{SameSiteStrict: true})}},
			"gatehouse_access", "gatehouse_refresh", false, http.SameSiteStrictMode, true, true},
		{"Names", appSetup{tls: true, opts: []core.Option{core.WithCookies(core.CookieOptions{AccessName: "at", RefreshName: "rt"})}},
			"__Host-at", "__Secure-rt", true, http.SameSiteLaxMode, true, true},
		{"CookieModeOff", appSetup{}, "gatehouse_access", "gatehouse_refresh", false, http.SameSiteLaxMode, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantAccess {
				tc.setup.opts = append(tc.setup.opts, core.WithAccessCookie())
			}
			app := newCookieApp(t, tc.setup)
			// The browser's steps one by one: the sign-in, the provider, the callback.
			login := app.get(t, "/auth/login?redirect_to=/account", false)
			toIdP := login.Header.Get("Location")
			if login.StatusCode != 302 || !strings.HasPrefix(toIdP, app.idp.url) {
				t.Fatalf("login: %d to %q", login.StatusCode, toIdP)
			}
			idp := app.do(t, app.browser(false), must(http.NewRequest("GET", toIdP, nil)))
			cb := app.do(t, app.browser(false), must(http.NewRequest("GET", idp.Header.Get("Location"), nil)))
			if cb.StatusCode != 302 || cb.Header.Get("Location") != "/account" || cb.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("callback: %d to %q (%q)", cb.StatusCode, cb.Header.Get("Location"), bodyOf(cb))
			}
			rc := setCookie(cb, tc.refresh)
			if rc == nil {
				t.Fatalf("no refresh cookie %s in %q", tc.refresh, cb.Header.Values("Set-Cookie"))
			}
			ac := setCookie(cb, tc.access)
			if !tc.wantAccess {
				if ac != nil {
					t.Fatalf("cookie mode off, yet access cookie %v", ac)
				}
				return
			}
			if ac == nil {
				t.Fatalf("no access cookie %s in %q", tc.access, cb.Header.Values("Set-Cookie"))
			}
			maxAge := int(expOf(t, rc.Value).Sub(app.clock.Now()) / time.Second)
			if ac.Path != "/" || ac.Domain != "" || !ac.HttpOnly || ac.Secure != tc.secure || ac.SameSite != tc.sameSite || ac.MaxAge != maxAge {
				t.Errorf("access cookie %v: want Path=/, no Domain, HttpOnly, Secure %v, SameSite %v, Max-Age %d", ac, tc.secure, tc.sameSite, maxAge)
			}
			if rc.Path != "/auth" || !rc.HttpOnly || rc.Secure != tc.secure || rc.SameSite != tc.sameSite || rc.MaxAge != maxAge {
				t.Errorf("refresh cookie %v", rc)
			}
			c := app.mustAuth(ac.Value)
			if c.Email != "alice@example.com" || c.SessionID == "" {
				t.Errorf("access cookie holds %+v", c)
			}
			// The jar sends the cookies back: the page opens.
			if r := app.get(t, "/account", false); r.StatusCode != 200 || bodyOf(r) != "account of alice@example.com" {
				t.Errorf("page after sign-in: %d %q", r.StatusCode, bodyOf(r))
			}
		})
	}
}

// TestAccessCookieGuard: in cookie mode Guard reads the access cookie when the request
// has no Bearer token; a Bearer token with the cookie is refused; the cookie twice is refused; a
// cookie-borne token on an unsafe method from another site is refused (CSRF) and the
// handler does not run.
func TestAccessCookieGuard(t *testing.T) {
	app := newCookieApp(t, appSetup{opts: []core.Option{core.WithAccessCookie()}})
	alices, bobs := app.issue(alice), app.issue(bob)
	ck := cookieHeader("gatehouse_access", alices.AccessToken)
	cases := []struct {
		name         string
		method, path string
		header       map[string]string
		status       int
		body         string // the page's answer, or the error code
	}{
		{"CookieOnly", "GET", "/account", map[string]string{"Cookie": ck}, 200, "account of alice@example.com"},
		{"CookieOnAPI", "GET", "/api/me", map[string]string{"Cookie": ck}, 200, "me: alice@example.com"},
		{"HeaderAndCookie", "GET", "/api/me", map[string]string{"Cookie": ck, "Authorization": "Bearer " + bobs.AccessToken}, 400, "invalid_request"},
		{"SameTokenHeaderAndCookie", "GET", "/api/me", map[string]string{"Cookie": ck, "Authorization": "Bearer " + alices.AccessToken}, 400, "invalid_request"},
		{"BadHeaderAndGoodCookie", "GET", "/api/me", map[string]string{"Cookie": ck, "Authorization": "Bearer garbage"}, 400, "invalid_request"},
		{"HeaderAndEmptyCookie", "GET", "/api/me", map[string]string{"Cookie": "gatehouse_access=", "Authorization": "Bearer " + bobs.AccessToken}, 200, "me: bob@example.com"},
		{"BasicHeaderIsNoToken", "GET", "/api/me", map[string]string{"Cookie": ck, "Authorization": "Basic YTpi"}, 200, "me: alice@example.com"},
		{"CookieTwice", "GET", "/api/me", map[string]string{"Cookie": cookieHeader("gatehouse_access", alices.AccessToken, "gatehouse_access", bobs.AccessToken)}, 400, "invalid_request"},
		{"EmptyCookie", "GET", "/api/me", map[string]string{"Cookie": "gatehouse_access="}, 401, ""},
		{"GarbageCookie", "GET", "/api/me", map[string]string{"Cookie": "gatehouse_access=garbage"}, 401, "invalid_token"},
		{"RefreshCookieIsNoAccessToken", "GET", "/api/me", map[string]string{"Cookie": cookieHeader("gatehouse_access", alices.RefreshToken)}, 401, "invalid_token"},
		{"CrossSitePOST", "POST", "/account", map[string]string{"Cookie": ck, "Sec-Fetch-Site": "cross-site"}, 403, "access_denied"},
		{"SameSiteSiblingPOST", "POST", "/account", map[string]string{"Cookie": ck, "Sec-Fetch-Site": "same-site", "Origin": "https://evil.app.example"}, 403, "access_denied"},
		{"CrossOriginPOSTOldBrowser", "POST", "/account", map[string]string{"Cookie": ck, "Origin": "https://evil.example"}, 403, "access_denied"},
		{"NullOriginPOST", "POST", "/account", map[string]string{"Cookie": ck, "Origin": "null"}, 403, "access_denied"},
		{"SameOriginPOST", "POST", "/account", map[string]string{"Cookie": ck, "Sec-Fetch-Site": "same-origin"}, 200, "updated for alice@example.com"},
		{"SameOriginPOSTOldBrowser", "POST", "/account", map[string]string{"Cookie": ck, "Origin": app.url}, 200, "updated for alice@example.com"},
		{"BearerPOSTCrossSite", "POST", "/account", map[string]string{"Authorization": "Bearer " + alices.AccessToken, "Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 200, "updated for alice@example.com"},
		{"CrossSiteGET", "GET", "/account", map[string]string{"Cookie": ck, "Sec-Fetch-Site": "cross-site"}, 200, "account of alice@example.com"},
		{"CrossSiteWebSocket", "GET", "/account", map[string]string{"Cookie": ck, "Upgrade": "websocket", "Connection": "Upgrade", "Origin": "https://evil.example"}, 403, "access_denied"},
		{"CrossSiteWebSocketFetchMetadata", "GET", "/account", map[string]string{"Cookie": ck, "Upgrade": "WebSocket", "Sec-Fetch-Site": "cross-site"}, 403, "access_denied"},
		{"SameOriginWebSocket", "GET", "/account", map[string]string{"Cookie": ck, "Upgrade": "websocket", "Connection": "Upgrade", "Origin": app.url}, 200, "account of alice@example.com"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := app.pages.Load()
			resp := app.send(t, tc.method, tc.path, tc.header)
			b := bodyOf(resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %q, want %d", resp.StatusCode, b, tc.status)
			}
			ran := app.pages.Load() > before
			if tc.status == 200 {
				if !ran || b != tc.body {
					t.Fatalf("page ran %v with %q, want %q", ran, b, tc.body)
				}
				return
			}
			if ran {
				t.Fatalf("refused with %d, yet the handler ran", resp.StatusCode)
			}
			var e struct{ Error string }
			if err := json.Unmarshal([]byte(b), &e); err != nil || e.Error != tc.body {
				t.Fatalf("error %q, want %q", b, tc.body)
			}
			if tc.name == "CookieTwice" {
				wantCleared(t, resp, "gatehouse_access", "/")
			}
		})
	}
}

// TestAccessCookieExpired: a page load (GET, HEAD) whose access cookie holds an expired
// token is sent through GET {prefix}/refresh back to the page, never to the provider
// and never answered 401; other methods, and a Bearer token, get the usual 401.
func TestAccessCookieExpired(t *testing.T) {
	app := newCookieApp(t, appSetup{opts: []core.Option{core.WithAccessCookie()}})
	tok := app.issue(alice)
	app.clock.Add(accessTTL + time.Second)
	ck := cookieHeader("gatehouse_access", tok.AccessToken)
	cases := []struct {
		name         string
		method, path string
		header       map[string]string
		status       int
		location     string
	}{
		{"GETPage", "GET", "/account?tab=keys&x=%2F", map[string]string{"Cookie": ck}, 302, "/auth/refresh?redirect_to=/account%3Ftab%3Dkeys%26x%3D%252F"},
		{"HEADPage", "HEAD", "/account", map[string]string{"Cookie": ck}, 302, "/auth/refresh?redirect_to=/account"},
		{"GETAPI", "GET", "/api/me", map[string]string{"Cookie": ck}, 302, "/auth/refresh?redirect_to=/api/me"},
		{"CrossSiteGET", "GET", "/account", map[string]string{"Cookie": ck, "Sec-Fetch-Site": "cross-site"}, 302, "/auth/refresh?redirect_to=/account"},
		{"POST", "POST", "/account", map[string]string{"Cookie": ck, "Sec-Fetch-Site": "same-origin"}, 401, ""},
		{"BearerGETAPI", "GET", "/api/me", map[string]string{"Authorization": "Bearer " + tok.AccessToken}, 401, ""},
		{"BearerGETPageGoesToSignIn", "GET", "/account", map[string]string{"Authorization": "Bearer " + tok.AccessToken}, 302, "/auth/login?redirect_to=/account"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := app.send(t, tc.method, tc.path, tc.header)
			if resp.StatusCode != tc.status || resp.Header.Get("Location") != tc.location {
				t.Fatalf("%d to %q, want %d to %q", resp.StatusCode, resp.Header.Get("Location"), tc.status, tc.location)
			}
			if tc.status == 302 && resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
			}
			if tc.status == 401 && !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if n := app.pages.Load(); n != 0 {
		t.Errorf("handler ran %d times for an expired token", n)
	}
	if n := app.idp.hits.Load(); n != 0 {
		t.Errorf("the provider got %d requests", n)
	}
}

// TestRefreshPage: GET {prefix}/refresh rotates the tokens of the refresh cookie into
// both cookies and redirects to redirect_to; it refuses an open redirect; with no
// refresh cookie or a refused one it clears both and redirects all the same; a store
// failure is a 503 without redirect.
func TestRefreshPage(t *testing.T) {
	const rt, at = "gatehouse_refresh", "gatehouse_access"
	t.Run("Rotates", func(t *testing.T) {
		for _, tc := range []struct{ name, query, location, fetchSite string }{
			{"ToThePage", "?redirect_to=%2Faccount%3Ftab%3Dkeys", "/account?tab=keys", ""},
			{"DefaultTarget", "", "/", ""},
			{"OwnOrigin", "?redirect_to=" + url.QueryEscape("{url}/account"), "{url}/account", ""},
			{"CrossSiteGETAllowed", "?redirect_to=%2Faccount", "/account", "cross-site"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				app := newCookieApp(t, appSetup{opts: []core.Option{core.WithAccessCookie()}})
				tok := app.issue(alice)
				app.clock.Add(accessTTL + time.Second)
				resp := app.send(t, "GET", "/auth/refresh"+strings.ReplaceAll(tc.query, url.QueryEscape("{url}"), url.QueryEscape(app.url)),
					map[string]string{"Cookie": cookieHeader(rt, tok.RefreshToken, at, tok.AccessToken), "Sec-Fetch-Site": tc.fetchSite})
				want := strings.ReplaceAll(tc.location, "{url}", app.url)
				if resp.StatusCode != 302 || resp.Header.Get("Location") != want || resp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("%d to %q (%q), want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), bodyOf(resp), want)
				}
				if b := bodyOf(resp); strings.Contains(b, "eyJ") {
					t.Errorf("a token in the body: %q", b)
				}
				nr, na := setCookie(resp, rt), setCookie(resp, at)
				if nr == nil || na == nil || nr.Value == tok.RefreshToken || na.Value == tok.AccessToken {
					t.Fatalf("cookies not rotated: %v %v", nr, na)
				}
				if na.Path != "/" || !na.HttpOnly || na.MaxAge <= 0 {
					t.Errorf("access cookie %v", na)
				}
				if c := app.mustAuth(na.Value); c.Subject != alice.Subject {
					t.Errorf("new access token of %q", c.Subject)
				}
				app.mustRefresh(nr.Value)
			})
		}
	})
	t.Run("Refused", func(t *testing.T) {
		cases := []struct {
			name   string
			cookie func(tok *core.Tokens) string
			query  string
			status int
		}{
			{"OpenRedirect", func(tok *core.Tokens) string { return cookieHeader(rt, tok.RefreshToken) }, "?redirect_to=https%3A%2F%2Fevil.example%2F", 400},
			{"SchemeRelativeRedirect", func(tok *core.Tokens) string { return cookieHeader(rt, tok.RefreshToken) }, "?redirect_to=%2F%2Fevil.example", 400},
			{"RefreshCookieTwice", func(tok *core.Tokens) string { return cookieHeader(rt, tok.RefreshToken, rt, tok.RefreshToken) }, "?redirect_to=%2Faccount", 400},
			{"NoRefreshCookie", func(tok *core.Tokens) string { return cookieHeader(at, tok.AccessToken) }, "?redirect_to=%2Faccount", 302},
			{"NoCookieAtAll", func(*core.Tokens) string { return "" }, "?redirect_to=%2Faccount", 302},
			{"GarbageRefreshCookie", func(*core.Tokens) string { return cookieHeader(rt, "garbage") }, "?redirect_to=%2Faccount", 302},
			{"AccessTokenInRefreshCookie", func(tok *core.Tokens) string { return cookieHeader(rt, tok.AccessToken) }, "?redirect_to=%2Faccount", 302},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				app := newCookieApp(t, appSetup{opts: []core.Option{core.WithAccessCookie()}})
				tok := app.issue(alice)
				resp := app.send(t, "GET", "/auth/refresh"+tc.query, map[string]string{"Cookie": tc.cookie(tok)})
				if resp.StatusCode != tc.status {
					t.Fatalf("%d (%q), want %d", resp.StatusCode, bodyOf(resp), tc.status)
				}
				if tc.status == 302 {
					if resp.Header.Get("Location") != "/account" {
						t.Errorf("Location %q", resp.Header.Get("Location"))
					}
					wantCleared(t, resp, rt, "/auth")
					wantCleared(t, resp, at, "/")
					return
				}
				if resp.Header.Get("Location") != "" || !strings.Contains(bodyOf(resp), "invalid_request") {
					t.Errorf("Location %q, body %q", resp.Header.Get("Location"), bodyOf(resp))
				}
				if tc.name == "RefreshCookieTwice" {
					wantCleared(t, resp, rt, "/auth")
					wantCleared(t, resp, at, "/")
				} else if len(resp.Cookies()) != 0 {
					t.Errorf("cookies set on a refused redirect: %q", resp.Header.Values("Set-Cookie"))
				}
				// Nothing was rotated.
				app.mustRefresh(tok.RefreshToken)
			})
		}
	})
	t.Run("ReusedRefreshCookie", func(t *testing.T) {
		app := newCookieApp(t, appSetup{opts: []core.Option{core.WithAccessCookie()}})
		tok := app.issue(alice)
		app.mustRefresh(tok.RefreshToken)
		resp := app.send(t, "GET", "/auth/refresh?redirect_to=%2Faccount", map[string]string{"Cookie": cookieHeader(rt, tok.RefreshToken)})
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "/account" {
			t.Fatalf("%d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		wantCleared(t, resp, rt, "/auth")
		wantCleared(t, resp, at, "/")
	})
	t.Run("StoreDown", func(t *testing.T) {
		app := newCookieApp(t, appSetup{opts: []core.Option{core.WithAccessCookie()}})
		tok := app.issue(alice)
		app.store.failOn("Rotate", errors.New("disk on fire"))
		resp := app.send(t, "GET", "/auth/refresh?redirect_to=%2Faccount", map[string]string{"Cookie": cookieHeader(rt, tok.RefreshToken, at, tok.AccessToken)})
		if resp.StatusCode != 503 || resp.Header.Get("Location") != "" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%d to %q, want 503 without redirect", resp.StatusCode, resp.Header.Get("Location"))
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("cookies touched on a store failure: %q", resp.Header.Values("Set-Cookie"))
		}
		app.store.heal()
		app.mustRefresh(tok.RefreshToken)
	})
	t.Run("HTTPSWithDomain", func(t *testing.T) {
		app := newCookieApp(t, appSetup{tls: true, opts: []core.Option{core.WithAccessCookie(), core.WithCookies(core.CookieOptions{Domain: "app.example"})}})
		tok := app.issue(alice)
		resp := app.send(t, "GET", "/auth/refresh", map[string]string{"Cookie": cookieHeader("__Secure-"+rt, tok.RefreshToken)})
		c := setCookie(resp, "__Secure-"+at)
		if resp.StatusCode != 302 || c == nil || c.Domain != "app.example" || c.Path != "/" || !c.Secure || !c.HttpOnly {
			t.Fatalf("%d, access cookie %v: want __Secure- (a Domain rules out __Host-), Secure, HttpOnly", resp.StatusCode, c)
		}
	})
	t.Run("RateLimited", func(t *testing.T) {
		app := newCookieApp(t, appSetup{opts: []core.Option{core.WithAccessCookie(), core.WithRateLimit(1)}})
		app.send(t, "GET", "/auth/refresh", nil)
		if resp := app.send(t, "GET", "/auth/refresh", nil); resp.StatusCode != 429 {
			t.Fatalf("second GET refresh within the minute: %d, want 429", resp.StatusCode)
		}
	})
}

// TestAccessCookiePageLoad is the whole walk of a browser, with a real cookie jar: sign
// in, let the access token expire, open the page again: it opens, with fresh cookies,
// after at most two same-origin redirects and without a request to the provider.
func TestAccessCookiePageLoad(t *testing.T) {
	for _, setup := range []struct {
		name  string
		setup appSetup
	}{
		{"HTTP", appSetup{}},
		{"TLS", appSetup{tls: true}},
		{"HTTPSPublicURLBehindProxy", appSetup{publicHTTPS: true}},
		{"SameSiteStrict", appSetup{opts: []core.Option{core.WithCookies(core.CookieOptions{SameSiteStrict: true})}}},
	} {
		t.Run(setup.name, func(t *testing.T) {
			setup.setup.opts = append(setup.setup.opts, core.WithAccessCookie())
			app := newCookieApp(t, setup.setup)
			access, refresh := "gatehouse_access", "gatehouse_refresh"
			if setup.setup.tls || setup.setup.publicHTTPS {
				access, refresh = "__Host-"+access, "__Secure-"+refresh
			}
			app.signIn(t)
			signInHits := app.idp.hits.Load()
			first := app.jarCookie(t, "/", access)
			if first == "" {
				t.Fatal("no access cookie in the jar after the sign-in")
			}

			app.clock.Add(accessTTL + time.Minute)
			app.hops = 0
			resp := app.get(t, "/account?tab=keys", true)
			if b := bodyOf(resp); resp.StatusCode != 200 || b != "account of alice@example.com" {
				t.Fatalf("page after expiry: %d %q", resp.StatusCode, b)
			}
			if resp.Request.URL.RequestURI() != "/account?tab=keys" {
				t.Errorf("ended on %q", resp.Request.URL)
			}
			if app.hops > 2 {
				t.Errorf("%d redirects, want at most 2", app.hops)
			}
			if n := app.idp.hits.Load(); n != signInHits {
				t.Errorf("the provider got %d more requests", n-signInHits)
			}
			fresh := app.jarCookie(t, "/", access)
			if fresh == "" || fresh == first {
				t.Fatal("the access cookie was not renewed")
			}
			app.mustAuth(fresh)

			// The next page load goes straight through.
			app.hops = 0
			if resp := app.get(t, "/account", true); resp.StatusCode != 200 || app.hops != 0 {
				t.Errorf("next load: %d after %d redirects", resp.StatusCode, app.hops)
			}

			// Past the refresh token's expiry: one trip to the refresh route, which clears
			// the cookies, and the page sends the now anonymous browser to the sign-in.
			app.clock.Add(31 * 24 * time.Hour)
			resp = app.get(t, "/account", false)
			if resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/refresh?") {
				t.Fatalf("after the session's end: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			resp = app.get(t, resp.Header.Get("Location"), false)
			if resp.StatusCode != 302 || resp.Header.Get("Location") != "/account" {
				t.Fatalf("refresh after the session's end: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			resp = app.get(t, "/account", false)
			if resp.StatusCode != 302 || resp.Header.Get("Location") != "/auth/login?redirect_to=/account" {
				t.Fatalf("page without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if app.jarCookie(t, "/", access) != "" || app.jarCookie(t, "/auth/refresh", refresh) != "" {
				t.Error("cookies left in the jar")
			}
		})
	}
}

// TestAccessCookieClearedWithTheRefreshCookie: logout, logout everywhere and a refused
// cookie refresh clear the access cookie with the refresh cookie; a cookie refresh
// sets both.
func TestAccessCookieClearedWithTheRefreshCookie(t *testing.T) {
	const rt, at, same = "gatehouse_refresh", "gatehouse_access", "same-origin"
	setup := appSetup{opts: []core.Option{core.WithAccessCookie()}}
	t.Run("RefreshFromTheCookie", func(t *testing.T) {
		app := newCookieApp(t, setup)
		tok := app.issue(alice)
		resp := app.send(t, "POST", "/auth/refresh", map[string]string{"Cookie": cookieHeader(rt, tok.RefreshToken), "Sec-Fetch-Site": same})
		nr, na := setCookie(resp, rt), setCookie(resp, at)
		if resp.StatusCode != 200 || nr == nil || na == nil || na.Path != "/" {
			t.Fatalf("%d, cookies %v %v", resp.StatusCode, nr, na)
		}
		app.mustAuth(na.Value)
	})
	t.Run("RefusedCookieRefresh", func(t *testing.T) {
		app := newCookieApp(t, setup)
		resp := app.send(t, "POST", "/auth/refresh", map[string]string{"Cookie": cookieHeader(rt, "garbage"), "Sec-Fetch-Site": same})
		if resp.StatusCode != 400 {
			t.Fatalf("%d", resp.StatusCode)
		}
		wantCleared(t, resp, rt, "/auth")
		wantCleared(t, resp, at, "/")
	})
	t.Run("LogoutCookie", func(t *testing.T) {
		app := newCookieApp(t, setup)
		tok := app.issue(alice)
		resp := app.send(t, "POST", "/auth/logout", map[string]string{"Cookie": cookieHeader(rt, tok.RefreshToken, at, tok.AccessToken), "Sec-Fetch-Site": same})
		if resp.StatusCode != 200 {
			t.Fatalf("%d %q", resp.StatusCode, bodyOf(resp))
		}
		wantCleared(t, resp, rt, "/auth")
		wantCleared(t, resp, at, "/")
		wantIs(t, "access token after logout", app.authErr(tok.AccessToken), core.ErrTokenRevoked)
	})
	t.Run("LogoutBearer", func(t *testing.T) {
		app := newCookieApp(t, setup)
		tok := app.issue(alice)
		resp := app.send(t, "POST", "/auth/logout", map[string]string{"Authorization": "Bearer " + tok.AccessToken})
		if resp.StatusCode != 200 {
			t.Fatalf("%d %q", resp.StatusCode, bodyOf(resp))
		}
		wantCleared(t, resp, at, "/")
	})
	t.Run("LogoutAllWithTheAccessCookie", func(t *testing.T) {
		app := newCookieApp(t, setup)
		tok := app.issue(alice)
		resp := app.send(t, "POST", "/auth/logout/all", map[string]string{"Cookie": cookieHeader(at, tok.AccessToken), "Sec-Fetch-Site": same})
		if resp.StatusCode != 200 {
			t.Fatalf("%d %q", resp.StatusCode, bodyOf(resp))
		}
		wantCleared(t, resp, rt, "/auth")
		wantCleared(t, resp, at, "/")
	})
	t.Run("LogoutAllCrossSite", func(t *testing.T) {
		app := newCookieApp(t, setup)
		tok := app.issue(alice)
		resp := app.send(t, "POST", "/auth/logout/all", map[string]string{"Cookie": cookieHeader(at, tok.AccessToken), "Sec-Fetch-Site": "cross-site"})
		if resp.StatusCode != 403 || len(resp.Cookies()) != 0 {
			t.Fatalf("%d, cookies %q: want 403, nothing cleared", resp.StatusCode, resp.Header.Values("Set-Cookie"))
		}
		app.mustAuth(tok.AccessToken)
	})
	t.Run("LogoutInTheBrowser", func(t *testing.T) {
		app := newCookieApp(t, setup)
		app.signIn(t)
		req := must(http.NewRequest("POST", app.url+"/auth/logout", nil))
		if resp := app.do(t, app.browser(false), req); resp.StatusCode != 200 {
			t.Fatalf("logout: %d %q", resp.StatusCode, bodyOf(resp))
		}
		if app.jarCookie(t, "/", at) != "" || app.jarCookie(t, "/auth/logout", rt) != "" {
			t.Error("cookies left in the jar after logout")
		}
		if resp := app.get(t, "/account", false); resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login?") {
			t.Errorf("page after logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// TestAccessCookieOff: without WithAccessCookie no access cookie is set or cleared,
// one sent is ignored, and there is no GET {prefix}/refresh.
func TestAccessCookieOff(t *testing.T) {
	const rt, at = "gatehouse_refresh", "gatehouse_access"
	app := newCookieApp(t, appSetup{})
	tok := app.issue(alice)
	if resp := app.send(t, "GET", "/api/me", map[string]string{"Cookie": cookieHeader(at, tok.AccessToken)}); resp.StatusCode != 401 ||
		resp.Header.Get("WWW-Authenticate") != `Bearer realm="`+testIssuer+`"` {
		t.Errorf("token in a cookie: %d %q, want 401 as without a token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	app.clock.Add(accessTTL + time.Second)
	if resp := app.send(t, "GET", "/account", map[string]string{"Cookie": cookieHeader(at, tok.AccessToken)}); resp.Header.Get("Location") != "/auth/login?redirect_to=/account" {
		t.Errorf("expired token in a cookie: %d to %q, want the sign-in as without a token", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, r := range app.auth.Adapter().Routes() {
		if r.Method == http.MethodGet && r.Pattern == "/refresh" {
			t.Error("GET /refresh served without cookie mode")
		}
	}
	resp := app.send(t, "POST", "/auth/refresh", map[string]string{"Cookie": cookieHeader(rt, tok.RefreshToken)})
	if resp.StatusCode != 200 || setCookie(resp, rt) == nil || setCookie(resp, at) != nil {
		t.Errorf("cookie refresh: %d, Set-Cookie %q", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
	resp = app.send(t, "POST", "/auth/logout", map[string]string{"Cookie": cookieHeader(rt, setCookie(resp, rt).Value)})
	if resp.StatusCode != 200 || setCookie(resp, at) != nil {
		t.Errorf("logout: %d, Set-Cookie %q", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
}

// TestAccessCookieNames: the access cookie's name must be a valid one and differ from
// the refresh and state cookies', prefix aside.
func TestAccessCookieNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    core.CookieOptions
	}{
		{"AccessIsRefresh", core.CookieOptions{AccessName: "c", RefreshName: "c"}},
		{"AccessIsState", core.CookieOptions{AccessName: "c", StateName: "c"}},
		{"AccessIsTheDefaultRefresh", core.CookieOptions{AccessName: core.DefaultRefreshCookie}},
		{"RefreshIsTheDefaultAccess", core.CookieOptions{RefreshName: core.DefaultAccessCookie}},
		{"SameButForThePrefix", core.CookieOptions{AccessName: "__Host-c", RefreshName: "c"}},
		{"BadName", core.CookieOptions{AccessName: "a;b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.New(memstore.New(), core.WithSigningKey(hsKey(t)), core.WithAccessCookie(), core.WithCookies(tc.o))
			wantIs(t, "New", err, core.ErrConfig)
		})
	}
}

// BenchmarkAuthenticateExchange is the middleware's path for a reused (cached) Bearer
// token: Adapter.Authenticate and Guard over a request. Finding the token allocates
// nothing, in cookie mode or not.
func BenchmarkAuthenticateExchange(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []core.Option
	}{
		{"bearer", nil},
		{"bearer_in_cookie_mode", []core.Option{core.WithAccessCookie()}},
	} {
		mem := memstore.New()
		defer mem.Close()
		a, err := core.New(mem, append([]core.Option{core.WithSigningKey(hsKey(b)), core.WithLogger(slog.New(slog.DiscardHandler))}, bc.opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		t, err := a.Issue(context.Background(), alice, core.Client{})
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/account", nil)
		req.Header.Set("Authorization", "Bearer "+t.AccessToken)
		ex := &httpExchange{w: httptest.NewRecorder(), r: req}
		ad := a.Adapter()
		b.Run(bc.name+"/Authenticate", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ad.Authenticate(ex); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/Guard", func(b *testing.B) {
			p := &core.Policy{}
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := ad.Guard(ex, p); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}
