package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gatehouse-auth/gatehouse/core/password"
)

// fastParams are the cheapest Argon2id parameters the floor allows: the users' hashes
// of these tests. The dummy hash of unknown users is at DefaultParams, as in production.
var fastParams = password.Params{Memory: 7168, Time: 6, Threads: 1, SaltLen: 16, KeyLen: 32}

const (
	alicePassword = "correct horse battery staple"
	bobPassword   = "Tr0ub4dor&3"
)

// pwHashes are the users' hashes, made once for the whole test binary.
var pwHashes = sync.OnceValue(func() map[string]string {
	return map[string]string{
		"alice": must(password.Hash(alicePassword, fastParams)),
		"bob":   must(password.Hash(bobPassword, fastParams)),
	}
})

// pwUsers is the app's user table: alice and bob with passwords, carol without one.
func pwUsers() map[string]*core.PasswordUser {
	h := pwHashes()
	return map[string]*core.PasswordUser{
		"alice": {Identity: alice, Hash: h["alice"]},
		"bob":   {Identity: bob, Hash: h["bob"]},
		"carol": {Identity: core.Identity{Subject: "user-carol"}},
	}
}

// pwLookup is a WithPasswords lookup over users, exact match.
func pwLookup(users map[string]*core.PasswordUser) func(context.Context, string) (*core.PasswordUser, error) {
	return func(_ context.Context, name string) (*core.PasswordUser, error) {
		return users[name], nil
	}
}

// pwEnv is an env with the password sign-in over pwUsers, its route, and the hashes
// it verified.
type pwEnv struct {
	*env
	route    func(core.Exchange)
	verifies func() []string
}

func newPwEnv(t *testing.T, opts ...core.Option) *pwEnv {
	t.Helper()
	e := newEnv(t, append([]core.Option{core.WithPasswords(pwLookup(pwUsers()))}, opts...)...)
	return &pwEnv{env: e, route: routeOf(t, e.auth, http.MethodPost, "/login/password"), verifies: core.PasswordVerifies(e.auth)}
}

// pwExchange is a POST to the password route as an adapter hands it to core.
type pwExchange struct {
	ctx    context.Context
	header http.Header
	query  url.Values
	body   []byte
	ip     string

	status  int
	set     http.Header
	cookies []*http.Cookie
	resp    []byte
}

func (x *pwExchange) Context() context.Context { return x.ctx }
func (x *pwExchange) Method() string           { return http.MethodPost }
func (x *pwExchange) Header(n string) string   { return x.header.Get(n) }
func (x *pwExchange) Query(n string) string    { return x.query.Get(n) }
func (x *pwExchange) PathValue(string) string  { return "" }
func (x *pwExchange) Cookies(string) []string  { return nil }
func (x *pwExchange) Body(limit int64) ([]byte, error) {
	if int64(len(x.body)) > limit {
		return nil, errors.New("body over the limit")
	}
	return x.body, nil
}
func (x *pwExchange) RemoteIP() string         { return x.ip }
func (x *pwExchange) TLS() bool                { return false }
func (x *pwExchange) Host() string             { return "app.example" }
func (x *pwExchange) RequestURI() string       { return "/auth/login/password" }
func (x *pwExchange) SetHeader(n, v string)    { x.set.Set(n, v) }
func (x *pwExchange) SetCookie(c *http.Cookie) { x.cookies = append(x.cookies, c) }
func (x *pwExchange) Write(status int, body []byte) {
	if x.status != 0 {
		panic("Write called twice")
	}
	x.status, x.resp = status, body
}

// pwForm is a form POST of the values, from 192.0.2.1, asking for JSON.
func pwForm(kv ...string) *pwExchange {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	x := &pwExchange{ctx: context.Background(), header: http.Header{}, query: url.Values{}, body: []byte(v.Encode()), ip: "192.0.2.1", set: http.Header{}}
	x.header.Set("Content-Type", "application/x-www-form-urlencoded")
	x.header.Set("Accept", "application/json")
	return x
}

// pwJSON is a JSON POST of body, asking for JSON.
func pwJSON(body string) *pwExchange {
	x := pwForm()
	x.body = []byte(body)
	x.header.Set("Content-Type", "application/json")
	return x
}

// browser makes x a browser's form POST: no JSON asked for, from the app's own page.
func (x *pwExchange) browser() *pwExchange {
	x.header.Del("Accept")
	x.header.Set("Origin", "http://app.example")
	x.header.Set("Sec-Fetch-Site", "same-origin")
	return x
}

