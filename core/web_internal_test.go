package core

import (
	"context"
	"crypto/cipher"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"sync"
)

// keyStore is the part of a Store New needs: LoadOrStoreKey. (memstore imports core,
// so the package's own tests cannot use it.)
type keyStore struct {
	mu   sync.Mutex
	keys map[string][]byte
}

func newKeyStore() *keyStore { return &keyStore{keys: map[string][]byte{}} }

var errUnused = errors.New("keyStore: not implemented")

func (s *keyStore) LoadOrStoreKey(_ context.Context, name string, v []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.keys[name]; ok {
		return old, nil
	}
	s.keys[name] = v
	return v, nil
}
func (s *keyStore) RevokeToken(context.Context, string, time.Time) error     { return errUnused }
func (s *keyStore) IsRevoked(context.Context, string, string) (bool, error)  { return false, errUnused }
func (s *keyStore) CreateSession(context.Context, *Session) error            { return errUnused }
func (s *keyStore) Session(context.Context, string) (*Session, error)        { return nil, errUnused }
func (s *keyStore) Sessions(context.Context, string) ([]*Session, error)     { return nil, errUnused }
func (s *keyStore) Rotate(context.Context, Rotation) (*Session, error)       { return nil, errUnused }
func (s *keyStore) EndSession(context.Context, string) (*Session, error)     { return nil, errUnused }
func (s *keyStore) EndSessions(context.Context, string) ([]*Session, error)  { return nil, errUnused }
func (s *keyStore) Purge(context.Context, time.Time) (int, error)            { return 0, errUnused }
func (s *keyStore) Consume(context.Context, string, time.Time) (bool, error) { return false, errUnused }
func (s *keyStore) Close() error                                             { return nil }

func (s *keyStore) Count(context.Context, string, int, time.Time, time.Duration) (int, time.Time, error) {
	return 0, time.Time{}, errUnused
}

// fakeExchange is an Exchange over plain values, for the unit tests of the helpers the
// routes use; core/authtest runs the routes themselves over real servers.
type fakeExchange struct {
	headers map[string]string
	cookies map[string]string
	tls     bool
	host    string
	uri     string
	reqBody []byte

	status  int
	set     http.Header
	setCk   []*http.Cookie
	body    []byte
	written bool
}

func newFake() *fakeExchange {
	return &fakeExchange{headers: map[string]string{}, cookies: map[string]string{}, host: "app.example", uri: "/", set: http.Header{}}
}

func (f *fakeExchange) Context() context.Context { return context.Background() }
func (f *fakeExchange) Method() string           { return http.MethodPost }
func (f *fakeExchange) Header(n string) string   { return f.headers[http.CanonicalHeaderKey(n)] }
func (f *fakeExchange) Query(string) string      { return "" }
func (f *fakeExchange) PathValue(string) string  { return "" }
func (f *fakeExchange) Body(limit int64) ([]byte, error) {
	if int64(len(f.reqBody)) > limit {
		return nil, errors.New("body too long")
	}
	return f.reqBody, nil
}
func (f *fakeExchange) RemoteIP() string         { return "192.0.2.1" }
func (f *fakeExchange) TLS() bool                { return f.tls }
func (f *fakeExchange) Host() string             { return f.host }
func (f *fakeExchange) RequestURI() string       { return f.uri }
func (f *fakeExchange) SetHeader(n, v string)    { f.set.Set(n, v) }
func (f *fakeExchange) SetCookie(c *http.Cookie) { f.setCk = append(f.setCk, c) }
func (f *fakeExchange) Cookies(n string) []string {
	if v, ok := f.cookies[n]; ok {
		return []string{v}
	}
	return nil
}
func (f *fakeExchange) Write(status int, body []byte) {
	if f.written {
		panic("Write called twice")
	}
	f.status, f.body, f.written = status, body, true
}

