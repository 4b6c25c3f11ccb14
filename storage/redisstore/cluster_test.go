package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore/redistest"
	"github.com/redis/go-redis/v9"
)

// The cluster tests run against a real Redis Cluster of three masters, started the
// first time a test asks for it (sharedCluster) and shared by the tests that do not
// stop nodes; those start their own.

var (
	clusterOnce sync.Once
	clusterSrv  *redistest.Cluster
	clusterErr  error
)

// sharedCluster returns the addresses of the masters of the cluster most cluster
// tests use, or skips t (fails it when CI is set) without redis-server or redis-cli.
func sharedCluster(t testing.TB) []string {
	t.Helper()
	clusterOnce.Do(func() { clusterSrv, clusterErr = redistest.LaunchCluster(3, persistent...) })
	switch {
	case errors.Is(clusterErr, redistest.ErrMissing):
		redistest.SkipOrFail(t, missingServer)
	case errors.Is(clusterErr, redistest.ErrMissingCLI):
		redistest.SkipOrFail(t, redistest.MissingCLI)
	case clusterErr != nil:
		t.Fatal(clusterErr)
	}
	return clusterSrv.Addrs()
}

func closeSharedCluster() {
	if clusterSrv != nil {
		clusterSrv.Close()
	}
}

// newClusterClient returns a client of the cluster of addrs that t closes when it
// ends, with tune applied to its options.
func newClusterClient(t testing.TB, addrs []string, tune ...func(*redis.ClusterOptions)) *redis.ClusterClient {
	t.Helper()
	o := &redis.ClusterOptions{Addrs: addrs}
	for _, f := range tune {
		f(o)
	}
	c := redis.NewClusterClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// clusterPair returns two stores of one prefix on the cluster of addrs, each with its
// own client: two instances of one application.
func clusterPair(t *testing.T, addrs []string, opts ...redisstore.Option) (a, b *redisstore.Store) {
	t.Helper()
	ca, cb := newClusterClient(t, addrs), newClusterClient(t, addrs)
	opts = append([]redisstore.Option{redisstore.WithPrefix(uniquePrefix(t, ca))}, opts...)
	return newStore(t, ca, opts...), newStore(t, cb, opts...)
}

func TestClusterConformance(t *testing.T) {
	addrs := sharedCluster(t)
	storetest.Run(t, func(t *testing.T) core.Store {
		c := newClusterClient(t, addrs)
		s, err := redisstore.New(context.Background(), c, redisstore.WithPrefix(uniquePrefix(t, c)))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	})
}

// TestClusterShared runs the two-instance suite on two stores of one prefix on the
// cluster, each with its own cluster client.
func TestClusterShared(t *testing.T) {
	addrs := sharedCluster(t)
	runShared(t, func(t *testing.T) (a, b *redisstore.Store) { return clusterPair(t, addrs) })
}

// The store's keys spread over every master, and Purge finds them on all of them.
func TestClusterSpreadsKeys(t *testing.T) {
	ctx := context.Background()
	c := newClusterClient(t, sharedCluster(t))
	prefix := uniquePrefix(t, c)
	s := newStore(t, c, redisstore.WithPrefix(prefix))
	for i := range 200 {
		must(t, s.RevokeToken(ctx, fmt.Sprintf("jti-%d", i), future))
		if ok, err := s.Consume(ctx, fmt.Sprintf("state:%d", i), future); err != nil || !ok {
			t.Fatalf("Consume = %v, %v", ok, err)
		}
	}
	for i := range 50 {
		sid := fmt.Sprintf("sid-%d", i)
		must(t, s.CreateSession(ctx, session(sid, fmt.Sprintf("user-%d", i%7))))
		if i%2 == 0 {
			_, err := s.EndSession(ctx, sid)
			must(t, err)
		}
	}
	var (
		mu     sync.Mutex
		counts = map[string]int{}
	)
	must(t, c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		n := 0
		iter := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			n++
		}
		mu.Lock()
		defer mu.Unlock()
		counts[node.Options().Addr] = n
		return iter.Err()
	}))
	if len(counts) != 3 {
		t.Fatalf("keys on %d masters, want 3: %v", len(counts), counts)
	}
	for addr, n := range counts {
		if n < 100 {
			t.Errorf("%d keys on %s, want a third of them at least roughly: %v", n, addr, counts)
		}
	}
	t.Logf("keys per master: %v", counts)
	for i := range 50 {
		if ok, err := s.IsRevoked(ctx, fmt.Sprintf("jti-%d", i), fmt.Sprintf("sid-%d", i)); err != nil || !ok {
			t.Errorf("IsRevoked(jti-%d, sid-%d) = %v, %v", i, i, ok, err)
		}
	}
	// 200 revoked tokens, 25 revoked sessions, 25 sessions and 200 consumed ids.
	if n, err := s.Purge(ctx, future.Add(100*365*24*time.Hour)); err != nil || n != 450 {
		t.Errorf("Purge = %d, %v; want 450", n, err)
	}
	for i := range 7 {
		if list, err := s.Sessions(ctx, fmt.Sprintf("user-%d", i)); err != nil || len(list) != 0 {
			t.Errorf("Sessions(user-%d) after Purge = %d sessions, %v", i, len(list), err)
		}
	}
}