func (x *pwExchange) from(ip string) *pwExchange { x.ip = ip; return x }

// post sends x to the route and returns it, answered.
func (e *pwEnv) post(x *pwExchange) *pwExchange {
	e.t.Helper()
	e.route(x)
	if x.status == 0 {
		e.t.Fatalf("the route did not answer")
	}
	return x
}

// signIn posts username and password as a JSON client and returns the answer.
func (e *pwEnv) signIn(username, pw string) *pwExchange {
	e.t.Helper()
	return e.post(pwForm("username", username, "password", pw))
}

// tokens decodes a token response.
func (x *pwExchange) tokens(t *testing.T) (access, refresh string) {
	t.Helper()
	var r struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		Result       bool   `json:"result"`
	}
	if x.status != http.StatusOK || json.Unmarshal(x.resp, &r) != nil || r.AccessToken == "" || r.RefreshToken == "" || !r.Result {
		t.Fatalf("answer %d %s, want a token response", x.status, x.resp)
	}
	if x.set.Get("Cache-Control") != "no-store" {
		t.Errorf("token response without Cache-Control: no-store")
	}
	return r.AccessToken, r.RefreshToken
}

// badCredentials is the one answer to a wrong username or password.
const badCredentials = `{"error":"invalid_grant","error_description":"wrong username or password"}`

func (x *pwExchange) wantStatus(t *testing.T, status int) {
	t.Helper()
	if x.status != status {
		t.Fatalf("answer %d %s, want %d", x.status, x.resp, status)
	}
}

func (x *pwExchange) wantBadCredentials(t *testing.T) {
	t.Helper()
	if x.status != http.StatusBadRequest || string(x.resp) != badCredentials {
		t.Fatalf("answer %d %s, want 400 %s", x.status, x.resp, badCredentials)
	}
}

// TestPasswordSignIn: the right password starts a session, as a token response for a
// JSON client and as the refresh cookie and a redirect for a browser, form or JSON
// body alike.
func TestPasswordSignIn(t *testing.T) {
	e := newPwEnv(t)
	t.Run("form", func(t *testing.T) {
		access, refresh := e.signIn("alice", alicePassword).tokens(t)
		c := e.mustAuth(access)
		if c.Subject != alice.Subject || c.Email != alice.Email {
			t.Errorf("claims %+v, want alice's", c)
		}
		e.mustRefresh(refresh)
	})
	t.Run("JSON", func(t *testing.T) {
		access, _ := e.post(pwJSON(`{"username":"bob","password":"` + bobPassword + `"}`)).tokens(t)
		if c := e.mustAuth(access); c.Subject != bob.Subject {
			t.Errorf("subject %q, want bob's", c.Subject)
		}
	})
	t.Run("provider of the session", func(t *testing.T) {
		access, _ := e.signIn("alice", alicePassword).tokens(t)
		all := must(e.auth.Sessions(context.Background(), alice.Subject))
		sid := e.mustAuth(access).SessionID
		for _, s := range all {
			if s.ID == sid && s.Provider != "password" {
				t.Errorf("session provider %q, want password", s.Provider)
			}
		}
	})
	t.Run("wrong case is another user", func(t *testing.T) {
		e.signIn("Alice", alicePassword).wantBadCredentials(t)
	})
	browserCases := []struct {
		name       string
		x          *pwExchange
		wantTarget string
	}{
		{"browser, default target", pwForm("username", "alice", "password", alicePassword), "/"},
		{"browser, target in the body", pwForm("username", "alice", "password", alicePassword, "redirect_to", "/account?tab=keys"), "/account?tab=keys"},
		{"browser, target in the query", pwForm("username", "alice", "password", alicePassword), "/from-query"},
		{"browser, own origin", pwForm("username", "alice", "password", alicePassword, "redirect_to", "http://app.example/x"), "http://app.example/x"},
		{"browser, JSON body", pwJSON(`{"username":"alice","password":"` + alicePassword + `","redirect_to":"/j"}`), "/j"},
	}
	browserCases[2].x.query.Set("redirect_to", "/from-query")
	for _, tc := range browserCases {
		t.Run(tc.name, func(t *testing.T) {
			x := e.post(tc.x.browser())
			x.wantStatus(t, http.StatusFound)
			if got := x.set.Get("Location"); got != tc.wantTarget {
				t.Errorf("Location %q, want %q", got, tc.wantTarget)
			}
			if len(x.resp) != 0 || x.set.Get("Cache-Control") != "no-store" {
				t.Errorf("redirect with body %q, Cache-Control %q", x.resp, x.set.Get("Cache-Control"))
			}
			var refresh *http.Cookie
			for _, c := range x.cookies {
				if c.Name == core.DefaultRefreshCookie {
					refresh = c
				}
			}
			if refresh == nil || !refresh.HttpOnly || refresh.Path != "/auth" || refresh.MaxAge <= 0 {
				t.Fatalf("cookies %v, want the refresh cookie", x.cookies)
			}
			e.mustRefresh(refresh.Value)
		})
	}
	redirects := []struct {
		name  string
		body  []string
		query string
	}{
		{"open redirect in the body", []string{"redirect_to", "https://evil.example/"}, ""},
		{"open redirect in the query", nil, "//evil.example"},
		{"scheme-relative with a backslash", []string{"redirect_to", "/\\evil.example"}, ""},
		{"body and query disagree", []string{"redirect_to", "/a"}, "/b"},
	}
	for _, tc := range redirects {
		t.Run(tc.name, func(t *testing.T) {
			n := len(e.verifies())
			x := pwForm(append([]string{"username", "alice", "password", alicePassword}, tc.body...)...).browser()
			if tc.query != "" {
				x.query.Set("redirect_to", tc.query)
			}
			e.post(x).wantStatus(t, http.StatusBadRequest)
			if x.set.Get("Location") != "" || len(x.cookies) != 0 {
				t.Errorf("refused redirect still redirects or sets cookies")
			}
			if len(e.verifies()) != n {
				t.Errorf("a refused redirect_to was checked against the password")
			}
		})
	}
}

