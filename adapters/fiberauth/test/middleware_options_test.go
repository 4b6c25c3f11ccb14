package test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/fiberauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gofiber/fiber/v2"
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

// newOptionsApp is a Fiber app as this file's tests serve it.
func newOptionsApp() *fiber.App {
	return fiber.New(fiber.Config{ReadBufferSize: fiberauth.ReadBufferSize, DisableStartupMessage: true})
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
func whoami(c *fiber.Ctx) error {
	claims, ok := fiberauth.Claims(c)
	if !ok {
		return c.JSON(fiber.Map{"claims": false})
	}
	return c.JSON(fiber.Map{"claims": true, "email": claims.Email})
}

// TestOptions runs each option of Require and Optional against a real server.
func TestOptions(t *testing.T) {
	auth := newOptionsAuth(t)
	ada := mint(t, auth, core.Identity{Subject: "ada", Email: "ada@example.com", Roles: []string{"admin"}, Scopes: []string{"read", "write"}})
	bob := mint(t, auth, core.Identity{Subject: "bob", Email: "bob@example.com", Roles: []string{"editor"}, Scopes: []string{"read"}})
	eve := mint(t, auth, core.Identity{Subject: "eve", Email: "eve@example.org"})

	app := newOptionsApp()
	fiberauth.Mount(app, auth)
	app.Get("/role", fiberauth.Require(auth, fiberauth.Role("admin", "editor")), whoami)
	app.Get("/scopes", fiberauth.Require(auth, fiberauth.Scopes("read", "write")), whoami)
	app.Get("/allow", fiberauth.Require(auth, fiberauth.Allow(func(c *core.Claims) bool {
		return strings.HasSuffix(c.Email, "@example.com")
	})), whoami)
	app.Get("/both", fiberauth.Require(auth, fiberauth.Role("editor"), fiberauth.Scopes("read")), whoami)
	app.Get("/skip", fiberauth.Require(auth, fiberauth.Skip(func(c *fiber.Ctx) bool { return c.Query("public") == "1" })), whoami)
	app.Get("/refused", fiberauth.Require(auth, fiberauth.Role("admin"), fiberauth.OnRefused(func(c *fiber.Ctx, err error) error {
		return c.Status(http.StatusTeapot).JSON(fiber.Map{"status": core.ErrorResponse(err).Status, "scope": errors.Is(err, core.ErrInsufficientScope)})
	})), whoami)
	app.Get("/refused/error", fiberauth.Require(auth, fiberauth.OnRefused(func(c *fiber.Ctx, err error) error {
		return fiber.NewError(http.StatusTeapot, "to the error handler: "+core.ErrorResponse(err).Description)
	})), whoami)
	page := fiberauth.Require(auth, fiberauth.RedirectToLogin())
	app.Get("/page", page, whoami) // Get routes HEAD too
	app.Post("/page", page, whoami)
	app.Get("/optional", fiberauth.Optional(auth, fiberauth.Role("admin")), whoami)
	base := listen(t, app)

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
		{"on refused: its error", "GET", "/refused/error", "", 418, "to the error handler: no token", "-", ""},
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
			got := send(t, nil, tc.method, base+tc.path, tc.token)
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
// middleware put in the user context, without Require or Optional.
func TestClaimsFromAppMiddleware(t *testing.T) {
	auth := newOptionsAuth(t)
	tok := mint(t, auth, core.Identity{Subject: "ada", Email: "ada@example.com"})
	app := newOptionsApp()
	app.Get("/mine", func(c *fiber.Ctx) error {
		raw, _ := strings.CutPrefix(c.Get("Authorization"), "Bearer ")
		if claims, err := auth.Authenticate(c.UserContext(), raw); err == nil {
			c.SetUserContext(core.NewContext(c.UserContext(), claims))
		}
		return c.Next()
	}, whoami)
	base := listen(t, app)
	if got := send(t, nil, "GET", base+"/mine", tok); strings.TrimSpace(got.body) != `{"claims":true,"email":"ada@example.com"}` {
		t.Errorf("with the app's claims: %d %s", got.status, got.body)
	}
	if got := send(t, nil, "GET", base+"/mine", ""); strings.TrimSpace(got.body) != `{"claims":false}` {
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

// TestMountOnGroup mounts on groups whose prefix the auth prefix lies under: the routes
// are at the auth prefix, where the sign-in's redirect URI says.
func TestMountOnGroup(t *testing.T) {
	for _, tc := range []struct {
		name, prefix string
		router       func(*fiber.App) fiber.Router
	}{
		{"app", "/auth", func(app *fiber.App) fiber.Router { return app }},
		{"root group", "/auth", func(app *fiber.App) fiber.Router { return app.Group("/") }},
		{"group", "/api/auth", func(app *fiber.App) fiber.Router { return app.Group("/api") }},
		{"group with a slash", "/api/auth", func(app *fiber.App) fiber.Router { return app.Group("/api/") }},
		{"nested group", "/api/v1/auth", func(app *fiber.App) fiber.Router { return app.Group("/api").Group("/v1") }},
		{"group at the prefix", "/auth", func(app *fiber.App) fiber.Router { return app.Group("/auth") }},
		{"Route", "/api/auth", func(app *fiber.App) fiber.Router {
			var g fiber.Router
			app.Route("/api", func(r fiber.Router) { g = r })
			return g
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := newOptionsAuth(t, core.WithRoutePrefix(tc.prefix))
			app := newOptionsApp()
			fiberauth.Mount(tc.router(app), auth)
			checkSignInAgrees(t, listen(t, app), tc.prefix)
		})
	}
}

// mountPanic is what Mount panics with, "" when it does not.
func mountPanic(f func()) (msg string) {
	defer func() {
		if v := recover(); v != nil {
			msg = fmt.Sprint(v)
		}
	}()
	f()
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
		mount        func(*fiber.App, *core.Auth)
		want         []string
	}{
		{"group /v1, default prefix", "/auth",
			func(app *fiber.App, a *core.Auth) { fiberauth.Mount(app.Group("/v1"), a) },
			[]string{outside + `("/v1/auth")`, "or Mount on the app", "under /v1/auth", "say /auth"}},
		{"prefix beside the group", "/apiv2/auth",
			func(app *fiber.App, a *core.Auth) { fiberauth.Mount(app.Group("/api"), a) },
			[]string{outside + `("/api/apiv2/auth")`}},
		{"issue 9: Group(/api, Require) before Mount", "/api/auth",
			func(app *fiber.App, a *core.Auth) {
				app.Group("/api", fiberauth.Require(a)).Get("/me", whoami)
				fiberauth.Mount(app, a)
			},
			[]string{guarded, "or Mount on an app without it", "at /api", "under /api/auth"}},
		{"Mount on the guarded group", "/api/auth",
			func(app *fiber.App, a *core.Auth) { fiberauth.Mount(app.Group("/api", fiberauth.Require(a)), a) },
			[]string{guarded}},
		{"Use(Optional)", "/auth",
			func(app *fiber.App, a *core.Auth) {
				app.Use(fiberauth.Optional(a))
				fiberauth.Mount(app, a)
			},
			[]string{guarded, "at /"}},
		{"Use with a path and another handler", "/api/auth",
			func(app *fiber.App, a *core.Auth) {
				app.Use("/API", func(c *fiber.Ctx) error { return c.Next() }, fiberauth.Require(a, fiberauth.Role("admin")))
				fiberauth.Mount(app, a)
			},
			[]string{guarded}},
		{"Use on a parameter", "/auth",
			func(app *fiber.App, a *core.Auth) {
				app.Use("/:tenant", fiberauth.Require(a))
				fiberauth.Mount(app, a)
			},
			[]string{guarded}},
		{"Use on one auth route", "/auth",
			func(app *fiber.App, a *core.Auth) {
				app.Use("/auth/refresh", fiberauth.Require(a))
				fiberauth.Mount(app, a)
			},
			[]string{guarded}},
		{"a sub-app mounted at a path", "/auth",
			func(app *fiber.App, a *core.Auth) {
				sub := newOptionsApp()
				fiberauth.Mount(sub, a)
				app.Mount("/v1", sub)
			},
			[]string{"mounted at /v1", `core.WithRoutePrefix("/v1/auth")`, "Mount the auth routes on the app at the top"}},
		{"Mount on a sub-app already mounted", "/auth",
			func(app *fiber.App, a *core.Auth) {
				sub := newOptionsApp()
				app.Mount("/v1", sub)
				fiberauth.Mount(sub.Group("/x"), a)
			},
			[]string{outside + `("/x/auth")`}},
		{"Mount on a sub-app's group already mounted", "/x/auth",
			func(app *fiber.App, a *core.Auth) {
				sub := newOptionsApp()
				app.Mount("/v1", sub)
				fiberauth.Mount(sub.Group("/x"), a)
			},
			[]string{"mounted at /v1", `("/v1/x/auth")`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			auth := newOptionsAuth(t, core.WithRoutePrefix(tc.prefix))
			msg := mountPanic(func() { tc.mount(newOptionsApp(), auth) })
			if msg == "" {
				t.Fatal("Mount did not panic")
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("panic %q\ndoes not say %q", msg, w)
				}
			}
		})
	}
}

// TestMountBeforeMiddleware is issue 9's Fiber case in the right order: Mount first,
// then app.Group("/api", Require) and app.Use(Require); before it, Require elsewhere
// and on a route that matches only its own path. Fiber's
// first matching route answers, so the auth routes answer before the middleware, and
// the rest of the API still needs a token.
func TestMountBeforeMiddleware(t *testing.T) {
	auth := newOptionsAuth(t, core.WithRoutePrefix("/api/auth"))
	tok := mint(t, auth, core.Identity{Subject: "ada", Email: "ada@example.com"})
	app := newOptionsApp()
	app.Use("/admin", fiberauth.Require(auth))       // elsewhere: no matter when
	app.Get("/api", fiberauth.Require(auth), whoami) // a route, not middleware: matches /api alone
	fiberauth.Mount(app, auth)
	app.Group("/api", fiberauth.Require(auth)).Get("/me", whoami)
	app.Use(fiberauth.Require(auth))
	app.Get("/home", whoami)
	base := listen(t, app)

	checkSignInAgrees(t, base, "/api/auth")
	for _, path := range []string{"/api", "/api/me", "/home"} {
		if got := send(t, nil, "GET", base+path, ""); got.status != 401 {
			t.Errorf("GET %s without a token: %d, want 401", path, got.status)
		}
		if got := send(t, nil, "GET", base+path, tok); got.status != 200 {
			t.Errorf("GET %s with a token: %d %s", path, got.status, got.body)
		}
	}
}
