package authtest

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/password"
)

// The users of the app's own, signed in with a password.
const (
	passwordPath = prefix + "/login/password"
	annPassword  = "correct horse battery staple"
	annEmail     = "ann@example.com"
	annSubject   = "user-42" // the app's user id
	bobPassword  = "hunter2 but longer"
	bobEmail     = "bob@example.com"
)

// cheapParams are the cheapest Argon2id parameters at the floor core/password accepts
// (Memory×Time = 36864 KiB, salt 8 bytes, hash 16): the suite's hashes cost little, and
// are made once per suite.
var cheapParams = password.Params{Memory: 9216, Time: 4, Threads: 1, SaltLen: 8, KeyLen: 16}

// passwordUsers returns the app's users by username: ann and bob, and nohash, a user
// without a password.
func (s *suite) passwordUsers(t *testing.T) map[string]*core.PasswordUser {
	t.Helper()
	s.pwOnce.Do(func() {
		users := map[string]*core.PasswordUser{
			"ann":    {Identity: core.Identity{Subject: annSubject, Email: annEmail, Name: "Ann"}},
			"bob":    {Identity: core.Identity{Subject: "user-43", Email: bobEmail}},
			"nohash": {Identity: core.Identity{Subject: "user-44", Email: "nohash@example.com"}},
		}
		for name, pw := range map[string]string{"ann": annPassword, "bob": bobPassword} {
			h, err := password.Hash(pw, cheapParams)
			if err != nil {
				t.Errorf("password.Hash at the floor's parameters: %v", err)
				return
			}
			users[name].Hash = h
		}
		s.pwUsers = users
	})
	if s.pwUsers == nil {
		t.Fatal("no password users")
	}
	return s.pwUsers
}

// withPasswords is WithPasswords over the suite's users: the lookup an app writes over
// its user table, exact on the username.
func (s *suite) withPasswords(t *testing.T) core.Option {
	users := s.passwordUsers(t)
	return core.WithPasswords(func(_ context.Context, username string) (*core.PasswordUser, error) {
		u, ok := users[username]
		if !ok {
			return nil, nil
		}
		c := *u
		return &c, nil
	})
}

// loginJSON is a JSON password sign-in asking for the token response.
func loginJSON(username, pw string) []opt {
	return []opt{jsonBody(map[string]string{"username": username, "password": pw}), header("Accept", "application/json")}
}

// wantRetryAfter checks a 429 with a Retry-After of 1 to max seconds.
func (r *reply) wantRetryAfter(t *testing.T, max time.Duration) *reply {
	t.Helper()
	r.wantError(t, http.StatusTooManyRequests, "too_many_requests").wantNoTokens(t, false)
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n < 1 || time.Duration(n)*time.Second > max+time.Second {
		t.Fatalf("Retry-After %q, want 1 to %v in seconds", r.header.Get("Retry-After"), max)
	}
	return r
}

