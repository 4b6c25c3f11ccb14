package redisstore_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/redis/go-redis/v9"
)

// A quiet subscription is kept by its pings, not mistaken for a lost one.
func TestQuietSubscriptionStaysTrusted(t *testing.T) {
	c := newClient(t, shared(t))
	s := newStore(t, c, redisstore.WithPrefix(uniquePrefix(t, c)), redisstore.WithHealthCheck(time.Second))
	gen := redisstore.Generation(s)
	// Three health checks without a message. The pong must come within one check: with
	// checks of 100 ms, a 2-core machine running the whole suite under -race missed it.
	time.Sleep(3500 * time.Millisecond)
	if g := redisstore.Generation(s); g != gen || !redisstore.FilterTrusted(s) {
		t.Errorf("after three and a half quiet seconds: generation %d → %d, trusted %v; want unchanged and trusted",
			gen, g, redisstore.FilterTrusted(s))
	}
}

// A network partition that closes nothing: the instance learns of it when its ping
// goes unanswered, stops trusting its filters, fails while the partition lasts (its
// client's timeouts end the call), and recovers after it, having missed nothing.
func TestSilentPartition(t *testing.T) {
	p := storetest.NewBlackhole(t, shared(t))
	const check = 50 * time.Millisecond
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), ReadTimeout: 200 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond, DialTimeout: 200 * time.Millisecond, DialerRetries: 1, MaxRetries: 1})
	t.Cleanup(func() { c.Close() })
	direct := newClient(t, shared(t))
	prefix := redisstore.WithPrefix(uniquePrefix(t, direct))
	storetest.RunSilentPartition(t, storetest.PartitionOptions{
		S:           newStore(t, c, prefix, redisstore.WithHealthCheck(check)),
		Other:       newStore(t, direct, prefix), // an instance on the right side
		Trusted:     trusted,
		Cut:         p.Pause,
		Heal:        p.Resume,
		HealthCheck: check,
	})
}
