package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
)

// A revocation on one instance is enforced on another within 100 ms: the time from
// calling RevokeToken or EndSession on A until IsRevoked on B says so, B answering
// misses from its filters all along.
func TestPropagation(t *testing.T) {
	a, b := pair(t, shared(t))
	testPropagation(t, a, b)
}

func testPropagation(t *testing.T, a, b *redisstore.Store) {
	ctx := context.Background()
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
			// from running the goroutines that read the network.
			time.Sleep(50 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	if !redisstore.FilterTrusted(b) {
		t.Fatal("B stopped trusting its filters during the test: the answers did not come through them")
	}
	slices.Sort(lat)
	t.Logf("revoke on A → enforced on B, %d revocations: median %v, p99 %v, max %v",
		n, lat[n/2], lat[n*99/100], lat[n-1])
	if lat[n-1] > 100*time.Millisecond {
		t.Errorf("slowest propagation %v, want at most 100ms", lat[n-1])
	}
}

// EndSessions on one instance revokes every session it ends on another within 100 ms,
// B answering from its filters all along.
func TestPropagationEndSessions(t *testing.T) {
	a, b := pair(t, shared(t))
	testPropagationEndSessions(t, a, b)
}

func testPropagationEndSessions(t *testing.T, a, b *redisstore.Store) {
	ctx := context.Background()
	const n = 100
	for i := range n {
		must(t, a.CreateSession(ctx, session(fmt.Sprintf("sid-%d", i), "alice")))
	}
	must(t, a.CreateSession(ctx, session("sid-bob", "bob")))
	for i := range n {
		if ok, err := b.IsRevoked(ctx, "", fmt.Sprintf("sid-%d", i)); err != nil || ok {
			t.Fatalf("IsRevoked(sid-%d) on B before = %v, %v", i, ok, err)
		}
	}
	list, err := a.EndSessions(ctx, "alice")
	if err != nil || len(list) != n {
		t.Fatalf("EndSessions(alice) on A = %d sessions, %v; want %d", len(list), err, n)
	}
	// Propagation counts from the answer to A's caller, as a logout's does: the call
	// itself (a hundred sessions in one script) is not what travels to B.
	start := time.Now()
	for i := range n {
		sid := fmt.Sprintf("sid-%d", i)
		// A sees its own revocations at once.
		if ok, err := a.IsRevoked(ctx, "", sid); err != nil || !ok {
			t.Errorf("IsRevoked(%s) on A right after EndSessions = %v, %v", sid, ok, err)
		}
		for {
			ok, err := b.IsRevoked(ctx, "", sid)
			must(t, err)
			if ok {
				break
			}
			if time.Since(start) > time.Second {
				t.Fatalf("revocation of %s not seen on B within a second", sid)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	lat := time.Since(start)
	if !redisstore.FilterTrusted(b) {
		t.Fatal("B stopped trusting its filters during the test: the answers did not come through them")
	}
	if ok, err := b.IsRevoked(ctx, "", "sid-bob"); err != nil || ok {
		t.Errorf("IsRevoked(sid-bob) on B = %v, %v; want false", ok, err)
	}
	t.Logf("EndSessions of %d sessions on A → all enforced on B %v after it returned", n, lat)
	if lat > 100*time.Millisecond {
		t.Errorf("propagation took %v, want at most 100ms", lat)
	}
}

// A revocation published while an instance is not subscribed reaches it through the
// reload that follows its new subscription.
func TestReloadAfterLostSubscription(t *testing.T) {
	ctx := context.Background()
	srv := ownServer(t)
	admin := newClient(t, srv.Addr)
	a, b := pair(t, srv.Addr)
	for round := range 5 {
		gen := redisstore.Generation(b)
		// Both instances lose their subscription; the revocation is published to no
		// one.
		must(t, admin.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err())
		jti := fmt.Sprintf("jti-%d", round)
		must(t, a.RevokeToken(ctx, jti, future))
		waitFor(t, 5*time.Second, "B subscribed and loaded again", func() bool {
			return redisstore.Generation(b) >= gen+2 && redisstore.FilterTrusted(b)
		})
		if ok, err := b.IsRevoked(ctx, jti, ""); err != nil || !ok {
			t.Fatalf("round %d: IsRevoked on B after its reload = %v, %v; want true", round, ok, err)
		}
	}
}

// The context given to New bounds New only: the subscription outlives it.
func TestNewContextEnds(t *testing.T) {
	c := newClient(t, shared(t))
	prefix := redisstore.WithPrefix(uniquePrefix(t, c))
	a := newStore(t, c, prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	b, err := redisstore.New(ctx, newClient(t, shared(t)), prefix)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	must(t, a.RevokeToken(context.Background(), "jti-1", future))
	waitFor(t, 100*time.Millisecond, "B hears of the revocation", func() bool {
		ok, err := b.IsRevoked(context.Background(), "jti-1", "")
		return err == nil && ok
	})
}
