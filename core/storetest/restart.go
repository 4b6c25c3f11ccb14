package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// RestartOptions are what RunRestart needs to know of a store and its backend.
type RestartOptions struct {
	// A and B are two instances of the store on one backend, each with its own
	// connections, as the pairs of RunShared are. They hold none of the ids RunRestart
	// uses: token ids jti-a-N, jti-b-N, jti-w-N, never-N, jti-down, jti-never and
	// jti-after, sessions sid-N, sid-down and sid-never, and the sessions and token ids
	// core.Auth makes.
	A, B core.Store

	// Backend names what Stop stops, in messages: "PostgreSQL", "the master".
	Backend string

	// Trusted reports whether s, A or B, answers a miss of IsRevoked from its
	// in-memory filters, without asking the backend.
	Trusted func(s core.Store) bool

	// Stop stops the backend, or the part of it whose loss both instances notice.
	Stop func(t *testing.T)

	// Down, if set, is called once both instances have stopped trusting their filters,
	// and returns once every call to the backend fails: a backend still partly up after
	// Stop (a cluster that has yet to mark a master failed) waits for that here, and
	// checks what it can of the partial outage. Without Down, every call must fail as
	// soon as both instances have noticed.
	Down func(t *testing.T)

	// Start starts the backend again and returns once it serves calls.
	Start func(t *testing.T)

	// Recover bounds the time from Start's return until both instances trust their
	// filters again.
	Recover time.Duration
}

