// Command fiber is the gatehouse example server on Fiber v2: the demo page at /, a
// public API at /api, a protected one at /api/protected, and the auth routes under
// /auth. The environment configures it; see ../README.md.
package main

import (
	"net"

	"github.com/gatehouse-auth/gatehouse/adapters/fiberauth"
	"github.com/gatehouse-auth/gatehouse/examples/internal/demo"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
)

func main() {
	app := demo.Start("Fiber")

	f := fiber.New(fiber.Config{
		ReadBufferSize:          fiberauth.ReadBufferSize, // room for gatehouse's largest tokens
		EnableTrustedProxyCheck: true,                     // trust no proxy; list yours in TrustedProxies
		DisableStartupMessage:   true,
	})

	fiberauth.Mount(f, app.Auth) // GET /auth/login, /auth/callback, POST /auth/refresh, ...
	f.Get("/api/protected", fiberauth.Require(app.Auth), func(c *fiber.Ctx) error {
		claims, _ := fiberauth.Claims(c)
		return c.JSON(fiber.Map{"email": claims.Email})
	})
	f.Get("/api", func(c *fiber.Ctx) error { return c.JSON(app.Public()) })
	f.Get("/", func(c *fiber.Ctx) error {
		for k, v := range app.Page.Header {
			c.Set(k, v)
		}
		c.Set(fiber.HeaderContentType, app.Page.ContentType)
		return c.Send(app.Page.Body)
	})
	if app.DevIDP != nil {
		// The development identity provider is a net/http handler; gatehouse itself
		// runs natively on fasthttp.
		f.All(demo.DevIDPPath+"/*", adaptor.HTTPHandler(app.DevIDP))
	}

	app.Serve(func(ln net.Listener) error { return f.Listener(fiberauth.Listener(ln)) }, f.ShutdownWithContext)
}
