package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
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

// auths returns a core.Auth over each store, as instances of one app have; the
// first generates the signing key, the others load it from the database.
func auths(t *testing.T, stores ...*pgstore.Store) []*core.Auth {
	t.Helper()
	list := make([]*core.Auth, len(stores))
	for i, s := range stores {
		a, err := core.New(s, quiet)
		if err != nil {
			t.Fatal(err)
		}
		list[i] = a
	}
	return list
}

// A revocation on one instance is enforced on another within 100 ms: the time from
// calling RevokeToken or EndSession on A until IsRevoked on B says so, B answering
// misses from its filters all along.
func TestPropagation(t *testing.T) {
	ctx := context.Background()
	a, b := pair(t, shared(t))
	const n = 200
	lat := make([]time.Duration, 0, n)
	for i := range n {
		var jti, sid string
		if i%4 == 3 {
			sid = fmt.Sprintf("sid-%d", i)
			must(t, a.CreateSession(ctx, session(sid, "alice")))
		} else {
			jti = fmt.Sprintf("jti-%d", i)
		}
		if ok, err := b.IsRevoked(ctx, jti, sid); err != nil || ok {
			t.Fatalf("IsRevoked(%q, %q) on B before = %v, %v", jti, sid, ok, err)
		}
		start := time.Now()
		if sid != "" {
			_, err := a.EndSession(ctx, sid)
			must(t, err)
		} else {
			must(t, a.RevokeToken(ctx, jti, future))
		}
		for {
			ok, err := b.IsRevoked(ctx, jti, sid)
			must(t, err)
			if ok {
				break
			}
			if time.Since(start) > time.Second {
				t.Fatalf("revocation of %q/%q not seen on B within a second", jti, sid)
			}
			// Requests come with gaps; a loop without any would keep the scheduler
			// from running the goroutine that reads the listener.
			time.Sleep(50 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	if !pgstore.FilterTrusted(b) {
		t.Fatal("B stopped trusting its filters during the test: the answers did not come through them")
	}
	slices.Sort(lat)
	t.Logf("revoke on A → enforced on B, %d revocations: median %v, p99 %v, max %v",
		n, lat[n/2], lat[n*99/100], lat[n-1])
	if lat[n-1] > 100*time.Millisecond {
		t.Errorf("slowest propagation %v, want at most 100ms", lat[n-1])
	}
}

// A logout on instance B is refused on instance A within 100 ms, through core.Auth:
// the access token A accepted a moment before is revoked, and so is the refresh
// token, on both.
func TestLogoutOnBRefusedOnA(t *testing.T) {
	ctx := context.Background()
	a, b := pair(t, shared(t))
	as := auths(t, a, b)
	authA, authB := as[0], as[1]
	for round := range 20 {
		tok, err := authA.Issue(ctx, core.Identity{Subject: "alice"}, core.Client{})
		must(t, err)
		claims, err := authA.Authenticate(ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("round %d: Authenticate on A before the logout: %v", round, err)
		}
		if _, err := authB.Authenticate(ctx, tok.AccessToken); err != nil {
			t.Fatalf("round %d: Authenticate on B before the logout: %v", round, err)
		}
		start := time.Now()
		must(t, authB.Logout(ctx, claims.SessionID))
		for {
			_, err := authA.Authenticate(ctx, tok.AccessToken)
			if errors.Is(err, core.ErrTokenRevoked) {
				break
			}
			if err != nil {
				t.Fatalf("round %d: Authenticate on A after the logout: %v, want %v", round, err, core.ErrTokenRevoked)
			}
			if d := time.Since(start); d > 100*time.Millisecond {
				t.Fatalf("round %d: the access token still accepted on A %v after the logout on B", round, d)
			}
			time.Sleep(50 * time.Microsecond)
		}
		if _, err := authA.Refresh(ctx, tok.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
			t.Errorf("round %d: refresh on A after the logout on B: %v, want invalid_grant", round, err)
		}
	}
	if !pgstore.FilterTrusted(a) {
		t.Fatal("A stopped trusting its filters during the test")
	}
}

// TestConcurrentRefreshAcrossInstances: two instances, each its own core.Auth over its
// own store of one schema, get 50 refreshes of one refresh token at once: exactly one
// succeeds, every other one is invalid_grant (never a store failure), and the reuse
// ends the session on both instances, the winner's new tokens included (SECURITY 34).
func TestConcurrentRefreshAcrossInstances(t *testing.T) {
	a, b := pair(t, shared(t))
	storetest.RefreshRace(t, 5, auths(t, a, b)...)
}

func TestRotationRaceAcrossInstances(t *testing.T) {
	ctx := context.Background()
	a, b := pair(t, shared(t))
	t.Run("One winner of 50", func(t *testing.T) {
		for round := range 5 {
			sid := fmt.Sprintf("sid-%d", round)
			must(t, a.CreateSession(ctx, session(sid, "alice")))
			const n = 50
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				errs  = make([]error, n)
			)
			for i := range n {
				s := a
				if i%2 == 1 {
					s = b
				}
				wg.Go(func() {
					<-start
					_, errs[i] = s.Rotate(ctx, core.Rotation{
						SessionID: sid, Presented: sid + ".rt1", Next: fmt.Sprintf("%s.rt2-%02d", sid, i),
						Now: future.Add(time.Hour), IdleTimeout: time.Hour, AccessExpiresAt: future.Add(time.Hour),
					})
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Fatalf("round %d: rotations %d and %d both won", round, winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, core.ErrRefreshReused):
					t.Fatalf("round %d: rotation %d: %v, want %v", round, i, err, core.ErrRefreshReused)
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: no rotation won", round)
			}
			got, err := b.Session(ctx, sid)
			if err != nil || got == nil || got.Current != fmt.Sprintf("%s.rt2-%02d", sid, winner) {
				t.Fatalf("round %d: session on B = %+v, %v; want the winner's token", round, got, err)
			}
		}
	})

	t.Run("One consumer of 50", func(t *testing.T) {
		for round := range 5 {
			id := fmt.Sprintf("state:%d", round)
			const n = 50
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				wins  atomic.Int32
				errs  = make([]error, n)
			)
			for i := range n {
				s := a
				if i%2 == 1 {
					s = b
				}
				wg.Go(func() {
					<-start
					ok, err := s.Consume(ctx, id, future.Add(10*time.Minute))
					errs[i] = err
					if ok {
						wins.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			if got := wins.Load(); got != 1 {
				t.Fatalf("round %d: %d of %d concurrent Consume calls got true, want 1", round, got, n)
			}
		}
	})

	t.Run("No add lost of 50", func(t *testing.T) {
		// 50 failed sign-ins at once, half on each instance: in round 0 the first of
		// them starts the counter, in round 1 the first starts it again, its window
		// having ended. Each add sees a count of its own and the one window.
		key := "pw:ip:192.0.2.50"
		const n, window = 50, 15 * time.Minute
		for round := range 2 {
			now := future.Add(time.Duration(round) * window)
			var (
				wg     sync.WaitGroup
				start  = make(chan struct{})
				errs   = make([]error, n)
				counts = make([]int, n)
			)
			for i := range n {
				s := a
				if i%2 == 1 {
					s = b
				}
				wg.Go(func() {
					<-start
					var end time.Time
					counts[i], end, errs[i] = s.Count(ctx, key, 1, now, window)
					if errs[i] == nil && !end.Equal(now.Add(window)) {
						errs[i] = fmt.Errorf("add %d: window end %v, want %v", i, end, now.Add(window))
					}
				})
			}
			close(start)
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			slices.Sort(counts)
			for i, c := range counts {
				if c != i+1 {
					t.Fatalf("round %d: the concurrent adds saw counts %v, want each of 1 to %d once", round, counts, n)
				}
			}
			for _, s := range []*pgstore.Store{a, b} {
				got, end, err := s.Count(ctx, key, 0, now.Add(time.Minute), time.Minute)
				if err != nil || got != n || !end.Equal(now.Add(window)) {
					t.Errorf("round %d: Count(%s, 0) = %d, %v, %v; want %d, %v", round, key, got, end, err, n, now.Add(window))
				}
			}
		}
	})

	t.Run("Logout racing a refresh", func(t *testing.T) {
		// EndSession on one instance, Rotate on the other: the session ends up deleted
		// and revoked on both, and the revocation covers what the rotation allowed.
		for i := range 20 {
			sid := fmt.Sprintf("sid-end-%d", i)
			must(t, a.CreateSession(ctx, session(sid, "bob")))
			var (
				wg     sync.WaitGroup
				start  = make(chan struct{})
				rotErr error
				ended  *core.Session
			)
			wg.Go(func() {
				<-start
				_, rotErr = b.Rotate(ctx, core.Rotation{
					SessionID: sid, Presented: sid + ".rt1", Next: sid + ".rt2",
					Now: future.Add(time.Minute), AccessExpiresAt: future.Add(time.Hour),
				})
			})
			wg.Go(func() { <-start; ended, _ = a.EndSession(ctx, sid) })
			close(start)
			wg.Wait()
			if ended == nil {
				t.Fatalf("%s: EndSession returned no session", sid)
			}
			switch {
			case rotErr == nil && !ended.AccessExpiresAt.Equal(future.Add(time.Hour)):
				t.Errorf("%s: rotation won but the revocation lasts until %v", sid, ended.AccessExpiresAt)
			case rotErr != nil && !errors.Is(rotErr, core.ErrSessionNotFound):
				t.Errorf("%s: rotation lost with %v, want %v", sid, rotErr, core.ErrSessionNotFound)
			}
			for _, s := range []*pgstore.Store{a, b} {
				if got, _ := s.Session(ctx, sid); got != nil {
					t.Errorf("%s: session still stored", sid)
				}
				waitFor(t, time.Second, sid+" revoked on both", func() bool {
					ok, err := s.IsRevoked(ctx, "", sid)
					return err == nil && ok
				})
			}
		}
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
		waitFor(t, 5*time.Second, "A and B listening and loaded again", func() bool {
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
