// Package redisstore is a core.Store in Redis, for an application that runs several
// instances: they share sessions, keys and revocations, and a logout on one is
// enforced on all the others within milliseconds.
//
// # Use
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	store, err := redisstore.New(ctx, client, redisstore.WithPrefix("myapp:"))
//	...
//	auth, err := core.New(store, opts...)
//
// or, from a URL, with a connection the store owns: redisstore.Open(ctx,
// "redis://127.0.0.1:6379/0"). The client must reach one Redis server, directly or
// through Sentinel; Redis Cluster is not supported (the scripts touch keys of several
// hash slots). It needs Redis 6.2 or later (SET … EXAT); the tests run against 7.0.
//
// # Keys
//
// Every key starts with the prefix (WithPrefix, default "gatehouse:"), so several
// applications can share one Redis; prefixes must not start with one another.
//
//	rt:<jti>  rs:<sid>  a revoked token or session: its exact expiry; EXAT the expiry, rounded up to the second
//	s:<sid>             a session (a hash); EXPIREAT its PurgeAt
//	u:<subject>         the subject's session ids, by PurgeAt
//	xr  xs              revocations and sessions by expiry, for Purge
//	k:<name>            a key of LoadOrStoreKey
//	c:<id>              a consumed sign-in state (Consume): its exact expiry; EXAT the expiry, rounded up
//	xc                  consumed ids by expiry, for Purge
//
// Every key but the k: ones has an expiry: entries expire with what they record, and
// the indexes lose their dead members at each write and expire a second after their
// last live one, so nothing grows without bound even if Purge is never called. Keys
// never expire. Writes that must be atomic (RevokeToken, CreateSession, Rotate,
// EndSession, EndSessions, LoadOrStoreKey, Consume, Import, each step of Purge) are one
// Lua script each, atomic across every instance; of 50 concurrent rotations of one
// refresh token on two instances exactly one wins, and of 50 concurrent Consume calls
// of one sign-in state exactly one gets true. Consumed states are not revocations: they are not
// published, never enter the filters, and are not exported.
//
// # The revocation filter
//
// IsRevoked runs on every request, and its common answer, not revoked, comes from
// memory: each Store keeps two revfilter Sets (token ids and session ids) holding
// every revoked id. It loads them by SCAN when it starts and keeps them current from a
// pub/sub channel (the prefix plus "revoked@<db>") on which every revocation is
// published by the script that writes it. An id the filters rule out costs about
// 40 ns and no round trip; an id they may hold (a revoked one, or about one in a
// thousand others, see WithFilterFPRate) costs one EXISTS.
//
// The filters are trusted only while the subscription is up and they have been loaded
// since it was last confirmed. The subscription runs on a connection of its own; the
// store hears at once when that connection is lost (it watches every dial go-redis
// makes for it, including go-redis's silent reconnections), pings Redis over it when
// it has been silent for WithHealthCheck, and subscribes again after any failure. From
// the loss until the next confirmation and reload, every IsRevoked asks Redis, and
// fails with core.ErrStoreUnavailable if Redis does: it never answers from filters
// that may have missed a message. After the new subscription is confirmed the store
// reloads the filters by SCAN, so a revocation published while it was not listening
// is read from Redis.
//
// What the filters guarantee: a revocation written by this instance is in its filters
// when the call returns; one written by another instance is in them as soon as its
// message arrives (about half a millisecond on a local network), or in the reload
// after a lost subscription. What they do not: in the time between a connection
// failing and the store learning of it, messages published meanwhile are missed and
// misses are still answered from memory. A closed connection is learnt of at once; one
// that fails silently (a network partition between this instance and Redis, while
// other instances still reach it) only when a ping goes unanswered, up to twice
// WithHealthCheck (2 s by default).
//
// # Eviction and persistence
//
// Redis under memory pressure evicts keys if its maxmemory-policy lets it, and an
// evicted revocation is a revoked token accepted again. New reads the policy with
// CONFIG GET and refuses anything but noeviction, with ErrEvictionPolicy (which
// matches core.ErrConfig), unless InsecureAllowEviction is given. Where CONFIG is
// disabled, as on many managed services, New refuses too, unless
// InsecureSkipEvictionCheck states that the operator checked.
//
// A Redis that loses writes loses revocations the same way: without appendonly yes a
// restart forgets what was written since the last snapshot, and a failover to a
// replica forgets what had not reached it. Run Redis with appendonly yes
// (appendfsync everysec loses at most a second, always nothing acknowledged).
//
// # Failures
//
// While Redis is unreachable every method returns an error matching
// core.ErrStoreUnavailable, which gatehouse answers with 503: never a pass. The store
// recovers by itself when Redis is back, on the same address or after a Sentinel
// failover. How long a call waits before it fails is the client's business: go-redis's
// defaults (three retries, each after up to five dials 100 ms apart) make that more
// than a second; DialerRetries: 1 and MaxRetries: 1 make it a few milliseconds.
//
// # Clocks and Purge
//
// Redis expires entries by its own clock, not the one given to the methods, so the
// application's clock must be close to Redis's: with a clock set far in the past, a
// revocation's key expires as soon as it is written (the token it revokes has expired
// by Redis's clock too). Purge deletes, by the time it is given, what has expired and
// is still stored, and counts only what it deleted itself; with real clocks Redis has
// usually deleted it first, and Purge only tidies the indexes.
//
// # What is not checked
//
// The eviction policy is read once, by New: a later CONFIG SET is not noticed.
// Persistence settings are not checked at all. Another client writing under the
// store's prefix, FLUSHDB, or a prefix shared by two applications by mistake are not
// detected. Export is not a snapshot (see Store.Export). A client with client-side
// caching is refused, since it could answer IsRevoked from a stale cache.
package redisstore
