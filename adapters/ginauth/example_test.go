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
