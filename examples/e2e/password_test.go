package e2e

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core/password"
)

// The app's own users of the tests' GATEHOUSE_USERS_FILE, with their passwords.
const (
	grace         = "grace@example.com"
	adaPassword   = "correct horse battery staple"
	gracePassword = "grace's own password"
)

// cheapHash are the cheapest parameters core/password accepts (its floor), so that
// making the users file, and each sign-in against it, is quick.
var cheapHash = password.Params{Memory: 7168, Time: 6, Threads: 1, SaltLen: 16, KeyLen: 32}

var (
	usersOnce  sync.Once
	usersLines string
	usersErr   error
)

// writeUsers writes a users file in dir, ada and grace with their passwords, and
// returns its path. The hashes are made once per test run.
func writeUsers(t *testing.T, dir string) string {
	t.Helper()
	usersOnce.Do(func() {
		var b strings.Builder
		b.WriteString("# the tests' users: email:argon2id hash\n\n")
		for _, u := range []struct{ email, pw string }{{ada, adaPassword}, {grace, gracePassword}} {
			h, err := password.Hash(u.pw, cheapHash)
			if err != nil {
				usersErr = err
				return
			}
			b.WriteString(u.email + ":" + h + "\n")
		}
		usersLines = b.String()
	})
	if usersErr != nil {
		t.Fatal(usersErr)
	}
	path := filepath.Join(dir, "users.txt")
	if err := os.WriteFile(path, []byte(usersLines), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// usersEnv is a server's environment with the users file (in its own temporary
// directory) and ada as the one admin, plus kv.
func usersEnv(t *testing.T, kv ...string) map[string]string {
	env := map[string]string{"GATEHOUSE_USERS_FILE": writeUsers(t, t.TempDir()), "GATEHOUSE_ADMINS": ada}
	for i := 0; i < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

// pwForm is the body of a password sign-in, with redirect_to when not empty.
func pwForm(username, pw, redirectTo string) opt {
	v := url.Values{"username": {username}, "password": {pw}}
	if redirectTo != "" {
		v.Set("redirect_to", redirectTo)
	}
	return form(v)
}

// passwordTokens signs in with a password for the JSON token response.
func (c *client) passwordTokens(username, pw string) tokens {
	c.t.Helper()
	r := c.do("POST", "/auth/login/password", pwForm(username, pw, ""), header("Accept", "application/json")).want(c.t, http.StatusOK).json(c.t)
	return tokens{access: r["access_token"].(string), refresh: r["refresh_token"].(string)}
}

// passwordBrowser signs in with the password form, as a browser posts it, and returns
// where the route sent the browser; the cookies are in the jar.
func (c *client) passwordBrowser(username, pw, redirectTo string) string {
	c.t.Helper()
	r := c.do("POST", "/auth/login/password", pwForm(username, pw, redirectTo), header("Origin", c.base), header("Sec-Fetch-Site", "same-origin")).want(c.t, http.StatusFound)
	if r.cookie("gatehouse_refresh") == nil || r.cookie("gatehouse_access") == nil {
		c.t.Fatalf("the password form set the cookies %v, want gatehouse_refresh and gatehouse_access", r.header.Values("Set-Cookie"))
	}
	return r.header.Get("Location")
}

// TestPasswordSignIn: GATEHOUSE_USERS_FILE mounts POST /auth/login/password, on each
// server: the JSON token response, the form's cookies and redirect, one answer for an
// unknown user and a wrong password, and 429 with Retry-After after 5 failures for a
// username, even with the right password.
func TestPasswordSignIn(t *testing.T) {
	forEach(t, func(t *testing.T, fw, name string) {
		s := start(t, fw, usersEnv(t, "GATEHOUSE_STORE", "memory"))

		t.Run("the page has the form", func(t *testing.T) {
			page := string(newClient(t, s.url).do("GET", "/").want(t, 200).body)
			for _, want := range []string{`id="password-form" method="post" action="/auth/login/password"`, `name="redirect_to" value="/?signed_in=1"`} {
				if !strings.Contains(page, want) {
					t.Errorf("the page lacks %s", want)
				}
			}
		})

		t.Run("JSON", func(t *testing.T) {
			c := newClient(t, s.url)
			r := c.do("POST", "/auth/login/password", pwForm(ada, adaPassword, ""), header("Accept", "application/json")).want(t, 200)
			if r.header.Get("Cache-Control") != "no-store" || r.cookie("gatehouse_refresh") != nil {
				t.Errorf("Cache-Control %q, Set-Cookie %v", r.header.Get("Cache-Control"), r.header.Values("Set-Cookie"))
			}
			m := r.json(t)
			if m["token_type"] != "Bearer" || m["refresh_token"] == nil || m["expires_in"] != float64(900) {
				t.Errorf("token response %s", r.body)
			}
			claims := jwtPart(t, m["access_token"].(string), 1)
			if claims["sub"] != "user:"+ada || claims["email"] != ada {
				t.Errorf("claims %v, want sub user:%s", claims, ada)
			}
			c.do("GET", "/api/protected", bearer(m["access_token"].(string))).want(t, 200)
			// A JSON body, and the email in another case: the same user.
			other := c.do("POST", "/auth/login/password", jsonBody(`{"username":"ADA@Example.com","password":"`+adaPassword+`"}`),
				header("Accept", "application/json")).want(t, 200).json(t)
			if sub := jwtPart(t, other["access_token"].(string), 1)["sub"]; sub != "user:"+ada {
				t.Errorf("sub %v for ADA@Example.com, want user:%s", sub, ada)
			}
		})

		t.Run("form", func(t *testing.T) {
			c := newClient(t, s.url)
			if loc := c.passwordBrowser(grace, gracePassword, "/?signed_in=1"); loc != "/?signed_in=1" {
				t.Errorf("redirected to %q, want /?signed_in=1", loc)
			}
			// The page's first access token, from the refresh cookie.
			at := c.do("POST", "/auth/refresh", header("Sec-Fetch-Site", "same-origin")).want(t, 200).json(t)["access_token"].(string)
			if sub := jwtPart(t, at, 1)["sub"]; sub != "user:"+grace {
				t.Errorf("sub %v", sub)
			}
			if loc := newClient(t, s.url).passwordBrowser(grace, gracePassword, ""); loc != "/" {
				t.Errorf("without redirect_to: redirected to %q, want /", loc)
			}
			newClient(t, s.url).do("POST", "/auth/login/password", pwForm(grace, gracePassword, "https://evil.example/")).want(t, 400)
		})

		t.Run("one answer for an unknown user and a wrong password", func(t *testing.T) {
			for _, accept := range []string{"application/json", ""} {
				var answers []reply
				for _, u := range []struct{ name, pw string }{{ada, "wrong password"}, {"nobody@example.com", "wrong password"}} {
					opts := []opt{pwForm(u.name, u.pw, "/")}
					if accept != "" {
						opts = append(opts, header("Accept", accept))
					}
					r := newClient(t, s.url).do("POST", "/auth/login/password", opts...).wantError(t, 400, "invalid_grant")
					if r.header.Values("Set-Cookie") != nil {
						t.Errorf("a failed sign-in set cookies: %v", r.header.Values("Set-Cookie"))
					}
					answers = append(answers, r)
				}
				a, b := answers[0], answers[1]
				if !bytes.Equal(a.body, b.body) || a.header.Get("Content-Type") != b.header.Get("Content-Type") || a.header.Get("WWW-Authenticate") != b.header.Get("WWW-Authenticate") {
					t.Errorf("Accept %q: a wrong password is answered\n%v %s\nan unknown user\n%v %s", accept, a.header, a.body, b.header, b.body)
				}
			}
		})

		t.Run("429 after 5 failures, even with the right password", func(t *testing.T) {
			for _, who := range []struct{ name, pw string }{{grace, gracePassword}, {"nobody-else@example.com", "anything"}} {
				c := newClient(t, s.url)
				for i := 0; i < 5; i++ {
					c.do("POST", "/auth/login/password", pwForm(who.name, "guess "+strconv.Itoa(i), ""), header("Accept", "application/json")).wantError(t, 400, "invalid_grant")
				}
				r := c.do("POST", "/auth/login/password", pwForm(who.name, who.pw, ""), header("Accept", "application/json")).want(t, http.StatusTooManyRequests)
				if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 15*60 {
					t.Errorf("%s: Retry-After %q, want 1 to 900 seconds", who.name, r.header.Get("Retry-After"))
				}
				if r.cookie("gatehouse_refresh") != nil || bytes.Contains(r.body, []byte("access_token")) {
					t.Errorf("%s: a throttled sign-in signed in: %s", who.name, r.body)
				}
				// From another client, the same: the count is the username's.
				newClient(t, s.url).do("POST", "/auth/login/password", pwForm(strings.ToUpper(who.name), who.pw, "")).want(t, http.StatusTooManyRequests)
			}
			// Another user still signs in: not the client's address that is refused.
			newClient(t, s.url).passwordTokens(ada, adaPassword)
		})
	})
}

// TestUsersFileRefused: a users file the server cannot use stops it at start, exit
// code 2, with one line naming GATEHOUSE_USERS_FILE and the line, never the hash.
func TestUsersFileRefused(t *testing.T) {
	forEach(t, func(t *testing.T, fw, name string) {
		dir := t.TempDir()
		good := strings.Split(strings.TrimSpace(readFile(t, writeUsers(t, dir))), "\n")
		hash := good[len(good)-1][len(grace)+1:] // grace's
		parts := strings.Split(hash, "$")        // "", argon2id, v=19, m=…,t=…,p=…, salt, key
		weak := strings.Join([]string{"", "argon2id", "v=19", "m=1024,t=1,p=1", parts[4], parts[5]}, "$")
		cases := []struct {
			name, content, want string
		}{
			{"malformed line", "# users\n\n" + ada + " " + hash + "\n", "GATEHOUSE_USERS_FILE: line 3: "},
			{"hash below the floor", ada + ":" + weak + "\n", "GATEHOUSE_USERS_FILE: line 1: the hash of " + ada + " is refused: "},
			{"an email twice", ada + ":" + hash + "\n" + strings.ToUpper(ada) + ":" + hash + "\n", "GATEHOUSE_USERS_FILE: line 2: "},
			{"missing", "", "GATEHOUSE_USERS_FILE: "},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "users.txt")
				if tc.content != "" {
					if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				code, stdout, stderr := run(t, fw, t.TempDir(), map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_USERS_FILE": path})
				lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
				switch {
				case code != 2:
					t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr)
				case len(lines) != 1 || !strings.HasPrefix(lines[0], "gatehouse demo: "+tc.want):
					t.Errorf("stderr %q, want one line starting with %q", stderr, "gatehouse demo: "+tc.want)
				case stdout != "":
					t.Errorf("stdout %q", stdout)
				}
				for _, secret := range parts[4:] {
					if strings.Contains(stderr, secret) {
						t.Errorf("stderr repeats the hash: %s", stderr)
					}
				}
			})
		}
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
