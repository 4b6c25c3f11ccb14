package test

import (
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/fiberauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gofiber/fiber/v2"
)

// newApp is the app every test of this package serves: the auth routes, a protected
// and an optional API route.
func newApp(auth *core.Auth, cfg fiber.Config) *fiber.App {
	cfg.DisableStartupMessage = true
	app := fiber.New(cfg)
	fiberauth.Mount(app, auth)
	app.Get("/api/protected", fiberauth.Require(auth), func(c *fiber.Ctx) error {
		claims, _ := fiberauth.Claims(c)
		return c.JSON(fiber.Map{"email": claims.Email, "sub": claims.Subject})
	})
	app.Get("/api/optional", fiberauth.Optional(auth), func(c *fiber.Ctx) error {
		claims, ok := fiberauth.Claims(c)
		if !ok {
			return c.JSON(fiber.Map{"anonymous": true})
		}
		return c.JSON(fiber.Map{"email": claims.Email, "sub": claims.Subject})
	})
	return app
}

// listen serves app on a real listener on 127.0.0.1:0 until the test ends and returns
// its base URL.
func listen(t testing.TB, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(fiberauth.Listener(ln)) }()
	t.Cleanup(func() {
		if err := app.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// serve starts the test app for auth, with the header buffer fiberauth asks for.
func serve(t *testing.T, auth *core.Auth) string {
	t.Helper()
	return listen(t, newApp(auth, fiber.Config{ReadBufferSize: fiberauth.ReadBufferSize}))
}

// client is one keep-alive connection, so consecutive requests reuse the server's
// buffers for that connection.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
}
