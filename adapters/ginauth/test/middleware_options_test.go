package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/ginauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gin-gonic/gin"
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
func whoami(c *gin.Context) {
	claims, ok := ginauth.Claims(c)
	if !ok {
		c.JSON(http.StatusOK, gin.H{"claims": false})
		return
	}
	c.JSON(http.StatusOK, gin.H{"claims": true, "email": claims.Email})
}

// TestOptions runs each option of Require and Optional against a real server.
func TestOptions(t *testing.T) {
	auth := newOptionsAuth(t)
	ada := mint(t, auth, core.Identity{Subject: "ada", Email: "ada@example.com", Roles: []string{"admin"}, Scopes: []string{"read", "write"}})
	bob := mint(t, auth, core.Identity{Subject: "bob", Email: "bob@example.com", Roles: []string{"editor"}, Scopes: []string{"read"}})
	eve := mint(t, auth, core.Identity{Subject: "eve", Email: "eve@example.org"})

	r := gin.New()
	ginauth.Mount(r, auth)
	r.GET("/role", ginauth.Require(auth, ginauth.Role("admin", "editor")), whoami)
	r.GET("/scopes", ginauth.Require(auth, ginauth.Scopes("read", "write")), whoami)
	r.GET("/allow", ginauth.Require(auth, ginauth.Allow(func(c *core.Claims) bool {
		return strings.HasSuffix(c.Email, "@example.com")
	})), whoami)
	r.GET("/both", ginauth.Require(auth, ginauth.Role("editor"), ginauth.Scopes("read")), whoami)
	r.GET("/skip", ginauth.Require(auth, ginauth.Skip(func(c *gin.Context) bool { return c.Query("public") == "1" })), whoami)
	r.GET("/refused", ginauth.Require(auth, ginauth.Role("admin"), ginauth.OnRefused(func(c *gin.Context, err error) {
		c.JSON(http.StatusTeapot, gin.H{"status": core.ErrorResponse(err).Status, "scope": errors.Is(err, core.ErrInsufficientScope)})
	})), whoami)
	page := ginauth.Require(auth, ginauth.RedirectToLogin())
	r.GET("/page", page, whoami)
	r.HEAD("/page", page, whoami)
	r.POST("/page", page, whoami)
	r.GET("/optional", ginauth.Optional(auth, ginauth.Role("admin")), whoami)
	srv := httptest.NewServer(r)
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
	r := gin.New()
	r.GET("/mine", func(c *gin.Context) {
		raw, _ := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
		if claims, err := auth.Authenticate(c.Request.Context(), raw); err == nil {
			c.Request = c.Request.WithContext(core.NewContext(c.Request.Context(), claims))
		}
	}, whoami)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	if got := send(t, nil, "GET", srv.URL+"/mine", tok); strings.TrimSpace(got.body) != `{"claims":true,"email":"ada@example.com"}` {
		t.Errorf("with the app's claims: %d %s", got.status, got.body)
	}
	if got := send(t, nil, "GET", srv.URL+"/mine", ""); strings.TrimSpace(got.body) != `{"claims":false}` {
		t.Errorf("without: %d %s", got.status, got.body)
	}
}

// checkSignInAgrees starts a sign-in at base+prefix/login and follows the provider's
// redirect_uri back, with the state cookie and state the login gave: the callback must
// be served there and get as far as the missing code, so the redirect URI, the route
// and the state cookie's path all agree.
func checkSignInAgrees(t *testing.T, base, prefix string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar}
	got := send(t, cl, "GET", base+prefix+"/login", "")
	if got.status != http.StatusFound {
		t.Fatalf("GET %s/login: %d %s", prefix, got.status, got.body)
	}
	loc, err := url.Parse(got.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	uri := loc.Query().Get("redirect_uri")
	if want := base + prefix + "/callback"; uri != want {
		t.Fatalf("redirect_uri %q, want %q", uri, want)
	}
	got = send(t, cl, "GET", uri+"?state="+url.QueryEscape(loc.Query().Get("state")), "")
	if got.status != http.StatusBadRequest || !strings.Contains(got.body, "no code in the callback") {
		t.Fatalf("GET redirect_uri with the login's state: %d %s, want core's 400 for the missing code", got.status, got.body)
	}
	if got := send(t, nil, "GET", base+prefix+"/jwks.json", ""); got.status != http.StatusOK {
		t.Fatalf("GET %s/jwks.json: %d %s", prefix, got.status, got.body)
	}
}

// TestMountOnGroup mounts on groups whose base path the prefix lies under: the routes
// are at the prefix, where the sign-in's redirect URI says.
func TestMountOnGroup(t *testing.T) {
	for _, tc := range []struct {
		name, prefix string
		router       func(*gin.Engine) gin.IRouter
	}{
		{"engine", "/auth", func(r *gin.Engine) gin.IRouter { return r }},
		{"root group", "/auth", func(r *gin.Engine) gin.IRouter { return r.Group("/") }},
		{"group", "/api/auth", func(r *gin.Engine) gin.IRouter { return r.Group("/api") }},
		{"group with a slash", "/api/auth", func(r *gin.Engine) gin.IRouter { return r.Group("/api/") }},
		{"nested group", "/api/v1/auth", func(r *gin.Engine) gin.IRouter { return r.Group("/api").Group("/v1") }},
		{"group at the prefix", "/auth", func(r *gin.Engine) gin.IRouter { return r.Group("/auth") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := newOptionsAuth(t, core.WithRoutePrefix(tc.prefix))
			r := gin.New()
			ginauth.Mount(tc.router(r), auth)
			srv := httptest.NewServer(r)
			t.Cleanup(srv.Close)
			checkSignInAgrees(t, srv.URL, tc.prefix)
		})
	}
}

