package e2e

import (
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// client is a browser-like HTTP client of one server: it keeps cookies and does not
// follow redirects, so that each step can be checked.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, hc: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) String() string { return http.StatusText(r.status) + " " + string(r.body) }

type opt func(*http.Request)

func bearer(tok string) opt { return header("Authorization", "Bearer "+tok) }

func header(k, v string) opt { return func(r *http.Request) { r.Header.Set(k, v) } }

func form(v url.Values) opt {
	return func(r *http.Request) {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		body := v.Encode()
		r.Body = io.NopCloser(strings.NewReader(body))
		r.ContentLength = int64(len(body))
	}
}

// do sends a request to target, a path of the server or an absolute URL.
func (c *client) do(method, target string, opts ...opt) reply {
	c.t.Helper()
	r, err := c.try(method, target, opts...)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, target, err)
	}
	return r
}

// try is do returning the transport's error instead of failing.
func (c *client) try(method, target string, opts ...opt) (reply, error) {
	if strings.HasPrefix(target, "/") {
		target = c.base + target
	}
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		return reply{}, err
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}, err
}

func (r reply) want(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.body, status)
	}
	return r
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not a JSON object: %d %s", r.status, r.body)
	}
	return m
}

// wantError checks an error answer and its OAuth error code ("" for none).
func (r reply) wantError(t *testing.T, status int, code string) reply {
	t.Helper()
	r.want(t, status)
	if got, _ := r.json(t)["error"].(string); got != code {
		t.Fatalf("error %q, want %q: %s", got, code, r.body)
	}
	return r
}

func (r reply) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// tokens are what a sign-in gives a client. refresh is empty after a browser sign-in,
// where the refresh token stays in the cookie jar.
type tokens struct{ access, refresh string }

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// openSignInPage follows /auth/login to the development identity provider's page and
// returns the page and the form it would post.
func (c *client) openSignInPage() (reply, url.Values) {
	c.t.Helper()
	login := c.do("GET", "/auth/login?redirect_to="+url.QueryEscape("/?signed_in=1")).want(c.t, http.StatusFound)
	loc := login.header.Get("Location")
	if !strings.HasPrefix(loc, c.base+"/devidp/authorize?") {
		c.t.Fatalf("login sent the browser to %q, want %s/devidp/authorize", loc, c.base)
	}
	page := c.do("GET", loc).want(c.t, http.StatusOK)
	if !strings.Contains(string(page.body), "Development identity provider") {
		c.t.Fatalf("sign-in page without its development banner:\n%s", page.body)
	}
	f := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(string(page.body), -1) {
		f.Set(m[1], html.UnescapeString(m[2]))
	}
	return page, f
}

// submit posts the sign-in form with action (signin or cancel) and returns where the
// provider sends the browser back to.
func (c *client) submit(f url.Values, email, action string) string {
	c.t.Helper()
	f.Set("email", email)
	f.Set("action", action)
	r := c.do("POST", "/devidp/authorize", form(f)).want(c.t, http.StatusFound)
	loc := r.header.Get("Location")
	if !strings.HasPrefix(loc, c.base+"/auth/callback?") {
		c.t.Fatalf("the provider sent the browser to %q, want the callback", loc)
	}
	return loc
}

// signIn signs email in through the development identity provider, as a browser does.
// asJSON asks the callback for the JSON token response; otherwise the refresh token
// goes into the cookie jar and the page's first access token comes from a cookie
// refresh, as the demo page gets it.
func (c *client) signIn(email string, asJSON bool) tokens {
	c.t.Helper()
	_, f := c.openSignInPage()
	cb := c.submit(f, email, "signin")
	if asJSON {
		r := c.do("GET", cb, header("Accept", "application/json")).want(c.t, http.StatusOK).json(c.t)
		return tokens{access: r["access_token"].(string), refresh: r["refresh_token"].(string)}
	}
	r := c.do("GET", cb).want(c.t, http.StatusFound)
	if loc := r.header.Get("Location"); loc != "/?signed_in=1" {
		c.t.Fatalf("callback redirected to %q, want /?signed_in=1", loc)
	}
	if r.cookie("gatehouse_refresh") == nil {
		c.t.Fatal("callback set no refresh cookie")
	}
	ref := c.do("POST", "/auth/refresh").want(c.t, http.StatusOK).json(c.t)
	return tokens{access: ref["access_token"].(string)}
}

// jwtPart decodes the header (0) or payload (1) of a JWT, unverified.
func jwtPart(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
