package e2e

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestAdmin: GET /api/admin wants the role admin, which GATEHOUSE_ADMINS gives by
// email to users of the development identity provider and password users alike: 200
// {"email", "roles"} with it, 403 insufficient_scope without it, 401 without a token.
// The roles are decided again at each refresh: a server restarted with another list
// takes the role from a demoted admin at the next refresh, and gives it to a new one.
func TestAdmin(t *testing.T) {
	forEach(t, func(t *testing.T, fw, name string) {
		dir := t.TempDir()
		s := startIn(t, fw, dir, usersEnv(t, "GATEHOUSE_RATE_LIMIT", "0"))
		c := newClient(t, s.url)
		admin := func(tok string) reply {
			t.Helper()
			return c.do("GET", "/api/admin", bearer(tok))
		}
		wantAdmin := func(tok, email string) {
			t.Helper()
			r := admin(tok).want(t, 200)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			var got map[string]any
			if err := json.Unmarshal(r.body, &got); err != nil || !reflect.DeepEqual(got, map[string]any{"email": email, "roles": []any{"admin"}}) {
				t.Errorf("body %s, want {\"email\": %q, \"roles\": [\"admin\"]}", r.body, email)
			}
		}
		wantRefused := func(tok string) {
			t.Helper()
			r := admin(tok).wantError(t, 403, "insufficient_scope")
			ch := r.header.Get("WWW-Authenticate")
			if !strings.HasPrefix(ch, `Bearer realm="`+s.url+`"`) || !strings.Contains(ch, `error="insufficient_scope"`) {
				t.Errorf("WWW-Authenticate %q, want Bearer realm=%q with error=\"insufficient_scope\"", ch, s.url)
			}
		}

		oidcAda := c.signIn(ada, true)
		pwAda := c.passwordTokens(strings.ToUpper(ada), adaPassword)
		oidcLinus := c.signIn("linus@example.com", true)
		pwGrace := c.passwordTokens(grace, gracePassword)

		t.Run("admin", func(t *testing.T) {
			wantAdmin(oidcAda.access, ada)
			wantAdmin(pwAda.access, ada)
		})
		t.Run("signed in without the role", func(t *testing.T) {
			wantRefused(oidcLinus.access)
			wantRefused(pwGrace.access)
			// Signed in all the same.
			c.do("GET", "/api/protected", bearer(pwGrace.access)).want(t, 200)
		})
		t.Run("no token", func(t *testing.T) {
			r := newClient(t, s.url).do("GET", "/api/admin").want(t, 401)
			if got, want := r.header.Get("WWW-Authenticate"), `Bearer realm="`+s.url+`"`; got != want {
				t.Errorf("WWW-Authenticate %q, want %q", got, want)
			}
			newClient(t, s.url).do("GET", "/api/admin", bearer("garbage")).wantError(t, 401, "invalid_token")
		})

		t.Run("roles decided again at refresh", func(t *testing.T) {
			if code := s.stop(); code != 0 {
				t.Fatalf("exit code %d after SIGTERM", code)
			}
			env := maps.Clone(s.env)
			env["GATEHOUSE_ADMINS"] = "linus@example.com, " + grace
			s2 := startIn(t, fw, dir, env)
			c2 := newClient(t, s2.url)
			// An access token keeps what it was issued with until it expires...
			c2.do("GET", "/api/admin", bearer(pwAda.access)).want(t, 200)
			// ...and the next refresh asks the list again.
			for _, tc := range []struct {
				tok   tokens
				admin bool
			}{{oidcAda, false}, {pwAda, false}, {oidcLinus, true}, {pwGrace, true}} {
				m := c2.do("POST", "/auth/refresh", refreshForm(tc.tok.refresh)).want(t, 200).json(t)
				status := c2.do("GET", "/api/admin", bearer(m["access_token"].(string))).status
				if want := map[bool]int{true: 200, false: 403}[tc.admin]; status != want {
					t.Errorf("%s after the restart: /api/admin %d, want %d", jwtPart(t, tc.tok.access, 1)["email"], status, want)
				}
			}
		})
	})
}

// TestAccount: GET /account, a page rendered on the server for the access token in
// the cookie: an anonymous browser is sent to sign in and comes back to it, through
// the development identity provider or the password form; the email is HTML-escaped;
// after a logout the page sends the browser to sign in again.
func TestAccount(t *testing.T) {
	const login = "/auth/login?redirect_to=/account"
	forEach(t, func(t *testing.T, fw, name string) {
		s := start(t, fw, usersEnv(t, "GATEHOUSE_STORE", "memory"))

		t.Run("anonymous", func(t *testing.T) {
			r := newClient(t, s.url).do("GET", "/account").want(t, 302)
			if loc := r.header.Get("Location"); loc != login {
				t.Errorf("Location %q, want %q", loc, login)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", r.header.Get("Cache-Control"))
			}
		})

		t.Run("through the development identity provider", func(t *testing.T) {
			const odd = "o'brien&co@example.com" // escaped by html/template
			c := newClient(t, s.url)
			loc := c.do("GET", "/account").want(t, 302).header.Get("Location")
			toIDP := c.do("GET", loc).want(t, 302).header.Get("Location")
			if !strings.HasPrefix(toIDP, s.url+"/devidp/authorize?") {
				t.Fatalf("login sent the browser to %q", toIDP)
			}
			page := c.do("GET", toIDP).want(t, 200)
			f := hiddenFields(page)
			back := c.do("GET", c.submit(f, odd, "signin")).want(t, 302)
			if back.header.Get("Location") != "/account" {
				t.Fatalf("the callback sent the browser to %q, want /account", back.header.Get("Location"))
			}
			acc := c.do("GET", "/account").want(t, 200)
			wantAccountPage(t, acc, `o&#39;brien&amp;co@example.com`)
			if strings.Contains(string(acc.body), odd) {
				t.Error("the email is on the page unescaped")
			}
		})

		t.Run("through the password form", func(t *testing.T) {
			c := newClient(t, s.url)
			if loc := c.passwordBrowser(ada, adaPassword, "/account"); loc != "/account" {
				t.Fatalf("the password form sent the browser to %q", loc)
			}
			acc := c.do("GET", "/account").want(t, 200)
			wantAccountPage(t, acc, ada)
			for _, want := range []string{"user:" + ada, `<dd id="roles">admin</dd>`} {
				if !strings.Contains(string(acc.body), want) {
					t.Errorf("the page lacks %s", want)
				}
			}
			// Logged out, the cookies are cleared: sign in again.
			out := c.do("POST", "/auth/logout", header("Origin", s.url), header("Sec-Fetch-Site", "same-origin")).want(t, 200)
			wantCleared(t, out, "gatehouse_access")
			if loc := c.do("GET", "/account").want(t, 302).header.Get("Location"); loc != login {
				t.Errorf("after logout: Location %q, want %q", loc, login)
			}
		})
	})
}

