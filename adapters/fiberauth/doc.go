// Package fiberauth mounts gatehouse's auth routes on a Fiber v2 app and guards Fiber
// handlers with gatehouse access tokens, natively on fasthttp, without a net/http bridge.
//
// It only translates between Fiber and core: every route, every check and every error
// answer is core's, the same for Gin, Fiber and net/http.
//
// # Integration
//
//	auth, err := core.New(store, core.WithIssuer("https://app.example"))
//	...
//	app := fiber.New(fiber.Config{ReadBufferSize: fiberauth.ReadBufferSize})
//	fiberauth.Mount(app, auth)                        // /auth/login, /auth/refresh, ...
//	api := app.Group("/api", fiberauth.Require(auth)) // 401/403/503 before the handler
//	api.Get("/me", func(c *fiber.Ctx) error {
//		claims, _ := fiberauth.Claims(c)
//		return c.JSON(fiber.Map{"email": claims.Email})
//	})
//	api.Delete("/users/:id", fiberauth.Require(auth, fiberauth.Role("admin")), deleteUser)
//	ln, err := net.Listen("tcp", ":8080")
//	...
//	log.Fatal(app.Listener(fiberauth.Listener(ln)))
//
// # Authorization and refusals
//
// Options of Require and Optional add rules, each of which must pass: Role (one of
// the roles), Scopes (all of the scopes) and Allow (the app's predicate on the claims).
// A valid token that fails one is answered 403 with
// WWW-Authenticate: Bearer error="insufficient_scope" (RFC 6750 §3.1). RedirectToLogin
// sends a page load without a valid token to {prefix}/login?redirect_to=<page>,
// OnRefused gives the refusals the app's own answer (a fiber.ErrorHandler: its error
// goes to the app's ErrorHandler), and Skip lets chosen requests through without
// authentication (contrib/jwt's Filter). The options are read once, when the
// middleware is built.
//
// # Mounting
//
// Mount puts the routes at auth.Prefix(), where the sign-in's redirect URI says they
// are. On a group the prefix must lie under the group's prefix (app.Group("/api") with
// core.WithRoutePrefix("/api/auth")), and the app must not be mounted in another at a
// path. Fiber runs matching routes in the order they were registered, so Mount must
// come before Require or Optional middleware (Use, or Group with handlers) that covers
// the auth routes; registered after Mount, it leaves them alone. Mount panics
// otherwise, with a message that says what to do.
//
// # Header size
//
// fasthttp reads a request's headers into one buffer per connection, Fiber's
// ReadBufferSize, 4096 bytes by default. A gatehouse access token may be up to
// core.MaxTokenSize (8 KiB) and travels with the refresh and sign-in cookies and the
// browser's own headers, which 4096 bytes cannot hold. Set ReadBufferSize to at least
// fiberauth.ReadBufferSize (16 KiB). A request whose headers do not fit is answered by
// Fiber, before any handler runs, with 431 Request Header Fields Too Large: fasthttp
// reports it as ErrSmallBuffer, and Fiber turns that into fiber.ErrRequestHeaderFieldsTooLarge
// for the app's ErrorHandler. An app with its own ErrorHandler keeps the 431 by
// answering a *fiber.Error with its Code. fasthttp then closes the connection with the
// rest of the request unread, which resets it under a client still sending; serve the
// app through Listener so that such a client reads the 431.
//
// # Buffers
//
// fasthttp reuses its request buffers once a handler returns, so the strings Fiber hands
// out (headers, cookies, query and path values) are only valid inside the handler. Every
// value this package passes to core is copied first, and the claims it stores belong to
// the request alone: they stay valid after the handler returns.
//
// # Claims
//
// Require and Optional store the verified claims twice: in c.Locals, read with Claims,
// and in c.UserContext(), read with core.FromContext, for code that only sees a
// context.Context. Claims also finds claims the app's own middleware put in
// c.UserContext() with core.NewContext.
//
// # Proxies
//
// RemoteIP is c.IP() and TLS is c.Secure(), so Fiber's ProxyHeader and
// EnableTrustedProxyCheck/TrustedProxies decide which address a session records and
// whether a request counts as HTTPS. Fiber trusts every proxy's X-Forwarded-Proto
// unless EnableTrustedProxyCheck is set: set it in production.
//
// # What is not checked
//
// Roles and scopes are read from the access token, not looked up per request: a role
// the app takes away stays in the tokens already issued until they expire, and in
// refreshed ones unless a core.WithGrants hook drops it. Mount does not see Require or
// Optional wrapped in a handler of the app's own, nor middleware inside a sub-app
// mounted with app.Mount (Fiber merges its routes only when the app starts). A request
// body is read as sent: a Content-Encoding is not undone.
package fiberauth
