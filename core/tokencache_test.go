package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// TestTokenCacheNeverLetsThrough: a token Authenticate has verified, and so remembers,
// is still refused once revoked and once expired; a token that differs by one byte is
// verified in full; the claims a caller gets are its own. (An entry made under other
// keys is never used: TestTokenCacheBounded. A token's key outlives it, so no token
// that is not expired ever loses its key.)
func TestTokenCacheNeverLetsThrough(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"cache", "no cache"} {
		opts := []core.Option{}
		if name == "no cache" {
			opts = append(opts, core.WithoutTokenCache())
		}
		t.Run(name, func(t *testing.T) {
			t.Run("Revoked", func(t *testing.T) {
				e := newEnv(t, opts...)
				tok := e.issue(alice)
				e.mustAuth(tok.AccessToken)
				must0(t, e.auth.Revoke(ctx, tok.AccessToken))
				wantIs(t, "Authenticate after Revoke", e.authErr(tok.AccessToken), core.ErrTokenRevoked)

				tok = e.issue(alice)
				e.mustAuth(tok.AccessToken)
				must0(t, e.auth.Logout(ctx, tok.Session.ID))
				wantIs(t, "Authenticate after Logout", e.authErr(tok.AccessToken), core.ErrTokenRevoked)
			})
			t.Run("Expired", func(t *testing.T) {
				e := newEnv(t, append(opts, core.WithLeeway(10*time.Second))...)
				tok := e.issue(alice)
				e.mustAuth(tok.AccessToken)
				e.clock.Set(tok.AccessExpiresAt.Add(9 * time.Second))
				e.mustAuth(tok.AccessToken) // inside the leeway
				e.clock.Set(tok.AccessExpiresAt.Add(10 * time.Second))
				wantIs(t, "Authenticate at exp + leeway", e.authErr(tok.AccessToken), core.ErrTokenExpired)
			})
			t.Run("Tampered", func(t *testing.T) {
				e := newEnv(t, opts...)
				tok := e.issue(alice)
				e.mustAuth(tok.AccessToken)
				b := []byte(tok.AccessToken)
				b[len(b)-2] ^= 1
				wantIs(t, "Authenticate of a changed token", e.authErr(string(b)), core.ErrInvalidToken)
				wantIs(t, "Authenticate of a longer token", e.authErr(tok.AccessToken+"A"), core.ErrInvalidToken)
			})
			t.Run("OwnCopy", func(t *testing.T) {
				e := newEnv(t, opts...)
				tok := e.issue(alice)
				c := e.mustAuth(tok.AccessToken)
				c.Email, c.Subject = "mallory@example.com", "mallory"
				if c := e.mustAuth(tok.AccessToken); c.Email != alice.Email || c.Subject != alice.Subject {
					t.Errorf("a caller's change reached the next caller: %+v", c)
				}
			})
		})
	}
	t.Run("Options", func(t *testing.T) {
		for _, n := range []int{0, -1} {
			_, err := core.New(memstore.New(), core.WithTokenCache(n))
			wantIs(t, "WithTokenCache", err, core.ErrConfig)
		}
		if _, err := core.New(memstore.New(), core.WithTokenCache(1)); err != nil {
			t.Error(err)
		}
	})
}

func must0(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
