package httpauth_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gatehouse-auth/gatehouse/adapters/httpauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// Example shows the whole integration: Google sign-in and the auth routes on a
// ServeMux, and an API handler that needs a valid access token.
func Example() {
	auth, err := core.New(memstore.New(), core.WithProviders(core.Google("client-id", "client-secret")))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	httpauth.Mount(mux, auth) // /auth/login, /auth/callback, /auth/refresh, /auth/logout, ...
	mux.Handle("GET /api/protected", httpauth.Require(auth)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := httpauth.Claims(r)
		fmt.Fprintf(w, "hello %s\n", claims.Email)
	})))
	// http.ListenAndServe(":8080", mux)

	// Try it without a browser: start a session as a sign-in would, then call the API.
	tok, _ := auth.Issue(context.Background(), core.Identity{Subject: "https://accounts.google.com#42", Email: "ada@example.com"}, core.Client{})
	for _, header := range []string{"", "Bearer garbage", "Bearer " + tok.AccessToken} {
		req := httptest.NewRequest("GET", "/api/protected", nil)
		req.Header.Set("Authorization", header)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 401 Bearer realm="gatehouse" {"error_description":"no token"}
	// 401 Bearer realm="gatehouse", error="invalid_token", error_description="malformed token: not a compact JWS" {"error":"invalid_token","error_description":"malformed token: not a compact JWS"}
	// 200  hello ada@example.com
}

// Require with Role lets only an admin's token through; any other valid token gets 403
// insufficient_scope, with the challenge of RFC 6750 §3.1.
func ExampleRequire() {
	auth, err := core.New(memstore.New())
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /admin", httpauth.Require(auth, httpauth.Role("admin"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := httpauth.Claims(r)
		fmt.Fprintf(w, "hello admin %s\n", claims.Email)
	})))

	// Roles come from the sign-in (core.Identity.Roles, or a core.WithGrants hook).
	ctx := context.Background()
	for _, id := range []core.Identity{
		{Subject: "u1", Email: "ada@example.com", Roles: []string{"admin"}},
		{Subject: "u2", Email: "bob@example.com"},
	} {
		tok, _ := auth.Issue(ctx, id, core.Client{})
		req := httptest.NewRequest("GET", "/admin", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"), strings.TrimSpace(rec.Body.String()))
	}
	// Output:
	// 200  hello admin ada@example.com
	// 403 Bearer realm="gatehouse", error="insufficient_scope", error_description="insufficient scope: requires the role admin" {"error":"insufficient_scope","error_description":"insufficient scope: requires the role admin"}
}
