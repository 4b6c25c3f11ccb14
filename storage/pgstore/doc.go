// Package pgstore is a core.Store in PostgreSQL, for an application that runs several
// instances and already has a PostgreSQL database: they share sessions, keys and
// revocations, and a logout on one is enforced on all the others within milliseconds.
//
// # Use
//
//	pool, err := pgxpool.New(ctx, "postgres://app:secret@db:5432/app")
//	store, err := pgstore.New(ctx, pool, pgstore.WithSchema("auth"))
//	...
//	auth, err := core.New(store, opts...)
//
// or, with a pool the store owns: pgstore.Open(ctx, "postgres://…"). It needs
// PostgreSQL 12 or later (generated columns); the tests run against 15.
//
// # Tables
//
// New creates and migrates its tables itself (Migrate): the versioned SQL is embedded
// in the package and recorded in <prefix>schema_migrations, all in one transaction
// under an advisory lock, so that instances starting together migrate once. Teams
// that run migrations with their own tool get the SQL from Migrations and pass
// WithoutMigrate: New then checks the schema and fails with ErrSchema when it is
// missing, older or newer than the package's, or when the revocation trigger is
// missing or disabled. The tables live in a schema (WithSchema, default public) and
// start with a prefix (WithTablePrefix, default gatehouse_), so that several
// applications can share a database:
//
//	<prefix>sessions     one row per session; PRIMARY KEY id, indexes on subject and purge_ns
//	<prefix>revocations  kind 't' (a jti) or 's' (a sid), id, expires_ns; index on expires_ns
//	<prefix>keys         name, value: LoadOrStoreKey's keys, never purged
//	<prefix>consumed     id, expires_ns: consumed sign-in states; index on expires_ns
//	<prefix>counters     id, n, end_ns: the counters of Count, each until its window's end; index on end_ns
//
// Times are int8 nanoseconds since 1970 (timestamptz keeps microseconds, and the
// contract compares to the nanosecond); Go's zero time is the smallest int8, and
// instants before 1678 or after 2262 are stored as the nearest one that fits. Ids,
// subjects, key names, user agents and IPs are bytea, compared byte for byte whatever
// they hold. purge_ns, when a session may be purged (core.Session.PurgeAt), is a
// generated column, so that no write can leave it stale.
//
// # Atomicity
//
// Every write is one statement, atomic across instances. Rotate is one UPDATE whose
// WHERE is the rotation rule of core.Store (current token, or the previous one inside
// the grace window, session neither idle nor expired) and whose SET swaps the tokens,
// moves the idle end (never back, never past the absolute end) and keeps the later
// access-token end. Under READ COMMITTED a concurrent UPDATE of the same row waits for
// the first to commit and checks its WHERE again against what that one wrote: of 50
// rotations of one refresh token on two instances exactly one wins. When the UPDATE
// matches nothing a second statement reads the session to say why (not found,
// expired, or reuse); it changes nothing. EndSession deletes the session and revokes
// its id in one statement; Consume is an INSERT … ON CONFLICT DO NOTHING, of which
// one of any number of concurrent calls inserts; LoadOrStoreKey likewise, reading the
// winner's value. Count's add is an INSERT … ON CONFLICT DO UPDATE that adds to a
// window not ended at the caller's now or starts a new one: concurrent adds of one
// key wait for each other's row lock, and none is lost; its read (add 0) is a SELECT. Import is one transaction; Export one REPEATABLE READ snapshot.
//
// # The revocation filter
//
// IsRevoked runs on every request, and its common answer, not revoked, comes from
// memory: each Store keeps two revfilter Sets (token ids and session ids) holding
// every revoked id. It loads them from the revocations table when it starts, and keeps
// them current from LISTEN on a channel of its own (the schema, the prefix and
// "revocations", hashed when that is too long), on which a trigger on the table
// announces every revocation written, by this package or by anyone else, when its
// transaction commits. An id the filters rule out costs about 40 ns and no round
// trip; an id they may hold (a revoked one, or about one in a thousand others, see
// WithFilterFPRate) costs one statement.
//
// The filters are trusted only while the listener is up and they have been loaded
// since its LISTEN took effect. The listener runs on a connection of its own (made
// with the pool's settings, application_name "gatehouse pgstore listener" unless the
// pool sets one), outside the pool. The store hears at once when that connection is
// closed (a restart, a terminated backend, a failover), pings over it when it has
// been silent for WithHealthCheck, and connects and listens again after any failure.
// From the loss until the next LISTEN and reload, every IsRevoked asks the database,
// and fails with core.ErrStoreUnavailable if the database does: it never answers from
// filters that may have missed a notification. After LISTEN the store reloads the
// filters, so a revocation committed while it was not listening is read from the
// table; one committed after LISTEN took effect is announced to it.
//
// What the filters guarantee: a revocation written by this instance is in its filters
// when the call returns; one written by another instance is in them as soon as its
// notification arrives (under a millisecond on one machine, a few on a loaded one; the
// tests require 100 ms), or in the reload after a lost listener. What they do not: in
// the time between a connection failing and the store learning of it, notifications
// sent meanwhile are missed and misses are still answered from memory. A closed
// connection is learnt of at once; one that fails silently (a network partition
// between this instance and the database, while other instances still reach it) only
// when a ping goes unanswered, up to twice WithHealthCheck (2 s by default).
//
// PostgreSQL serializes the commits of transactions that NOTIFY, WAL flush included,
// so that notifications arrive in commit order: revocations (RevokeToken, EndSession,
// Import of revocations) commit one at a time, each with its own WAL flush, however
// many instances write (1/flush latency per second at most, with fsync on). Sessions,
// rotations, keys, consumed states and counters announce nothing and commit in
// parallel.
//
// The listener needs a session of its own on the server: LISTEN does not work through
// a pooler in transaction mode (PgBouncer's pool_mode=transaction), nor on a read-only
// standby. Point the pool at the primary, directly or through a session-mode pooler.
//
// # Purge
//
// Purge deletes, by the time it is given, the revocations and consumed ids whose
// expiry is at or before it, the counters whose end_ns is, and the sessions whose
// purge_ns is, in statements of at
// most WithPurgeBatch rows that lock their rows FOR UPDATE SKIP LOCKED: several
// instances purging at once take disjoint batches instead of waiting for each other,
// and no purge waits for a request's write. Each instance purges in the background
// every WithPurgeInterval (10 minutes, give or take a tenth).
//
// # Failures
//
// While PostgreSQL is unreachable every method returns an error matching
// core.ErrStoreUnavailable, which gatehouse answers with 503: never a pass. The store
// recovers by itself when PostgreSQL is back. How long a call waits before it fails
// is the pool's and the caller's business: a refused connection fails at once, a
// silent network waits for the pool's connect_timeout or the request's context.
//
// # What is not checked
//
// The trigger is checked by New, not afterwards: dropping or disabling it while the
// store runs makes other instances miss revocations. Rows written under the store's
// schema and prefix by others are read as the store's own; a revocation they insert is
// announced like any other. Durability is the server's: with synchronous_commit off
// a crash of the server may lose revocations it acknowledged, and an asynchronous
// replica promoted after a failover may lack the last ones. Consumed ids are not
// exported, as core.Migrator says, and neither are counters: throttling state that
// lives a window of minutes.
package pgstore
