package storetest

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
)

// RunShared checks two instances of a store that share one backend, as the processes of
// one app share a database: newPair returns two stores, a and b, each with its own
// connections to one and the same data, and closes them when t ends. It calls newPair
// once per subtest:
//
//   - Propagation: a revocation on one instance is enforced on the other within 100 ms,
//     timed from the call of RevokeToken (three in four) or EndSession on a until
//     IsRevoked on b says so, over 200 revocations, none of which b reported before.
//   - PropagationEndSessions: EndSessions of 100 sessions on a revokes each of them on a
//     at once, and b refuses every one of them when asked 100 ms after the answer to
//     a's caller (the call itself is not what travels to b); no session of another
//     subject is revoked.
//   - LogoutOnBRefusedOnA: through a core.Auth over each store, an access token both
//     accepted is refused as core.ErrTokenRevoked on a within 100 ms of a Logout on b,
//     and its refresh token is invalid_grant on a, over 20 rounds.
//   - Races: 50 concurrent calls spread over both instances: of Rotate of one token,
//     exactly one wins, the others are core.ErrRefreshReused, and b reads the winner's
//     token; of Consume of one id, exactly one gets true; of Count of one key, each
//     sees a count of its own and the one window end, also when the window starts
//     again, and both read the total. EndSession on a racing Rotate on b leaves the
//     session deleted and revoked on both within a second, the revocation covering
//     what a winning rotation allowed, and a losing rotation core.ErrSessionNotFound.
//   - RefreshRace: RefreshRace with one core.Auth over each store, the second loading
//     the signing key the first generated.
//
// Not checked: how an instance learns of the other's writes and whether its answers
// came from a local cache or filter, which a store checks itself, after RunShared if
// it likes, from the stores newPair made; nor that it recovers after losing its
// connection or the backend restarting, which RunRestart and RunSilentPartition check.
func RunShared(t *testing.T, newPair func(t *testing.T) (a, b core.Store)) {
	t.Helper()
	groups := []struct {
		name string
		run  func(t *testing.T, a, b core.Store)
	}{
		{"Propagation", testPropagation},
		{"PropagationEndSessions", testPropagationEndSessions},
		{"LogoutOnBRefusedOnA", testLogoutOnBRefusedOnA},
		{"Races", testRaces},
		{"RefreshRace", testSharedRefreshRace},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			a, b := newPair(t)
			if a == nil || b == nil {
				t.Fatal("newPair returned nil")
			}
			g.run(t, a, b)
		})
	}
}

// propagationBound is how long a write on one instance may take to be enforced on the
// other.
const propagationBound = 100 * time.Millisecond

// waitRevoked polls IsRevoked(jti, sid) on s until it says true, and fails t if that
// takes more than a second from start.
func waitRevoked(t *testing.T, s core.Store, jti, sid string, start time.Time) {
	t.Helper()
	for !isRevoked(t, s, jti, sid) {
		if time.Since(start) > time.Second {
			t.Fatalf("revocation of %q/%q not seen on B within a second", jti, sid)
		}
		// Requests come with gaps; a loop without any would keep the scheduler from
		// running the goroutines that read the network.
		time.Sleep(50 * time.Microsecond)
	}
}

func testPropagation(t *testing.T, a, b core.Store) {
	ctx := context.Background()
	const n = 200
	lat := make([]time.Duration, 0, n)
	for i := range n {
		var jti, sid string
		if i%4 == 3 {
			sid = fmt.Sprintf("sid-%d", i)
			create(t, a, newSession(sid, "alice"))
		} else {
			jti = fmt.Sprintf("jti-%d", i)
		}
		if ok, err := b.IsRevoked(ctx, jti, sid); err != nil || ok {
			t.Fatalf("IsRevoked(%q, %q) on B before = %v, %v", jti, sid, ok, err)
		}
		start := time.Now()
		if sid != "" {
			endSession(t, a, sid)
		} else {
			revoke(t, a, jti, base)
		}
		waitRevoked(t, b, jti, sid, start)
		lat = append(lat, time.Since(start))
	}
	slices.Sort(lat)
	t.Logf("revoke on A → enforced on B, %d revocations: median %v, p99 %v, max %v",
		n, lat[n/2], lat[n*99/100], lat[n-1])
	if lat[n-1] > propagationBound {
		t.Errorf("slowest propagation %v, want at most %v", lat[n-1], propagationBound)
	}
}

