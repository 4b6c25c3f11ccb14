package ginauth

import (
	"fmt"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gin-gonic/gin"
)

// Mount registers every auth route of auth (login, callback, refresh, logout, revoke,
// sessions, me, jwks.json) at auth.Prefix() on r, an engine or a group, so that the
// routes are where the sign-in's redirect URI, built from the prefix, says they are.
//
// On a group with a base path, such as r.Group("/api"), the prefix must lie under it
// (core.WithRoutePrefix("/api/auth")): the routes are then registered at the prefix
// minus the base path, and the group's middleware runs before them. Mount panics
// otherwise, since the routes would be served at base path + prefix while the redirect
// URI points at the prefix alone; the message says to build the Auth with
// core.WithRoutePrefix(base path + prefix), or to Mount on the engine.
//
// Mount also panics when r already has Require or Optional of this package among its
// handlers (r.Use(ginauth.Require(auth)), or r.Group("/api", ginauth.Require(auth))):
// they would run before the auth routes and refuse their requests, since a sign-in or
// a refresh comes without a valid access token. Call Mount first: Gin gives a route the
// middleware added before it, not after. Middleware that wraps Require in a handler of
// its own is not seen.
func Mount(r gin.IRouter, auth *core.Auth) {
	prefix := auth.Prefix()
	var g *gin.RouterGroup
	switch r := r.(type) {
	case *gin.Engine:
		g = &r.RouterGroup
	case *gin.RouterGroup:
		g = r
	}
	rel := prefix
	if g != nil {
		rel = relativePrefix(auth, g.BasePath())
		for _, h := range g.Handlers {
			if isGuard(h) {
				panic(fmt.Sprintf("ginauth: Mount: the router at %s already has ginauth.Require or "+
					"ginauth.Optional among its handlers, which would run before the auth routes under %s "+
					"and refuse their requests (a sign-in or a refresh comes without a valid access token); "+
					"call Mount before adding the middleware (Gin gives a route only the middleware added "+
					"before it), or Mount on a router without it", g.BasePath(), prefix))
			}
		}
	}
	for _, rt := range auth.Adapter().Routes() {
		h := rt.Handle
		r.Handle(rt.Method, rel+rt.ColonPattern(), func(c *gin.Context) {
			h(exchange{c})
		})
	}
}

// relativePrefix is where, relative to a group at base, the routes of auth must go
// (core's Adapter.RelativePrefix); it panics when the prefix is not under base.
func relativePrefix(auth *core.Auth, base string) string {
	rel, err := auth.Adapter().RelativePrefix(base)
	if err != nil {
		panic("ginauth: Mount: " + err.Error() + ", or Mount on the engine")
	}
	return rel
}
