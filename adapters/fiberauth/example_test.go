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
