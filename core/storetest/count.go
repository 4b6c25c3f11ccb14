package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

func testCount(t *testing.T, h harness) {
	const window = 15 * minute
	end := at(window) // the end of a window started at base

	t.Run("Start and accumulate", func(t *testing.T) {
		s := h.open(t)
		wantCount(t, s, "k", 1, base, window, 1, end)
		wantCount(t, s, "k", 2, at(minute), window, 3, end)
		// A later add, with another window, does not move the end.
		wantCount(t, s, "k", 1, at(10*minute), hour, 4, end)
		wantCount(t, s, "k", 5, at(window-1), minute, 9, end) // a nanosecond before the end
		wantCount(t, s, "k", 0, at(window-1), window, 9, end)
		// Keys are independent, compared byte for byte.
		for _, key := range []string{"k2", "K", "k ", " k", "k\x00", "pw:u:k"} {
			wantCount(t, s, key, 2, at(minute), window, 2, at(minute+window))
		}
		wantCount(t, s, "k", 0, at(minute), window, 9, end)
	})

	t.Run("Window end resets", func(t *testing.T) {
		s := h.open(t)
		wantCount(t, s, "k", 3, base, window, 3, end)
		// At the end the window is over: it reads as none, and the next add starts a
		// new one from its own now.
		wantCount(t, s, "k", 0, end, window, 0, time.Time{})
		wantCount(t, s, "k", 2, end, window, 2, at(2*window))
		wantCount(t, s, "k", 1, at(2*window-1), window, 3, at(2*window))
		// Long after, with another window.
		wantCount(t, s, "k", 0, at(day), window, 0, time.Time{})
		wantCount(t, s, "k", 4, at(day), hour, 4, at(day+hour))
		wantCount(t, s, "k", 0, at(day+minute), window, 4, at(day+hour))
	})

	t.Run("Reading writes nothing", func(t *testing.T) {
		s := h.open(t)
		// A read of a missing key does not create it: the add after it starts a window
		// at its own now, not at the read's.
		for range 2 {
			wantCount(t, s, "missing", 0, base, window, 0, time.Time{})
		}
		wantCount(t, s, "missing", 1, at(5*minute), window, 1, at(5*minute+window))

		// A read of an ended counter neither restarts nor deletes it: Purge finds it at
		// its old end, and the add after the read starts from its own now.
		wantCount(t, s, "ended", 2, base, window, 2, end)
		wantCount(t, s, "ended", 0, at(window+minute), window, 0, time.Time{})
		wantCount(t, s, "ended", 0, at(day), window, 0, time.Time{})
		purge(t, s, end, 1)
		wantCount(t, s, "ended", 1, at(window+2*minute), window, 1, at(2*window+2*minute))

		wantCount(t, s, "only-read", 0, base, window, 0, time.Time{})
		purge(t, s, at(100*365*day), 2) // missing and ended; only-read was never written
		wantCount(t, s, "only-read", 0, base, window, 0, time.Time{})
	})

	t.Run("Concurrent adds", func(t *testing.T) {
		// Of 50 concurrent adds of 1 to one key none is lost: each sees a count of its
		// own, 1 to 50, and all see the one window, for each of a few keys at once.
		s := h.open(t)
		const keys, callers = 4, 50
		var (
			wg     sync.WaitGroup
			start  = make(chan struct{})
			mu     sync.Mutex
			counts [keys][]int
			errs   = make(chan error, keys*callers)
		)
		for i := range keys {
			key := fmt.Sprintf("k-%d", i)
			for range callers {
				wg.Go(func() {
					<-start
					n, e, err := s.Count(context.Background(), key, 1, at(minute), window)
					switch {
					case err != nil:
						errs <- fmt.Errorf("Count(%s): %w", key, err)
						return
					case !e.Equal(at(minute + window)):
						errs <- fmt.Errorf("Count(%s) = %d, %v; want the end %v", key, n, e, at(minute+window))
					}
					mu.Lock()
					counts[i] = append(counts[i], n)
					mu.Unlock()
				})
			}
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		want := make([]int, callers)
		for i := range want {
			want[i] = i + 1
		}
		for i := range keys {
			if got := slices.Sorted(slices.Values(counts[i])); !slices.Equal(got, want) {
				t.Errorf("k-%d: the %d concurrent adds saw counts %v, want each of 1 to %d once", i, callers, got, callers)
			}
			wantCount(t, s, fmt.Sprintf("k-%d", i), 0, at(2*minute), window, callers, at(minute+window))
		}
	})

	t.Run("Apart from Consume and revocations", func(t *testing.T) {
		s := h.open(t)
		// A counter is neither a consumed id nor a revoked jti or sid...
		wantCount(t, s, "same-id", 1, base, hour, 1, at(hour))
		wantConsume(t, s, "same-id", at(hour), true)
		wantRevoked(t, s, "same-id", "same-id", false)
		// ...and consumed, revoked or ended ids are not counters.
		revoke(t, s, "jti-1", at(hour))
		wantConsume(t, s, "state-1", at(hour), true)
		create(t, s, newSession("sid-1", "alice"))
		endSession(t, s, "sid-1")
		for _, key := range []string{"jti-1", "state-1", "sid-1"} {
			wantCount(t, s, key, 0, base, hour, 0, time.Time{})
		}
		wantCount(t, s, "same-id", 0, base, hour, 1, at(hour))
		wantConsume(t, s, "same-id", at(hour), false)
		wantRevoked(t, s, "jti-1", "sid-1", true)
	})

	t.Run("Purge at window end", func(t *testing.T) {
		s := h.open(t)
		wantCount(t, s, "a", 1, base, 10*minute, 1, at(10*minute))
		wantCount(t, s, "b", 1, base, 20*minute, 1, at(20*minute))
		purge(t, s, at(10*minute-1), 0)
		wantCount(t, s, "a", 0, at(10*minute-1), window, 1, at(10*minute))
		purge(t, s, at(10*minute), 1) // at the end, not after it
		purge(t, s, at(10*minute), 0)
		wantCount(t, s, "b", 0, at(10*minute), window, 1, at(20*minute))

		// A counter that started again after its end is purged at its new end only.
		wantCount(t, s, "c", 1, base, 10*minute, 1, at(10*minute))
		wantCount(t, s, "c", 1, at(10*minute), 20*minute, 1, at(30*minute))
		purge(t, s, at(20*minute), 1) // b
		wantCount(t, s, "c", 0, at(20*minute), window, 1, at(30*minute))
		purge(t, s, at(30*minute), 1)
		wantCount(t, s, "c", 0, at(20*minute), window, 0, time.Time{})
	})

	t.Run("Purge counts them with the rest", func(t *testing.T) {
		s := h.open(t)
		revoke(t, s, "jti-1", at(hour))
		wantConsume(t, s, "jti-1", at(hour), true)
		wantCount(t, s, "jti-1", 1, base, hour, 1, at(hour))
		create(t, s, withLifetimes(newSession("sid-1", "alice"), at(hour), at(2*hour), at(16*minute)))
		wantCount(t, s, "late", 1, base, 2*hour, 1, at(2*hour))
		purge(t, s, at(hour), 4) // the revocation, the consumed id, the counter, the session
		wantRevoked(t, s, "jti-1", "", false)
		wantCount(t, s, "late", 0, at(hour), window, 1, at(2*hour))
		purge(t, s, at(2*hour), 1)
	})

	t.Run("Many counters", func(t *testing.T) {
		s := h.open(t)
		const n = 100
		for i := range n {
			d := time.Duration(i+1) * minute
			wantCount(t, s, fmt.Sprintf("k-%03d", i), 1, base, d, 1, at(d))
		}
		purge(t, s, at(n/2*minute), n/2)
		for i := range n {
			key, now := fmt.Sprintf("k-%03d", i), at(n/2*minute)
			if i < n/2 {
				wantCount(t, s, key, 0, now, window, 0, time.Time{})
			} else {
				wantCount(t, s, key, 0, now, window, 1, at(time.Duration(i+1)*minute))
			}
		}
		purge(t, s, at(n*minute), n/2)
	})

	t.Run("Refused inputs", func(t *testing.T) {
		s := h.open(t)
		wantCount(t, s, "k", 2, base, window, 2, end)
		for _, tc := range []struct {
			name   string
			key    string
			add    int
			window time.Duration
		}{
			{"empty key", "", 1, window},
			{"empty key, read", "", 0, window},
			{"negative add", "k", -1, window},
			{"negative add, new key", "new", -1, window},
			{"zero window", "k", 1, 0},
			{"zero window, read", "k", 0, 0},
			{"zero window, new key", "new", 1, 0},
			{"negative window", "new", 1, -window},
		} {
			t.Run(tc.name, func(t *testing.T) {
				n, e, err := s.Count(context.Background(), tc.key, tc.add, at(minute), tc.window)
				if err == nil {
					t.Errorf("Count(%q, %d, window %v) = %d, %v, nil; want an error", tc.key, tc.add, tc.window, n, e)
				}
			})
		}
		// Nothing was written.
		wantCount(t, s, "k", 0, at(minute), window, 2, end)
		wantCount(t, s, "new", 0, at(minute), window, 0, time.Time{})
		purge(t, s, at(day), 1)
	})

	t.Run("Cancelled context", func(t *testing.T) {
		// It may fail; if it answers, the answer is right.
		s := h.open(t)
		wantCount(t, s, "k", 2, base, window, 2, end)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if n, e, err := s.Count(ctx, "k", 0, at(minute), window); err == nil && (n != 2 || !e.Equal(end)) {
			t.Errorf("Count(k, 0) with a cancelled context = %d, %v; want 2, %v", n, e, end)
		}
		if n, e, err := s.Count(ctx, "k", 1, at(minute), window); err == nil && (n != 3 || !e.Equal(end)) {
			t.Errorf("Count(k, 1) with a cancelled context = %d, %v; want 3, %v", n, e, end)
		}
	})

	t.Run("Closed", func(t *testing.T) {
		s := h.open(t)
		wantCount(t, s, "k", 1, base, window, 1, end)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		for _, tc := range []struct {
			key string
			add int
		}{{"k", 1}, {"k", 0}, {"new", 1}, {"new", 0}} {
			n, e, err := s.Count(context.Background(), tc.key, tc.add, at(minute), window)
			if !errors.Is(err, core.ErrStoreClosed) || !errors.Is(err, core.ErrStoreUnavailable) {
				t.Errorf("Count(%q, %d) after Close = %d, %v, %v; want error %v", tc.key, tc.add, n, e, err, core.ErrStoreClosed)
			}
		}
	})
}

// wantCount calls Count(key, add, now, window), stops t if the store fails, and fails t
// unless it answers the count n and the window end end (the zero time for none).
func wantCount(t *testing.T, s core.Store, key string, add int, now time.Time, window time.Duration, n int, end time.Time) {
	t.Helper()
	gotN, gotEnd, err := s.Count(context.Background(), key, add, now, window)
	if err != nil {
		t.Fatalf("Count(%q, %d, %v, %v): %v", key, add, now, window, err)
	}
	if gotN != n || !gotEnd.Equal(end) {
		t.Errorf("Count(%q, %d, %v, %v) = %d, %v; want %d, %v", key, add, now, window, gotN, gotEnd, n, end)
	}
}
