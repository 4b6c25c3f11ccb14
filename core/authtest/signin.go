package authtest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

func testSignIn(t *testing.T, s *suite) {
	t.Run("AuthorizationRequest", func(t *testing.T) {
		e := s.newEnv(t)
		b := e.browser()
		r := b.do("GET", prefix+"/login?redirect_to=/home").want(t, http.StatusFound).wantNoStore(t)
		loc, err := url.Parse(r.header.Get("Location"))
		if err != nil || !strings.HasPrefix(loc.String(), e.idp.m.AuthorizationEndpoint()) {
			t.Fatalf("Location %q, want the provider's authorization endpoint", r.header.Get("Location"))
		}
		q := loc.Query()
		checks := map[string]func(string) bool{
			"response_type":         func(v string) bool { return v == "code" },
			"client_id":             func(v string) bool { return v == e.idp.m.ClientID },
			"redirect_uri":          func(v string) bool { return v == e.base+prefix+"/callback" },
			"state":                 func(v string) bool { return len(v) >= 22 },
			"nonce":                 func(v string) bool { return len(v) >= 22 && v != q.Get("state") },
			"code_challenge_method": func(v string) bool { return v == "S256" },
			"code_challenge":        func(v string) bool { return len(v) == 43 && !strings.ContainsAny(v, "+/=") },
			"scope":                 func(v string) bool { return strings.Contains(v, "openid") && strings.Contains(v, "email") },
		}
		for k, ok := range checks {
			if !ok(q.Get(k)) {
				t.Errorf("authorization request parameter %s=%q", k, q.Get(k))
			}
		}
		c := r.cookie(core.DefaultStateCookie)
		switch {
		case c == nil:
			t.Fatal("no state cookie")
		case !c.HttpOnly || c.Path != prefix || c.SameSite != http.SameSiteLaxMode:
			t.Errorf("state cookie %s: want HttpOnly, Path=%s, SameSite=Lax", c, prefix)
		case c.MaxAge <= 0 || c.MaxAge > 600:
			t.Errorf("state cookie Max-Age %d, want 1..600", c.MaxAge)
		case strings.Contains(c.Value, q.Get("nonce")) || strings.Contains(c.Value, q.Get("state")):
			t.Errorf("state cookie %q shows the nonce or state in clear", c.Value)
		}
		if r2 := b.do("GET", prefix+"/login"); r2.cookie(core.DefaultStateCookie).Value == c.Value {
			t.Error("two sign-ins got the same state cookie")
		}
	})

	t.Run("PKCE", func(t *testing.T) {
		// The code is exchanged with the verifier of its own sign-in: 43 to 128
		// unreserved characters whose S256 is the challenge sent with that sign-in's
		// state (RFC 7636 §4). A code obtained in another sign-in, injected into the
		// victim's callback with the victim's state, is redeemed with the victim's
		// verifier, which the provider refuses: 401, no tokens.
		e := s.newEnv(t)
		var (
			mu        sync.Mutex
			verifiers []string
		)
		e.idp.set(mockoidc.TokenEndpoint, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			if err := r.ParseForm(); err == nil {
				mu.Lock()
				verifiers = append(verifiers, r.PostForm.Get("code_verifier"))
				mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
		seen := map[string]bool{}
		for range 2 {
			b := e.browser()
			auth := b.startLogin(prefix + "/login")
			u, _ := url.Parse(auth)
			challenge := u.Query().Get("code_challenge")
			mu.Lock()
			verifiers = nil
			mu.Unlock()
			b.callback(b.authorize(auth), true).tokens(t)
			mu.Lock()
			got := slices.Clone(verifiers)
			mu.Unlock()
			if len(got) == 0 {
				t.Fatal("the code was exchanged without reaching the token endpoint")
			}
			for _, v := range got {
				sum := sha256.Sum256([]byte(v))
				switch {
				case len(v) < 43 || len(v) > 128 || strings.Trim(v, pkceUnreserved) != "":
					t.Fatalf("code_verifier %q: want 43 to 128 unreserved characters", v)
				case base64.RawURLEncoding.EncodeToString(sum[:]) != challenge:
					t.Fatalf("code_verifier %q does not hash to the code_challenge %q of its sign-in", v, challenge)
				}
			}
			if seen[got[0]] {
				t.Fatal("two sign-ins used the same code_verifier")
			}
			seen[got[0]] = true
		}

		attacker, victim := e.browser(), e.browser()
		stolen, _ := url.Parse(attacker.authorize(attacker.startLogin(prefix + "/login")))
		cb, _ := url.Parse(victim.authorize(victim.startLogin(prefix + "/login")))
		q := cb.Query()
		q.Set("code", stolen.Query().Get("code"))
		cb.RawQuery = q.Encode()
		victim.callback(cb.String(), true).wantError(t, http.StatusUnauthorized, "access_denied").wantNoTokens(t, true)
	})

	t.Run("JSON", func(t *testing.T) {
		e := s.newEnv(t)
		b := e.browser()
		r := b.callback(b.authorize(b.startLogin(prefix+"/login")), true)
		tok := r.tokens(t)
		if exp := tok.body["expires_in"]; tok.refresh == "" || exp != float64(900) && exp != float64(899) {
			t.Fatalf("token response %s: want a refresh token and expires_in 900 (the 15 minutes of the access TTL)", r)
		}
		if c := r.cookie(core.DefaultRefreshCookie); c != nil {
			t.Fatalf("JSON sign-in set the refresh cookie %s", c)
		}
		if c := r.cookie(core.DefaultStateCookie); c == nil || c.MaxAge >= 0 {
			t.Fatalf("state cookie not cleared: %v", c)
		}
		if got := e.email(tok.access); got != janeEmail {
			t.Fatalf("email %q, want %q", got, janeEmail)
		}
		me := e.do("GET", prefix+"/me", bearer(tok.access)).want(t, http.StatusOK).wantNoStore(t).json(t)
		if me["sub"] != e.idp.m.Issuer()+"#"+janeSub || me["email"] != janeEmail || me["sid"] == "" {
			t.Fatalf("me %v: want sub = issuer#subject", me)
		}
	})

	t.Run("Browser", func(t *testing.T) {
		e := s.newEnv(t)
		b := e.browser()
		r := b.callback(b.authorize(b.startLogin(prefix+"/login?redirect_to="+url.QueryEscape("/dashboard?tab=1"))), false)
		r.want(t, http.StatusFound).wantNoStore(t)
		if loc := r.header.Get("Location"); loc != "/dashboard?tab=1" {
			t.Fatalf("Location %q, want /dashboard?tab=1", loc)
		}
		if strings.Contains(string(r.body), "token") {
			t.Fatalf("redirect body carries a token: %s", r)
		}
		c := r.cookie(core.DefaultRefreshCookie)
		switch {
		case c == nil || c.Value == "":
			t.Fatal("no refresh cookie")
		case !c.HttpOnly || c.Path != prefix || c.SameSite != http.SameSiteLaxMode || c.Secure:
			t.Fatalf("refresh cookie %s: want HttpOnly, Path=%s, SameSite=Lax, not Secure over http", c, prefix)
		case c.MaxAge <= 0:
			t.Fatalf("refresh cookie Max-Age %d", c.MaxAge)
		}
		got := b.do("POST", prefix+"/refresh").want(t, http.StatusOK).wantNoStore(t)
		if got.str(t, "access_token") == "" || got.str(t, "refresh_token") != "" {
			t.Fatalf("cookie refresh answered %s: want an access token and no refresh token in the body", got)
		}
		if nc := got.cookie(core.DefaultRefreshCookie); nc == nil || nc.Value == "" || nc.Value == c.Value {
			t.Fatalf("cookie refresh did not rotate the cookie: %v", nc)
		}
		e.do("POST", prefix+"/refresh", withCookie(core.DefaultRefreshCookie, c.Value)).wantError(t, 400, "invalid_grant")
	})

	t.Run("DefaultRedirect", func(t *testing.T) {
		e := s.newEnv(t)
		b := e.browser()
		r := b.callback(b.authorize(b.startLogin(prefix+"/login")), false).want(t, http.StatusFound)
		if loc := r.header.Get("Location"); loc != "/" {
			t.Fatalf("Location %q, want /", loc)
		}
	})

	t.Run("AllowedOrigin", func(t *testing.T) {
		e := s.newEnv(t, core.WithAllowedOrigins("https://app.example.com"))
		b := e.browser()
		const to = "https://app.example.com/after?x=1"
		r := b.callback(b.authorize(b.startLogin(prefix+"/login?redirect_to="+url.QueryEscape(to))), false)
		if loc := r.want(t, http.StatusFound).header.Get("Location"); loc != to {
			t.Fatalf("Location %q, want %q", loc, to)
		}
	})

	t.Run("NamedProviders", func(t *testing.T) {
		p1, p2 := s.newIDP(t), s.newIDP(t)
		e := s.newEnvWith(t, p1, core.WithProviders(p1.provider("first"), p2.provider("second")))
		t1 := e.browser().signIn(prefix + "/login/first")
		b := e.browser()
		auth := b.startLogin(prefix + "/login/second")
		if !strings.HasPrefix(auth, p2.m.AuthorizationEndpoint()) {
			t.Fatalf("login/second went to %q", auth)
		}
		cb := b.authorize(auth)
		if !strings.HasPrefix(cb, e.base+prefix+"/callback/second?") {
			t.Fatalf("callback URL %q, want %s/callback/second", cb, prefix)
		}
		t2 := b.callback(cb, true).tokens(t)
		sub := func(at string) any {
			return e.do("GET", prefix+"/me", bearer(at)).want(t, http.StatusOK).json(t)["sub"]
		}
		// The same user id at two issuers is two users.
		if s1, s2 := sub(t1.access), sub(t2.access); s1 == s2 || s1 != p1.m.Issuer()+"#"+janeSub {
			t.Fatalf("subjects %v and %v: want issuer#sub, distinct per issuer", s1, s2)
		}
		e.do("GET", prefix+"/login/unknown").want(t, http.StatusNotFound)
	})

	t.Run("AppUserID", func(t *testing.T) {
		// The app maps the provider's identity to its own user id in the authorize
		// hook: every token and session of the user then carries that id as sub, the
		// same at every sign-in, and the provider's identity never reaches the token.
		ids := map[string]string{} // issuer#subject → the app's user id
		var mu sync.Mutex
		e := s.newEnv(t, core.WithAuthorize(func(_ context.Context, si *core.SignIn) error {
			mu.Lock()
			defer mu.Unlock()
			key := si.Issuer + "#" + si.ProviderSubject
			if _, ok := ids[key]; !ok {
				ids[key] = fmt.Sprintf("user-%d", 100+len(ids))
			}
			si.Identity.Subject = ids[key]
			return nil
		}))
		first, second := e.signIn(), e.signIn()
		for _, at := range []string{first.access, second.access} {
			me := e.do("GET", prefix+"/me", bearer(at)).want(t, http.StatusOK).json(t)
			if me["sub"] != "user-100" || me["email"] != janeEmail {
				t.Fatalf("/me = %v, want sub user-100 (the app's id) and jane's email", me)
			}
		}
		ms := e.do("GET", prefix+"/sessions", bearer(second.access)).want(t, http.StatusOK).json(t)
		if n := len(ms["sessions"].([]any)); n != 2 {
			t.Fatalf("the app's user has %d sessions, want both sign-ins", n)
		}
		if me := e.do("GET", prefix+"/me", bearer(e.refresh(first.refresh).access)).want(t, http.StatusOK).json(t); me["sub"] != "user-100" {
			t.Fatalf("after a refresh sub = %v, want user-100", me["sub"])
		}
	})

	t.Run("SameEmailOtherSubject", func(t *testing.T) {
		e := s.newEnv(t)
		e.idp.m.QueueUser(&mockoidc.MockUser{Subject: "other", Email: janeEmail, EmailVerified: true})
		other := e.signIn()
		jane := e.signIn()
		ms := e.do("GET", prefix+"/sessions", bearer(jane.access)).want(t, http.StatusOK).json(t)
		if n := len(ms["sessions"].([]any)); n != 1 {
			t.Fatalf("jane has %d sessions, want 1: users must be keyed on subject, not email", n)
		}
		e.do("POST", prefix+"/logout/all", bearer(jane.access)).want(t, http.StatusOK)
		if e.email(other.access) != janeEmail {
			t.Fatal("logging jane out everywhere ended the other user's session")
		}
	})
}

func testState(t *testing.T, s *suite) {
	// Each case returns the callback request to make, with the browser to make it.
	cases := []struct {
		name  string
		setup func(e *env) (*browser, string)
	}{
		{"Missing", func(e *env) (*browser, string) {
			b := e.browser()
			return e.browser(), b.authorize(b.startLogin(prefix + "/login"))
		}},
		{"Mismatched", func(e *env) (*browser, string) {
			b := e.browser()
			cb := b.authorize(b.startLogin(prefix + "/login"))
			u, _ := url.Parse(cb)
			q := u.Query()
			q.Set("state", q.Get("state")[:len(q.Get("state"))-2]+"AA")
			u.RawQuery = q.Encode()
			return b, u.String()
		}},
		{"NoStateParameter", func(e *env) (*browser, string) {
			b := e.browser()
			cb := b.authorize(b.startLogin(prefix + "/login"))
			u, _ := url.Parse(cb)
			return b, e.base + prefix + "/callback?code=" + url.QueryEscape(u.Query().Get("code"))
		}},
		{"Swapped", func(e *env) (*browser, string) {
			victim, attacker := e.browser(), e.browser()
			victim.startLogin(prefix + "/login")
			return victim, attacker.authorize(attacker.startLogin(prefix + "/login"))
		}},
		{"TamperedCookie", func(e *env) (*browser, string) {
			b := e.browser()
			r := b.do("GET", prefix+"/login")
			v := []byte(r.cookie(core.DefaultStateCookie).Value)
			v[len(v)/2] ^= 1
			nb := e.browser()
			u, _ := url.Parse(e.base)
			nb.c.Jar.SetCookies(u, []*http.Cookie{{Name: core.DefaultStateCookie, Value: string(v), Path: prefix}})
			return nb, nb.authorize(r.header.Get("Location"))
		}},
		{"Expired", func(e *env) (*browser, string) {
			b := e.browser()
			cb := b.authorize(b.startLogin(prefix + "/login"))
			e.clock.Advance(10*time.Minute + time.Second)
			return b, cb
		}},
		{"Replayed", func(e *env) (*browser, string) {
			b := e.browser()
			r := b.do("GET", prefix+"/login")
			state := r.cookie(core.DefaultStateCookie).Value
			cb := b.authorize(r.header.Get("Location"))
			b.callback(cb, true).tokens(e.t)
			nb := e.browser()
			u, _ := url.Parse(e.base)
			nb.c.Jar.SetCookies(u, []*http.Cookie{{Name: core.DefaultStateCookie, Value: state, Path: prefix}})
			return nb, cb
		}},
		{"WrongProviderRoute", func(e *env) (*browser, string) {
			b := e.browser()
			cb := b.authorize(b.startLogin(prefix + "/login"))
			return b, strings.Replace(cb, prefix+"/callback?", prefix+"/callback/mock2?", 1)
		}},
		{"OtherProviderOnDefaultRoute", func(e *env) (*browser, string) {
			// Mix-up: mock2's flow answered on the default provider's redirect URI.
			b := e.browser()
			cb := b.authorize(b.startLogin(prefix + "/login/mock2"))
			return b, strings.Replace(cb, prefix+"/callback/mock2?", prefix+"/callback?", 1)
		}},
		{"DefaultProviderOnItsNamedRoute", func(e *env) (*browser, string) {
			b := e.browser()
			cb := b.authorize(b.startLogin(prefix + "/login"))
			return b, strings.Replace(cb, prefix+"/callback?", prefix+"/callback/mock?", 1)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := s.newIDP(t)
			e := s.newEnvWith(t, p, core.WithProviders(p.provider("mock"), p.provider("mock2")))
			b, cb := tc.setup(e)
			for _, asJSON := range []bool{true, false} {
				b.callback(cb, asJSON).wantError(t, http.StatusBadRequest, "invalid_request").wantNoTokens(t, false)
			}
		})
	}
}

func testRedirect(t *testing.T, s *suite) {
	e := s.newEnv(t, core.WithAllowedOrigins("https://app.example.com"))
	bad := []string{
		"//evil.example", "//evil.example/path", "/\\evil.example", "\\\\evil.example", "/\\/evil.example",
		"https://evil.example/", "http://evil.example", "javascript:alert(1)", "data:text/html,hi",
		"/\t/evil.example", "/\n/evil.example", " /home", "https://app.example.com.evil.example/",
		"https://user@app.example.com/", "//app.example.com/", "ftp://app.example.com/",
		"https:app.example.com", "evil.example", "/" + strings.Repeat("a", 2000),
	}
	for _, to := range bad {
		name := fmt.Sprintf("%q", to)
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			e.do("GET", prefix+"/login?redirect_to="+url.QueryEscape(to)).
				wantError(t, http.StatusBadRequest, "invalid_request").wantNoTokens(t, false)
		})
	}
	for _, to := range []string{"/", "/home", "/a/b?c=d#e", "/%2F%2Fstill-local", "https://app.example.com", "https://APP.example.com/x",
		e.base + "/after?x=1"} { // the app's own origin is trusted without being listed
		t.Run(fmt.Sprintf("ok%q", to), func(t *testing.T) {
			e.do("GET", prefix+"/login?redirect_to="+url.QueryEscape(to)).want(t, http.StatusFound)
		})
	}
	// Another port or scheme of the same host is another origin.
	u, _ := url.Parse(e.base)
	for _, to := range []string{"https://" + u.Host + "/after", "http://" + u.Hostname() + ":1/after"} {
		t.Run(fmt.Sprintf("%q", to), func(t *testing.T) {
			e.do("GET", prefix+"/login?redirect_to="+url.QueryEscape(to)).wantError(t, http.StatusBadRequest, "invalid_request")
		})
	}
}