// TestPasswordCookieMode: in cookie mode a browser's sign-in sets the access cookie
// next to the refresh cookie; a JSON client gets neither.
func TestPasswordCookieMode(t *testing.T) {
	e := newPwEnv(t, core.WithAccessCookie())
	x := e.post(pwForm("username", "alice", "password", alicePassword).browser())
	x.wantStatus(t, http.StatusFound)
	got := map[string]*http.Cookie{}
	for _, c := range x.cookies {
		got[c.Name] = c
	}
	access, refresh := got[core.DefaultAccessCookie], got[core.DefaultRefreshCookie]
	if access == nil || refresh == nil || access.Path != "/" || !access.HttpOnly {
		t.Fatalf("cookies %v, want the access and the refresh cookie", x.cookies)
	}
	if c := e.mustAuth(access.Value); c.Subject != alice.Subject {
		t.Errorf("access cookie of %q", c.Subject)
	}
	if x := e.signIn("alice", alicePassword); len(x.cookies) != 0 {
		t.Errorf("JSON sign-in set cookies %v", x.cookies)
	}
}

// TestPasswordRateLimit: the route is under the per-IP request rate limit, before
// anything is read or checked.
func TestPasswordRateLimit(t *testing.T) {
	e := newPwEnv(t, core.WithRateLimit(2))
	e.signIn("alice", "wrong").wantBadCredentials(t)
	e.signIn("alice", alicePassword).tokens(t)
	x := e.signIn("alice", alicePassword)
	x.wantStatus(t, http.StatusTooManyRequests)
	if x.set.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
	if n := len(e.verifies()); n != 2 {
		t.Errorf("%d passwords checked, want 2", n)
	}
	e.post(pwForm("username", "alice", "password", alicePassword).from("198.51.100.7")).tokens(t)
}

