// Command fiber is the gatehouse example server on Fiber v2: the demo page at /, a
// public API at /api, a protected one at /api/protected, one for the role admin at
// /api/admin, a server-rendered page at /account, and the auth routes under /auth.
// The environment configures it; see ../README.md.
package main

import (
	"net"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/fiberauth"
	"github.com/gatehouse-auth/gatehouse/examples/internal/demo"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/requestid"
)

func main() {
	app := demo.Start("Fiber")

	f := fiber.New(fiber.Config{
		// Room for gatehouse's largest tokens; a longer request line and headers: 431.
		ReadBufferSize: fiberauth.ReadBufferSize, // = demo.MaxHeaderBytes
		// fasthttp has one read deadline per request, headers and body together,
		// counted as demo.HeaderTimeout is: a request unfinished by then (an
		// unfinished header, say) is answered 408 and its connection closed.
		ReadTimeout:  demo.HeaderTimeout,
		WriteTimeout: demo.WriteTimeout,
		IdleTimeout:  demo.IdleTimeout,
		// Trust no proxy, and no ProxyHeader: the client IP (the rate limit's key) is
		// the connection's. Behind a proxy, list it in TrustedProxies.
		EnableTrustedProxyCheck: true,
		DisableStartupMessage:   true,
	})

	// Fiber's request id (the client's X-Request-ID, or a new one), in every log line
	// of the request and in its access log line.
	f.Use(requestid.New(), func(c *fiber.Ctx) error {
		start := time.Now()
		ctx, id := demo.BeginRequest(c.UserContext(), c.GetRespHeader(fiber.HeaderXRequestID))
		c.Set(fiber.HeaderXRequestID, id) // unchanged unless the client's was not a plain one
		c.SetUserContext(ctx)
		err := c.Next()
		status := c.Response().StatusCode()
		if fe, ok := err.(*fiber.Error); ok {
			status = fe.Code
		} else if err != nil {
			status = fiber.StatusInternalServerError
		}
		app.LogRequest(ctx, c.Method(), c.Path(), status, time.Since(start))
		return err
	})
	f.Get("/healthz", func(c *fiber.Ctx) error { return statusJSON(c)(app.Healthy()) })
	f.Get("/readyz", func(c *fiber.Ctx) error { return statusJSON(c)(app.Ready(c.UserContext())) })

	fiberauth.Mount(f, app.Auth) // GET /auth/login, /auth/callback, POST /auth/refresh, ...
	f.Get("/api/protected", fiberauth.Require(app.Auth), func(c *fiber.Ctx) error {
		claims, _ := fiberauth.Claims(c)
		return c.JSON(fiber.Map{"email": claims.Email})
	})
	f.Get("/api/admin", fiberauth.Require(app.Auth, fiberauth.Role(demo.AdminRole)), func(c *fiber.Ctx) error {
		claims, _ := fiberauth.Claims(c)
		return c.JSON(fiber.Map{"email": claims.Email, "roles": claims.Roles})
	})
	f.Get("/api", func(c *fiber.Ctx) error { return c.JSON(app.Public()) })
	// A page for browsers: the access token comes in its cookie, and a browser without
	// one is sent to sign in.
	f.Get(demo.AccountPath, fiberauth.Require(app.Auth, fiberauth.RedirectToLogin()), func(c *fiber.Ctx) error {
		claims, _ := fiberauth.Claims(c)
		return page(c, app.Account(c.UserContext(), claims))
	})
	f.Get("/", func(c *fiber.Ctx) error { return page(c, app.Page) })
	if app.DevIDP != nil {
		// The development identity provider is a net/http handler; gatehouse itself
		// runs natively on fasthttp.
		f.All(demo.DevIDPPath+"/*", adaptor.HTTPHandler(app.DevIDP))
	}

	app.Serve(func(ln net.Listener) error { return f.Listener(fiberauth.Listener(ln)) }, f.ShutdownWithContext)
}

func page(c *fiber.Ctx, p demo.Page) error {
	for k, v := range p.Header {
		c.Set(k, v)
	}
	c.Set(fiber.HeaderContentType, p.ContentType)
	return c.Status(p.Status).Send(p.Body)
}

func statusJSON(c *fiber.Ctx) func(int, map[string]any) error {
	return func(status int, v map[string]any) error { return c.Status(status).JSON(v) }
}
