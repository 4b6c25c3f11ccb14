package storetest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// RefreshRace presents one refresh token to 50 concurrent Refresh calls spread over
// auths (Auths over one shared store, as the instances of an app are), in rounds of a
// fresh session each, and checks SECURITY 34 and 17 end to end: exactly one call gets
// tokens; every other one is invalid_grant, as reuse or, once a loser has ended the
// session, as a session not found, and never a store failure; and the reuse ends the
// session on every instance, the winner's new tokens included. Instances that learn of
// revocations asynchronously get a second to refuse the winner's access token.
//
// Run checks it with one Auth over each store; a store shared between processes calls
// it with several.
func RefreshRace(t *testing.T, rounds int, auths ...*core.Auth) {
	t.Helper()
	ctx := context.Background()
	const n = 50
	for round := range rounds {
		tok, err := auths[0].Issue(ctx, core.Identity{Subject: "alice"}, core.Client{})
		if err != nil {
			t.Fatal(err)
		}
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results = make([]*core.Tokens, n)
			errs    = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				results[i], errs[i] = auths[i%len(auths)].Refresh(ctx, tok.RefreshToken)
			})
		}
		close(start)
		wg.Wait()
		var winner *core.Tokens
		for i, err := range errs {
			switch {
			case err == nil && winner != nil:
				t.Fatalf("round %d: two refreshes of one token succeeded", round)
			case err == nil:
				winner = results[i]
			case errors.Is(err, core.ErrStoreUnavailable),
				!errors.Is(err, core.ErrRefreshReused) && !errors.Is(err, core.ErrSessionNotFound):
				t.Fatalf("round %d: refresh %d: %v, want reuse or session not found (invalid_grant)", round, i, err)
			}
		}
		if winner == nil {
			t.Fatalf("round %d: no refresh succeeded", round)
		}
		for i, auth := range auths {
			deadline := time.Now().Add(time.Second)
			for {
				_, err := auth.Authenticate(ctx, winner.AccessToken)
				if errors.Is(err, core.ErrTokenRevoked) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("round %d: the winner's access token on instance %d after the reuse: %v, want %v", round, i, err, core.ErrTokenRevoked)
				}
				time.Sleep(time.Millisecond)
			}
			if _, err := auth.Refresh(ctx, winner.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
				t.Errorf("round %d: the winner's refresh token on instance %d after the reuse: %v, want invalid_grant", round, i, err)
			}
		}
	}
}

// testRefreshRace runs RefreshRace with one Auth over the store.
func testRefreshRace(t *testing.T, h harness) {
	auth, err := core.New(h.open(t), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	RefreshRace(t, 3, auth)
}
