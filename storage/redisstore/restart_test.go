package redisstore_test

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
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/redis/go-redis/v9"
)

// Redis crashes (SIGKILL) in the middle of traffic and comes back on the same port
// and data directory, appendonly with an fsync before every reply: while it is down every call fails with
// core.ErrStoreUnavailable and no IsRevoked passes a token, the stores recover by
// themselves, and no acknowledged revocation is lost.
func TestRedisRestart(t *testing.T) {
	ctx := context.Background()
	srv := ownServer(t, "appendfsync always")
	// Clients tuned to fail fast, as the README advises: go-redis's defaults retry
	// each command three times, each after five dials 100 ms apart.
	fast := func() *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, DialerRetries: 1, MaxRetries: 1})
		t.Cleanup(func() { c.Close() })
		return c
	}
	ca, cb := fast(), fast()
	prefix := redisstore.WithPrefix(uniquePrefix(t, ca))
	a := newStore(t, ca, prefix, redisstore.WithHealthCheck(200*time.Millisecond))
	b := newStore(t, cb, prefix, redisstore.WithHealthCheck(200*time.Millisecond))
	// Redis expires keys by its own clock: these must outlive the test.
	exp := time.Now().Add(time.Hour)

	// Before: sessions ended on A, revocations on A and B.
	for i := range 20 {
		sid := fmt.Sprintf("sid-%d", i)
		s := session(sid, "alice")
		s.AccessExpiresAt = exp
		must(t, a.CreateSession(ctx, s))
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
		down      atomic.Bool // Redis is stopped and B has noticed
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
	for _, s := range []*redisstore.Store{a, b} {
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

	srv.Kill()
	t.Log("redis-server killed")
	// Both instances notice the lost subscription at once (the socket closes) and
	// stop trusting their filters.
	waitFor(t, 5*time.Second, "both instances notice", func() bool {
		return !redisstore.FilterTrusted(a) && !redisstore.FilterTrusted(b)
	})
	down.Store(true)
	for _, s := range []*redisstore.Store{a, b} {
		for _, tc := range []struct {
			method string
			err    error
		}{
			{"RevokeToken", s.RevokeToken(ctx, "jti-down", exp)},
			{"IsRevoked", second(s.IsRevoked(ctx, "jti-a-1", ""))},
			{"IsRevoked miss", second(s.IsRevoked(ctx, "jti-never", "sid-never"))},
			{"CreateSession", s.CreateSession(ctx, session("sid-down", "alice"))},
			{"Session", second(s.Session(ctx, "sid-0"))},
			{"Sessions", second(s.Sessions(ctx, "alice"))},
			{"Rotate", second(s.Rotate(ctx, core.Rotation{SessionID: "sid-0", Presented: "sid-0.rt1", Now: future}))},
			{"EndSession", second(s.EndSession(ctx, "sid-0"))},
			{"EndSessions", second(s.EndSessions(ctx, "alice"))},
			{"LoadOrStoreKey", second(s.LoadOrStoreKey(ctx, "k", []byte("v")))},
			{"Purge", second(s.Purge(ctx, future))},
		} {
			if !errors.Is(tc.err, core.ErrStoreUnavailable) {
				t.Errorf("%s while Redis is down: %v, want %v", tc.method, tc.err, core.ErrStoreUnavailable)
			}
		}
	}
	time.Sleep(500 * time.Millisecond) // traffic against a dead Redis
	down.Store(false)

	must(t, srv.Restart())
	t.Log("redis-server restarted")
	waitFor(t, 10*time.Second, "both instances trust their filters again", func() bool {
		return redisstore.FilterTrusted(a) && redisstore.FilterTrusted(b)
	})
	time.Sleep(200 * time.Millisecond) // traffic against the restarted Redis
	close(stop)
	wg.Wait()
	if failed.Load() == 0 {
		t.Error("no RevokeToken failed while Redis was down: the test did not test")
	}
	if passes.Load() > 0 {
		t.Errorf("IsRevoked answered (false, nil) %d times while Redis was down", passes.Load())
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
	for _, s := range []*redisstore.Store{a, b} {
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
	}
	t.Logf("%d revocations acknowledged during the test, %d refused while Redis was down", len(acked), failed.Load())

	// The subscription works again: a new revocation on A reaches B's filter.
	start := time.Now()
	must(t, a.RevokeToken(ctx, "jti-after", exp))
	waitFor(t, 100*time.Millisecond, "a revocation after the restart reaches B", func() bool {
		ok, err := b.IsRevoked(ctx, "jti-after", "")
		return err == nil && ok
	})
	if !redisstore.FilterTrusted(b) {
		t.Error("B does not trust its filters after the restart")
	}
	t.Logf("first revocation after the restart enforced on B after %v", time.Since(start))
}

// second returns the error of a two-result call.
func second[T any](_ T, err error) error { return err }
