package fiberauth

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gofiber/fiber/v2"
)

// ReadBufferSize is the fiber.Config ReadBufferSize gatehouse needs: room for an access
// token of core.MaxTokenSize in the Authorization header, the sign-in and refresh
// cookies and a browser's usual headers. Fiber's default, 4096, is too small for the
// largest tokens; requests whose headers exceed the buffer are answered 431.
const ReadBufferSize = 16 << 10

// Mount registers every auth route of auth (login, callback, refresh, logout, revoke,
// sessions, me, jwks.json) at auth.Prefix() on r, an app or a group, so that the routes
// are where the sign-in's redirect URI, built from the prefix, says they are.
//
// On a group with a prefix, such as app.Group("/api"), the auth prefix must lie under
// it (core.WithRoutePrefix("/api/auth")): the routes are then registered at the auth
// prefix minus the group's. Mount panics otherwise, since the routes would be served at
// group prefix + auth prefix while the redirect URI points at the auth prefix alone;
// the message says to build the Auth with core.WithRoutePrefix(group prefix + auth
// prefix), or to Mount on the app. For the same reason it panics when the app is, or
// is later, mounted in another at a path (app.Mount("/v1", sub)).
//
// Fiber runs the routes that match a request in the order they were registered, and
// the auth routes answer without calling the next. So Require or Optional registered
// before Mount as middleware whose path covers the auth routes (app.Use(Require),
// app.Group("/api", Require)) would run first and refuse their requests, since a
// sign-in or a refresh comes without a valid access token; Mount panics then, saying
// to call Mount first. Registered after Mount, the same middleware leaves the auth
// routes alone. Middleware that wraps Require in a handler of its own is not seen.
func Mount(r fiber.Router, auth *core.Auth) {
	prefix := auth.Prefix()
	rel := prefix
	if g, ok := r.(*fiber.Group); ok {
		rel = relativePrefix(auth, g.Prefix)
	}
	if app := appOf(r); app != nil {
		checkMounted(app, prefix)
		checkGuards(app, auth)
		app.Hooks().OnMount(func(*fiber.App) error { return mountedError(app, prefix) })
	}
	for _, rt := range auth.Adapter().Routes() {
		h := rt.Handle
		r.Add(rt.Method, rel+rt.ColonPattern(), func(c *fiber.Ctx) error {
			h(exchange{c})
			return nil
		})
	}
}

// relativePrefix is where, relative to a group at base, the routes of auth must go
// (core's Adapter.RelativePrefix); it panics when the prefix is not under base.
func relativePrefix(auth *core.Auth, base string) string {
	rel, err := auth.Adapter().RelativePrefix(base)
	if err != nil {
		panic("fiberauth: Mount: " + err.Error() + ", or Mount on the app")
	}
	return rel
}

// appOf is the app r registers on: r itself, or a group's, which Fiber keeps in the
// group's unexported field app; nil for another Router, or when a Fiber version
// without that field makes it unreadable (the checks that need the app are then not
// made).
func appOf(r fiber.Router) *fiber.App {
	switch r := r.(type) {
	case *fiber.App:
		return r
	case *fiber.Group:
		f := reflect.ValueOf(r).Elem().FieldByName("app")
		if f.IsValid() && f.Type() == reflect.TypeFor[*fiber.App]() {
			return (*fiber.App)(f.UnsafePointer())
		}
	}
	return nil
}

// checkMounted panics when app is mounted in another at a path.
func checkMounted(app *fiber.App, prefix string) {
	if err := mountedError(app, prefix); err != nil {
		panic(err.Error())
	}
}

// mountedError says why the auth routes cannot be on app when app is mounted at a path
// in another app, which serves its routes under that path.
func mountedError(app *fiber.App, prefix string) error {
	p := strings.TrimRight(app.MountPath(), "/")
	if p == "" {
		return nil
	}
	return errors.New("fiberauth: the app with the auth routes is mounted at " + p +
		" in another app, which serves them under " + p + prefix +
		", but the sign-in's redirect URI and every link core builds say " + prefix +
		": Mount the auth routes on the app at the top, with core.WithRoutePrefix(\"" + p + prefix +
		"\") to keep them under " + p)
}

// checkGuards panics when app has, among its USE routes (Use, or Group with handlers),
// a Require or Optional of this package that runs for requests to an auth route.
func checkGuards(app *fiber.App, auth *core.Auth) {
	cfg := app.Config()
	var routes []string
	for _, rt := range auth.Adapter().Routes() {
		routes = append(routes, pretty(auth.Prefix()+rt.ColonPattern(), cfg))
	}
	for _, stack := range app.Stack() {
		for _, use := range stack {
			if !isUse(use) || !hasGuard(use.Handlers) {
				continue
			}
			path := pretty(use.Path, cfg)
			for _, route := range routes {
				if covers(path, route) {
					panic(fmt.Sprintf("fiberauth: Mount: the app already has fiberauth.Require or "+
						"fiberauth.Optional as middleware at %s (app.Use, or a Group with handlers), "+
						"which Fiber would run before the auth routes under %s and which would refuse their "+
						"requests (a sign-in or a refresh comes without a valid access token); call Mount "+
						"before adding the middleware (Fiber runs matching routes in the order they were "+
						"registered), or Mount on an app without it", use.Path, auth.Prefix()))
				}
			}
		}
	}
}

// isUse reports whether r is middleware (Use, or Group with handlers), which matches
// every path it prefixes. Fiber keeps that in the unexported field use (Method is the
// stack's); a Fiber version without it has every route taken for middleware, so that
// Mount refuses too much rather than too little.
func isUse(r *fiber.Route) bool {
	f := reflect.ValueOf(r).Elem().FieldByName("use")
	return !f.IsValid() || f.Kind() != reflect.Bool || f.Bool()
}

func hasGuard(hs []fiber.Handler) bool {
	for _, h := range hs {
		if isGuard(h) {
			return true
		}
	}
	return false
}

// pretty is path as Fiber compares it with a request's: lower-case unless
// CaseSensitive, without a trailing slash unless StrictRouting.
func pretty(path string, cfg fiber.Config) string {
	if !cfg.CaseSensitive {
		path = strings.ToLower(path)
	}
	if !cfg.StrictRouting && len(path) > 1 {
		path = strings.TrimRight(path, "/")
	}
	return path
}

// covers reports whether middleware at use runs for some request to the route at
// route (whose :name segments match any value). Middleware without parameters matches
// as Fiber's does, by string prefix; one with parameters is compared segment by
// segment, each parameter or wildcard taken to match anything, which sees a match
// where Fiber may not, never the other way round.
func covers(use, route string) bool {
	if use == "/" {
		return true
	}
	if !strings.ContainsAny(use, ":*+") {
		lit, param := route, false
		if i := strings.IndexByte(route, ':'); i >= 0 {
			lit, param = route[:i], true
		}
		return strings.HasPrefix(lit, use) || param && strings.HasPrefix(use, lit)
	}
	us, rs := strings.Split(use, "/"), strings.Split(route, "/")
	for i, u := range us {
		if strings.ContainsAny(u, "*+") {
			return true
		}
		if i >= len(rs) {
			return false
		}
		if !strings.Contains(u, ":") && !strings.HasPrefix(rs[i], ":") && u != rs[i] {
			return false
		}
	}
	return true
}
