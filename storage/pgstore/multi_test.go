package pgstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
)

// future is a time far enough ahead that nothing expires during a test, with
// nanoseconds.
var future = time.Date(2100, time.March, 4, 5, 6, 7, 123456789, time.UTC)

func session(id, subject string) *core.Session {
	return &core.Session{
		ID:              id,
		Identity:        core.Identity{Subject: subject},
		CreatedAt:       future,
		LastUsedAt:      future,
		ExpiresAt:       future.Add(30 * 24 * time.Hour),
		IdleExpiresAt:   future.Add(7 * 24 * time.Hour),
		AccessExpiresAt: future.Add(16 * time.Minute),
		Current:         id + ".rt1",
	}
}

var quiet = core.WithLogger(slog.New(slog.DiscardHandler))

// TestShared runs the two-instance suite on two stores of one schema, each with its
// own pool, and checks that they answered from their filters throughout: a store that
// stops trusting them passes the suite by asking the database every time.
func TestShared(t *testing.T) {
	shared(t) // one SKIP for the suite, not one per case
	storetest.RunShared(t, func(t *testing.T) (core.Store, core.Store) {
		a, b := pair(t, shared(t))
		// Registered after the stores' Close, so run before it.
		t.Cleanup(func() {
			if !pgstore.FilterTrusted(a) || !pgstore.FilterTrusted(b) {
				t.Errorf("an instance stopped trusting its filters during the test: A %v, B %v",
					pgstore.FilterTrusted(a), pgstore.FilterTrusted(b))
			}
		})
		return a, b
	})
}

// A revocation committed while an instance is not listening reaches it through the
// reload that follows its new LISTEN.
func TestReloadAfterLostListener(t *testing.T) {
	ctx := context.Background()
	admin := newPool(t, shared(t))
	a, b := pair(t, shared(t))
	for round := range 5 {
		genA, genB := pgstore.Generation(a), pgstore.Generation(b)
		// Both instances lose their listener; the revocation is announced to no one.
		for _, s := range []*pgstore.Store{a, b} {
			var ok bool
			must(t, admin.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int64(pgstore.ListenerPID(s))).Scan(&ok))
			if !ok {
				t.Fatalf("round %d: no listener backend to terminate", round)
			}
		}
		jti := fmt.Sprintf("jti-%d", round)
		must(t, a.RevokeToken(ctx, jti, future))
		storetest.WaitFor(t, 5*time.Second, "A and B listening and loaded again", func() bool {
			return pgstore.Generation(a) >= genA+2 && pgstore.FilterTrusted(a) &&
				pgstore.Generation(b) >= genB+2 && pgstore.FilterTrusted(b)
		})
		if ok, err := b.IsRevoked(ctx, jti, ""); err != nil || !ok {
			t.Fatalf("round %d: IsRevoked on B after its reload = %v, %v; want true", round, ok, err)
		}
	}
}

// A quiet listener is kept by its pings, not mistaken for a lost one.
func TestQuietListenerStaysTrusted(t *testing.T) {
	s := newStore(t, newPool(t, shared(t)), pgstore.WithSchema(uniqueSchema(t, shared(t))),
		pgstore.WithHealthCheck(100*time.Millisecond))
	gen := pgstore.Generation(s)
	time.Sleep(time.Second) // 10 health checks without a notification
	if g := pgstore.Generation(s); g != gen || !pgstore.FilterTrusted(s) {
		t.Errorf("after a quiet second: generation %d → %d, trusted %v; want unchanged and trusted",
			gen, g, pgstore.FilterTrusted(s))
	}
}