func testPropagationEndSessions(t *testing.T, a, b core.Store) {
	ctx := context.Background()
	const n = 100
	for i := range n {
		create(t, a, newSession(fmt.Sprintf("sid-%d", i), "alice"))
	}
	create(t, a, newSession("sid-bob", "bob"))
	for i := range n {
		if ok, err := b.IsRevoked(ctx, "", fmt.Sprintf("sid-%d", i)); err != nil || ok {
			t.Fatalf("IsRevoked(sid-%d) on B before = %v, %v", i, ok, err)
		}
	}
	list, err := a.EndSessions(ctx, "alice")
	if err != nil || len(list) != n {
		t.Fatalf("EndSessions(alice) on A = %d sessions, %v; want %d", len(list), err, n)
	}
	// Propagation counts from the answer to A's caller, as a logout's does. B is asked
	// once for each session when the bound has passed: timing each answer instead would
	// count B's 100 round trips (a revoked id's answer is read from the backend), not
	// how long the revocations took to reach it.
	start := time.Now()
	// A sees its own revocations at once.
	for _, sid := range []string{"sid-0", fmt.Sprintf("sid-%d", n-1)} {
		if ok, err := a.IsRevoked(ctx, "", sid); err != nil || !ok {
			t.Errorf("IsRevoked(%s) on A right after EndSessions = %v, %v", sid, ok, err)
		}
	}
	time.Sleep(time.Until(start.Add(propagationBound)))
	var missed []string
	for i := range n {
		sid := fmt.Sprintf("sid-%d", i)
		if !isRevoked(t, b, "", sid) {
			missed = append(missed, sid)
		}
	}
	if len(missed) > 0 {
		t.Errorf("%d of %d sessions ended on A not revoked on B %v after EndSessions returned: %v",
			len(missed), n, propagationBound, missed)
	}
	for i := range n {
		wantRevoked(t, a, "", fmt.Sprintf("sid-%d", i), true)
	}
	if ok, err := b.IsRevoked(ctx, "", "sid-bob"); err != nil || ok {
		t.Errorf("IsRevoked(sid-bob) on B = %v, %v; want false", ok, err)
	}
}

