package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/revfilter"
	"github.com/redis/go-redis/v9"
)

// Errors of this store.
var (
	// ErrEvictionPolicy is returned by New when Redis may evict keys, or when the store
	// cannot read the policy. It matches core.ErrConfig.
	ErrEvictionPolicy = fmt.Errorf("%w: redisstore: maxmemory-policy is not noeviction", core.ErrConfig)
	// ErrSessionExists is returned by CreateSession for an id already stored. It
	// matches core.ErrStoreUnavailable, as boltstore's does: the caller made a fresh
	// random id, and a retry makes another.
	ErrSessionExists = fmt.Errorf("%w: redisstore: session id already exists", core.ErrStoreUnavailable)
)

// failed wraps a failure of op so that it matches core.ErrStoreUnavailable and err.
func failed(op string, err error) error {
	if errors.Is(err, core.ErrStoreUnavailable) {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return fmt.Errorf("%w: redisstore: %s: %w", core.ErrStoreUnavailable, op, err)
}

func closedError(op string) error { return fmt.Errorf("redisstore: %s: %w", op, core.ErrStoreClosed) }

// Store is a core.Store in Redis, shared by every instance of an application that
// uses the same Redis database (or Redis Cluster) and prefix. Make one with New or
// Open; it is safe for concurrent use, and must be closed with Close.
type Store struct {
	rdb       redis.UniversalClient
	cluster   *redis.ClusterClient // rdb, when it is a cluster client
	ownClient bool                 // Open made rdb, so Close closes it
	opts      options
	keys      keyspace
	channel   string

	// The revocation filters, one per kind, so that a revoked jti never matches a
	// session id. IsRevoked trusts them only while sub says so.
	tokens, sessions *revfilter.Set
	sub              subscription
	subs             subscribers

	closed atomic.Bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var (
	_ core.Store    = (*Store)(nil)
	_ core.Migrator = (*Store)(nil)
)

// New returns a store that keeps its data in the Redis client talks to: a
// *redis.Client reaching one Redis server, directly or through Sentinel
// (redis.NewFailoverClient), or a *redis.ClusterClient reaching a Redis Cluster
// (redis.NewClusterClient, or redis.NewFailoverClusterClient). A redis.Ring is
// refused, and so are client-side caching, which could answer IsRevoked from a stale
// cache, and a cluster client that reads from replicas (ReadOnly, RouteByLatency,
// RouteRandomly), which could answer IsRevoked before a revocation reached them.
// Close does not close client: the caller still owns it. The subscription runs on
// connections of its own, made with client's options: one to the server, or one to
// each master of the cluster.
//
// New checks that Redis evicts no keys (on a cluster, every node: see the package doc
// and InsecureAllowEviction), subscribes to the store's revocation channel and loads
// the revocation filters. It fails with an error matching core.ErrConfig for a
// configuration it refuses, and core.ErrStoreUnavailable when Redis cannot be reached.
func New(ctx context.Context, client redis.UniversalClient, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	s := &Store{
		rdb:      client,
		opts:     o,
		keys:     keyspace{prefix: o.prefix},
		tokens:   revfilter.NewSet(minFilter, o.fpRate),
		sessions: revfilter.NewSet(minFilter, o.fpRate),
	}
	switch c := client.(type) {
	case *redis.Client:
		if c == nil {
			return nil, fmt.Errorf("%w: redisstore: nil client", core.ErrConfig)
		}
		if o := c.Options(); o.ClientSideCacheConfig != nil || o.ClientSideCache != nil {
			return nil, fmt.Errorf("%w: redisstore: the client has client-side caching on, "+
				"which can answer revocation checks from a stale cache; pass a client without it", core.ErrConfig)
		}
		s.channel = o.prefix + "revoked@" + strconv.Itoa(c.Options().DB)
	case *redis.ClusterClient:
		if c == nil {
			return nil, fmt.Errorf("%w: redisstore: nil client", core.ErrConfig)
		}
		if co := c.Options(); co.ReadOnly || co.RouteByLatency || co.RouteRandomly {
			return nil, fmt.Errorf("%w: redisstore: the cluster client reads from replicas (ReadOnly, RouteByLatency "+
				"or RouteRandomly), which can answer revocation checks before a revocation reaches them; "+
				"pass a client that reads from masters", core.ErrConfig)
		}
		s.cluster = c
		s.channel = o.prefix + "revoked@0" // a cluster has database 0 only
	case nil:
		return nil, fmt.Errorf("%w: redisstore: nil client", core.ErrConfig)
	default:
		return nil, fmt.Errorf("%w: redisstore: a %T is not supported: pass a *redis.Client "+
			"(one server, or Sentinel) or a *redis.ClusterClient", core.ErrConfig, client)
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, failed("New", err)
	}
	if err := s.checkEviction(ctx); err != nil {
		return nil, err
	}
	s.sub.Feed = revfilter.NewFeed()
	s.subs.init(s.subscriptionDialed)
	if err := s.start(ctx); err != nil {
		s.subs.closeAll()
		return nil, err
	}
	return s, nil
}

// Open connects to the Redis named by url (redis://[user:password@]host:port/db, or
// rediss:// for TLS; see redis.ParseURL) and returns New's store over that connection.
// Close closes the connection. For a Redis Cluster, pass New a redis.ClusterClient, or
// open a redis+cluster:// URL with storeurl.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("%w: redisstore: %w", core.ErrConfig, err)
	}
	client := redis.NewClient(ro)
	s, err := New(ctx, client, opts...)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	s.ownClient = true
	return s, nil
}