// TestPasswordFailuresAlike: an unknown username, a wrong password and a user without
// a password get the same answer, byte for byte, and each costs one Argon2id
// verification: the unknown ones against the dummy hash, made at DefaultParams.
func TestPasswordFailuresAlike(t *testing.T) {
	e := newPwEnv(t)
	cases := []struct{ name, username, pw string }{
		{"wrong password", "alice", "wrong"},
		{"unknown user", "mallory", "wrong"},
		{"unknown user, someone's password", "mallory", alicePassword},
		{"user without a password", "carol", "wrong"},
		{"user without a password, empty-looking", "carol", " "},
	}
	var first *pwExchange
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := len(e.verifies())
			x := e.signIn(tc.username, tc.pw)
			x.wantBadCredentials(t)
			if first == nil {
				first = x
			} else if x.status != first.status || !bytes.Equal(x.resp, first.resp) || fmt.Sprint(x.set) != fmt.Sprint(first.set) || len(x.cookies) != 0 {
				t.Errorf("answer %d %v %s differs from %d %v %s", x.status, x.set, x.resp, first.status, first.set, first.resp)
			}
			v := e.verifies()[n:]
			if len(v) != 1 {
				t.Fatalf("%d verifications, want 1", len(v))
			}
			if user := pwUsers()[tc.username]; user != nil && user.Hash != "" {
				if v[0] != user.Hash {
					t.Errorf("verified against %q, not the user's hash", v[0])
				}
				return
			}
			if p, err := password.Check(v[0]); err != nil || p != password.DefaultParams {
				t.Errorf("unknown user verified against %q (%+v, %v), want the dummy hash at DefaultParams", v[0], p, err)
			}
			for _, u := range pwUsers() {
				if v[0] == u.Hash {
					t.Errorf("unknown user verified against a user's hash")
				}
			}
		})
	}
}

// TestPasswordThrottle: five failures for a username within the window refuse every
// attempt with that username, the right password included, with 429 and Retry-After
// until the window ends, without checking the password; then it may sign in again.
func TestPasswordThrottle(t *testing.T) {
	e := newPwEnv(t)
	for i := range 5 {
		e.signIn("alice", fmt.Sprint("guess ", i)).wantBadCredentials(t)
		e.clock.Add(time.Minute)
	}
	n := len(e.verifies())
	// The window started at the first failure, five minutes ago.
	for _, name := range []string{"alice", "ALICE", " alice\t"} {
		x := e.signIn(name, alicePassword)
		x.wantStatus(t, http.StatusTooManyRequests)
		if got := x.set.Get("Retry-After"); got != "600" {
			t.Errorf("%q: Retry-After %q, want 600", name, got)
		}
		var body map[string]string
		if json.Unmarshal(x.resp, &body) != nil || body["error"] != "too_many_requests" {
			t.Errorf("%q: body %s", name, x.resp)
		}
	}
	if len(e.verifies()) != n {
		t.Errorf("a throttled attempt was checked against the password")
	}
	ev := lastOf(t, e.env, core.EventRateLimited)
	if ev.Provider != "password" || !errors.Is(ev.Err, core.ErrRateLimited) {
		t.Errorf("rate-limited event %+v", ev)
	}
	// Another user from the same address is not held up by alice's counter.
	e.signIn("bob", bobPassword).tokens(t)
	// The window ends 15 minutes after the first failure.
	e.clock.Add(10*time.Minute - time.Second)
	e.signIn("alice", alicePassword).wantStatus(t, http.StatusTooManyRequests)
	e.clock.Add(time.Second)
	e.signIn("alice", alicePassword).tokens(t)
}

// TestPasswordThrottlePerIP: failures from one address, whatever the usernames, stop
// that address at the per-IP limit; other addresses go on.
func TestPasswordThrottlePerIP(t *testing.T) {
	e := newPwEnv(t, core.WithPasswordLimits(100, 3, time.Minute))
	for i := range 3 {
		e.signIn(fmt.Sprint("user", i), "guess").wantBadCredentials(t)
	}
	x := e.signIn("alice", alicePassword)
	x.wantStatus(t, http.StatusTooManyRequests)
	if got := x.set.Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After %q, want 60", got)
	}
	e.post(pwForm("username", "alice", "password", alicePassword).from("198.51.100.7")).tokens(t)
	e.clock.Add(time.Minute)
	e.signIn("alice", alicePassword).tokens(t)
}