// sharedAuths returns a core.Auth over each store, as instances of one app have: the
// first generates the signing key, the second loads it from the store.
func sharedAuths(t *testing.T, a, b core.Store) (authA, authB *core.Auth) {
	t.Helper()
	quiet := core.WithLogger(slog.New(slog.DiscardHandler))
	authA, err := core.New(a, quiet)
	if err != nil {
		t.Fatal(err)
	}
	authB, err = core.New(b, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return authA, authB
}

func testLogoutOnBRefusedOnA(t *testing.T, a, b core.Store) {
	ctx := context.Background()
	authA, authB := sharedAuths(t, a, b)
	for round := range 20 {
		tok, err := authA.Issue(ctx, core.Identity{Subject: "alice"}, core.Client{})
		if err != nil {
			t.Fatal(err)
		}
		claims, err := authA.Authenticate(ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("round %d: Authenticate on A before the logout: %v", round, err)
		}
		if _, err := authB.Authenticate(ctx, tok.AccessToken); err != nil {
			t.Fatalf("round %d: Authenticate on B before the logout: %v", round, err)
		}
		start := time.Now()
		if err := authB.Logout(ctx, claims.SessionID); err != nil {
			t.Fatal(err)
		}
		for {
			_, err := authA.Authenticate(ctx, tok.AccessToken)
			if errors.Is(err, core.ErrTokenRevoked) {
				break
			}
			if err != nil {
				t.Fatalf("round %d: Authenticate on A after the logout: %v, want %v", round, err, core.ErrTokenRevoked)
			}
			if d := time.Since(start); d > propagationBound {
				t.Fatalf("round %d: the access token still accepted on A %v after the logout on B", round, d)
			}
			time.Sleep(50 * time.Microsecond)
		}
		if _, err := authA.Refresh(ctx, tok.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
			t.Errorf("round %d: refresh on A after the logout on B: %v, want invalid_grant", round, err)
		}
	}
}

func testSharedRefreshRace(t *testing.T, a, b core.Store) {
	authA, authB := sharedAuths(t, a, b)
	RefreshRace(t, 5, authA, authB)
}

// either returns a for even i and b for odd, spreading concurrent calls over both.
func either(i int, a, b core.Store) core.Store {
	if i%2 == 1 {
		return b
	}
	return a
}

func testRaces(t *testing.T, a, b core.Store) {
	ctx := context.Background()
	t.Run("One winner of 50", func(t *testing.T) {
		for round := range 5 {
			sid := fmt.Sprintf("sid-%d", round)
			create(t, a, newSession(sid, "alice"))
			const n = 50
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				errs  = make([]error, n)
			)
			for i := range n {
				s := either(i, a, b)
				wg.Go(func() {
					<-start
					_, errs[i] = s.Rotate(ctx, core.Rotation{
						SessionID: sid, Presented: sid + ".rt1", Next: fmt.Sprintf("%s.rt2-%02d", sid, i),
						Now: at(hour), IdleTimeout: hour, AccessExpiresAt: at(hour),
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
		// A sign-in state whose callback arrives 50 times at once, on two instances:
		// exactly one of them gets past the state check.
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
				s := either(i, a, b)
				wg.Go(func() {
					<-start
					ok, err := s.Consume(ctx, id, at(10*minute))
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
		// having ended. Each add sees a count of its own and the one window, and both
		// instances read the same.
		key := "pw:ip:192.0.2.50"
		const n, window = 50, 15 * time.Minute
		for round := range 2 {
			now := at(time.Duration(round) * window)
			var (
				wg     sync.WaitGroup
				start  = make(chan struct{})
				errs   = make([]error, n)
				counts = make([]int, n)
			)
			for i := range n {
				s := either(i, a, b)
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
			for _, s := range []core.Store{a, b} {
				got, end, err := s.Count(ctx, key, 0, now.Add(minute), minute)
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
			create(t, a, newSession(sid, "bob"))
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
					Now: at(minute), AccessExpiresAt: at(hour),
				})
			})
			wg.Go(func() { <-start; ended, _ = a.EndSession(ctx, sid) })
			close(start)
			wg.Wait()
			if ended == nil {
				t.Fatalf("%s: EndSession returned no session", sid)
			}
			switch {
			case rotErr == nil && !ended.AccessExpiresAt.Equal(at(hour)):
				t.Errorf("%s: rotation won but the revocation lasts until %v", sid, ended.AccessExpiresAt)
			case rotErr != nil && !errors.Is(rotErr, core.ErrSessionNotFound):
				t.Errorf("%s: rotation lost with %v, want %v", sid, rotErr, core.ErrSessionNotFound)
			}
			for _, s := range []core.Store{a, b} {
				if got, _ := s.Session(ctx, sid); got != nil {
					t.Errorf("%s: session still stored", sid)
				}
				start := time.Now()
				for !isRevoked(t, s, "", sid) {
					if time.Since(start) > time.Second {
						t.Fatalf("%s revoked on both: not within a second", sid)
					}
					time.Sleep(time.Millisecond)
				}
			}
		}
	})
}