func newWebAuth(t testing.TB, opts ...Option) *Auth {
	t.Helper()
	a, err := New(newKeyStore(), append([]Option{WithProviders(OIDC("idp", "https://idp.example", "id", "secret"))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCheckRedirect(t *testing.T) {
	origins := map[string]bool{"https://app.example.com": true}
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"", "/", true},
		{"/", "/", true},
		{"/a/b?c=d#e", "/a/b?c=d#e", true},
		{"/%2F%2Fevil", "/%2F%2Fevil", true},
		{"https://app.example.com/x", "https://app.example.com/x", true},
		{"https://APP.example.com", "https://APP.example.com", true},
		{"//evil.example", "", false},
		{"/\\evil.example", "", false},
		{"\\/evil.example", "", false},
		{"/\t/evil.example", "", false},
		{"/\r\n/evil.example", "", false},
		{"/ x", "", false},
		{"/é", "", false},
		{"https://evil.example", "", false},
		{"https://app.example.com:8443/", "", false},
		{"http://app.example.com/", "", false},
		{"https://app.example.com@evil.example/", "", false},
		{"https://u@app.example.com/", "", false},
		{"javascript:alert(1)", "", false},
		{"https:app.example.com", "", false},
		{"relative/path", "", false},
		// The app's own origin is trusted without being listed.
		{"https://own.example/account?x=1", "https://own.example/account?x=1", true},
		{"https://OWN.example/", "https://OWN.example/", true},
		{"http://own.example/", "", false},
		{"https://own.example:444/", "", false},
		{"https://own.example.evil/", "", false},
		{"/" + strings.Repeat("a", maxRedirect), "", false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := checkRedirect(tc.in, origins, "https://own.example")
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("checkRedirect(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrRedirect) {
				t.Fatalf("error %v does not match ErrRedirect", err)
			}
		})
	}
}

func TestStateSeal(t *testing.T) {
	a := newWebAuth(t)
	key := a.keys(a.cfg.now()).states[0]
	now := time.Now()
	st := &loginState{ID: "id", Provider: "idp", Verifier: strings.Repeat("v", 43), Nonce: "n",
		RedirectTo: "/", RedirectURI: "https://app.example/auth/callback", Expires: now.Add(stateTTL).Unix()}
	sealed, err := sealState(key, st)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := openState([]cipher.AEAD{key}, sealed, now); err != nil || *got != *st {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	flip := []byte(sealed)
	flip[len(flip)-1] ^= 'A' ^ 'B'
	expired := *st
	expired.Expires = now.Unix()
	sealedExpired, _ := sealState(key, &expired)
	short := *st
	short.Verifier = "v"
	sealedShort, _ := sealState(key, &short)
	other := newWebAuth(t).rot.current.Load().states[0]
	cases := []struct {
		name  string
		key   cipher.AEAD
		value string
	}{
		{"Tampered", key, string(flip)},
		{"Truncated", key, sealed[:len(sealed)-4]},
		{"Padded", key, sealed + "="},
		{"Empty", key, ""},
		{"Garbage", key, "!!!"},
		{"TooLong", key, strings.Repeat("A", maxStateCookie+1)},
		{"Expired", key, sealedExpired},
		{"Incomplete", key, sealedShort},
		{"OtherKey", other, sealed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := openState([]cipher.AEAD{tc.key}, tc.value, now); !errors.Is(err, ErrLoginState) {
				t.Fatalf("openState: %v, want ErrLoginState", err)
			}
		})
	}
}

// TestStateKeyShared checks that instances sharing a store open each other's state
// cookies: the key is generated once and kept in the store.
func TestStateKeyShared(t *testing.T) {
	store := newKeyStore()
	var keys []cipher.AEAD
	for range 2 {
		a, err := New(store, WithProviders(Google("id", "secret")))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, a.keys(a.cfg.now()).states[0])
	}
	st := &loginState{ID: "i", Provider: "google", Verifier: strings.Repeat("v", 43), Nonce: "n", RedirectTo: "/",
		RedirectURI: "https://a/cb", Expires: time.Now().Add(time.Minute).Unix()}
	sealed, _ := sealState(keys[0], st)
	if _, err := openState([]cipher.AEAD{keys[1]}, sealed, time.Now()); err != nil {
		t.Fatalf("second instance cannot open the first one's state: %v", err)
	}
}

