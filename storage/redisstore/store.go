package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
// uses the same Redis database and prefix. Make one with New or Open; it is safe for
// concurrent use, and must be closed with Close.
type Store struct {
	rdb       *redis.Client
	ownClient bool          // Open made rdb, so Close closes it
	subc      *redis.Client // the subscription's own client (see newSubscriber)
	opts      options
	keys      keyspace
	channel   string

	// The revocation filters, one per kind, so that a revoked jti never matches a
	// session id. IsRevoked trusts them only while sub says so.
	tokens, sessions *revfilter.Set
	sub              subscription

	closed atomic.Bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var (
	_ core.Store    = (*Store)(nil)
	_ core.Migrator = (*Store)(nil)
)

// New returns a store that keeps its data in the Redis database client talks to.
// client must reach one Redis server, directly or through Sentinel
// (redis.NewFailoverClient); Redis Cluster is not supported, nor is client-side
// caching, which could answer IsRevoked from a stale cache. Close does not close
// client: the caller still owns it. The subscription runs on a connection of its own,
// made with client's options.
//
// New checks that Redis evicts no keys (see the package doc and InsecureAllowEviction),
// subscribes to the store's revocation channel and loads the revocation filters. It
// fails with an error matching core.ErrConfig for a configuration it refuses, and
// core.ErrStoreUnavailable when Redis cannot be reached.
func New(ctx context.Context, client *redis.Client, opts ...Option) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: redisstore: nil client", core.ErrConfig)
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o := client.Options(); o.ClientSideCacheConfig != nil || o.ClientSideCache != nil {
		return nil, fmt.Errorf("%w: redisstore: the client has client-side caching on, "+
			"which can answer revocation checks from a stale cache; pass a client without it", core.ErrConfig)
	}
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, failed("New", err)
	}
	if err := checkEviction(ctx, client, o); err != nil {
		return nil, err
	}
	s := &Store{
		rdb:      client,
		opts:     o,
		keys:     keyspace{prefix: o.prefix},
		channel:  o.prefix + "revoked@" + strconv.Itoa(client.Options().DB),
		tokens:   revfilter.NewSet(minFilter, o.fpRate),
		sessions: revfilter.NewSet(minFilter, o.fpRate),
	}
	s.sub.init()
	s.subc = newSubscriber(client, s.subscriptionDialed)
	if err := s.start(ctx); err != nil {
		_ = s.subc.Close()
		return nil, err
	}
	return s, nil
}

// Open connects to the Redis named by url (redis://[user:password@]host:port/db, or
// rediss:// for TLS; see redis.ParseURL) and returns New's store over that connection.
// Close closes the connection.
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

// checkEviction refuses a Redis that may evict keys, unless the options allow it.
func checkEviction(ctx context.Context, client *redis.Client, o options) error {
	if o.skipEviction {
		return nil
	}
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
		return fmt.Errorf("%w: it is %q, which lets Redis delete revocations before they expire "+
			"and so accept revoked tokens again; set maxmemory-policy noeviction, "+
			"or pass redisstore.InsecureAllowEviction() to accept that", ErrEvictionPolicy, policy)
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
	_ = s.subc.Close()
	if s.ownClient {
		if err := s.rdb.Close(); err != nil {
			return failed("Close", err)
		}
	}
	return nil
}

// keyspace names the keys of one prefix:
//
//	<p>rt:<jti>   revoked token: its expiry; EXAT the expiry
//	<p>rs:<sid>   revoked session: its expiry; EXAT the expiry
//	<p>s:<sid>    session: a hash (see encodeSession); EXPIREAT its PurgeAt
//	<p>u:<sub>    the subject's sessions: sorted set of ids by PurgeAt second
//	<p>xr         revocations by expiry second: members t:<jti> and s:<sid>
//	<p>xs         sessions by PurgeAt second
//	<p>k:<name>   a key: its value, no expiry
//	<p>c:<id>     consumed one-time id: its expiry; EXAT the expiry
//	<p>xc         consumed ids by expiry second
//
// Every key but the k: ones expires: entries with their expiry, indexes a second after
// their latest member.
type keyspace struct{ prefix string }

func (k keyspace) token(jti string) string          { return k.prefix + "rt:" + jti }
func (k keyspace) revokedSession(sid string) string { return k.prefix + "rs:" + sid }
func (k keyspace) session(sid string) string        { return k.prefix + "s:" + sid }
func (k keyspace) subject(sub string) string        { return k.prefix + "u:" + sub }
func (k keyspace) revocations() string              { return k.prefix + "xr" }
func (k keyspace) sessionIndex() string             { return k.prefix + "xs" }
func (k keyspace) key(name string) string           { return k.prefix + "k:" + name }
func (k keyspace) consumed(id string) string        { return k.prefix + "c:" + id }
func (k keyspace) consumedIndex() string            { return k.prefix + "xc" }

// match is the SCAN pattern of the keys that start with the prefix and then with tail,
// itself a pattern.
func (k keyspace) match(tail string) string {
	var b strings.Builder
	for _, r := range k.prefix {
		if strings.ContainsRune(`*?[]\^-`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String() + tail
}

// encodeTime writes t as "<unix seconds>.<nanoseconds, nine digits>", the form the
// scripts compare exactly.
func encodeTime(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + "." + fmt.Sprintf("%09d", t.Nanosecond())
}

// zeroTime is encodeTime(time.Time{}).
const zeroTime = "-62135596800.000000000"

func decodeTime(v string) (time.Time, error) {
	sec, nsec, ok := strings.Cut(v, ".")
	if !ok || len(nsec) != 9 {
		return time.Time{}, fmt.Errorf("redisstore: bad time %q", v)
	}
	s, err1 := strconv.ParseInt(sec, 10, 64)
	n, err2 := strconv.ParseInt(nsec, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, fmt.Errorf("redisstore: bad time %q", v)
	}
	return time.Unix(s, n).UTC(), nil
}
