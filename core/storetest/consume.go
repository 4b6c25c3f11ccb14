package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

func testConsume(t *testing.T, h harness) {
	t.Run("First call only", func(t *testing.T) {
		s := h.open(t)
		wantConsume(t, s, "state-1", at(10*minute), true)
		wantConsume(t, s, "state-1", at(10*minute), false)
		wantConsume(t, s, "state-1", at(hour), false) // a later expiry changes nothing
		wantConsume(t, s, "state-1", at(minute), false)
		wantConsume(t, s, "state-2", at(10*minute), true)
		for _, id := range []string{"state-", "state-10", "STATE-1", "state-1 ", " state-1", "state-1\x00"} {
			wantConsume(t, s, id, at(10*minute), true)
		}
		wantConsume(t, s, "state-2", at(10*minute), false)
	})

	t.Run("Apart from revocations", func(t *testing.T) {
		s := h.open(t)
		// A consumed id is neither a revoked jti nor a revoked sid...
		wantConsume(t, s, "same-id", at(hour), true)
		wantRevoked(t, s, "same-id", "", false)
		wantRevoked(t, s, "", "same-id", false)
		wantRevoked(t, s, "same-id", "same-id", false)
		// ...and a revoked jti or sid is not consumed.
		revoke(t, s, "jti-1", at(hour))
		wantConsume(t, s, "jti-1", at(hour), true)
		create(t, s, newSession("sid-1", "alice"))
		endSession(t, s, "sid-1")
		wantConsume(t, s, "sid-1", at(hour), true)
		wantRevoked(t, s, "jti-1", "sid-1", true)
		wantRevoked(t, s, "same-id", "", false)
	})

	t.Run("Concurrent calls", func(t *testing.T) {
		// Of 50 concurrent calls with one id exactly one gets true, for each of a few
		// ids consumed at the same time.
		s := h.open(t)
		const ids, callers = 4, 50
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			wins  [ids]atomic.Int32
			errs  = make(chan error, ids*callers)
		)
		for i := range ids {
			for range callers {
				wg.Go(func() {
					<-start
					ok, err := s.Consume(context.Background(), fmt.Sprintf("state-%d", i), at(10*minute))
					switch {
					case err != nil:
						errs <- fmt.Errorf("Consume(state-%d): %w", i, err)
					case ok:
						wins[i].Add(1)
					}
				})
			}
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for i := range ids {
			if n := wins[i].Load(); n != 1 {
				t.Errorf("%d of %d concurrent Consume(state-%d) got true, want exactly 1", n, callers, i)
			}
			wantConsume(t, s, fmt.Sprintf("state-%d", i), at(10*minute), false)
		}
	})

	t.Run("Purge at expiry", func(t *testing.T) {
		s := h.open(t)
		wantConsume(t, s, "state-1", at(10*minute), true)
		wantConsume(t, s, "state-2", at(20*minute), true)
		purge(t, s, at(10*minute-1), 0)
		wantConsume(t, s, "state-1", at(10*minute), false)
		purge(t, s, at(10*minute), 1) // at the expiry, not after it
		purge(t, s, at(10*minute), 0)
		// Purged, the id can be consumed again, once.
		wantConsume(t, s, "state-1", at(30*minute), true)
		wantConsume(t, s, "state-1", at(30*minute), false)
		wantConsume(t, s, "state-2", at(20*minute), false)
		purge(t, s, at(20*minute), 1)
		wantConsume(t, s, "state-1", at(30*minute), false)
		purge(t, s, at(30*minute), 1)
	})

	t.Run("Purge counts them with the rest", func(t *testing.T) {
		s := h.open(t)
		revoke(t, s, "jti-1", at(hour))
		wantConsume(t, s, "jti-1", at(hour), true)
		create(t, s, withLifetimes(newSession("sid-1", "alice"), at(hour), at(2*hour), at(16*minute)))
		wantConsume(t, s, "state-late", at(2*hour), true)
		purge(t, s, at(hour), 3) // the revocation, the consumed jti-1, the session
		wantRevoked(t, s, "jti-1", "", false)
		wantConsume(t, s, "jti-1", at(2*hour), true)
		wantConsume(t, s, "state-late", at(2*hour), false)
		purge(t, s, at(2*hour), 2)
	})

	t.Run("Many ids", func(t *testing.T) {
		s := h.open(t)
		const n = 100
		for i := range n {
			wantConsume(t, s, fmt.Sprintf("state-%03d", i), at(time.Duration(i+1)*minute), true)
		}
		purge(t, s, at(n/2*minute), n/2)
		for i := range n {
			// The purged half can be consumed again; the other half is still used.
			wantConsume(t, s, fmt.Sprintf("state-%03d", i), at(day), i < n/2)
		}
		purge(t, s, at(day), n)
	})

	t.Run("Empty id is refused", func(t *testing.T) {
		s := h.open(t)
		for range 2 {
			if ok, err := s.Consume(context.Background(), "", at(hour)); err == nil {
				t.Errorf("Consume(\"\") = %v, nil; want an error", ok)
			}
		}
		wantRevoked(t, s, "", "", false)
		purge(t, s, at(day), 0)
	})

	t.Run("Cancelled context", func(t *testing.T) {
		// It may fail; if it answers, the answer is right.
		s := h.open(t)
		wantConsume(t, s, "state-used", at(hour), true)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if ok, err := s.Consume(ctx, "state-used", at(hour)); err == nil && ok {
			t.Error("Consume of a used id with a cancelled context = true, want false")
		}
		if ok, err := s.Consume(ctx, "state-new", at(hour)); err == nil {
			if !ok {
				t.Error("Consume of a new id with a cancelled context = false, want true")
			}
			wantConsume(t, s, "state-new", at(hour), false)
		}
	})

	t.Run("Closed", func(t *testing.T) {
		s := h.open(t)
		wantConsume(t, s, "state-1", at(hour), true)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for _, id := range []string{"state-1", "state-2"} {
			ok, err := s.Consume(context.Background(), id, at(hour))
			if !errors.Is(err, core.ErrStoreClosed) || !errors.Is(err, core.ErrStoreUnavailable) {
				t.Errorf("Consume(%q) after Close = %v, %v; want error %v", id, ok, err, core.ErrStoreClosed)
			}
		}
	})
}

// wantConsume calls Consume(id, exp), stops t if the store fails, and fails t unless it
// answers want.
func wantConsume(t *testing.T, s core.Store, id string, exp time.Time, want bool) {
	t.Helper()
	got, err := s.Consume(context.Background(), id, exp)
	if err != nil {
		t.Fatalf("Consume(%q): %v", id, err)
	}
	if got != want {
		t.Errorf("Consume(%q) = %v, want %v", id, got, want)
	}
}