// TestPasswordThrottleShared: the counters live in the store, so another instance
// over the same store refuses what this one counted.
func TestPasswordThrottleShared(t *testing.T) {
	e := newPwEnv(t, core.WithPasswordLimits(2, 50, time.Hour))
	other, err := core.New(e.mem, core.WithClock(e.clock.Now), core.WithIssuer(testIssuer), core.WithAudience(testAudience),
		core.WithSigningKey(hsKey(t)), core.WithPasswords(pwLookup(pwUsers())), core.WithPasswordLimits(2, 50, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	otherRoute := routeOf(t, other, http.MethodPost, "/login/password")
	e.signIn("alice", "guess 1").wantBadCredentials(t)
	x := pwForm("username", "alice", "password", "guess 2")
	otherRoute(x)
	x.wantBadCredentials(t)
	e.signIn("alice", alicePassword).wantStatus(t, http.StatusTooManyRequests)
	x = pwForm("username", "alice", "password", alicePassword)
	otherRoute(x)
	x.wantStatus(t, http.StatusTooManyRequests)
}

// TestPasswordRequest: requests that are not a well-formed same-site sign-in are
// refused before any password is checked or any failure counted.
func TestPasswordRequest(t *testing.T) {
	e := newPwEnv(t, core.WithPasswordLimits(1, 1, time.Hour))
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name   string
		x      *pwExchange
		status int
		is     error
	}{
		{"cross-site (Sec-Fetch-Site)", pwForm("username", "alice", "password", alicePassword), 403, core.ErrCrossSite},
		{"cross-site (Origin)", pwForm("username", "alice", "password", alicePassword), 403, core.ErrCrossSite},
		{"no username", pwForm("password", alicePassword), 400, core.ErrInvalidRequest},
		{"no password", pwForm("username", "alice"), 400, core.ErrInvalidRequest},
		{"empty password", pwForm("username", "alice", "password", ""), 400, core.ErrInvalidRequest},
		{"empty body", pwJSON(""), 400, core.ErrInvalidRequest},
		{"username over 256 bytes", pwForm("username", long(257), "password", "x"), 400, core.ErrInvalidRequest},
		{"password over 1024 bytes", pwForm("username", "alice", "password", long(1025)), 400, core.ErrInvalidRequest},
		{"password not a string", pwJSON(`{"username":"alice","password":123}`), 400, core.ErrInvalidRequest},
		{"repeated parameter", pwJSON(`{"username":"alice","username":"bob","password":"x"}`), 400, core.ErrInvalidRequest},
		{"text body", pwJSON("username=alice&password=x"), 400, core.ErrInvalidRequest},
		{"body over 64 KiB", pwForm("username", "alice", "password", long(64<<10)), 413, core.ErrBodyTooLarge},
	}
	cases[0].x.header.Set("Sec-Fetch-Site", "cross-site")
	cases[1].x.header.Set("Origin", "https://evil.example")
	cases[10].x.header.Set("Content-Type", "text/plain")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := e.post(tc.x)
			x.wantStatus(t, tc.status)
			if ev := lastOf(t, e.env, core.EventSignIn); !errors.Is(ev.Err, tc.is) || ev.Provider != "password" {
				t.Errorf("event %+v, want an error matching %v", ev, tc.is)
			}
		})
	}
	if v := e.verifies(); len(v) != 0 {
		t.Errorf("%d passwords checked, want none", len(v))
	}
	// Nothing was counted: the limit of one failure is not reached.
	e.signIn("alice", alicePassword).tokens(t)
	// Usernames and passwords at the limits are taken.
	e.signIn(long(256), long(1024)).wantBadCredentials(t)
	// An allowed origin may post.
	a := newPwEnv(t, core.WithAllowedOrigins("https://front.example"))
	x := pwForm("username", "alice", "password", alicePassword)
	x.header.Set("Origin", "https://front.example")
	x.header.Set("Sec-Fetch-Site", "same-site")
	a.post(x).tokens(t)
}

