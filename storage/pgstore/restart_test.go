package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
)

// PostgreSQL shuts down at once (immediate shutdown: every backend killed, nothing
// checkpointed, crash recovery at the next start) in the middle of traffic, and comes
// back on the same port and data directory: while it is down every call fails with
// core.ErrStoreUnavailable, core.Auth answers 503 and no IsRevoked passes a token, the
// stores recover by themselves, and no acknowledged revocation is lost.
func TestPostgresRestart(t *testing.T) {
	ctx := context.Background()
	srv := ownServer(t)
	url := srv.URL("postgres")
	a, b := pair(t, url, pgstore.WithHealthCheck(200*time.Millisecond))
	as := auths(t, a, b)
	// A token issued before, and one of a session logged out before.
	live, err := as[0].Issue(ctx, core.Identity{Subject: "carol"}, core.Client{})
	must(t, err)
	gone, err := as[0].Issue(ctx, core.Identity{Subject: "dave"}, core.Client{})
	must(t, err)
	goneClaims, err := as[0].Authenticate(ctx, gone.AccessToken)
	must(t, err)
	must(t, as[1].Logout(ctx, goneClaims.SessionID))

	exp := future
	// Before: sessions ended on A, revocations on A and B.
	for i := range 20 {
		sid := fmt.Sprintf("sid-%d", i)
		must(t, a.CreateSession(ctx, session(sid, "alice")))
		_, err := a.EndSession(ctx, sid)
		must(t, err)
	}
	for i := range 50 {
		must(t, a.RevokeToken(ctx, fmt.Sprintf("jti-a-%d", i), exp))
		must(t, b.RevokeToken(ctx, fmt.Sprintf("jti-b-%d", i), exp))
	}

	// Traffic on both instances for the whole test: A revokes, and both check tokens
	// revoked long enough ago that B has surely heard of them, and tokens never revoked.
	type ack struct {
		jti string
		at  time.Time
	}
	var (
		mu        sync.Mutex
		acked     []ack
		down      atomic.Bool // PostgreSQL is stopped and both instances have noticed
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		failed    atomic.Int64
		passes    atomic.Int64
		unchecked = func(err error) bool { return err != nil && !errors.Is(err, core.ErrStoreUnavailable) }
	)
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
	for i, s := range []*pgstore.Store{a, b} {
		auth := as[i]
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
				if _, err := auth.Authenticate(ctx, gone.AccessToken); err == nil || unchecked(err) && !errors.Is(err, core.ErrTokenRevoked) {
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

	srv.Stop()
	t.Log("postgres stopped (immediate shutdown)")
	// Both instances notice the lost listener at once (the server closes the
	// connection) and stop trusting their filters.
	waitFor(t, 5*time.Second, "both instances notice", func() bool {
		return !pgstore.FilterTrusted(a) && !pgstore.FilterTrusted(b)
	})
	down.Store(true)
	for i, s := range []*pgstore.Store{a, b} {
		_, authErr := as[i].Authenticate(ctx, live.AccessToken)
		for _, tc := range []struct {
			method string
			err    error
		}{
			{"Authenticate", authErr},
			{"RevokeToken", s.RevokeToken(ctx, "jti-down", exp)},
			{"IsRevoked", second(s.IsRevoked(ctx, "jti-a-1", ""))},
			{"IsRevoked miss", second(s.IsRevoked(ctx, "jti-never", "sid-never"))},
			{"CreateSession", s.CreateSession(ctx, session("sid-down", "alice"))},
			{"Session", second(s.Session(ctx, "sid-0"))},
			{"Sessions", second(s.Sessions(ctx, "alice"))},
			{"Rotate", second(s.Rotate(ctx, core.Rotation{SessionID: "sid-0", Presented: "sid-0.rt1", Now: future}))},
			{"EndSession", second(s.EndSession(ctx, "sid-0"))},
			{"LoadOrStoreKey", second(s.LoadOrStoreKey(ctx, "k", []byte("v")))},
			{"Consume", second(s.Consume(ctx, "state-down", exp))},
			{"Purge", second(s.Purge(ctx, future))},
		} {
			if !errors.Is(tc.err, core.ErrStoreUnavailable) {
				t.Errorf("%s while PostgreSQL is down: %v, want %v", tc.method, tc.err, core.ErrStoreUnavailable)
			}
		}
		if code := core.ErrorResponse(authErr).Status; code != 503 {
			t.Errorf("Authenticate while PostgreSQL is down answers %d, want 503", code)
		}
	}
	time.Sleep(500 * time.Millisecond) // traffic against a stopped PostgreSQL
	down.Store(false)

	must(t, srv.Restart())
	t.Log("postgres restarted")
	start := time.Now()
	waitFor(t, 10*time.Second, "both instances trust their filters again", func() bool {
		return pgstore.FilterTrusted(a) && pgstore.FilterTrusted(b)
	})
	t.Logf("both instances trust their filters %v after the restart", time.Since(start))
	time.Sleep(200 * time.Millisecond) // traffic against the restarted PostgreSQL
	close(stop)
	wg.Wait()
	if failed.Load() == 0 {
		t.Error("no RevokeToken failed while PostgreSQL was down: the test did not test")
	}
	if passes.Load() > 0 {
		t.Errorf("IsRevoked answered (false, nil) %d times while PostgreSQL was down", passes.Load())
	}

	// Nothing acknowledged was lost, and both instances know all of it.
	mu.Lock()
	defer mu.Unlock()
	var all []string
	for i := range 50 {
		all = append(all, fmt.Sprintf("jti-a-%d", i), fmt.Sprintf("jti-b-%d", i))
	}
	for _, k := range acked {
		all = append(all, k.jti)
	}
	for i, s := range []*pgstore.Store{a, b} {
		for _, jti := range all {
			if ok, err := s.IsRevoked(ctx, jti, ""); err != nil || !ok {
				t.Fatalf("IsRevoked(%s) after the restart = %v, %v", jti, ok, err)
			}
		}
		for i := range 20 {
			if ok, err := s.IsRevoked(ctx, "", fmt.Sprintf("sid-%d", i)); err != nil || !ok {
				t.Fatalf("IsRevoked(sid-%d) after the restart = %v, %v", i, ok, err)
			}
		}
		if _, err := as[i].Authenticate(ctx, live.AccessToken); err != nil {
			t.Errorf("instance %d: the live token after the restart: %v", i, err)
		}
		if _, err := as[i].Authenticate(ctx, gone.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
			t.Errorf("instance %d: the logged out token after the restart: %v, want %v", i, err, core.ErrTokenRevoked)
		}
	}
	t.Logf("%d revocations acknowledged during the test, %d refused while PostgreSQL was down", len(acked), failed.Load())

	// The listener works again: a new revocation on A reaches B's filter.
	start = time.Now()
	must(t, a.RevokeToken(ctx, "jti-after", exp))
	waitFor(t, 100*time.Millisecond, "a revocation after the restart reaches B", func() bool {
		ok, err := b.IsRevoked(ctx, "jti-after", "")
		return err == nil && ok
	})
	if !pgstore.FilterTrusted(b) {
		t.Error("B does not trust its filters after the restart")
	}
	t.Logf("first revocation after the restart enforced on B after %v", time.Since(start))
}
