package authtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// browser is an HTTP client with a cookie jar that never follows redirects by itself,
// so that every hop of a sign-in can be looked at.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{e: e, c: &http.Client{
		Jar:           jar,
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// reply is a response read in full.
type reply struct {
	status  int
	header  http.Header
	body    []byte
	cookies []*http.Cookie
	elapsed time.Duration
}

// opt changes a request before it is sent.
type opt func(*http.Request)

func bearer(tok string) opt { return header("Authorization", "Bearer "+tok) }

func header(k, v string) opt { return func(r *http.Request) { r.Header.Set(k, v) } }

func withCookie(name, value string) opt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: name, Value: value}) }
}

func rawBody(contentType, body string) opt {
	return func(r *http.Request) {
		r.Header.Set("Content-Type", contentType)
		r.Body = io.NopCloser(strings.NewReader(body))
		r.ContentLength = int64(len(body))
	}
}

func formBody(kv ...string) opt {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return rawBody("application/x-www-form-urlencoded", v.Encode())
}

func jsonBody(v any) opt {
	b, _ := json.Marshal(v)
	return rawBody("application/json", string(b))
}

// do sends a request to path (relative to the base URL, or absolute).
func (b *browser) do(method, path string, opts ...opt) *reply {
	t := b.e.t
	t.Helper()
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		path = b.e.base + path
	}
	req, err := http.NewRequest(method, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(req)
	}
	start := time.Now()
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return &reply{status: resp.StatusCode, header: resp.Header, body: body, cookies: resp.Cookies(), elapsed: time.Since(start)}
}

// do sends a request without cookies of any earlier request.
func (e *env) do(method, path string, opts ...opt) *reply {
	e.t.Helper()
	return e.browser().do(method, path, opts...)
}

func (r *reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("status %d, body %q is not a JSON object: %v", r.status, r.body, err)
	}
	return m
}

func (r *reply) str(t *testing.T, key string) string {
	t.Helper()
	s, _ := r.json(t)[key].(string)
	return s
}

func (r *reply) cookie(name string) *http.Cookie {
	for _, c := range r.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (r *reply) String() string {
	return strings.TrimSpace(string(r.body))
}

// want checks the status.
func (r *reply) want(t *testing.T, status int) *reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r)
	}
	return r
}

// wantError checks an RFC 6749 §5.2 error answer.
func (r *reply) wantError(t *testing.T, status int, code string) *reply {
	t.Helper()
	r.want(t, status)
	if got := r.str(t, "error"); got != code {
		t.Fatalf("error %q, want %q; body %s", got, code, r)
	}
	return r
}

// wantChallenge checks the WWW-Authenticate header of a 401 (RFC 6750 §3): the realm,
// and error="invalid_token" exactly when code says so.
func (r *reply) wantChallenge(t *testing.T, code string) *reply {
	t.Helper()
	r.want(t, http.StatusUnauthorized)
	h := r.header.Get("WWW-Authenticate")
	if !strings.HasPrefix(h, `Bearer realm="`+realm+`"`) {
		t.Fatalf("WWW-Authenticate %q, want Bearer realm=%q", h, realm)
	}
	hasErr := strings.Contains(h, "error=")
	switch {
	case code == "" && hasErr:
		t.Fatalf("WWW-Authenticate %q has an error code, want none (no token presented)", h)
	case code != "" && !strings.Contains(h, `error="`+code+`"`):
		t.Fatalf("WWW-Authenticate %q, want error=%q", h, code)
	}
	return r
}

func (r *reply) wantNoStore(t *testing.T) *reply {
	t.Helper()
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Fatalf("Cache-Control %q, want no-store", cc)
	}
	return r
}

// wantNoTokens checks that an answer hands out nothing: no cookie set at all (not even
// a cleared one, when cookies is false), and no token in the body.
func (r *reply) wantNoTokens(t *testing.T, cookies bool) *reply {
	t.Helper()
	for _, c := range r.cookies {
		if !cookies || c.Value != "" {
			t.Fatalf("answer sets cookie %s", c)
		}
	}
	// No token member, and nothing that looks like a JWS (a header starts {" = eyJ).
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	_, access := m["access_token"]
	_, refresh := m["refresh_token"]
	if access || refresh || bytes.Contains(r.body, []byte("eyJ")) {
		t.Fatalf("answer carries tokens: %s", r)
	}
	return r
}

// tokens are the tokens of a token response.
type tokens struct {
	access, refresh string
	body            map[string]any
}

func (r *reply) tokens(t *testing.T) tokens {
	t.Helper()
	r.want(t, http.StatusOK).wantNoStore(t)
	m := r.json(t)
	at, _ := m["access_token"].(string)
	rt, _ := m["refresh_token"].(string)
	if at == "" || m["token_type"] != "Bearer" || m["result"] != true {
		t.Fatalf("not a token response: %s", r)
	}
	if exp, _ := m["expires_in"].(float64); exp <= 0 {
		t.Fatalf("expires_in %v, want > 0", m["expires_in"])
	}
	return tokens{access: at, refresh: rt, body: m}
}

// startLogin requests path (such as "/auth/login?redirect_to=/x") and returns the
// provider URL it redirects to.
func (b *browser) startLogin(path string) string {
	t := b.e.t
	t.Helper()
	r := b.do("GET", path).want(t, http.StatusFound)
	loc := r.header.Get("Location")
	if loc == "" {
		t.Fatalf("login answered 302 without Location")
	}
	return loc
}

// authorize follows the provider URL, where the provider signs the user in at once,
// and returns the callback URL it redirects to.
func (b *browser) authorize(providerURL string) string {
	t := b.e.t
	t.Helper()
	r := b.do("GET", providerURL)
	if r.status != http.StatusFound {
		t.Fatalf("provider answered %d: %s", r.status, r)
	}
	return r.header.Get("Location")
}

// callback calls the callback URL, asking for JSON when asJSON.
func (b *browser) callback(callbackURL string, asJSON bool) *reply {
	b.e.t.Helper()
	if asJSON {
		return b.do("GET", callbackURL, header("Accept", "application/json"))
	}
	return b.do("GET", callbackURL)
}

// signIn runs the whole sign-in at path with a JSON callback and returns the tokens.
func (b *browser) signIn(path string) tokens {
	t := b.e.t
	t.Helper()
	return b.callback(b.authorize(b.startLogin(path)), true).tokens(t)
}

// signIn signs the provider's next user in with a fresh browser.
func (e *env) signIn() tokens {
	e.t.Helper()
	return e.browser().signIn(prefix + "/login")
}

// email returns the email /api/protected sees for an access token.
func (e *env) email(at string) string {
	e.t.Helper()
	return e.do("GET", "/api/protected", bearer(at)).want(e.t, http.StatusOK).str(e.t, "email")
}

// cookieValue is the value of the browser's cookie called name for path, or "".
func (b *browser) cookieValue(path, name string) string {
	u, err := url.Parse(b.e.base + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	b.e.t.Fatalf("the browser has no cookie %s for %s", name, path)
	return ""
}

// wantCleared checks that the answer deletes the cookie called name.
func (r *reply) wantCleared(t *testing.T, name string) *reply {
	t.Helper()
	if c := r.cookie(name); c == nil || c.Value != "" || c.MaxAge >= 0 {
		t.Fatalf("answer does not clear cookie %s: %s", name, r)
	}
	return r
}
