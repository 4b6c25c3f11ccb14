package test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/ginauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/authtest"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gin-gonic/gin"
)

// What Require, Optional and their options do for a request is core/authtest's to
// check (conformance_test.go); this file checks what depends on Gin's router: where
// Mount puts the routes on groups, where it refuses to, and the order of Mount and
// Use.

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
			authtest.CheckMount(t, srv.URL, tc.prefix)
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
	tok, err := auth.Issue(context.Background(), core.Identity{Subject: "ada", Email: "ada@example.com"}, core.Client{})
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	api := r.Group("/api")
	ginauth.Mount(api, auth)
	api.Use(ginauth.Require(auth))
	api.GET("/me", email)
	r.Use(ginauth.Require(auth))
	r.GET("/home", email)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	authtest.CheckMount(t, srv.URL, "/api/auth")
	for _, path := range []string{"/api/me", "/home"} {
		if res, _ := authtest.Get(t, nil, srv.URL+path, ""); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d, want 401", path, res.StatusCode)
		}
		if res, body := authtest.Get(t, nil, srv.URL+path, tok.AccessToken); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s with a token: %d %s", path, res.StatusCode, body)
		}
	}
}