// mountPanic is what Mount panics with, "" when it does not.
func mountPanic(r gin.IRouter, auth *core.Auth) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg = fmt.Sprint(v)
		}
	}()
	ginauth.Mount(r, auth)
	return ""
}

// TestMountRefused checks that Mount refuses, saying what to do, where the routes
// would not be where the redirect URI says, or behind Require or Optional.
func TestMountRefused(t *testing.T) {
	const (
		outside = "build the Auth with core.WithRoutePrefix"
		guarded = "call Mount before adding the middleware"
	)
	for _, tc := range []struct {
		name, prefix string
		router       func(*gin.Engine, *core.Auth) gin.IRouter
		want         []string
	}{
		{"issue 9: group /v1, default prefix", "/auth",
			func(r *gin.Engine, _ *core.Auth) gin.IRouter { return r.Group("/v1") },
			[]string{outside + `("/v1/auth")`, "or Mount on the engine", "under /v1/auth", "say /auth"}},
		{"prefix beside the group", "/apiv2/auth",
			func(r *gin.Engine, _ *core.Auth) gin.IRouter { return r.Group("/api") },
			[]string{outside + `("/api/apiv2/auth")`}},
		{"group with Require", "/api/auth",
			func(r *gin.Engine, a *core.Auth) gin.IRouter { return r.Group("/api", ginauth.Require(a)) },
			[]string{guarded, "or Mount on a router without it", "at /api"}},
		{"group with Use(Require)", "/api/auth",
			func(r *gin.Engine, a *core.Auth) gin.IRouter {
				g := r.Group("/api")
				g.Use(gin.Logger(), ginauth.Require(a, ginauth.Role("admin")))
				return g
			},
			[]string{guarded}},
		{"engine with Use(Optional)", "/auth",
			func(r *gin.Engine, a *core.Auth) gin.IRouter { r.Use(ginauth.Optional(a)); return r },
			[]string{guarded}},
		{"group of an engine with Require", "/api/auth",
			func(r *gin.Engine, a *core.Auth) gin.IRouter { r.Use(ginauth.Require(a)); return r.Group("/api") },
			[]string{guarded}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := newOptionsAuth(t, core.WithRoutePrefix(tc.prefix))
			r := gin.New()
			msg := mountPanic(tc.router(r, auth), auth)
			if msg == "" {
				t.Fatal("Mount did not panic")
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("panic %q\ndoes not say %q", msg, w)
				}
			}
			if n := len(r.Routes()); n != 0 {
				t.Errorf("%d routes registered before the panic", n)
			}
		})
	}
}

// TestMountBeforeMiddleware mounts first and adds Require afterwards, on the same group
// and on the engine: Gin gives the auth routes none of it, and the API still needs a
// token.
func TestMountBeforeMiddleware(t *testing.T) {
	auth := newOptionsAuth(t, core.WithRoutePrefix("/api/auth"))
	tok := mint(t, auth, core.Identity{Subject: "ada", Email: "ada@example.com"})
	r := gin.New()
	api := r.Group("/api")
	ginauth.Mount(api, auth)
	api.Use(ginauth.Require(auth))
	api.GET("/me", whoami)
	r.Use(ginauth.Require(auth))
	r.GET("/home", whoami)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	checkSignInAgrees(t, srv.URL, "/api/auth")
	for path, want := range map[string]int{"/api/me": 401, "/home": 401} {
		if got := send(t, nil, "GET", srv.URL+path, ""); got.status != want {
			t.Errorf("GET %s without a token: %d, want %d", path, got.status, want)
		}
		if got := send(t, nil, "GET", srv.URL+path, tok); got.status != 200 {
			t.Errorf("GET %s with a token: %d %s", path, got.status, got.body)
		}
	}
}

// TestRoleRefusalBody checks the JSON of a refusal by Role: RFC 6750's error and
// description, as core writes every refusal.
func TestRoleRefusalBody(t *testing.T) {
	auth := newOptionsAuth(t)
	tok := mint(t, auth, core.Identity{Subject: "eve", Email: "eve@example.org"})
	r := gin.New()
	r.GET("/admin", ginauth.Require(auth, ginauth.Role("admin")), whoami)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	got := send(t, nil, "GET", srv.URL+"/admin", tok)
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal([]byte(got.body), &body); err != nil {
		t.Fatalf("%v: %s", err, got.body)
	}
	if got.status != 403 || body.Error != "insufficient_scope" || !strings.Contains(body.Description, "admin") {
		t.Errorf("%d %+v", got.status, body)
	}
}
