package authtest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The helpers below are for an adapter's own tests of where its routes end up (Mount
// on a group, on a sub-router, behind its own middleware), which Run cannot know: they
// need a server the adapter's test builds by hand.

// Get sends a GET to url without following redirects, with token as its Bearer token
// unless it is "", and with the cookies of jar unless it is nil. It returns the
// response, its body read and closed, and the body.
func Get(t *testing.T, jar http.CookieJar, url, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	cl := &http.Client{
		Jar:           jar,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// StartSignIn starts a sign-in at base+prefix+"/login" and, when that redirects to the
// provider, comes back at the redirect_uri it names, with its state and the state
// cookie but without a code, as a browser would from a provider that refused. It
// returns the redirect_uri and the answer there; when the login does not redirect, ""
// and the login's answer.
func StartSignIn(t *testing.T, base, prefix string) (redirectURI string, res *http.Response, body string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	res, body = Get(t, jar, base+prefix+"/login", "")
	if res.StatusCode != http.StatusFound {
		return "", res, body
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatalf("GET %s/login: Location %q: %v", prefix, res.Header.Get("Location"), err)
	}
	redirectURI = loc.Query().Get("redirect_uri")
	res, body = Get(t, jar, redirectURI+"?state="+url.QueryEscape(loc.Query().Get("state")), "")
	return redirectURI, res, body
}

// CheckMount checks that the auth routes are served at base+prefix, where the sign-in
// says they are: a sign-in started at prefix/login names base+prefix+"/callback" as its
// redirect URI, the callback is served there with the state cookie and gets as far as
// core's 400 for the missing code (so the route, the redirect URI and the state
// cookie's path agree), and prefix/jwks.json answers 200.
func CheckMount(t *testing.T, base, prefix string) {
	t.Helper()
	uri, res, body := StartSignIn(t, base, prefix)
	if uri == "" {
		t.Fatalf("GET %s/login: %d %s, want a redirect to the provider", prefix, res.StatusCode, body)
	}
	if want := base + prefix + "/callback"; uri != want {
		t.Fatalf("redirect_uri %q, want %q", uri, want)
	}
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "no code in the callback") {
		t.Fatalf("GET redirect_uri with the login's state: %d %s, want core's 400 for the missing code", res.StatusCode, body)
	}
	if res, body := Get(t, nil, base+prefix+"/jwks.json", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/jwks.json: %d %s", prefix, res.StatusCode, body)
	}
}