// TestPasswordVerifier: WithPasswordVerifier decides the password; failures are
// answered and counted as with WithPasswords, and the app's errors keep their
// category.
func TestPasswordVerifier(t *testing.T) {
	var (
		calls atomic.Int32
		mu    sync.Mutex
		fail  error // what the verifier returns, when set
	)
	setFail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		fail = err
	}
	verify := func(_ context.Context, username, pw string) (*core.Identity, error) {
		calls.Add(1)
		mu.Lock()
		err := fail
		mu.Unlock()
		if err != nil {
			return nil, err
		}
		if username == "alice" && pw == alicePassword {
			id := alice
			id.Provider = "ldap"
			return &id, nil
		}
		if username == "nosub" {
			return &core.Identity{}, nil
		}
		return nil, nil
	}
	e := newEnv(t, core.WithPasswordVerifier(verify), core.WithPasswordLimits(3, 50, time.Hour))
	route := routeOf(t, e.auth, http.MethodPost, "/login/password")
	post := func(x *pwExchange) *pwExchange { route(x); return x }

	access, _ := post(pwForm("username", "alice", "password", alicePassword)).tokens(t)
	if c := e.mustAuth(access); c.Subject != alice.Subject {
		t.Errorf("subject %q", c.Subject)
	}
	if ev := lastOf(t, e, core.EventLogin); ev.Provider != "ldap" {
		t.Errorf("login event %+v: the verifier's Provider is kept", ev)
	}
	wrong := post(pwForm("username", "alice", "password", "wrong"))
	unknown := post(pwForm("username", "mallory", "password", "wrong"))
	wrong.wantBadCredentials(t)
	unknown.wantBadCredentials(t)

	for _, tc := range []struct {
		name   string
		err    error
		status int
	}{
		{"category error", fmt.Errorf("%w: account locked", core.ErrUserNotAllowed), http.StatusForbidden},
		{"store error", fmt.Errorf("%w: ldap down", core.ErrStoreUnavailable), http.StatusServiceUnavailable},
		{"other error", errors.New("ldap: bind failed"), http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setFail(tc.err)
			defer setFail(nil)
			post(pwForm("username", "bob", "password", "x")).wantStatus(t, tc.status)
		})
	}
	post(pwForm("username", "nosub", "password", "x")).wantStatus(t, http.StatusInternalServerError)

	// Failures count: a third for alice reaches the limit of 3 (the app's errors
	// above were not failures of bob's password, and count nothing).
	post(pwForm("username", "alice", "password", "wrong again")).wantBadCredentials(t)
	post(pwForm("username", "alice", "password", "and again")).wantBadCredentials(t)
	n := calls.Load()
	post(pwForm("username", "alice", "password", alicePassword)).wantStatus(t, http.StatusTooManyRequests)
	if calls.Load() != n {
		t.Errorf("the verifier was called for a throttled attempt")
	}
	post(pwForm("username", "bob", "password", "x")).wantBadCredentials(t)
}

// TestPasswordLookupErrors: the lookup's and the stored hash's failures are the
// server's (500, or the category the lookup's error matches), never a wrong password,
// and count nothing.
func TestPasswordLookupErrors(t *testing.T) {
	users := pwUsers()
	users["dave"] = &core.PasswordUser{Identity: core.Identity{Subject: "user-dave"}, Hash: "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"}
	users["erin"] = &core.PasswordUser{Identity: core.Identity{Subject: "user-erin"}, Hash: "$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$hs2g8+UoUelJ+9WC1zUEiA"}
	users["frank"] = &core.PasswordUser{Hash: pwHashes()["alice"]}
	lookup := func(ctx context.Context, name string) (*core.PasswordUser, error) {
		switch name {
		case "db-down":
			return nil, errors.New("db: connection refused")
		case "db-store":
			return nil, fmt.Errorf("%w: db: timeout", core.ErrStoreUnavailable)
		}
		return users[name], nil
	}
	e := newEnv(t, core.WithPasswords(lookup), core.WithPasswordLimits(1, 1, time.Hour))
	route := routeOf(t, e.auth, http.MethodPost, "/login/password")
	for _, tc := range []struct {
		name, username, pw string
		status             int
	}{
		{"lookup failed", "db-down", "x", http.StatusInternalServerError},
		{"lookup store error", "db-store", "x", http.StatusServiceUnavailable},
		{"bcrypt hash", "dave", "x", http.StatusInternalServerError},
		{"hash below the floor", "erin", "x", http.StatusInternalServerError},
		{"user without a subject", "frank", alicePassword, http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := pwForm("username", tc.username, "password", tc.pw)
			route(x)
			x.wantStatus(t, tc.status)
		})
	}
	x := pwForm("username", "alice", "password", alicePassword)
	route(x)
	x.tokens(t)
}

// TestPasswordStoreFailure: a store that cannot count is a 503, never a pass, even
// with the right password; a store that cannot keep the session too.
func TestPasswordStoreFailure(t *testing.T) {
	e := newPwEnv(t)
	e.store.failOn("Count", errors.New("disk"))
	x := e.signIn("alice", alicePassword)
	x.wantStatus(t, http.StatusServiceUnavailable)
	if ev := lastOf(t, e.env, core.EventSignIn); ev.Result != core.ResultStoreError || ev.Provider != "password" {
		t.Errorf("event %+v", ev)
	}
	e.signIn("alice", "wrong").wantStatus(t, http.StatusServiceUnavailable)
	e.store.heal()
	e.store.failOn("CreateSession", errors.New("disk"))
	e.signIn("alice", alicePassword).wantStatus(t, http.StatusServiceUnavailable)
	e.store.heal()
	e.signIn("alice", alicePassword).tokens(t)
}

