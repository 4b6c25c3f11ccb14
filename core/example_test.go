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

// usersDB stands for the app's own table of users and of the provider identities
// linked to them.
type usersDB struct{ byProvider map[string]string }

// userForProvider returns the app's user id for an identity at a provider, creating
// the user at their first sign-in.
func (db *usersDB) userForProvider(_ context.Context, issuer, subject, email string) (string, error) {
	key := issuer + "#" + subject
	if id, ok := db.byProvider[key]; ok {
		return id, nil
	}
	id := fmt.Sprintf("user-%d", len(db.byProvider)+1)
	db.byProvider[key] = id
	return id, nil
}

// An app with users of its own maps the provider's identity to its user id at sign-in:
// tokens then carry that id as sub (the default is "<issuer>#<subject>", which names
// the provider, not the app's user). Key the link on the issuer and the provider's
// subject, never on the email alone: an email can change hands. A password sign-in
// sets the id directly: WithPasswords' lookup returns it in PasswordUser.Identity.
// core/authtest's SignIn/AppUserID runs this through every adapter.
func ExampleWithAuthorize() {
	db := &usersDB{byProvider: map[string]string{}}
	auth, err := core.New(memstore.New(),
		core.WithHMACSecret(exampleSecret),
		core.WithProviders(core.Google("client-id", "client-secret")),
		core.WithAuthorize(func(ctx context.Context, s *core.SignIn) error {
			id, err := db.userForProvider(ctx, s.Issuer, s.ProviderSubject, s.Identity.Email)
			if err != nil {
				return err // a store failure of the app's: the sign-in answers 500
			}
			s.Identity.Subject = id
			return nil
		}),
		core.WithPasswords(func(ctx context.Context, username string) (*core.PasswordUser, error) {
			// The app's lookup by username: its user id, email and argon2id hash.
			return nil, nil // (nil, nil): no such user
		}),
	)
	fmt.Println(auth != nil, err)
	// Output: true <nil>
}