// A revocation published while an instance is not subscribed reaches it through the
// reload that follows its new subscriptions, on every master.
func TestClusterReloadAfterLostSubscription(t *testing.T) {
	ctx := context.Background()
	addrs := sharedCluster(t)
	a, b := clusterPair(t, addrs)
	for round := range 3 {
		gen := redisstore.Generation(b)
		// One master drops every subscription: the store subscribes on all of them again.
		victim := addrs[round%len(addrs)]
		node := redis.NewClient(&redis.Options{Addr: victim})
		must(t, node.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err())
		node.Close()
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

func TestClusterNewRefuses(t *testing.T) {
	ctx := context.Background()
	addrs := sharedCluster(t)
	t.Run("replica reads", func(t *testing.T) {
		for _, tune := range []func(*redis.ClusterOptions){
			func(o *redis.ClusterOptions) { o.ReadOnly = true },
			func(o *redis.ClusterOptions) { o.RouteByLatency = true },
			func(o *redis.ClusterOptions) { o.RouteRandomly = true },
		} {
			if _, err := redisstore.New(ctx, newClusterClient(t, addrs, tune)); !errors.Is(err, core.ErrConfig) {
				t.Errorf("New with a client reading from replicas = %v, want %v", err, core.ErrConfig)
			}
		}
	})
	t.Run("ring", func(t *testing.T) {
		r := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": addrs[0]}})
		defer r.Close()
		if _, err := redisstore.New(ctx, r); !errors.Is(err, core.ErrConfig) || !strings.Contains(err.Error(), "Ring") {
			t.Errorf("New with a Ring = %v, want %v naming it", err, core.ErrConfig)
		}
	})
	t.Run("brace in the prefix", func(t *testing.T) {
		_, err := redisstore.New(ctx, newClusterClient(t, addrs), redisstore.WithPrefix("{app}:"))
		if !errors.Is(err, core.ErrConfig) {
			t.Errorf("New with prefix {app}: = %v, want %v", err, core.ErrConfig)
		}
	})
	t.Run("one master evicts", func(t *testing.T) {
		node := redis.NewClient(&redis.Options{Addr: addrs[2]})
		defer node.Close()
		must(t, node.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err())
		t.Cleanup(func() { node.ConfigSet(ctx, "maxmemory-policy", "noeviction") })
		c := newClusterClient(t, addrs)
		_, err := redisstore.New(ctx, c)
		if !errors.Is(err, redisstore.ErrEvictionPolicy) || !strings.Contains(err.Error(), "allkeys-lru") ||
			!strings.Contains(err.Error(), addrs[2]) {
			t.Fatalf("New with allkeys-lru on %s = %v, want %v naming the policy and the node", addrs[2], err, redisstore.ErrEvictionPolicy)
		}
		newStore(t, c, redisstore.WithPrefix(uniquePrefix(t, c)), redisstore.InsecureAllowEviction()).Close()
	})
}

// A master of the cluster crashes (SIGKILL) in the middle of traffic and comes back on
// the same port, directory and node id, appendonly with an fsync before every reply:
// the instances stop trusting their filters at once, no IsRevoked or Authenticate ever
// passes a revoked token or answers for an id it cannot see, the whole cluster
// answers 503 once it has marked the master failed, and after the restart the
// instances recover by themselves with no acknowledged revocation lost.
func TestClusterMasterKilled(t *testing.T) {
	ctx := context.Background()
	cl := redistest.StartCluster(t, 3, "appendonly yes", "appendfsync always", "cluster-node-timeout 2000")
	// Clients tuned to fail fast: go-redis's defaults try each command on up to four
	// nodes, each time with retries after backoffs, and each dial five times.
	fast := func(o *redis.ClusterOptions) { o.DialerRetries, o.MaxRetries, o.MaxRedirects = 1, -1, 1 }
	ca, cb := newClusterClient(t, cl.Addrs(), fast), newClusterClient(t, cl.Addrs(), fast)
	prefix := uniquePrefix(t, ca)
	a := newStore(t, ca, redisstore.WithPrefix(prefix), redisstore.WithHealthCheck(200*time.Millisecond))
	b := newStore(t, cb, redisstore.WithPrefix(prefix), redisstore.WithHealthCheck(200*time.Millisecond))
	exp := time.Now().Add(time.Hour) // Redis expires keys by its own clock
	victim := cl.Servers[1]
	onVictim := func(key string) bool {
		node, err := ca.MasterForKey(ctx, key)
		must(t, err)
		return node.Options().Addr == victim.Addr
	}

	// Before: revocations on A, with ids on every master, besides those RunRestart
	// makes.
	var revoked []string
	var revokedHere, freeHere []string // token ids whose key lies on the victim
	for i := range 100 {
		jti := fmt.Sprintf("jti-c-%d", i)
		must(t, a.RevokeToken(ctx, jti, exp))
		revoked = append(revoked, jti)
		if onVictim(prefix + tagged("rt:", jti)) {
			revokedHere = append(revokedHere, jti)
		}
		if free := fmt.Sprintf("free-%d", i); onVictim(prefix + tagged("rt:", free)) {
			freeHere = append(freeHere, free)
		}
	}
	if len(revokedHere) == 0 || len(freeHere) == 0 {
		t.Fatal("no id lies on the master to kill")
	}

	// An id whose key lies on the dead master is never answered.
	checkDown := func(t *testing.T, when string) {
		for _, s := range []*redisstore.Store{a, b} {
			for _, jti := range revokedHere {
				if ok, err := s.IsRevoked(ctx, jti, ""); !errors.Is(err, core.ErrStoreUnavailable) {
					t.Errorf("%s: IsRevoked(%s), revoked on the dead master = %v, %v; want %v", when, jti, ok, err, core.ErrStoreUnavailable)
				}
			}
			for _, id := range freeHere {
				if ok, err := s.IsRevoked(ctx, id, ""); !errors.Is(err, core.ErrStoreUnavailable) {
					t.Errorf("%s: IsRevoked(%s), on the dead master = %v, %v; want %v", when, id, ok, err, core.ErrStoreUnavailable)
				}
			}
		}
	}
	var killed time.Time
	storetest.RunRestart(t, storetest.RestartOptions{
		A: a, B: b,
		Backend: "the master",
		Trusted: trusted,
		// Both instances lose their subscription on the victim at once.
		Stop: func(t *testing.T) {
			victim.Kill()
			killed = time.Now()
			t.Logf("master %s killed", victim.Addr)
		},
		// Once the cluster has marked the master failed, it refuses everything: every
		// Authenticate is a 503, even of tokens whose ids lie on the live masters.
		Down: func(t *testing.T) {
			checkDown(t, "master down")
			var live []*redis.Client
			for _, srv := range cl.Servers {
				if srv != victim {
					c := redis.NewClient(&redis.Options{Addr: srv.Addr})
					defer c.Close()
					live = append(live, c)
				}
			}
			storetest.WaitFor(t, 30*time.Second, "the cluster marks the master failed", func() bool {
				for _, c := range live {
					info, err := c.ClusterInfo(ctx).Result()
					if err != nil || !strings.Contains(info, "cluster_state:fail") {
						return false
					}
				}
				return true
			})
			t.Logf("cluster failed after %v", time.Since(killed))
			checkDown(t, "cluster failed")
		},
		Start: func(t *testing.T) {
			must(t, victim.Restart())
			t.Logf("master %s restarted after %v", victim.Addr, time.Since(killed))
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			must(t, cl.WaitOK(wctx))
			t.Logf("cluster ok after %v", time.Since(killed))
		},
		Recover: 20 * time.Second,
	})

	// Nothing was lost on the victim, and nothing made up.
	for _, s := range []*redisstore.Store{a, b} {
		for _, jti := range revoked {
			if ok, err := s.IsRevoked(ctx, jti, ""); err != nil || !ok {
				t.Fatalf("IsRevoked(%s) after the restart = %v, %v", jti, ok, err)
			}
		}
		for _, id := range freeHere {
			if ok, err := s.IsRevoked(ctx, id, ""); err != nil || ok {
				t.Errorf("IsRevoked(%s) after the restart = %v, %v; want false", id, ok, err)
			}
		}
	}
}
