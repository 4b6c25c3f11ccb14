package test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/fiberauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/authtest"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gofiber/fiber/v2"
)

// What Require, Optional and their options do for a request is core/authtest's to
// check (conformance_test.go); this file checks what depends on Fiber: where Mount
// puts the routes on groups, where it refuses to, the order of Mount and Use, and
// the error an OnRefused handler returns.

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

// TestOnRefusedError checks what is Fiber's own in OnRefused: the error the app's
// handler returns goes to the app's ErrorHandler, as the error of any handler does.
func TestOnRefusedError(t *testing.T) {
	auth := newOptionsAuth(t)
	app := newOptionsApp()
	app.Get("/refused", fiberauth.Require(auth, fiberauth.OnRefused(func(c *fiber.Ctx, err error) error {
		return fiber.NewError(http.StatusTeapot, "to the error handler: "+core.ErrorResponse(err).Description)
	})), email)
	res, body := authtest.Get(t, nil, listen(t, app)+"/refused", "")
	if res.StatusCode != http.StatusTeapot || body != "to the error handler: no token" {
		t.Fatalf("%d %q, want the default ErrorHandler's 418 with the handler's message", res.StatusCode, body)
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
			authtest.CheckMount(t, listen(t, app), tc.prefix)
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
				app.Group("/api", fiberauth.Require(a)).Get("/me", email)
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
	tok := issue(t, auth, "ada@example.com")
	app := newOptionsApp()
	app.Use("/admin", fiberauth.Require(auth))      // elsewhere: no matter when
	app.Get("/api", fiberauth.Require(auth), email) // a route, not middleware: matches /api alone
	fiberauth.Mount(app, auth)
	app.Group("/api", fiberauth.Require(auth)).Get("/me", email)
	app.Use(fiberauth.Require(auth))
	app.Get("/home", email)
	base := listen(t, app)

	authtest.CheckMount(t, base, "/api/auth")
	for _, path := range []string{"/api", "/api/me", "/home"} {
		if res, _ := authtest.Get(t, nil, base+path, ""); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d, want 401", path, res.StatusCode)
		}
		if res, body := authtest.Get(t, nil, base+path, tok); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s with a token: %d %s", path, res.StatusCode, body)
		}
	}
}
