// Package demo is what the three example servers share, everything but their
// framework: the environment contract of examples/README.md ("Example servers") and its checks,
// the store it names, the gatehouse engine (in cookie mode, with the roles of
// GATEHOUSE_ADMINS and, with GATEHOUSE_USERS_FILE, the app's own users' passwords), the
// development identity provider when no real one is configured, the demo page and the
// account page, the connection limits every server sets (HTTPServer; the Fiber server
// sets the same from the constants), and the graceful shutdown.
//
// An example's main is only the framework-specific part:
//
//	app := demo.Start("Gin")        // exits with one line on stderr if misconfigured
//	r := gin.New()
//	ginauth.Mount(r, app.Auth)      // /auth/...
//	r.GET("/api/protected", ginauth.Require(app.Auth), ...)
//	r.GET("/api/admin", ginauth.Require(app.Auth, ginauth.Role(demo.AdminRole)), ...)
//	r.GET(demo.AccountPath, ginauth.Require(app.Auth, ginauth.RedirectToLogin()),
//		... app.Account(ctx, claims) ...)
//	...                             // GET /, GET /api, and app.DevIDP under DevIDPPath
//	srv := demo.HTTPServer(r)       // timeouts, 16 KiB of headers
//	app.Serve(srv.Serve, srv.Shutdown)
//
// # Exit codes
//
// A server that cannot start prints one line to stderr and exits with ExitConfig (2)
// for a misconfiguration (a variable it refuses) or ExitFailed (1) when the
// configuration is fine but something failed (the port is taken, the store cannot be
// opened, a bolt file open to group or others cannot be made 0600). After SIGINT or SIGTERM it stops accepting connections, lets requests in
// flight finish, closes the store and exits 0.
package demo
