package core_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// exampleSecret is an HMAC secret of 32 bytes. A real app reads its own from the
// environment, or gives none and lets gatehouse generate and persist one in the store.
var exampleSecret = []byte("example-secret-of-at-least-32-b!")

func newExampleAuth() *core.Auth {
	auth, err := core.New(memstore.New(),
		core.WithHMACSecret(exampleSecret),
		core.WithIssuer("https://app.example.com"),
		core.WithAudience("https://app.example.com/api"),
	)
	if err != nil {
		log.Fatal(err)
	}
	return auth
}

func ExampleNew() {
	auth, err := core.New(memstore.New(),
		core.WithHMACSecret(exampleSecret),
		core.WithIssuer("https://app.example.com"),
	)
	fmt.Println(auth != nil, err)

	// A short secret is refused: there is no weak or built-in default key.
	_, err = core.New(memstore.New(), core.WithHMACSecret([]byte("secret")))
	fmt.Println(errors.Is(err, core.ErrConfig))
	// Output:
	// true <nil>
	// true
}

func ExampleAuth_Issue() {
	auth := newExampleAuth()
	// After a successful sign-in: start a session and hand out its first tokens.
	tokens, err := auth.Issue(context.Background(), core.Identity{
		Subject: "https://accounts.google.com|1234567890",
		Email:   "ada@example.com",
		Name:    "Ada",
	}, core.Client{})

	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tokens.TokenType, tokens.AccessToken != "", tokens.RefreshToken != "")
	fmt.Println(tokens.Session.Email)
	// Output:
	// Bearer true true
	// ada@example.com
}

func ExampleAuth_Authenticate() {
	auth := newExampleAuth()
	ctx := context.Background()
	tokens, err := auth.Issue(ctx, core.Identity{Subject: "user-1", Email: "ada@example.com"}, core.Client{})
	if err != nil {
		log.Fatal(err)
	}

	// On every request: the bearer token from the Authorization header.
	claims, err := auth.Authenticate(ctx, tokens.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Subject, claims.Email)

	// A refresh token is not an access token.
	_, err = auth.Authenticate(ctx, tokens.RefreshToken)
	fmt.Println(errors.Is(err, core.ErrInvalidToken), core.ErrorResponse(err).Status)
	// Output:
	// user-1 ada@example.com
	// true 401
}

func ExampleAuth_Refresh() {
	auth := newExampleAuth()
	ctx := context.Background()
	first, err := auth.Issue(ctx, core.Identity{Subject: "user-1"}, core.Client{})
	if err != nil {
		log.Fatal(err)
	}

	// The client trades its refresh token for new tokens...
	second, err := auth.Refresh(ctx, first.RefreshToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(second.RefreshToken != first.RefreshToken)

	// ...and the old refresh token is spent: presenting it again is reuse, which ends
	// the whole session.
	_, err = auth.Refresh(ctx, first.RefreshToken)
	fmt.Println(errors.Is(err, core.ErrRefreshReused), core.ErrorResponse(err).Code)
	_, err = auth.Authenticate(ctx, second.AccessToken)
	fmt.Println(errors.Is(err, core.ErrTokenRevoked))
	// Output:
	// true
	// true invalid_grant
	// true
}

func ExampleAuth_Logout() {
	auth := newExampleAuth()
	ctx := context.Background()
	tokens, err := auth.Issue(ctx, core.Identity{Subject: "user-1"}, core.Client{})
	if err != nil {
		log.Fatal(err)
	}
	claims, err := auth.Authenticate(ctx, tokens.AccessToken)
	if err != nil {
		log.Fatal(err)
	}

	// Logout ends the session of the token: its access and refresh tokens stop working.
	if err := auth.Logout(ctx, claims.SessionID); err != nil {
		log.Fatal(err)
	}
	_, err = auth.Authenticate(ctx, tokens.AccessToken)
	fmt.Println(errors.Is(err, core.ErrTokenRevoked))
	_, err = auth.Refresh(ctx, tokens.RefreshToken)
	fmt.Println(errors.Is(err, core.ErrInvalidGrant))
	// Output:
	// true
	// true
}
