package test

import (
	"errors"
	"html"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/fiberauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gofiber/fiber/v2"
)

// newApp is the app every test of this package serves: the auth routes and the routes
// core/authtest's contract lists.
func newApp(auth *core.Auth, cfg fiber.Config) *fiber.App {
	cfg.DisableStartupMessage = true
	app := fiber.New(cfg)
	fiberauth.Mount(app, auth)
	app.Get("/api/protected", fiberauth.Require(auth), email)
	app.Post("/api/protected", fiberauth.Require(auth), email)
	app.Get("/api/optional", fiberauth.Optional(auth), optional)
	app.Get("/api/optional/admin", fiberauth.Optional(auth, fiberauth.Role("admin")), optional)
	app.Get("/api/admin", fiberauth.Require(auth, fiberauth.Role("admin")), func(c *fiber.Ctx) error {
		claims, _ := fiberauth.Claims(c)
		return c.JSON(fiber.Map{"email": claims.Email, "roles": claims.Roles})
	})
	app.Get("/api/scoped", fiberauth.Require(auth, fiberauth.Scopes("reports:read", "reports:write")), email)
	app.Get("/api/reports", fiberauth.Require(auth, fiberauth.Role("admin", "editor"), fiberauth.Scopes("reports:read")), email)
	app.Get("/api/allowed", fiberauth.Require(auth, fiberauth.Allow(func(c *core.Claims) bool {
		return strings.HasSuffix(c.Email, "@example.com")
	})), email)
	page := fiberauth.Require(auth, fiberauth.RedirectToLogin())
	app.Get("/page", page, showPage) // Get routes HEAD too
	app.Post("/page", page, showPage)
	app.Get("/custom", fiberauth.Require(auth, fiberauth.OnRefused(refused)), email)
	app.Get("/custom/admin", fiberauth.Require(auth, fiberauth.Role("admin"), fiberauth.OnRefused(refused)), email)
	skip := fiberauth.Require(auth, fiberauth.Skip(func(c *fiber.Ctx) bool { return c.Path() == "/skip/public" }))
	app.Get("/skip/public", skip, email)
	app.Get("/skip/private", skip, email)
	app.Get("/api/appclaims", appMiddleware(auth), appClaims)
	return app
}

// email answers the claims' email, "" when there are none.
func email(c *fiber.Ctx) error {
	out := fiber.Map{"email": ""}
	if claims, ok := fiberauth.Claims(c); ok {
		out["email"], out["sub"] = claims.Email, claims.Subject
	}
	return c.JSON(out)
}

// optional answers the claims' email and subject, or that there are none.
func optional(c *fiber.Ctx) error {
	claims, ok := fiberauth.Claims(c)
	if !ok {
		return c.JSON(fiber.Map{"anonymous": true})
	}
	return c.JSON(fiber.Map{"email": claims.Email, "sub": claims.Subject})
}

// refused is the app's answer to every refusal of /custom and /custom/admin.
func refused(c *fiber.Ctx, err error) error {
	return c.Status(http.StatusTeapot).SendString("refused: " + core.ErrorResponse(err).Code)
}

// showPage is a server-rendered page showing the user's email.
func showPage(c *fiber.Ctx) error {
	claims, _ := fiberauth.Claims(c)
	c.Type("html", "utf-8")
	return c.SendString("<!doctype html><p>Signed in as " + html.EscapeString(claims.Email) + "</p>")
}

// appMiddleware is the app's own authentication, without fiberauth's middleware: it
// puts the claims into the user context, where fiberauth.Claims finds them.
func appMiddleware(auth *core.Auth) fiber.Handler {
	return func(c *fiber.Ctx) error {
		tok, ok := strings.CutPrefix(c.Get("Authorization"), "Bearer ")
		claims, err := auth.Authenticate(c.UserContext(), tok)
		if !ok || err != nil {
			return c.Status(http.StatusUnauthorized).JSON(fiber.Map{"error": "unauthorized"})
		}
		c.SetUserContext(core.NewContext(c.UserContext(), claims))
		return c.Next()
	}
}

// appClaims answers the email of the claims appMiddleware put in the context, and 500
// when fiberauth.Claims does not find them.
func appClaims(c *fiber.Ctx) error {
	claims, ok := fiberauth.Claims(c)
	if !ok {
		return c.Status(http.StatusInternalServerError).JSON(fiber.Map{"error": "fiberauth.Claims found no claims"})
	}
	return c.JSON(fiber.Map{"email": claims.Email})
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
