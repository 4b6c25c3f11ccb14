package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/revfilter"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrSessionExists is returned by CreateSession for an id already stored. It matches
// core.ErrStoreUnavailable, as the other stores' do: the caller made a fresh random
// id, and a retry makes another.
var ErrSessionExists = fmt.Errorf("%w: pgstore: session id already exists", core.ErrStoreUnavailable)

// failed wraps a failure of op so that it matches core.ErrStoreUnavailable and err.
func failed(op string, err error) error {
	if errors.Is(err, core.ErrStoreUnavailable) {
		return fmt.Errorf("pgstore: %s: %w", op, err)
	}
	return fmt.Errorf("%w: pgstore: %s: %w", core.ErrStoreUnavailable, op, err)
}

func closedError(op string) error { return fmt.Errorf("pgstore: %s: %w", op, core.ErrStoreClosed) }

// Store is a core.Store in PostgreSQL, shared by every instance of an application that
// uses the same database, schema and table prefix. Make one with New or Open; it is
// safe for concurrent use, and must be closed with Close.
type Store struct {
	pool    *pgxpool.Pool
	ownPool bool // Open made pool, so Close closes it
	opts    options
	q       queries
	channel string

	// The revocation filters, one per kind, so that a revoked jti never matches a
	// session id. IsRevoked trusts them only while feed says so.
	tokens, sessions *revfilter.Set
	feed             *revfilter.Feed
	listenerPID      atomic.Uint32 // backend of the listener connection, for tests

	closed atomic.Bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

var (
	_ core.Store    = (*Store)(nil)
	_ core.Migrator = (*Store)(nil)
)

// New returns a store that keeps its data in the database pool talks to. Close does
// not close pool: the caller still owns it. The store listens for revocations on a
// connection of its own, made with pool's connection settings (see the package doc:
// it must reach PostgreSQL itself, not a pooler in transaction mode).
//
// New migrates the schema (see Migrate) unless given WithoutMigrate, checks it,
// listens on the store's channel and loads the revocation filters. It fails with an
// error matching core.ErrConfig (ErrSchema for the schema) for a configuration it
// refuses, and core.ErrStoreUnavailable when PostgreSQL cannot be reached.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("%w: pgstore: nil pool", core.ErrConfig)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	if o.migrate {
		if err := Migrate(ctx, pool, opts...); err != nil {
			return nil, err
		}
	}
	if err := checkSchema(ctx, pool, o); err != nil {
		return nil, err
	}
	s := &Store{
		pool:     pool,
		opts:     o,
		q:        newQueries(names{o}),
		channel:  o.channel(),
		tokens:   revfilter.NewSet(minFilter, o.fpRate),
		sessions: revfilter.NewSet(minFilter, o.fpRate),
		feed:     revfilter.NewFeed(),
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Open connects to the database named by url (postgres:// or postgresql://, or a
// key=value connection string; see pgxpool.ParseConfig, whose pool_max_conns and
// other pool_ parameters it accepts) and returns New's store over that pool. Close
// closes the pool.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included: say less.
		reason := "unreadable"
		var perr *pgconn.ParseConfigError
		if errors.As(err, &perr) && perr.Unwrap() != nil {
			reason = perr.Unwrap().Error()
		}
		return nil, fmt.Errorf("%w: pgstore: not a PostgreSQL URL or connection string: %s", core.ErrConfig, reason)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: pgstore: %w", core.ErrConfig, err)
	}
	s, err := New(ctx, pool, opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownPool = true
	return s, nil
}

// Close stops the listener and the background purge and, for a store made by Open,
// closes the pool. Calls after Close return core.ErrStoreClosed.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return closedError("Close")
	}
	s.cancel()
	s.wg.Wait()
	if s.ownPool {
		s.pool.Close()
	}
	return nil
}

// Pool returns the pool the store runs its statements on.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// fail wraps a failure of op, or reports the store closed if Close ran meanwhile.
func (s *Store) fail(op string, err error) error {
	if s.closed.Load() {
		return closedError(op)
	}
	return failed(op, err)
}

// Times are stored as int8 nanoseconds since the Unix epoch, which keeps every
// instant from 1677-09-21 to 2262-04-11 exactly; Go's zero time is the smallest int8.
// Earlier instants are stored as the one after it, later ones as the largest int8:
// both only ever stand for "long ago" and "far ahead".
const zeroNS = math.MinInt64

var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

func encodeTime(t time.Time) int64 {
	switch {
	case t.IsZero():
		return zeroNS
	case t.Before(minTime):
		return math.MinInt64 + 1
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func decodeTime(ns int64) time.Time {
	if ns == zeroNS {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// bin returns the bytea form of s: never nil, which pgx would send as NULL.
func bin(s string) []byte {
	if s == "" {
		return []byte{}
	}
	return []byte(s)
}

// orNull returns the bytea form of an id, or nil (NULL, which matches no row) for an
// empty one.
func orNull(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}