// RunRestart checks that two instances of a store, A and B, notice when their backend
// stops in the middle of traffic, fail every call while it is down and never pass a
// token, and recover by themselves when it comes back, with no acknowledged revocation
// lost.
//
// Before: through a core.Auth over each instance (the first generates the signing key,
// the second loads it), it issues 20 tokens, alternately on A and B, and logs out every
// fourth (issued on A): three through A, two through B; it ends 20 sessions on A and
// revokes 50 token ids on A and 50 on B. Then, from 200 ms before Stop until the end:
//
//   - a writer revokes a new token id on A every millisecond and records those
//     acknowledged (a nil error);
//   - a reader on each instance checks, every millisecond, that a random one of the
//     revocations acknowledged more than 200 ms before is revoked, that a random
//     logged-out token is refused as core.ErrTokenRevoked, and that a new id never
//     revoked is not revoked.
//
// Any of these calls may fail with an error matching core.ErrStoreUnavailable, and
// with no other. Then:
//
//   - Stop; within 5 s neither instance trusts its filters. At once, on both, every
//     logged-out token is refused as core.ErrTokenRevoked or core.ErrStoreUnavailable,
//     and every token id revoked before reads as revoked or fails with
//     core.ErrStoreUnavailable.
//   - Down, if set.
//   - On both instances every method of core.Store but Close fails with an error
//     matching core.ErrStoreUnavailable, Authenticate of every live token too, which
//     core.ErrorResponse answers 503, and every logged-out token is refused as
//     before. From here until Start is called, 500 ms later, no IsRevoked of a
//     reader answers (false, nil) for the id never revoked.
//   - Start; within Recover both instances trust their filters again. After 200 ms
//     more the traffic stops. At least one revocation of the writer failed (or the
//     test did not test).
//   - On both instances every id revoked before, every acknowledged one and the 20
//     ended sessions are revoked; every live token is accepted and every logged-out
//     one refused as core.ErrTokenRevoked.
//   - A new revocation on A is revoked on B within 100 ms, and B trusts its filters.
//
// Revocations expire an hour after the call, so a backend that expires entries by its
// own clock keeps them through the test.
func RunRestart(t *testing.T, o RestartOptions) {
	t.Helper()
	ctx := context.Background()
	a, b := o.A, o.B
	stores := []core.Store{a, b}
	authA, authB := sharedAuths(t, a, b)
	auths := []*core.Auth{authA, authB}
	exp := time.Now().Add(time.Hour)

	var live, loggedOut []*core.Tokens
	for i := range 20 {
		tok, err := auths[i%2].Issue(ctx, core.Identity{Subject: fmt.Sprintf("user-%d", i)}, core.Client{})
		if err != nil {
			t.Fatal(err)
		}
		if i%4 != 0 {
			live = append(live, tok)
			continue
		}
		if err := auths[i/4%2].Logout(ctx, tok.Session.ID); err != nil {
			t.Fatal(err)
		}
		loggedOut = append(loggedOut, tok)
	}
	for i := range 20 {
		sid := fmt.Sprintf("sid-%d", i)
		s := newSession(sid, "alice")
		s.AccessExpiresAt = exp
		create(t, a, s)
		endSession(t, a, sid)
	}
	var before []string // token ids revoked before
	for i := range 50 {
		before = append(before, fmt.Sprintf("jti-a-%d", i), fmt.Sprintf("jti-b-%d", i))
		revoke(t, a, fmt.Sprintf("jti-a-%d", i), exp)
		revoke(t, b, fmt.Sprintf("jti-b-%d", i), exp)
	}

	type ack struct {
		jti string
		at  time.Time
	}
	var (
		mu        sync.Mutex
		acked     []ack
		down      atomic.Bool // every call to the backend fails, and both instances know
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		failed    atomic.Int64
		passes    atomic.Int64
		unchecked = func(err error) bool { return err != nil && !errors.Is(err, core.ErrStoreUnavailable) }
		refused   = func(err error) bool {
			return errors.Is(err, core.ErrTokenRevoked) || errors.Is(err, core.ErrStoreUnavailable)
		}
		stopOnce    sync.Once
		stopTraffic = func() { stopOnce.Do(func() { close(stop); wg.Wait() }) }
	)
	// A failure that stops the test stops the traffic before t ends.
	defer stopTraffic()
	wg.Go(func() { // writer
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			jti := fmt.Sprintf("jti-w-%d", i)
			err := a.RevokeToken(ctx, jti, exp)
			switch {
			case err == nil:
				mu.Lock()
				acked = append(acked, ack{jti, time.Now()})
				mu.Unlock()
			case unchecked(err):
				t.Errorf("RevokeToken: %v, want %v", err, core.ErrStoreUnavailable)
			default:
				failed.Add(1)
			}
			time.Sleep(time.Millisecond)
		}
	})
	for i, s := range stores {
		auth := auths[i]
		wg.Go(func() { // reader
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				var old []ack
				for _, k := range acked {
					if time.Since(k.at) > 200*time.Millisecond {
						old = append(old, k)
					}
				}
				mu.Unlock()
				if len(old) > 0 {
					k := old[rand.IntN(len(old))]
					ok, err := s.IsRevoked(ctx, k.jti, "")
					switch {
					case err == nil && !ok:
						t.Errorf("IsRevoked(%s), revoked and acknowledged at %v = false, nil", k.jti, k.at)
					case unchecked(err):
						t.Errorf("IsRevoked: %v, want %v", err, core.ErrStoreUnavailable)
					}
				}
				gone := loggedOut[rand.IntN(len(loggedOut))]
				if _, err := auth.Authenticate(ctx, gone.AccessToken); !refused(err) {
					t.Errorf("Authenticate(token of a logged out session) = %v, want %v or %v", err, core.ErrTokenRevoked, core.ErrStoreUnavailable)
				}
				isDown := down.Load()
				ok, err := s.IsRevoked(ctx, fmt.Sprintf("never-%d", rand.Int()), "sid-never")
				switch {
				case unchecked(err):
					t.Errorf("IsRevoked: %v, want %v", err, core.ErrStoreUnavailable)
				case err == nil && ok:
					t.Error("IsRevoked of a token never revoked = true")
				case err == nil && isDown && down.Load():
					passes.Add(1)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	time.Sleep(200 * time.Millisecond)

	o.Stop(t)
	t.Logf("%s stopped", o.Backend)
	WaitFor(t, 5*time.Second, "both instances stop trusting their filters", func() bool {
		return !o.Trusted(a) && !o.Trusted(b)
	})
	for i, s := range stores {
		for _, tok := range loggedOut {
			if _, err := auths[i].Authenticate(ctx, tok.AccessToken); !refused(err) {
				t.Errorf("instance %d, %s just stopped: Authenticate of a logged-out token: %v, want %v or %v",
					i, o.Backend, err, core.ErrTokenRevoked, core.ErrStoreUnavailable)
			}
		}
		for _, jti := range before {
			if ok, err := s.IsRevoked(ctx, jti, ""); !ok && !errors.Is(err, core.ErrStoreUnavailable) {
				t.Errorf("instance %d, %s just stopped: IsRevoked(%s), revoked before = %v, %v; want true or %v",
					i, o.Backend, jti, ok, err, core.ErrStoreUnavailable)
			}
		}
	}
	if o.Down != nil {
		o.Down(t)
	}
	down.Store(true)
	for i, s := range stores {
		for _, tc := range []struct {
			method string
			err    error
		}{
			{"RevokeToken", s.RevokeToken(ctx, "jti-down", exp)},
			{"IsRevoked", second(s.IsRevoked(ctx, "jti-a-1", ""))},
			{"IsRevoked miss", second(s.IsRevoked(ctx, "jti-never", "sid-never"))},
			{"CreateSession", s.CreateSession(ctx, newSession("sid-down", "alice"))},
			{"Session", second(s.Session(ctx, "sid-0"))},
			{"Sessions", second(s.Sessions(ctx, "alice"))},
			{"Rotate", second(s.Rotate(ctx, core.Rotation{SessionID: "sid-0", Presented: "sid-0.rt1", Now: base}))},
			{"EndSession", second(s.EndSession(ctx, "sid-0"))},
			{"EndSessions", second(s.EndSessions(ctx, "alice"))},
			{"LoadOrStoreKey", second(s.LoadOrStoreKey(ctx, "k", []byte("v")))},
			{"Consume", second(s.Consume(ctx, "state-down", exp))},
			{"Count", third(s.Count(ctx, "count-down", 1, base, minute))},
			{"Purge", second(s.Purge(ctx, base))},
		} {
			if !errors.Is(tc.err, core.ErrStoreUnavailable) {
				t.Errorf("instance %d: %s while %s is down: %v, want %v", i, tc.method, o.Backend, tc.err, core.ErrStoreUnavailable)
			}
		}
		for _, tok := range live {
			_, err := auths[i].Authenticate(ctx, tok.AccessToken)
			if !errors.Is(err, core.ErrStoreUnavailable) {
				t.Errorf("instance %d: Authenticate while %s is down: %v, want %v", i, o.Backend, err, core.ErrStoreUnavailable)
			}
			if code := core.ErrorResponse(err).Status; code != 503 {
				t.Errorf("instance %d: Authenticate while %s is down answers %d, want 503", i, o.Backend, code)
			}
		}
		for _, tok := range loggedOut {
			if _, err := auths[i].Authenticate(ctx, tok.AccessToken); !refused(err) {
				t.Errorf("instance %d: Authenticate of a logged-out token while %s is down: %v, want %v or %v",
					i, o.Backend, err, core.ErrTokenRevoked, core.ErrStoreUnavailable)
			}
		}
	}
	time.Sleep(500 * time.Millisecond) // traffic against a stopped backend
	down.Store(false)

	o.Start(t)
	t.Logf("%s started", o.Backend)
	start := time.Now()
	WaitFor(t, o.Recover, "both instances trust their filters again", func() bool {
		return o.Trusted(a) && o.Trusted(b)
	})
	t.Logf("both instances trust their filters %v after the start", time.Since(start))
	time.Sleep(200 * time.Millisecond) // traffic against the started backend
	stopTraffic()
	if failed.Load() == 0 {
		t.Errorf("no RevokeToken failed while %s was down: the test did not test", o.Backend)
	}
	if passes.Load() > 0 {
		t.Errorf("IsRevoked answered (false, nil) %d times while %s was down", passes.Load(), o.Backend)
	}

	// Nothing acknowledged was lost, and both instances know all of it.
	all := slices.Clone(before)
	for _, k := range acked {
		all = append(all, k.jti)
	}
	for i, s := range stores {
		for _, jti := range all {
			if ok, err := s.IsRevoked(ctx, jti, ""); err != nil || !ok {
				t.Fatalf("instance %d: IsRevoked(%s) after the start = %v, %v", i, jti, ok, err)
			}
		}
		for n := range 20 {
			if ok, err := s.IsRevoked(ctx, "", fmt.Sprintf("sid-%d", n)); err != nil || !ok {
				t.Fatalf("instance %d: IsRevoked(sid-%d) after the start = %v, %v", i, n, ok, err)
			}
		}
		for _, tok := range live {
			if _, err := auths[i].Authenticate(ctx, tok.AccessToken); err != nil {
				t.Errorf("instance %d: Authenticate of a live token after the start: %v", i, err)
			}
		}
		for _, tok := range loggedOut {
			if _, err := auths[i].Authenticate(ctx, tok.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
				t.Errorf("instance %d: Authenticate of a logged-out token after the start: %v, want %v", i, err, core.ErrTokenRevoked)
			}
		}
	}
	t.Logf("%d revocations acknowledged during the test, %d refused while %s was down", len(acked), failed.Load(), o.Backend)

	// Revocations travel again: a new one on A reaches B.
	start = time.Now()
	revoke(t, a, "jti-after", exp)
	WaitFor(t, 100*time.Millisecond, "a revocation after the start reaches B", func() bool {
		ok, err := b.IsRevoked(ctx, "jti-after", "")
		return err == nil && ok
	})
	if !o.Trusted(b) {
		t.Error("B does not trust its filters after the start")
	}
	t.Logf("first revocation after the start revoked on B after %v", time.Since(start))
}

// WaitFor polls cond every millisecond until it holds, and stops t if that takes
// longer than d, saying what it waited for.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(time.Millisecond)
	}
}

// second returns the error of a call with two results.
func second[T any](_ T, err error) error { return err }

// third returns the error of a call with three results.
func third[T, U any](_ T, _ U, err error) error { return err }