func TestCrossSite(t *testing.T) {
	a := newWebAuth(t, WithAllowedOrigins("https://front.example"), WithPublicURL("https://public.example/base"))
	cases := []struct {
		name    string
		headers map[string]string
		cross   bool
	}{
		{"NoHeaders", nil, false},
		{"SameOrigin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://app.example"}, false},
		{"UserTyped", map[string]string{"Sec-Fetch-Site": "none"}, false},
		{"CrossSite", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, true},
		{"SameSiteSibling", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://sib.app.example"}, true},
		{"SameSiteAllowed", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://front.example"}, false},
		{"CrossSiteNoOrigin", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"OriginMatchesHost", map[string]string{"Origin": "http://app.example"}, false},
		{"OriginMatchesPublicURL", map[string]string{"Origin": "https://public.example"}, false},
		{"OriginAllowed", map[string]string{"Origin": "https://FRONT.example"}, false},
		{"OriginOther", map[string]string{"Origin": "https://evil.example"}, true},
		{"OriginNull", map[string]string{"Origin": "null"}, true},
		{"OriginGarbage", map[string]string{"Origin": "::"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex := newFake()
			for k, v := range tc.headers {
				ex.headers[http.CanonicalHeaderKey(k)] = v
			}
			if got := a.crossSite(ex); got != tc.cross {
				t.Fatalf("crossSite = %v, want %v", got, tc.cross)
			}
		})
	}
}

func TestCookies(t *testing.T) {
	cases := []struct {
		name   string
		opts   []Option
		tls    bool
		secure bool
		cookie string // the name on the wire: prefixed over https (RFC 6265bis §4.1.3)
	}{
		{"HTTP", nil, false, false, "rt"},
		{"TLS", nil, true, true, "__Secure-rt"},
		{"HTTPSPublicURLBehindProxy", []Option{WithPublicURL("https://app.example")}, false, true, "__Secure-rt"},
		{"HTTPPublicURL", []Option{WithPublicURL("http://localhost:7000")}, false, false, "rt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newWebAuth(t, append(tc.opts, WithRoutePrefix("/api/auth"),
				WithCookies(CookieOptions{Domain: ".App.Example", SameSiteStrict: true, RefreshName: "rt"}))...)
			ex := newFake()
			ex.tls = tc.tls
			exp := a.cfg.now().Add(time.Hour)
			a.setRefreshCookie(ex, &Tokens{RefreshToken: "tok", RefreshExpiresAt: exp})
			a.clearCookie(ex, "rt")
			set, cleared := ex.setCk[0], ex.setCk[1]
			if set.Name != tc.cookie || set.Value != "tok" || set.Path != "/api/auth" || set.Domain != "app.example" ||
				!set.HttpOnly || set.Secure != tc.secure || set.SameSite != http.SameSiteStrictMode ||
				set.MaxAge < 3590 || set.MaxAge > 3600 {
				t.Fatalf("refresh cookie %s", set)
			}
			if cleared.Name != tc.cookie || cleared.Value != "" || cleared.Path != set.Path || cleared.Domain != set.Domain ||
				cleared.MaxAge >= 0 || cleared.Secure != tc.secure {
				t.Fatalf("cleared cookie %s does not match %s with Max-Age=0", cleared, set)
			}
			if s := cleared.String(); !strings.Contains(s, "Max-Age=0") {
				t.Fatalf("cleared cookie %q lacks Max-Age=0", s)
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	a := newWebAuth(t, WithRealm("example"))
	cases := []struct {
		name      string
		err       error
		status    int
		challenge string
		retry     string
	}{
		{"NoToken", ErrNoToken, 401, `Bearer realm="example"`, ""},
		{"BadToken", ErrBadSignature, 401, `Bearer realm="example", error="invalid_token", error_description="bad token signature"`, ""},
		{"Denied", ErrLoginDenied, 401, `Bearer realm="example"`, ""},
		{"Store", storeErr(errors.New("disk")), 503, "", "5"},
		{"Forbidden", ErrCrossSite, 403, "", ""},
		{"Grant", ErrRefreshReused, 400, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex := newFake()
			a.writeError(ex, tc.err)
			if ex.status != tc.status || ex.set.Get("WWW-Authenticate") != tc.challenge ||
				ex.set.Get("Retry-After") != tc.retry || ex.set.Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d, headers %v", ex.status, ex.set)
			}
			if strings.Contains(string(ex.body), "disk") {
				t.Fatalf("body %s leaks the cause", ex.body)
			}
		})
	}
}

// TestCookieName: the prefixes of RFC 6265bis §4.1.3 over https; __Host- only where the
// browser would take it (Path=/, no Domain); a configured prefix is kept.
func TestCookieName(t *testing.T) {
	plain := newWebAuth(t)
	domain := newWebAuth(t, WithCookies(CookieOptions{Domain: "app.example"}))
	https, http := newFake(), newFake()
	https.tls = true
	for _, tc := range []struct {
		a          *Auth
		ex         *fakeExchange
		base, path string
		want       string
	}{
		{plain, http, "rt", "/auth", "rt"},
		{plain, https, "rt", "/auth", "__Secure-rt"},
		{plain, https, "at", "/", "__Host-at"},
		{domain, https, "at", "/", "__Secure-at"},
		{plain, https, "__Host-mine", "/", "__Host-mine"},
		{plain, https, "__Secure-mine", "/auth", "__Secure-mine"},
	} {
		if got := tc.a.cookieName(tc.ex, tc.base, tc.path); got != tc.want {
			t.Errorf("cookieName(tls=%v, %q, %q) = %q, want %q", tc.ex.tls, tc.base, tc.path, got, tc.want)
		}
	}
}