// hiddenFields are the hidden inputs of the development identity provider's page.
func hiddenFields(page reply) url.Values {
	f := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(string(page.body), -1) {
		f.Set(m[1], htmlUnescape(m[2]))
	}
	return f
}

// cookieValue is the value of the cookie name the client's jar would send to the
// server, "" when none.
func (c *client) cookieValue(name string) string {
	u, _ := url.Parse(c.base + "/")
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// waitExpired waits until the access token tok has expired (its exp, a whole second,
// has passed), and a second more.
func waitExpired(t *testing.T, tok string) {
	t.Helper()
	if tok == "" {
		t.Fatal("no access token to wait for")
	}
	exp, ok := jwtPart(t, tok, 1)["exp"].(float64)
	if !ok {
		t.Fatalf("no exp in %s", tok)
	}
	time.Sleep(time.Until(time.Unix(int64(exp), 0).Add(time.Second)))
}

// wantAccountPage checks an account page: HTML showing email (as escaped), no
// script, not stored by caches.
func wantAccountPage(t *testing.T, r reply, email string) {
	t.Helper()
	body := string(r.body)
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.Contains(body, `<span id="email">`+email+`</span>`) {
		t.Errorf("the account page does not show %s:\n%s", email, body)
	}
	if strings.Contains(body, "<script") || r.header.Get("Cache-Control") != "no-store" ||
		!strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("account page headers %v", r.header)
	}
}

// TestAccountResume: with a 2-second GATEHOUSE_ACCESS_TTL, an account page opened
// after the access token in the cookie has expired still opens, through at most two
// same-origin redirects (GET /auth/refresh and back) and new cookies, without the
// identity provider or a new sign-in. Without the refresh cookie, the same ends at
// the sign-in, without a loop.
func TestAccountResume(t *testing.T) {
	forEach(t, func(t *testing.T, fw, name string) {
		s := start(t, fw, usersEnv(t, "GATEHOUSE_STORE", "memory", "GATEHOUSE_ACCESS_TTL", "2s"))
		c := newClient(t, s.url)
		c.passwordBrowser(ada, adaPassword, "/account")
		old := c.cookieValue("gatehouse_access")
		waitExpired(t, old)

		// A browser: it follows redirects, and keeps its cookies.
		var hops []string
		follow := &http.Client{Jar: c.hc.Jar, Timeout: c.hc.Timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
			hops = append(hops, req.URL.RequestURI())
			if len(via) > 5 {
				return http.ErrUseLastResponse
			}
			return nil
		}}
		fc := &client{t: t, base: s.url, hc: follow}
		r := fc.do("GET", "/account").want(t, 200)
		wantAccountPage(t, r, ada)
		if len(hops) > 2 || len(hops) == 0 || !strings.HasPrefix(hops[0], "/auth/refresh?") || hops[len(hops)-1] != "/account" {
			t.Errorf("redirects %q, want /auth/refresh?… then /account", hops)
		}
		for _, h := range hops {
			if strings.Contains(h, "/devidp") || strings.HasPrefix(h, "/auth/login") {
				t.Errorf("the page went through %s", h)
			}
		}
		if now := c.cookieValue("gatehouse_access"); now == "" || now == old {
			t.Error("the access cookie was not renewed")
		}

		t.Run("without the refresh cookie", func(t *testing.T) {
			b := newClient(t, s.url)
			b.passwordBrowser(grace, gracePassword, "/account")
			expired := b.cookieValue("gatehouse_access")
			waitExpired(t, expired)
			// A browser left with the expired access cookie alone.
			only := newClient(t, s.url)
			r := only.do("GET", "/account", header("Cookie", "gatehouse_access="+expired)).want(t, 302)
			loc := r.header.Get("Location")
			if !strings.HasPrefix(loc, "/auth/refresh?") {
				t.Fatalf("Location %q, want /auth/refresh?…", loc)
			}
			r = only.do("GET", loc, header("Cookie", "gatehouse_access="+expired)).want(t, 302)
			wantCleared(t, r, "gatehouse_access")
			if r.header.Get("Location") != "/account" {
				t.Fatalf("the refresh route sent the browser to %q, want /account", r.header.Get("Location"))
			}
			// Anonymous now: to the sign-in.
			if loc := only.do("GET", "/account").want(t, 302).header.Get("Location"); loc != "/auth/login?redirect_to=/account" {
				t.Errorf("Location %q", loc)
			}
		})
	})
}
