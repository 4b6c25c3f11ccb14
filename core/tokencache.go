package core

import (
	"fmt"
	"hash/maphash"
	"sync"
	"time"
)

// DefaultTokenCache is how many verified access tokens Authenticate remembers unless
// WithTokenCache says otherwise.
const DefaultTokenCache = 10_000

// WithTokenCache sets how many verified access tokens Authenticate remembers (default
// DefaultTokenCache). A client sends the same access token with every request for its
// whole lifetime; once one has been verified, its signature and claims are not checked
// again: a request with it costs a map look-up, the exp check and the revocation check,
// which still runs every time. An entry is found by a hash of the token and holds the
// whole token, compared in full (two tokens never share an entry), never outlives the
// token's exp, and is dropped when the keys change (a scheduled rotation). The memory bound is about n times the size of a token and its
// claims.
func WithTokenCache(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: token cache of %d: want 1 or more (WithoutTokenCache turns it off)", ErrConfig, n)
		}
		c.tokenCache = n
		return nil
	}
}

// WithoutTokenCache makes Authenticate verify every token in full, every time.
func WithoutTokenCache() Option {
	return func(c *config) error {
		c.tokenCache = -1
		return nil
	}
}

// cacheShards spreads the cache over locks, so that concurrent requests rarely wait.
const cacheShards = 32

// tokenCache remembers verified access tokens. An entry is found by a 64-bit hash of
// its token (one hash per request, and a map the collector need not read the keys of)
// and holds the token itself, compared in full: two tokens with one hash never share
// an entry's claims; the later one takes the entry.
type tokenCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu    sync.RWMutex
	items map[uint64]*cached
	order []uint64 // the hashes in insertion order, a ring of len max
	next  int      // where the next hash goes in order
}

// cached is one verified token: the token, its claims, until when they hold (exp plus
// leeway), and the keys it was verified with.
type cached struct {
	token  string
	claims Claims
	until  time.Time
	keys   *keyset
}

func newTokenCache(n int) *tokenCache {
	c := &tokenCache{seed: maphash.MakeSeed()}
	per := max(1, (n+cacheShards-1)/cacheShards)
	for i := range c.shards {
		c.shards[i] = cacheShard{items: make(map[uint64]*cached, per), order: make([]uint64, per)}
	}
	return c
}

// get returns the claims of a token verified with keys and still before its exp at now,
// and the token's hash, for put.
func (c *tokenCache) get(token string, keys *keyset, now time.Time) (*Claims, uint64, bool) {
	if c == nil {
		return nil, 0, false
	}
	h := maphash.String(c.seed, token)
	s := &c.shards[h%cacheShards]
	s.mu.RLock()
	e := s.items[h]
	s.mu.RUnlock()
	if e == nil || e.token != token || e.keys != keys || !now.Before(e.until) {
		return nil, h, false
	}
	return &e.claims, h, true
}

// put remembers a verified token of hash h (from get) in the place of the shard's
// oldest: a ring, so the bound holds whatever the traffic and a miss costs the same when
// the cache is full. The cache keeps token: a token in a framework's buffer (see
// transientHeaders) must be copied first.
func (c *tokenCache) put(h uint64, token string, e *cached) {
	e.token = token
	s := &c.shards[h%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.items[h]; ok {
		s.items[h] = e
		return
	}
	delete(s.items, s.order[s.next]) // a slot not yet used holds 0: at worst an early eviction
	s.order[s.next] = h
	s.next = (s.next + 1) % len(s.order)
	s.items[h] = e
}