// testPassword: sign-in with the app's own users at POST {prefix}/login/password
// (WithPasswords over Argon2id hashes): the token response or the cookies and a
// redirect, one answer for an unknown user and a wrong password, the failure limits
// per username and per IP kept in the store, login CSRF refused, and malformed requests
// refused before any password is checked.
func testPassword(t *testing.T, s *suite) {
	pw := s.withPasswords(t)

	t.Run("JSON", func(t *testing.T) {
		e := s.newEnv(t, pw)
		r := e.do("POST", passwordPath, loginJSON("ann", annPassword)...)
		tok := r.tokens(t)
		if tok.refresh == "" || len(r.cookies) != 0 {
			t.Fatalf("token response %s with cookies %v: want a refresh token and no cookie", r, r.cookies)
		}
		if e.email(tok.access) != annEmail {
			t.Fatal("the password sign-in's access token does not work on /api/protected")
		}
		// The session belongs to the app's user id, as the lookup's Identity says.
		me := e.do("GET", prefix+"/me", bearer(tok.access)).want(t, http.StatusOK).json(t)
		if me["sub"] != annSubject || me["email"] != annEmail {
			t.Fatalf("me %v: want sub %q, the app's user id", me, annSubject)
		}
		e.refresh(tok.refresh)
		// A form body asking for JSON gets the token response too.
		e.do("POST", passwordPath, formBody("username", "bob", "password", bobPassword), header("Accept", "application/json")).tokens(t)
	})

	t.Run("Browser", func(t *testing.T) {
		e := s.newEnv(t, pw)
		for _, tc := range []struct{ path, to, want string }{
			{passwordPath, "/dashboard?tab=1", "/dashboard?tab=1"},
			{passwordPath + "?redirect_to=" + url.QueryEscape("/from-query"), "", "/from-query"},
			{passwordPath, "", "/"},
		} {
			b := e.browser()
			kv := []string{"username", "ann", "password", annPassword}
			if tc.to != "" {
				kv = append(kv, "redirect_to", tc.to)
			}
			r := b.do("POST", tc.path, formBody(kv...)).want(t, http.StatusFound).wantNoStore(t)
			if loc := r.header.Get("Location"); loc != tc.want {
				t.Fatalf("Location %q, want %q", loc, tc.want)
			}
			c := r.cookie(core.DefaultRefreshCookie)
			switch {
			case c == nil || c.Value == "":
				t.Fatal("no refresh cookie")
			case !c.HttpOnly || c.Path != prefix || c.SameSite != http.SameSiteLaxMode:
				t.Fatalf("refresh cookie %s: want HttpOnly, Path=%s, SameSite=Lax", c, prefix)
			case bytes.Contains(r.body, []byte("eyJ")):
				t.Fatalf("the redirect carries a token: %s", r)
			}
			at := b.do("POST", prefix+"/refresh").want(t, http.StatusOK).str(t, "access_token")
			if e.email(at) != annEmail {
				t.Fatal("the browser's session is not ann's")
			}
		}
	})

	t.Run("OpenRedirect", func(t *testing.T) {
		e := s.newEnv(t, pw)
		for _, to := range []string{"//evil.example", "https://evil.example/x", "/\\evil.example", "javascript:alert(1)"} {
			e.do("POST", passwordPath, formBody("username", "ann", "password", annPassword, "redirect_to", to)).
				wantError(t, http.StatusBadRequest, "invalid_request").wantNoTokens(t, false)
			e.do("POST", passwordPath+"?redirect_to="+url.QueryEscape(to), formBody("username", "ann", "password", annPassword)).
				wantError(t, http.StatusBadRequest, "invalid_request").wantNoTokens(t, false)
		}
	})

	t.Run("OneAnswerForUnknownAndWrong", func(t *testing.T) {
		// An unknown user, a user without a password and a wrong password get the same
		// status and the same bytes, JSON client and browser alike: the answer does not
		// tell which usernames exist. (That they also take the same time, within noise,
		// is not checked here.)
		e := s.newEnv(t, pw)
		var first *reply
		for _, c := range [][2]string{{"ghost", annPassword}, {"ann", "wrong password"}, {"nohash", "anything"}, {"bob", annPassword}} {
			for _, browser := range []bool{false, true} {
				opts := loginJSON(c[0], c[1])
				if browser {
					opts = []opt{formBody("username", c[0], "password", c[1], "redirect_to", "/home")}
				}
				r := e.do("POST", passwordPath, opts...).wantError(t, http.StatusBadRequest, "invalid_grant").wantNoTokens(t, false)
				if first == nil {
					first = r
					continue
				}
				if !bytes.Equal(r.body, first.body) {
					t.Fatalf("%s/%s (browser %v) answered %q, the first failure %q: want identical bytes", c[0], c[1], browser, r.body, first.body)
				}
			}
		}
	})

	t.Run("Throttle", func(t *testing.T) {
		// Five failures for a username: every attempt with it is refused until the window
		// ends, the right password included; the username is counted without regard to
		// case or surrounding space. Other users of the same IP are not concerned.
		e := s.newEnv(t, pw)
		for range 5 {
			e.do("POST", passwordPath, loginJSON("ann", "guess")...).wantError(t, http.StatusBadRequest, "invalid_grant")
		}
		e.do("POST", passwordPath, loginJSON("ann", annPassword)...).wantRetryAfter(t, 15*time.Minute)
		e.do("POST", passwordPath, loginJSON(" ANN ", annPassword)...).wantRetryAfter(t, 15*time.Minute)
		e.do("POST", passwordPath, formBody("username", "ann", "password", annPassword)).wantRetryAfter(t, 15*time.Minute)
		e.do("POST", passwordPath, loginJSON("bob", bobPassword)...).tokens(t)
		e.clock.Advance(10 * time.Minute)
		e.do("POST", passwordPath, loginJSON("ann", annPassword)...).wantRetryAfter(t, 5*time.Minute)
		e.clock.Advance(5*time.Minute + time.Second)
		if e.email(e.do("POST", passwordPath, loginJSON("ann", annPassword)...).tokens(t).access) != annEmail {
			t.Fatal("ann cannot sign in after the window")
		}
	})

	t.Run("ThrottlePerIP", func(t *testing.T) {
		// Failures spread over many usernames (password spraying) are limited per IP.
		e := s.newEnv(t, pw, core.WithPasswordLimits(100, 3, time.Minute))
		for _, u := range []string{"ghost1", "ghost2", "bob"} {
			e.do("POST", passwordPath, loginJSON(u, "Winter2025!")...).wantError(t, http.StatusBadRequest, "invalid_grant")
		}
		e.do("POST", passwordPath, loginJSON("ann", annPassword)...).wantRetryAfter(t, time.Minute)
		e.clock.Advance(time.Minute + time.Second)
		e.do("POST", passwordPath, loginJSON("ann", annPassword)...).tokens(t)
	})

	t.Run("CrossSite", func(t *testing.T) {
		// A page of another site posting a form into the app would sign the browser in
		// as whoever the attacker chose (login CSRF): 403, no cookie.
		e := s.newEnv(t, pw)
		form := formBody("username", "ann", "password", annPassword)
		for _, h := range [][2]string{
			{"Origin", "https://evil.example"},
			{"Origin", "null"},
			{"Sec-Fetch-Site", "cross-site"},
			{"Sec-Fetch-Site", "same-site"},
		} {
			e.do("POST", passwordPath, form, header(h[0], h[1])).wantError(t, http.StatusForbidden, "access_denied").wantNoTokens(t, false)
		}
		e.do("POST", passwordPath, form, header("Sec-Fetch-Site", "same-origin"), header("Origin", e.base)).want(t, http.StatusFound)
	})

	t.Run("Malformed", func(t *testing.T) {
		e := s.newEnv(t, pw)
		for _, tc := range []struct {
			name string
			o    opt
		}{
			{"NoBody", nil},
			{"NoPassword", jsonBody(map[string]string{"username": "ann"})},
			{"NoUsername", jsonBody(map[string]string{"password": annPassword})},
			{"EmptyPassword", formBody("username", "ann", "password", "")},
			{"FormNoPassword", formBody("username", "ann")},
			{"UsernameTooLong", jsonBody(map[string]string{"username": strings.Repeat("a", 257), "password": annPassword})},
			{"PasswordTooLong", jsonBody(map[string]string{"username": "ann", "password": strings.Repeat("a", 1025)})},
			{"RepeatedJSONMember", rawBody("application/json", `{"username":"ann","password":"wrong","password":"`+annPassword+`"}`)},
			{"RepeatedFormField", rawBody("application/x-www-form-urlencoded", "username=ann&password=wrong&password="+url.QueryEscape(annPassword))},
			{"NonStringJSON", rawBody("application/json", `{"username":"ann","password":42}`)},
			{"UnsupportedContentType", rawBody("text/plain", "username=ann&password=x")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				opts := []opt{header("Accept", "application/json")}
				if tc.o != nil {
					opts = append(opts, tc.o)
				}
				e.do("POST", passwordPath, opts...).wantError(t, http.StatusBadRequest, "invalid_request").wantNoTokens(t, false)
			})
		}
	})

	t.Run("StoreDown", func(t *testing.T) {
		// The failure counters are in the store: without it, no password is checked.
		e := s.newEnv(t, pw)
		e.store.fail(true)
		r := e.do("POST", passwordPath, loginJSON("ann", annPassword)...).want(t, http.StatusServiceUnavailable).wantNoTokens(t, false)
		if r.header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
		e.store.fail(false)
		e.do("POST", passwordPath, loginJSON("ann", annPassword)...).tokens(t)
	})

	t.Run("RateLimited", func(t *testing.T) {
		// The route is limited per IP like the sign-in, before any password is checked.
		e := s.newEnv(t, pw, core.WithRateLimit(2))
		for range 2 {
			e.do("POST", passwordPath, loginJSON("ghost", "x")...).wantError(t, http.StatusBadRequest, "invalid_grant")
		}
		e.do("POST", passwordPath, loginJSON("ann", annPassword)...).wantRetryAfter(t, time.Minute)
	})

	t.Run("Verifier", func(t *testing.T) {
		// WithPasswordVerifier: the app checks the password itself and names the user.
		e := s.newEnv(t, core.WithPasswordVerifier(func(_ context.Context, username, pw string) (*core.Identity, error) {
			if username == "carol" && pw == "carol's password" {
				return &core.Identity{Subject: "user-7", Email: "carol@example.com"}, nil
			}
			return nil, nil
		}))
		tok := e.do("POST", passwordPath, loginJSON("carol", "carol's password")...).tokens(t)
		if me := e.do("GET", prefix+"/me", bearer(tok.access)).want(t, http.StatusOK).json(t); me["sub"] != "user-7" {
			t.Fatalf("me %v: want the verifier's subject", me)
		}
		unknown := e.do("POST", passwordPath, loginJSON("dave", "x")...).wantError(t, http.StatusBadRequest, "invalid_grant")
		wrong := e.do("POST", passwordPath, loginJSON("carol", "x")...).wantError(t, http.StatusBadRequest, "invalid_grant")
		if !bytes.Equal(unknown.body, wrong.body) {
			t.Fatalf("unknown user %q, wrong password %q: want identical bytes", unknown.body, wrong.body)
		}
	})

	t.Run("NotMounted", func(t *testing.T) {
		e := s.newEnv(t)
		if r := e.do("POST", passwordPath, loginJSON("ann", annPassword)...); r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed {
			t.Fatalf("POST %s without a password option answered %d, want 404 or 405", passwordPath, r.status)
		}
	})
}