func testProvider(t *testing.T, s *suite) {
	t.Run("AccessDenied", func(t *testing.T) {
		e := s.newEnv(t)
		e.idp.set(mockoidc.AuthorizationEndpoint, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			q := r.URL.Query()
			http.Redirect(w, r, q.Get("redirect_uri")+"?error=access_denied&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
		})
		b := e.browser()
		cb := b.authorize(b.startLogin(prefix + "/login"))
		b.callback(cb, true).wantError(t, http.StatusUnauthorized, "access_denied").wantNoTokens(t, true)
		// The state is spent: the same callback again is a replay.
		b.callback(cb, true).wantError(t, http.StatusBadRequest, "invalid_request")
	})

	t.Run("AccessDeniedBrowser", func(t *testing.T) {
		e := s.newEnv(t)
		e.idp.set(mockoidc.AuthorizationEndpoint, func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
			q := r.URL.Query()
			http.Redirect(w, r, q.Get("redirect_uri")+"?error=access_denied&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
		})
		b := e.browser()
		r := b.callback(b.authorize(b.startLogin(prefix+"/login")), false)
		r.want(t, http.StatusFound).wantNoTokens(t, true)
		loc, err := url.Parse(r.header.Get("Location"))
		if err != nil || loc.Path != "/" || loc.Query().Get("error") != "access_denied" {
			t.Fatalf("Location %q, want /?error=access_denied…", r.header.Get("Location"))
		}
	})

	t.Run("CodeReplayed", func(t *testing.T) {
		e := s.newEnv(t)
		b := e.browser()
		cb := b.authorize(b.startLogin(prefix + "/login"))
		b.callback(cb, true).tokens(t)
		// A new sign-in in the same browser, answered with the old code.
		fresh, _ := url.Parse(b.authorize(b.startLogin(prefix + "/login")))
		old, _ := url.Parse(cb)
		q := fresh.Query()
		q.Set("code", old.Query().Get("code"))
		fresh.RawQuery = q.Encode()
		b.callback(fresh.String(), true).wantError(t, http.StatusUnauthorized, "access_denied").wantNoTokens(t, true)
	})

	t.Run("BrowserSentBackWithError", func(t *testing.T) {
		// A browser whose sign-in is refused after a good state goes back to redirect_to
		// with error and error_description, and gets neither tokens nor a session cookie.
		e := s.newEnv(t, core.WithAllowedEmails("someone@example.com"))
		b := e.browser()
		r := b.callback(b.authorize(b.startLogin(prefix+"/login?redirect_to="+url.QueryEscape("/app?tab=1"))), false)
		r.want(t, http.StatusFound).wantNoTokens(t, true)
		loc, err := url.Parse(r.header.Get("Location"))
		if err != nil || loc.Path != "/app" || loc.Host != "" {
			t.Fatalf("Location %q, want /app?…", r.header.Get("Location"))
		}
		q := loc.Query()
		if q.Get("tab") != "1" || q.Get("error") != "access_denied" || q.Get("error_description") == "" {
			t.Fatalf("Location query %v, want tab=1, error=access_denied and a description", q)
		}
	})

	t.Run("UnverifiedEmail", func(t *testing.T) {
		e := s.newEnv(t)
		e.idp.m.QueueUser(&mockoidc.MockUser{Subject: "u1", Email: "unverified@example.com", EmailVerified: false})
		b := e.browser()
		b.callback(b.authorize(b.startLogin(prefix+"/login")), true).
			wantError(t, http.StatusForbidden, "access_denied").wantNoTokens(t, true)
	})

	allow := []struct {
		name   string
		opt    core.Option
		status int
	}{
		{"EmailAllowed", core.WithAllowedEmails("JANE.DOE@example.com"), http.StatusOK},
		{"EmailNotAllowed", core.WithAllowedEmails("someone@example.com"), http.StatusForbidden},
		{"DomainAllowed", core.WithAllowedDomains("example.com"), http.StatusOK},
		{"DomainNotAllowed", core.WithAllowedDomains("example.org"), http.StatusForbidden},
		{"SubdomainNotAllowed", core.WithAllowedDomains("ample.com"), http.StatusForbidden},
	}
	for _, tc := range allow {
		t.Run(tc.name, func(t *testing.T) {
			e := s.newEnv(t, tc.opt)
			b := e.browser()
			r := b.callback(b.authorize(b.startLogin(prefix+"/login")), true)
			if tc.status == http.StatusOK {
				r.tokens(t)
				return
			}
			r.wantError(t, tc.status, "access_denied").wantNoTokens(t, true)
		})
	}

	t.Run("AuthorizeHook", func(t *testing.T) {
		hook := func(_ context.Context, si *core.SignIn) error {
			switch {
			case si.Identity.Email == "banned@example.com":
				return errors.New("banned")
			case si.Identity.Email == "flaky@example.com":
				return core.ErrStoreUnavailable
			case si.Provider != "mock" || si.ProviderSubject == "" || si.Claims["email_verified"] != true:
				return errors.New("hook got an incomplete SignIn")
			}
			si.Identity.Claims = map[string]any{"role": "admin"}
			return nil
		}
		e := s.newEnv(t, core.WithAuthorize(hook))
		tok := e.signIn()
		if me := e.do("GET", prefix+"/me", bearer(tok.access)).want(t, 200).json(t); me["role"] != "admin" {
			t.Fatalf("me %v: the hook's claim is missing", me)
		}
		for _, c := range []struct {
			email  string
			status int
		}{{"banned@example.com", 403}, {"flaky@example.com", 503}} {
			e.idp.m.QueueUser(&mockoidc.MockUser{Subject: c.email, Email: c.email, EmailVerified: true})
			b := e.browser()
			b.callback(b.authorize(b.startLogin(prefix+"/login")), true).want(t, c.status).wantNoTokens(t, true)
		}
	})

	t.Run("NonceMismatch", func(t *testing.T) {
		e := s.newEnv(t)
		e.idp.set(mockoidc.AuthorizationEndpoint, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
			q := r.URL.Query()
			q.Set("nonce", "attacker-chosen-nonce")
			r.URL.RawQuery = q.Encode()
			next.ServeHTTP(w, r)
		})
		b := e.browser()
		b.callback(b.authorize(b.startLogin(prefix+"/login")), true).
			wantError(t, http.StatusUnauthorized, "invalid_token").wantNoTokens(t, true)
	})

	t.Run("IDTokenBadSignature", func(t *testing.T) {
		e := s.newEnv(t)
		e.idp.set(mockoidc.TokenEndpoint, tamperIDToken(func(tok string) string {
			b := []byte(tok)
			b[len(b)-5] ^= 0x01
			return string(b)
		}))
		b := e.browser()
		b.callback(b.authorize(b.startLogin(prefix+"/login")), true).
			wantError(t, http.StatusUnauthorized, "invalid_token").wantNoTokens(t, true)
	})

	t.Run("IDTokenExpired", func(t *testing.T) {
		e := s.newEnv(t)
		e.idp.locked(func(m *mockoidc.MockOIDC) { m.AccessTTL = time.Minute }) // the id_token's lifetime too
		b := e.browser()
		cb := b.authorize(b.startLogin(prefix + "/login"))
		e.clock.Advance(2 * time.Minute)
		b.callback(cb, true).wantError(t, http.StatusUnauthorized, "invalid_token").wantNoTokens(t, true)
	})

	t.Run("IDTokenMissing", func(t *testing.T) {
		e := s.newEnv(t)
		e.idp.set(mockoidc.TokenEndpoint, tamperIDToken(func(string) string { return "" }))
		b := e.browser()
		b.callback(b.authorize(b.startLogin(prefix+"/login")), true).
			wantError(t, http.StatusBadGateway, "server_error").wantNoTokens(t, true)
	})

	t.Run("HostedDomain", func(t *testing.T) {
		idp := s.newIDP(t)
		p := idp.provider("mock")
		p.HostedDomain = "example.com"
		e := s.newEnvWith(t, idp, core.WithProviders(p))
		if u, _ := url.Parse(e.browser().startLogin(prefix + "/login")); u.Query().Get("hd") != "example.com" {
			t.Fatalf("authorization request %s without hd=example.com", u)
		}
		for _, tc := range []struct {
			hd     string
			status int
		}{{"example.com", 200}, {"", 403}, {"example.org", 403}} {
			idp.m.QueueUser(hdUser{MockUser: mockoidc.DefaultUser(), hd: tc.hd})
			b := e.browser()
			r := b.callback(b.authorize(b.startLogin(prefix+"/login")), true)
			if tc.status == 200 {
				r.tokens(t)
				continue
			}
			r.wantError(t, tc.status, "access_denied").wantNoTokens(t, true)
		}
	})

	t.Run("IDTokenAsBearer", func(t *testing.T) {
		// The provider's id_token, genuine and unexpired, is no gatehouse token: refused
		// wherever a gatehouse token is taken (RFC 8725 §3.11).
		e := s.newEnv(t)
		var (
			mu  sync.Mutex
			idt string
		)
		e.idp.set(mockoidc.TokenEndpoint, tamperIDToken(func(tok string) string {
			mu.Lock()
			defer mu.Unlock()
			idt = tok
			return tok
		}))
		tok := e.signIn()
		mu.Lock()
		idToken := idt
		mu.Unlock()
		if strings.Count(idToken, ".") != 2 {
			t.Fatalf("no id_token captured: %q", idToken)
		}
		e.do("GET", "/api/protected", bearer(idToken)).wantChallenge(t, "invalid_token").wantError(t, 401, "invalid_token")
		e.do("GET", "/api/optional", bearer(idToken)).wantChallenge(t, "invalid_token")
		e.do("GET", prefix+"/me", bearer(idToken)).wantChallenge(t, "invalid_token")
		e.do("POST", prefix+"/logout", bearer(idToken)).wantChallenge(t, "invalid_token")
		e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", idToken)).
			wantError(t, http.StatusBadRequest, "invalid_grant").wantNoTokens(t, true)
		if e.email(tok.access) != janeEmail {
			t.Fatal("the session does not work after the refusals")
		}
	})

	t.Run("IDTokenRefused", func(t *testing.T) {
		// mockoidc answers the token request; its id_token is then replaced by one with
		// the same claims, nonce included, changed as the case says and signed as the
		// case says (RS256 with the provider's key and kid, as mockoidc signs). Every
		// refusal is 401 invalid_token without tokens (OpenID Connect Core §3.1.3.7).
		cases := []struct {
			name      string
			edit      func(c jwt.MapClaims)
			alg       string   // RS256, RS384, HS256 (keyed with the client secret) or none
			advertise []string // added to the provider's id_token_signing_alg_values_supported
			ok        bool
		}{
			{"ResignedUnchanged", nil, "RS256", nil, true},
			{"WrongIssuer", func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }, "RS256", nil, false},
			{"NoIssuer", func(c jwt.MapClaims) { delete(c, "iss") }, "RS256", nil, false},
			{"AudienceOtherClient", func(c jwt.MapClaims) { c["aud"] = "other-client" }, "RS256", nil, false},
			{"AudienceArrayWithoutClient", func(c jwt.MapClaims) { c["aud"] = []string{"other-client", "another"} }, "RS256", nil, false},
			{"NoAudience", func(c jwt.MapClaims) { delete(c, "aud") }, "RS256", nil, false},
			// §3.1.3.7 step 3: an id_token with audiences besides the client MUST be
			// refused; step 5: an azp that is not the client id SHOULD be.
			{"AudienceWithAnotherClient", func(c jwt.MapClaims) { aud, _ := c.GetAudience(); c["aud"] = append(aud, "other-client") }, "RS256", nil, false},
			{"AzpOfAnotherClient", func(c jwt.MapClaims) { c["azp"] = "other-client" }, "RS256", nil, false},
			{"NonceMissing", func(c jwt.MapClaims) { delete(c, "nonce") }, "RS256", nil, false},
			{"Expired", func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }, "RS256", nil, false},
			{"NoExpiry", func(c jwt.MapClaims) { delete(c, "exp") }, "RS256", nil, false},
			{"AlgNotAdvertised", nil, "RS384", nil, false},
			{"AlgHS256WithClientSecret", nil, "HS256", []string{"HS256"}, false},
			{"AlgNone", nil, "none", []string{"none"}, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e := s.newEnv(t)
				if tc.advertise != nil {
					e.idp.set(mockoidc.DiscoveryEndpoint, advertiseAlgs(tc.advertise))
				}
				e.idp.set(mockoidc.TokenEndpoint, tamperIDToken(func(tok string) string {
					return resignIDToken(t, e.idp, tok, tc.alg, tc.edit)
				}))
				b := e.browser()
				r := b.callback(b.authorize(b.startLogin(prefix+"/login")), true)
				if tc.ok {
					r.tokens(t)
					return
				}
				r.wantError(t, http.StatusUnauthorized, "invalid_token").wantNoTokens(t, true)
			})
		}
	})

	t.Run("MissingCode", func(t *testing.T) {
		e := s.newEnv(t)
		b := e.browser()
		u, _ := url.Parse(b.authorize(b.startLogin(prefix + "/login")))
		q := u.Query()
		q.Del("code")
		u.RawQuery = q.Encode()
		b.callback(u.String(), true).wantError(t, http.StatusBadRequest, "invalid_request").wantNoTokens(t, true)
	})
}