// checkEviction refuses a Redis that may evict keys, unless the options allow it. On
// a cluster it asks every node, replicas included: a replica becomes a master when
// its master fails.
func (s *Store) checkEviction(ctx context.Context) error {
	if s.opts.skipEviction {
		return nil
	}
	if s.cluster == nil {
		return checkNodeEviction(ctx, s.rdb.(*redis.Client), s.opts)
	}
	var (
		mu    sync.Mutex
		first error
	)
	err := s.cluster.ForEachShard(ctx, func(ctx context.Context, node *redis.Client) error {
		err := checkNodeEviction(ctx, node, s.opts)
		if err != nil {
			mu.Lock()
			defer mu.Unlock()
			// A refusal says more than a failure to ask.
			if first == nil || errors.Is(err, ErrEvictionPolicy) && !errors.Is(first, ErrEvictionPolicy) {
				first = err
			}
		}
		return err
	})
	switch {
	case first != nil:
		return first
	case err != nil:
		return failed("New", err)
	}
	return nil
}

// checkNodeEviction refuses a Redis server that may evict keys, unless the options
// allow it.
func checkNodeEviction(ctx context.Context, client *redis.Client, o options) error {
	m, err := client.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		var rerr redis.Error
		if !errors.As(err, &rerr) {
			return failed("New", err)
		}
		return fmt.Errorf("%w: CONFIG GET maxmemory-policy failed (%w); "+
			"managed Redis services often disable CONFIG: check that the policy is noeviction "+
			"and pass redisstore.InsecureSkipEvictionCheck()", ErrEvictionPolicy, err)
	}
	policy, ok := m["maxmemory-policy"]
	switch {
	case ok && policy == "noeviction":
		return nil
	case o.allowEviction:
		return nil
	case !ok:
		return fmt.Errorf("%w: CONFIG GET maxmemory-policy returned nothing; "+
			"check that the policy is noeviction and pass redisstore.InsecureSkipEvictionCheck()", ErrEvictionPolicy)
	default:
		where := ""
		if addr := client.Options().Addr; addr != "" {
			where = " on " + addr
		}
		return fmt.Errorf("%w: it is %q%s, which lets Redis delete revocations before they expire "+
			"and so accept revoked tokens again; set maxmemory-policy noeviction, "+
			"or pass redisstore.InsecureAllowEviction() to accept that", ErrEvictionPolicy, policy, where)
	}
}

// Close stops the subscription and, for a store made by Open, closes the connection.
// Calls after Close return core.ErrStoreClosed.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return closedError("Close")
	}
	s.cancel()
	s.sub.close()
	s.wg.Wait()
	s.subs.closeAll()
	if s.ownClient {
		if err := s.rdb.Close(); err != nil {
			return failed("Close", err)
		}
	}
	return nil
}

// call is one run of a script: its keys and arguments.
type call struct {
	keys []string
	args []any
}

// runAll runs script once per call in one pipeline (on a cluster, one per master, at
// once) and returns each run's command, which holds its own reply or error. Runs that
// a server refuses for not holding the script (NOSCRIPT: after a restart, or on a
// replica promoted to master) are sent again once the script is loaded on every
// master.
func (s *Store) runAll(ctx context.Context, script *redis.Script, calls []call) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	todo := make([]int, len(calls))
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; len(todo) > 0; attempt++ {
		pipe := s.rdb.Pipeline()
		for _, i := range todo {
			cmds[i] = script.EvalSha(ctx, pipe, calls[i].keys, calls[i].args...)
		}
		_, _ = pipe.Exec(ctx) // each command's error is looked at below
		var again []int
		for _, i := range todo {
			if err := cmds[i].Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
				again = append(again, i)
			}
		}
		if len(again) == 0 || attempt == 1 {
			break
		}
		if err := s.loadScript(ctx, script); err != nil {
			for _, i := range again {
				cmds[i].SetErr(err)
			}
			break
		}
		todo = again
	}
	return cmds
}

// loadScript loads script on the Redis, or on every master of the cluster.
func (s *Store) loadScript(ctx context.Context, script *redis.Script) error {
	if s.cluster == nil {
		return script.Load(ctx, s.rdb).Err()
	}
	return s.cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		return script.Load(ctx, c).Err()
	})
}
