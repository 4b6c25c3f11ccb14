package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
)

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
		storetest.WaitFor(t, 5*time.Second, "B subscribed and loaded again", func() bool {
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
	storetest.WaitFor(t, 100*time.Millisecond, "B hears of the revocation", func() bool {
		ok, err := b.IsRevoked(context.Background(), "jti-1", "")
		return err == nil && ok
	})
}
