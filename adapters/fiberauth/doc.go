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
//	ln, err := net.Listen("tcp", ":8080")
//	...
//	log.Fatal(app.Listener(fiberauth.Listener(ln)))
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
// context.Context.
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
// fiberauth does no authorization of its own: a valid token says who the user is, not
// what they may do. A request body is read as sent: a Content-Encoding is not undone.
package fiberauth
