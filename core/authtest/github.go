package authtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
)

// fakeGitHub stands in for github.com and api.github.com: the OAuth authorize and
// access_token endpoints (with PKCE, answering form-encoded as GitHub does unless asked
// for JSON) and the /user and /user/emails API. There is no GitHub server library to
// run locally; this follows GitHub's documented wire format.
type fakeGitHub struct {
	srv *httptest.Server

	mu     sync.Mutex
	codes  map[string]string // code → PKCE challenge
	emails []ghEmail
	hang   bool
}

type ghEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

const (
	ghClientID, ghSecret = "gh-client", "gh-secret"
	ghToken              = "gho_authtest"
	ghEmailAddr          = "octocat@example.com"
)

func newFakeGitHub(t *testing.T) *fakeGitHub {
	g := &fakeGitHub{codes: map[string]string{}, emails: []ghEmail{
		{Email: "old@example.com", Primary: false, Verified: true},
		{Email: ghEmailAddr, Primary: true, Verified: true},
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != ghClientID || q.Get("code_challenge_method") != "S256" {
			http.Error(w, "bad authorization request", http.StatusBadRequest)
			return
		}
		code := "code-" + q.Get("state")
		g.mu.Lock()
		g.codes[code] = q.Get("code_challenge")
		g.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+url.QueryEscape(code)+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		g.mu.Lock()
		challenge, ok := g.codes[r.PostForm.Get("code")]
		delete(g.codes, r.PostForm.Get("code"))
		g.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		if !ok || r.PostForm.Get("client_secret") != ghSecret || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			w.Write([]byte("error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired."))
			return
		}
		w.Write([]byte("access_token=" + ghToken + "&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer"))
	})
	api := func(body func() any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			g.mu.Lock()
			hang := g.hang
			g.mu.Unlock()
			if hang {
				<-r.Context().Done()
				return
			}
			if r.Header.Get("Authorization") != "Bearer "+ghToken {
				http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(body())
		}
	}
	mux.HandleFunc("GET /api/user", api(func() any {
		return map[string]any{"id": 583231, "login": "octocat", "name": "The Octocat"}
	}))
	mux.HandleFunc("GET /api/user/emails", api(func() any {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.emails
	}))
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGitHub) provider() core.Provider {
	p := core.GitHub(ghClientID, ghSecret)
	p.AuthURL = g.srv.URL + "/login/oauth/authorize"
	p.TokenURL = g.srv.URL + "/login/oauth/access_token"
	p.APIURL = g.srv.URL + "/api"
	return p
}

func testGitHub(t *testing.T, s *suite) {
	setup := func(t *testing.T, opts ...core.Option) (*env, *fakeGitHub) {
		g := newFakeGitHub(t)
		p := s.newIDP(t)
		all := append([]core.Option{core.WithProviders(p.provider("mock"), g.provider())}, opts...)
		return s.newEnvWith(t, p, all...), g
	}

	t.Run("SignIn", func(t *testing.T) {
		e, g := setup(t)
		b := e.browser()
		auth := b.startLogin(prefix + "/login/github")
		if !strings.HasPrefix(auth, g.srv.URL+"/login/oauth/authorize?") {
			t.Fatalf("login/github went to %q", auth)
		}
		cb := b.authorize(auth)
		if !strings.HasPrefix(cb, e.base+prefix+"/callback/github?") {
			t.Fatalf("callback URL %q", cb)
		}
		tok := b.callback(cb, true).tokens(t)
		me := e.do("GET", prefix+"/me", bearer(tok.access)).want(t, http.StatusOK).json(t)
		if me["sub"] != g.srv.URL+"#583231" || me["email"] != ghEmailAddr || me["name"] != "The Octocat" {
			t.Fatalf("me %v: want sub = site#id and the primary verified email", me)
		}
		// The default provider is still the OpenID Connect one.
		e.signIn()
	})

	t.Run("PrimaryEmailUnverified", func(t *testing.T) {
		e, g := setup(t)
		g.mu.Lock()
		g.emails = []ghEmail{{Email: "verified@example.com", Verified: true}, {Email: ghEmailAddr, Primary: true}}
		g.mu.Unlock()
		b := e.browser()
		b.callback(b.authorize(b.startLogin(prefix+"/login/github")), true).
			wantError(t, http.StatusForbidden, "access_denied").wantNoTokens(t, true)
	})

	t.Run("BadCode", func(t *testing.T) {
		e, _ := setup(t)
		b := e.browser()
		u, _ := url.Parse(b.authorize(b.startLogin(prefix + "/login/github")))
		q := u.Query()
		q.Set("code", "forged")
		u.RawQuery = q.Encode()
		b.callback(u.String(), true).wantError(t, http.StatusUnauthorized, "access_denied").wantNoTokens(t, true)
	})

	t.Run("APIHangs", func(t *testing.T) {
		e, g := setup(t, core.WithProviderTimeout(shortTimeout))
		g.mu.Lock()
		g.hang = true
		g.mu.Unlock()
		b := e.browser()
		b.callback(b.authorize(b.startLogin(prefix+"/login/github")), true).withinTimeout(t)
	})

	t.Run("AllowList", func(t *testing.T) {
		e, _ := setup(t, core.WithAllowedEmails("someone@example.com"))
		b := e.browser()
		b.callback(b.authorize(b.startLogin(prefix+"/login/github")), true).
			wantError(t, http.StatusForbidden, "access_denied").wantNoTokens(t, true)
	})
}