// hdUser is a mockoidc user whose id_token carries Google's hosted-domain claim.
type hdUser struct {
	*mockoidc.MockUser
	hd string
}

func (u hdUser) Claims(scope []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	c, err := u.MockUser.Claims(scope, base)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	m := jwt.MapClaims{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if u.hd != "" {
		m["hd"] = u.hd
	}
	return m, nil
}

// pkceUnreserved are the characters a PKCE code verifier is made of (RFC 7636 §4.1).
const pkceUnreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"

// resignIDToken returns the id_token tok with its claims changed by edit (when not nil)
// and signed anew with alg: RS256 or RS384 with the provider's key under its kid, HS256
// with the client secret, or none.
func resignIDToken(t *testing.T, p *idp, tok, alg string, edit func(jwt.MapClaims)) string {
	claims := jwt.MapClaims{}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, claims)
	if err != nil {
		t.Errorf("the provider's id_token does not parse: %v", err)
		return tok
	}
	if edit != nil {
		edit(claims)
	}
	var (
		method jwt.SigningMethod
		key    any
	)
	switch alg {
	case "RS256":
		method, key = jwt.SigningMethodRS256, p.m.Keypair.PrivateKey
	case "RS384":
		method, key = jwt.SigningMethodRS384, p.m.Keypair.PrivateKey
	case "HS256":
		method, key = jwt.SigningMethodHS256, []byte(p.m.ClientSecret)
	case "none":
		method, key = jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType
	default:
		t.Errorf("test bug: algorithm %q", alg)
		return tok
	}
	out := jwt.NewWithClaims(method, claims)
	out.Header["kid"] = parsed.Header["kid"]
	signed, err := out.SignedString(key)
	if err != nil {
		t.Errorf("signing the id_token with %s: %v", alg, err)
		return tok
	}
	return signed
}

// advertiseAlgs is an interceptor of the discovery document that adds algs to the
// id_token signing algorithms the provider says it uses.
func advertiseAlgs(algs []string) interceptor {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || rec.Code != http.StatusOK {
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		list, _ := m["id_token_signing_alg_values_supported"].([]any)
		for _, a := range algs {
			list = append(list, a)
		}
		m["id_token_signing_alg_values_supported"] = list
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(m)
	}
}
