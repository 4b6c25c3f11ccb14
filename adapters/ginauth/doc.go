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
//
// # Claims
//
// Require and Optional store the verified claims twice: in the Gin context, read with
// Claims, and in the request's context (c.Request.Context()), read with
// core.FromContext, for code below Gin that only sees a context.Context. A gin.Context
// used as a context.Context does not reach the request's context unless the engine's
// ContextWithFallback is set: pass c.Request.Context() instead.
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
// ginauth does no authorization of its own: a valid token says who the user is, not
// what they may do. Path values are Gin's, decoded from the URL path (UseRawPath off).
package ginauth