// TestPasswordEvents: a password sign-in is an EventSignIn of provider "password",
// after the EventLogin of its session.
func TestPasswordEvents(t *testing.T) {
	e := newPwEnv(t)
	access, _ := e.signIn("alice", alicePassword).tokens(t)
	c := e.mustAuth(access)
	login, signin := lastOf(t, e.env, core.EventLogin), lastOf(t, e.env, core.EventSignIn)
	if login.Provider != "password" || login.Subject != alice.Subject {
		t.Errorf("login event %+v", login)
	}
	if signin.Result != core.ResultOK || signin.Provider != "password" || signin.Subject != alice.Subject || signin.SessionID != c.SessionID || signin.Err != nil {
		t.Errorf("signin event %+v", signin)
	}
	e.signIn("alice", "wrong")
	ev := lastOf(t, e.env, core.EventSignIn)
	if ev.Result != core.ResultInvalid || ev.Provider != "password" || !errors.Is(ev.Err, core.ErrInvalidGrant) || ev.Subject != "" {
		t.Errorf("failure event %+v", ev)
	}
}

// TestPasswordSlots: at most PasswordSlots checks run at once; a request that waits
// for a slot gives up when its context ends, without checking anything.
func TestPasswordSlots(t *testing.T) {
	release := make(chan struct{})
	var running, most, calls atomic.Int32
	verify := func(ctx context.Context, _, _ string) (*core.Identity, error) {
		calls.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		return nil, nil
	}
	e := newEnv(t, core.WithPasswordVerifier(verify), core.WithoutRateLimit(), core.WithPasswordLimits(1000, 1000, time.Hour))
	route := routeOf(t, e.auth, http.MethodPost, "/login/password")
	slots := core.PasswordSlots(e.auth)
	var wg sync.WaitGroup
	for i := range 2 * slots {
		wg.Go(func() { route(pwForm("username", fmt.Sprint("u", i), "password", "x")) })
	}
	for deadline := time.Now().Add(10 * time.Second); running.Load() < int32(slots); {
		if time.Now().After(deadline) {
			t.Fatalf("%d checks running, want %d", running.Load(), slots)
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	x := pwForm("username", "late", "password", "x")
	x.ctx = ctx
	route(x)
	x.wantStatus(t, http.StatusInternalServerError)
	close(release)
	wg.Wait()
	if got := most.Load(); got != int32(slots) {
		t.Errorf("%d checks at once, want %d", got, slots)
	}
	if calls.Load() != int32(2*slots) {
		t.Errorf("%d checks, want %d: the cancelled request was checked", calls.Load(), 2*slots)
	}
}

// TestPasswordOptions: the options refuse what cannot work, and without one of them
// there is no password route.
func TestPasswordOptions(t *testing.T) {
	lookup := pwLookup(nil)
	verify := func(context.Context, string, string) (*core.Identity, error) { return nil, nil }
	for _, tc := range []struct {
		name string
		opts []core.Option
	}{
		{"both", []core.Option{core.WithPasswords(lookup), core.WithPasswordVerifier(verify)}},
		{"limits alone", []core.Option{core.WithPasswordLimits(5, 50, time.Minute)}},
		{"nil lookup", []core.Option{core.WithPasswords(nil)}},
		{"nil verifier", []core.Option{core.WithPasswordVerifier(nil)}},
		{"no failure per user", []core.Option{core.WithPasswords(lookup), core.WithPasswordLimits(0, 50, time.Minute)}},
		{"no failure per IP", []core.Option{core.WithPasswords(lookup), core.WithPasswordLimits(5, 0, time.Minute)}},
		{"window under a second", []core.Option{core.WithPasswords(lookup), core.WithPasswordLimits(5, 50, time.Millisecond)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.New(memstoreNew(t), append([]core.Option{core.WithSigningKey(hsKey(t))}, tc.opts...)...)
			wantIs(t, tc.name, err, core.ErrConfig)
		})
	}
	a := must(core.New(memstoreNew(t), core.WithSigningKey(hsKey(t))))
	for _, r := range a.Adapter().Routes() {
		if r.Pattern == "/login/password" {
			t.Errorf("password route %s without a password option", r.Method)
		}
	}
}

func memstoreNew(t *testing.T) core.Store {
	s := memstore.New()
	t.Cleanup(func() { s.Close() })
	return s
}
