package ginauth_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gatehouse-auth/gatehouse/adapters/ginauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gin-gonic/gin"
)

// The whole integration: build an Auth, mount its routes, guard the API.
func Example() {
	auth, err := core.New(memstore.New(), core.WithIssuer("https://app.example"))
	if err != nil {
		log.Fatal(err)
	}
	r := gin.New()
	ginauth.Mount(r, auth) // /auth/login, /auth/callback, /auth/refresh, /auth/logout, ...
	r.GET("/api/protected", ginauth.Require(auth), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		c.JSON(http.StatusOK, gin.H{"email": claims.Email})
	})

	// r.Run serves it; here a signed-in client's request goes straight to the router.
	tok, _ := auth.Issue(context.Background(), core.Identity{Subject: "u1", Email: "ada@example.com"}, core.Client{})
	req := httptest.NewRequest(http.MethodGet, "/api/protected", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	fmt.Println(w.Code, w.Body.String())
	// Output: 200 {"email":"ada@example.com"}
}

// Require with Role lets only an admin's token through; any other valid token gets 403
// insufficient_scope, with the challenge of RFC 6750 §3.1.
func ExampleRequire() {
	auth, err := core.New(memstore.New(), core.WithIssuer("https://app.example"))
	if err != nil {
		log.Fatal(err)
	}
	r := gin.New()
	r.GET("/admin", ginauth.Require(auth, ginauth.Role("admin")), func(c *gin.Context) {
		claims, _ := ginauth.Claims(c)
		c.JSON(http.StatusOK, gin.H{"admin": claims.Email})
	})

	// Roles come from the sign-in (core.Identity.Roles, or a core.WithGrants hook).
	ctx := context.Background()
	for _, id := range []core.Identity{
		{Subject: "u1", Email: "ada@example.com", Roles: []string{"admin"}},
		{Subject: "u2", Email: "bob@example.com"},
	} {
		tok, _ := auth.Issue(ctx, id, core.Client{})
		req := httptest.NewRequest(http.MethodGet, "/admin", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
	}
	// Output:
	// 200  {"admin":"ada@example.com"}
	// 403 Bearer realm="https://app.example", error="insufficient_scope", error_description="insufficient scope: requires the role admin" {"error":"insufficient_scope","error_description":"insufficient scope: requires the role admin"}
}
