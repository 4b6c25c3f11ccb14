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
// "redis://127.0.0.1:6379/0"). The client may reach one Redis server, directly or
// through Sentinel (redis.NewFailoverClient), or a Redis Cluster:
//
//	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"10.0.0.1:6379", "10.0.0.2:6379"}})
//	store, err := redisstore.New(ctx, client, redisstore.WithPrefix("myapp:"))
//
// (storeurl opens one from redis+cluster://10.0.0.1:6379,10.0.0.2:6379). It needs
// Redis 6.2 or later (SET … EXAT); the tests run against 7.0, on one server and on a
// cluster of three masters.
//
// # Keys
//
// Every key starts with the prefix (WithPrefix, default "gatehouse:"), so several
// applications can share one Redis; prefixes must not start with one another, and
// must not hold braces. The keys of an id (a jti, a session id, a sign-in state, a
// counter's key) lie
// in one of 256 shards, the first byte of the id's SHA-1 as two hex digits, and carry
// the shard as their hash tag, {hh}, with the shard's indexes: on a cluster an id's
// keys and the indexes they are filed in share a hash slot, and the shards spread over
// the masters.
//
//	{hh}rt:<jti>  {hh}rs:<sid>  a revoked token or session: its exact expiry; EXAT the expiry, rounded up to the second
//	{hh}s:<sid>             a session (a hash); EXPIREAT its PurgeAt
//	{hh}c:<id>              a consumed sign-in state (Consume): its exact expiry; EXAT the expiry, rounded up
//	{hh}n:<key>             a counter (Count): a hash of its count and its window's exact end; EXPIREAT the end, rounded up
//	{hh}xr  {hh}xs  {hh}xc  the shard's revocations, sessions and consumed ids by expiry, for Purge
//	{hh}xn                  the shard's counters by the end of their window, for Purge
//	u:<subject>             the subject's session ids, by the latest second each may live
//	k:<name>                a key of LoadOrStoreKey
//
// (This layout is that of v0.1.0. Data written by development versions before it,
// without the shards, is not read: copy it into a bolt file with the gatehouse
// migrate of that version, then from the file into Redis with this one.)
//
// Every key but the k: ones has an expiry: entries expire with what they record, and
// the indexes lose their dead members at each write and expire a second after their
// last live one, so nothing grows without bound even if Purge is never called. Keys
// never expire.
//
// # Atomicity
//
// Each write that must be atomic is one Lua script, atomic across every instance, and
// every script touches the keys of one slot: RevokeToken, Rotate, EndSession,
// LoadOrStoreKey, Consume and Count write an id's shard only; of 50 concurrent
// rotations of one refresh token on two instances exactly one wins, of 50 concurrent
// Consume calls of one sign-in state exactly one gets true, and of 50 concurrent adds
// to one counter none is lost. The subject index lies in the
// slot of its subject, not of its sessions, and is written in a step of its own:
// CreateSession stores the session, then files it under its subject (a session is
// handed out only once filed); EndSession and Purge delete, then unfile. EndSessions
// is one script on one Redis, all of the subject's sessions or none; on a cluster it
// ends each session in a script of its own, all pipelined, each whole or not at all,
// and a failure part-way returns an error with some sessions ended (calling it again
// ends the rest). Import is one script on one Redis, one per shard on a cluster; each
// step of Purge is one script per shard. Consumed states and counters are not
// revocations: they are not published, never enter the filters, and are not exported.
// Count decides whether a window has ended by the time it is given, never by Redis's
// clock, and a read (add 0) writes nothing.
//
// # The revocation filter
//
// IsRevoked runs on every request, and its common answer, not revoked, comes from
// memory: each Store keeps two revfilter Sets (token ids and session ids) holding
// every revoked id. It loads them by SCAN (on a cluster, of every master) when it
// starts and keeps them current from a pub/sub channel (the prefix plus
// "revoked@<db>") on which every revocation is published by the script that writes
// it. An id the filters rule out costs about 40 ns and no round trip; an id they may
// hold (a revoked one, or about one in a thousand others, see WithFilterFPRate) costs
// one EXISTS (on a cluster, one per key, pipelined).
//
// The filters are trusted only while the subscription is up and they have been loaded
// since it was last confirmed. On a cluster the store subscribes on every master, not
// on one node: a script publishes on the master it runs on, which delivers to its own
// subscribers at once, while its broadcast to the other nodes over the cluster bus can
// be lost if the master fails right after; so a message the store missed is always a
// lost connection it notices. Each subscription runs on a connection of its own; the
// store hears at once when one is lost (it watches every dial go-redis makes for it,
// including go-redis's silent reconnections), pings Redis over it when it has been
// silent for WithHealthCheck, and on a cluster asks every WithHealthCheck which nodes
// are masters. After any failure, or a change of masters, it subscribes again on every
// master. From the loss until every subscription is confirmed again and the filters
// are reloaded, every IsRevoked asks Redis, and fails with core.ErrStoreUnavailable
// if Redis does: it never answers from filters that may have missed a message. After
// the new subscriptions are confirmed the store reloads the filters by SCAN, so a
// revocation published while it was not listening is read from Redis.
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
// CONFIG GET (on a cluster, on every node, replicas included) and refuses anything
// but noeviction, with ErrEvictionPolicy (which
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
// core.ErrStoreUnavailable, which gatehouse answers with 503: never a pass. On a
// cluster with a master down, the calls that need its slots fail so, and once the
// cluster marks it failed (after cluster-node-timeout) every call does. The store
// recovers by itself when Redis is back, on the same address or after a Sentinel or
// cluster failover. How long a call waits before it fails is the client's business: go-redis's
// defaults (three retries, each after up to five dials 100 ms apart) make that more
// than a second; DialerRetries: 1 and MaxRetries: 1 make it a few milliseconds.
//
// # Clocks and Purge
//
// Redis expires entries by its own clock, not the one given to the methods, so the
// application's clock must be close to Redis's: with a clock set far in the past, a
// revocation's key expires as soon as it is written (the token it revokes has expired
// by Redis's clock too), and with a clock behind Redis's a counter starts again a
// little early (its key expires at its window's end by Redis's clock). Purge deletes,
// by the time it is given, what has expired and is still stored, and counts only what
// it deleted itself; with real clocks Redis has usually deleted it first, and Purge
// only tidies the indexes.
//
// # What is not checked
//
// The eviction policy is read once, by New: a later CONFIG SET, or a node that joins
// the cluster later, is not noticed. Persistence settings are not checked at all. On
// a cluster, slots moved while the filters are reloaded (resharding) can hide their
// keys from the reload's SCAN: reshard while the instances are stopped, or restart
// them after. A cluster whose bus fails silently between two masters is not noticed
// by the store: its subscriptions on each master still receive what that master
// publishes. Another client writing under the
// store's prefix, FLUSHDB, or a prefix shared by two applications by mistake are not
// detected. Export is not a snapshot (see Store.Export). A client with client-side
// caching is refused, since it could answer IsRevoked from a stale cache, and so is a
// cluster client that reads from replicas.
package redisstore
