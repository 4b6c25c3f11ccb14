// Package ginauth mounts gatehouse's auth routes on a Gin router and guards Gin handlers
// with gatehouse access tokens.
//
// It only translates between Gin and core: every route, every check and every error
// answer is core's, the same for Gin, Fiber and net/http.
//
// # Integration
//
//	auth, err := core.New(store, core.WithIssuer("https://app.example"))
//	...
//	r := gin.New()
//	ginauth.Mount(r, auth)                       // /auth/login, /auth/refresh, ...
//	api := r.Group("/api", ginauth.Require(auth)) // 401/403/503 before the handler
//	api.GET("/me", func(c *gin.Context) {
//		claims, _ := ginauth.Claims(c)
//		c.JSON(200, gin.H{"email": claims.Email})
//	})
//	api.DELETE("/users/:id", ginauth.Require(auth, ginauth.Role("admin")), deleteUser)
//
// # Authorization and refusals
//
// Options of Require and Optional add rules, each of which must pass: Role (one of
// the roles), Scopes (all of the scopes) and Allow (the app's predicate on the claims).
// A valid token that fails one is answered 403 with
// WWW-Authenticate: Bearer error="insufficient_scope" (RFC 6750 §3.1). RedirectToLogin
// sends a page load without a valid token to {prefix}/login?redirect_to=<page>,
// OnRefused gives the refusals the app's own answer, and Skip lets chosen requests
// through without authentication. The options are read once, when the middleware is
// built.
//
// # Mounting
//
// Mount puts the routes at auth.Prefix(), where the sign-in's redirect URI says they
// are. On a group the prefix must lie under the group's base path
// (r.Group("/api") with core.WithRoutePrefix("/api/auth")), and Mount must come before
// Require or Optional is added to the router it mounts on; otherwise Mount panics with
// a message that says what to do.
//
// # Claims
//
// Require and Optional store the verified claims twice: in the Gin context, read with
// Claims, and in the request's context (c.Request.Context()), read with
// core.FromContext, for code below Gin that only sees a context.Context. Claims also
// finds claims the app's own middleware put in the request's context with
// core.NewContext. A gin.Context used as a context.Context does not reach the
// request's context unless the engine's ContextWithFallback is set: pass
// c.Request.Context() instead.
//
// # Proxies
//
// RemoteIP is c.ClientIP(), so Gin's trusted-proxy settings (SetTrustedProxies,
// TrustedPlatform, RemoteIPHeaders) decide which address a session records. A request
// counts as HTTPS when it came over TLS, or when Gin took the client address from a
// forwarding header (so it trusted the proxy) and that proxy sent
// "X-Forwarded-Proto: https". Gin trusts every proxy until SetTrustedProxies is called:
// call it in production.
//
// # What is not checked
//
// Roles and scopes are read from the access token, not looked up per request: a role
// the app takes away stays in the tokens already issued until they expire, and in
// refreshed ones unless a core.WithGrants hook drops it. Mount does not see Require or
// Optional wrapped in a handler of the app's own. Path values are Gin's, decoded from
// the URL path (UseRawPath off).
package ginauth
