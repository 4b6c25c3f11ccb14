package test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/httpauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// newOptionsAuth is an Auth with a sign-in provider (GitHub: its endpoints are fixed,
// so starting a sign-in calls nobody).
func newOptionsAuth(t *testing.T, opts ...core.Option) *core.Auth {
	t.Helper()
	opts = append([]core.Option{core.WithProviders(core.GitHub("client-id", "client-secret"))}, opts...)
	auth, err := core.New(memstore.New(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// mint is the access token of a session of id.
func mint(t *testing.T, auth *core.Auth, id core.Identity) string {
	t.Helper()
	tok, err := auth.Issue(context.Background(), id, core.Client{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// reply is a response read whole.
type reply struct {
	status int
	header http.Header
	body   string
}

// send makes one request without following redirects.
func send(t *testing.T, cl *http.Client, method, url, token string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cl == nil {
		cl = &http.Client{}
	}
	noFollow := *cl
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{res.StatusCode, res.Header, string(b)}
}

// whoami answers what the handler sees: the claims' email, or none.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"claims": false}
	if claims, ok := httpauth.Claims(r); ok {
		out = map[string]any{"claims": true, "email": claims.Email}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out) //nolint:errcheck // the client went away
})

// TestOptions runs each option of Require and Optional against a real server.
func TestOptions(t *testing.T) {
	auth := newOptionsAuth(t)
	ada := mint(t, auth, core.Identity{Subject: "ada", Email: "ada@example.com", Roles: []string{"admin"}, Scopes: []string{"read", "write"}})
	bob := mint(t, auth, core.Identity{Subject: "bob", Email: "bob@example.com", Roles: []string{"editor"}, Scopes: []string{"read"}})
	eve := mint(t, auth, core.Identity{Subject: "eve", Email: "eve@example.org"})

	mux := http.NewServeMux()
	httpauth.Mount(mux, auth)
	mux.Handle("GET /role", httpauth.Require(auth, httpauth.Role("admin", "editor"))(whoami))
	mux.Handle("GET /scopes", httpauth.Require(auth, httpauth.Scopes("read", "write"))(whoami))
	mux.Handle("GET /allow", httpauth.Require(auth, httpauth.Allow(func(c *core.Claims) bool {
		return strings.HasSuffix(c.Email, "@example.com")
	}))(whoami))
	mux.Handle("GET /both", httpauth.Require(auth, httpauth.Role("editor"), httpauth.Scopes("read"))(whoami))
	mux.Handle("GET /skip", httpauth.Require(auth, httpauth.Skip(func(r *http.Request) bool { return r.URL.Query().Get("public") == "1" }))(whoami))
	mux.Handle("GET /refused", httpauth.Require(auth, httpauth.Role("admin"), httpauth.OnRefused(func(w http.ResponseWriter, r *http.Request, err error) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		json.NewEncoder(w).Encode(map[string]any{"status": core.ErrorResponse(err).Status, "scope": errors.Is(err, core.ErrInsufficientScope)}) //nolint:errcheck
	}))(whoami))
	page := httpauth.Require(auth, httpauth.RedirectToLogin())(whoami)
	mux.Handle("GET /page", page) // and HEAD
	mux.Handle("POST /page", page)
	mux.Handle("GET /optional", httpauth.Optional(auth, httpauth.Role("admin"))(whoami))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	const (
		seesAda = `{"claims":true,"email":"ada@example.com"}`
		seesBob = `{"claims":true,"email":"bob@example.com"}`
		seesNil = `{"claims":false}`
	)
	login := "/auth/login?redirect_to=/page%3Fx%3D1%26y%3Da%2520b"
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		body                      string // exact, or "" to skip
		challenge                 string // in WWW-Authenticate; "-" for none
		location                  string
	}{
		{"role: one of them", "GET", "/role", ada, 200, seesAda, "-", ""},
		{"role: the other", "GET", "/role", bob, 200, seesBob, "-", ""},
		{"role: none", "GET", "/role", eve, 403, "", `error="insufficient_scope"`, ""},
		{"role: no token", "GET", "/role", "", 401, "", `Bearer realm=`, ""},
		{"scopes: all", "GET", "/scopes", ada, 200, seesAda, "-", ""},
		{"scopes: some", "GET", "/scopes", bob, 403, "", `scope="read write"`, ""},
		{"allow: true", "GET", "/allow", bob, 200, seesBob, "-", ""},
		{"allow: false", "GET", "/allow", eve, 403, "", `error="insufficient_scope"`, ""},
		{"rules add up: both pass", "GET", "/both", bob, 200, seesBob, "-", ""},
		{"rules add up: one fails", "GET", "/both", ada, 403, "", `error="insufficient_scope"`, ""},
		{"skip: skipped, no token", "GET", "/skip?public=1", "", 200, seesNil, "-", ""},
		{"skip: skipped, token unread", "GET", "/skip?public=1", ada, 200, seesNil, "-", ""},
		{"skip: not skipped", "GET", "/skip", "", 401, "", `Bearer realm=`, ""},
		{"skip: not skipped, token", "GET", "/skip", ada, 200, seesAda, "-", ""},
		{"on refused: forbidden", "GET", "/refused", eve, 418, `{"scope":true,"status":403}`, "-", ""},
		{"on refused: no token", "GET", "/refused", "", 418, `{"scope":false,"status":401}`, "-", ""},
		{"on refused: allowed", "GET", "/refused", ada, 200, seesAda, "-", ""},
		{"redirect: GET", "GET", "/page?x=1&y=a%20b", "", 302, "", "-", login},
		{"redirect: HEAD", "HEAD", "/page?x=1&y=a%20b", "", 302, "", "-", login},
		{"redirect: bad token", "GET", "/page?x=1&y=a%20b", ada + "x", 302, "", "-", login},
		{"redirect: POST gets 401", "POST", "/page", "", 401, `{"error_description":"no token"}`, `Bearer realm=`, ""},
		{"redirect: signed in", "GET", "/page", ada, 200, seesAda, "-", ""},
		{"optional: no token", "GET", "/optional", "", 200, seesNil, "-", ""},
		{"optional: rule passes", "GET", "/optional", ada, 200, seesAda, "-", ""},
		{"optional: rule fails", "GET", "/optional", bob, 403, "", `error="insufficient_scope"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := send(t, nil, tc.method, srv.URL+tc.path, tc.token)
			if got.status != tc.status {
				t.Fatalf("status %d, want %d; body %s", got.status, tc.status, got.body)
			}
			if tc.body != "" && strings.TrimSpace(got.body) != tc.body {
				t.Errorf("body %s, want %s", got.body, tc.body)
			}
			www := got.header.Get("WWW-Authenticate")
			switch {
			case tc.challenge == "-" && www != "":
				t.Errorf("WWW-Authenticate = %q, want none", www)
			case tc.challenge != "-" && !strings.Contains(www, tc.challenge):
				t.Errorf("WWW-Authenticate = %q, want it to contain %s", www, tc.challenge)
			}
			if got.status == 403 && !strings.Contains(got.body, `"error":"insufficient_scope"`) {
				t.Errorf("403 body %s", got.body)
			}
			if loc := got.header.Get("Location"); loc != tc.location {
				t.Errorf("Location = %q, want %q", loc, tc.location)
			}
		})
	}
}

// TestClaimsFromAppMiddleware checks that Claims finds the claims an app's own
// middleware put in the request's context, without Require or Optional.
func TestClaimsFromAppMiddleware(t *testing.T) {
	auth := newOptionsAuth(t)
	tok := mint(t, auth, core.Identity{Subject: "ada", Email: "ada@example.com"})
	mine := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if claims, err := auth.Authenticate(r.Context(), raw); err == nil {
				r = r.WithContext(core.NewContext(r.Context(), claims))
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(mine(whoami))
	t.Cleanup(srv.Close)
	if got := send(t, nil, "GET", srv.URL, tok); strings.TrimSpace(got.body) != `{"claims":true,"email":"ada@example.com"}` {
		t.Errorf("with the app's claims: %d %s", got.status, got.body)
	}
	if got := send(t, nil, "GET", srv.URL, ""); strings.TrimSpace(got.body) != `{"claims":false}` {
		t.Errorf("without: %d %s", got.status, got.body)
	}
}

// signIn starts a sign-in at base+prefix/login and follows the provider's redirect_uri
// back, with the state cookie and state the login gave. It returns the redirect_uri
// and the callback's answer.
func signIn(t *testing.T, base, prefix string) (string, reply) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	got := send(t, cl, "GET", base+prefix+"/login", "")
	if got.status != http.StatusFound {
		return "", got
	}
	loc, err := url.Parse(got.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	uri := loc.Query().Get("redirect_uri")
	return uri, send(t, cl, "GET", uri+"?state="+url.QueryEscape(loc.Query().Get("state")), "")
}

// TestMountAndWrap checks what the package documents for combining Mount with the
// middleware: handlers wrapped one by one leave the auth routes alone; the whole mux
// wrapped in Require refuses the sign-in itself, unless Skip leaves the prefix out.
func TestMountAndWrap(t *testing.T) {
	auth := newOptionsAuth(t, core.WithRoutePrefix("/api/auth"))
	tok := mint(t, auth, core.Identity{Subject: "ada", Email: "ada@example.com"})
	for _, tc := range []struct {
		name   string
		wrap   func(*http.ServeMux) http.Handler
		signIn bool // the sign-in gets to core's callback
	}{
		{"handlers wrapped", func(mux *http.ServeMux) http.Handler {
			mux.Handle("GET /api/me", httpauth.Require(auth)(whoami))
			return mux
		}, true},
		{"mux wrapped", func(mux *http.ServeMux) http.Handler {
			mux.Handle("GET /api/me", whoami)
			return httpauth.Require(auth)(mux)
		}, false},
		{"mux wrapped, prefix skipped", func(mux *http.ServeMux) http.Handler {
			mux.Handle("GET /api/me", whoami)
			return httpauth.Require(auth, httpauth.Skip(func(r *http.Request) bool {
				return strings.HasPrefix(r.URL.Path, auth.Prefix()+"/")
			}))(mux)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			httpauth.Mount(mux, auth)
			srv := httptest.NewServer(tc.wrap(mux))
			t.Cleanup(srv.Close)
			uri, got := signIn(t, srv.URL, "/api/auth")
			if tc.signIn {
				if want := srv.URL + "/api/auth/callback"; uri != want {
					t.Fatalf("redirect_uri %q, want %q", uri, want)
				}
				if got.status != http.StatusBadRequest || !strings.Contains(got.body, "no code in the callback") {
					t.Fatalf("callback: %d %s, want core's 400 for the missing code", got.status, got.body)
				}
			} else if got.status != http.StatusUnauthorized || uri != "" {
				t.Fatalf("sign-in behind Require: %d %s, want the middleware's 401", got.status, got.body)
			}
			if got := send(t, nil, "GET", srv.URL+"/api/me", ""); got.status != 401 {
				t.Errorf("GET /api/me without a token: %d", got.status)
			}
			if got := send(t, nil, "GET", srv.URL+"/api/me", tok); got.status != 200 {
				t.Errorf("GET /api/me with a token: %d %s", got.status, got.body)
			}
		})
	}
}
