package fiberauth_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"

	"github.com/gatehouse-auth/gatehouse/adapters/fiberauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gofiber/fiber/v2"
)

// The whole integration: build an Auth, mount its routes, guard the API.
func Example() {
	auth, err := core.New(memstore.New(), core.WithIssuer("https://app.example"))
	if err != nil {
		log.Fatal(err)
	}
	app := fiber.New(fiber.Config{ReadBufferSize: fiberauth.ReadBufferSize})
	fiberauth.Mount(app, auth) // /auth/login, /auth/callback, /auth/refresh, /auth/logout, ...
	app.Get("/api/protected", fiberauth.Require(auth), func(c *fiber.Ctx) error {
		claims, _ := fiberauth.Claims(c)
		return c.JSON(fiber.Map{"email": claims.Email})
	})

	// app.Listen serves it; here a signed-in client's request goes straight to the app.
	tok, _ := auth.Issue(context.Background(), core.Identity{Subject: "u1", Email: "ada@example.com"}, core.Client{})
	req := httptest.NewRequest("GET", "/api/protected", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, _ := app.Test(req)
	body, _ := io.ReadAll(res.Body)
	fmt.Println(res.StatusCode, string(body))
	// Output: 200 {"email":"ada@example.com"}
}

// Require with Role lets only an admin's token through; any other valid token gets 403
// insufficient_scope, with the challenge of RFC 6750 §3.1.
func ExampleRequire() {
	auth, err := core.New(memstore.New(), core.WithIssuer("https://app.example"))
	if err != nil {
		log.Fatal(err)
	}
	app := fiber.New(fiber.Config{ReadBufferSize: fiberauth.ReadBufferSize})
	app.Get("/admin", fiberauth.Require(auth, fiberauth.Role("admin")), func(c *fiber.Ctx) error {
		claims, _ := fiberauth.Claims(c)
		return c.JSON(fiber.Map{"admin": claims.Email})
	})

	// Roles come from the sign-in (core.Identity.Roles, or a core.WithGrants hook).
	ctx := context.Background()
	for _, id := range []core.Identity{
		{Subject: "u1", Email: "ada@example.com", Roles: []string{"admin"}},
		{Subject: "u2", Email: "bob@example.com"},
	} {
		tok, _ := auth.Issue(ctx, id, core.Client{})
		req := httptest.NewRequest("GET", "/admin", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		res, _ := app.Test(req)
		body, _ := io.ReadAll(res.Body)
		fmt.Println(res.StatusCode, res.Header.Get("WWW-Authenticate"), string(body))
	}
	// Output:
	// 200  {"admin":"ada@example.com"}
	// 403 Bearer realm="https://app.example", error="insufficient_scope", error_description="insufficient scope: requires the role admin" {"error":"insufficient_scope","error_description":"insufficient scope: requires the role admin"}
}
