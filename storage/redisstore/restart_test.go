package redisstore_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/redis/go-redis/v9"
)

// Redis crashes (SIGKILL) in the middle of traffic and comes back on the same port
// and data directory, appendonly with an fsync before every reply: while it is down every call fails with
// core.ErrStoreUnavailable and no IsRevoked passes a token, the stores recover by
// themselves, and no acknowledged revocation is lost.
func TestRedisRestart(t *testing.T) {
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
	storetest.RunRestart(t, storetest.RestartOptions{
		A:       newStore(t, ca, prefix, redisstore.WithHealthCheck(200*time.Millisecond)),
		B:       newStore(t, cb, prefix, redisstore.WithHealthCheck(200*time.Millisecond)),
		Backend: "Redis",
		Trusted: trusted,
		// Both instances notice the lost subscription at once: the socket closes.
		Stop:    func(t *testing.T) { srv.Kill() },
		Start:   func(t *testing.T) { must(t, srv.Restart()) },
		Recover: 10 * time.Second,
	})
}

// trusted is redisstore.FilterTrusted of a core.Store.
func trusted(s core.Store) bool { return redisstore.FilterTrusted(s.(*redisstore.Store)) }
