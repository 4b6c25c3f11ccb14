package memstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// Every Rotate leaves a stale heap entry behind; the heap must stay proportional to
// what is live, and Purge must still find everything after the rebuilds.
func TestExpiryHeapStaysBounded(t *testing.T) {
	ctx := context.Background()
	s := New()
	t0 := time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 3 {
		sid := fmt.Sprintf("sid-%d", i)
		err := s.CreateSession(ctx, &core.Session{
			ID: sid, Identity: core.Identity{Subject: "alice"}, Current: "0",
			CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), IdleExpiresAt: t0.Add(time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	const rounds = 10_000
	for i := range rounds {
		for j := range 3 {
			now := t0.Add(time.Duration(i+1) * time.Second)
			_, err := s.Rotate(ctx, core.Rotation{
				SessionID: fmt.Sprintf("sid-%d", j), Presented: fmt.Sprint(i), Next: fmt.Sprint(i + 1),
				Now: now, IdleTimeout: time.Hour, AccessExpiresAt: now.Add(15 * time.Minute),
			})
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
		if err := s.RevokeToken(ctx, fmt.Sprint(i), t0.Add(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatal(err)
		}
		live := len(s.tokens) + len(s.sids) + len(s.sessions)
		if len(s.expiries) > 2*live+64 {
			t.Fatalf("round %d: %d heap entries for %d live ones", i, len(s.expiries), live)
		}
	}
	// The last rotation was at rounds seconds: idle end an hour later.
	last := t0.Add(rounds*time.Second + time.Hour)
	if n, err := s.Purge(ctx, last.Add(-1)); err != nil || n != rounds {
		t.Fatalf("Purge before the idle end = %d, %v; want %d revocations", n, err, rounds)
	}
	if n, err := s.Purge(ctx, last); err != nil || n != 3 {
		t.Fatalf("Purge at the idle end = %d, %v; want 3 sessions", n, err)
	}
	if len(s.expiries) != 0 {
		t.Errorf("%d heap entries left in an empty store", len(s.expiries))
	}
}
