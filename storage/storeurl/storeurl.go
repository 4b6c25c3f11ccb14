package storeurl

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// Kind is the kind of store a URL names.
type Kind string

// The kinds of store.
const (
	Bolt  Kind = "bolt"  // bolt:PATH
	Redis Kind = "redis" // redis:// or rediss://, and redis+cluster:// or rediss+cluster:// for a Redis Cluster
	// Postgres is postgres:// or postgresql://.
	Postgres Kind = "postgres"
	Memory   Kind = "memory" // memory
)

// forms is what every error about an unknown URL lists.
const forms = "want bolt:PATH, redis://host:port/db, rediss://host:port/db, redis+cluster://host:port,host:port, " +
	"postgres://host:port/database or memory"

// Location is what a store URL names, as Parse reads it.
type Location struct {
	Kind Kind
	// Path is the file of a bolt: URL, as written: a relative path is relative to the
	// working directory.
	Path string
	// Addr (host:port), DB and TLS (rediss://) describe a Redis URL. Addr is the
	// host:port of a PostgreSQL URL too (the first, if it lists several), and TLS
	// says that its sslmode requires TLS.
	Addr string
	DB   int
	TLS  bool
	// Cluster says that a Redis URL names a Redis Cluster (redis+cluster://,
	// rediss+cluster://); Addrs lists the addresses it names, Addr being the first.
	Cluster bool
	Addrs   []string
	// Database is the database of a PostgreSQL URL.
	Database string

	raw string
}

// String returns the URL the location was parsed from, with its password, if any,
// replaced by "xxxxx".
func (l Location) String() string {
	if l.Kind == Redis || l.Kind == Postgres {
		return redact(l.raw)
	}
	return l.raw // a path: not a URL to reformat
}

// Parse reads a store URL without opening anything. It fails, with an error matching
// core.ErrConfig, for a URL of an unknown kind, a bolt: URL without a path, a Redis
// URL that redis.ParseURL refuses or that names no host, and a PostgreSQL URL that
// pgxpool.ParseConfig refuses.
func Parse(raw string) (Location, error) {
	loc := Location{raw: raw}
	switch {
	case raw == "":
		return loc, fmt.Errorf("%w: storeurl: empty store URL: %s", core.ErrConfig, forms)
	case raw == "memory":
		loc.Kind = Memory
		return loc, nil
	case strings.HasPrefix(raw, "bolt:"):
		return parseBolt(loc)
	case strings.HasPrefix(raw, "redis://"), strings.HasPrefix(raw, "rediss://"):
		return parseRedis(loc)
	case strings.HasPrefix(raw, "redis+cluster://"), strings.HasPrefix(raw, "rediss+cluster://"):
		return parseRedisCluster(loc)
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return parsePostgres(loc)
	}
	return loc, fmt.Errorf("%w: storeurl: unknown store %q: %s", core.ErrConfig, redact(raw), forms)
}

func parseBolt(loc Location) (Location, error) {
	loc.Kind = Bolt
	path := strings.TrimPrefix(loc.raw, "bolt:")
	if rest, ok := strings.CutPrefix(path, "//"); ok {
		// bolt:///var/lib/x.db, URL style, is the file /var/lib/x.db; bolt://x is not
		// a file path at all.
		if !strings.HasPrefix(rest, "/") {
			return loc, fmt.Errorf("%w: storeurl: %q names a host, not a file: a bolt store is a file, "+
				"such as bolt:gatehouse.db or bolt:/var/lib/app/gatehouse.db", core.ErrConfig, loc.raw)
		}
		path = rest
	}
	switch {
	case path == "":
		return loc, fmt.Errorf("%w: storeurl: bolt: needs a file path, such as bolt:gatehouse.db", core.ErrConfig)
	case strings.ContainsRune(path, 0):
		return loc, fmt.Errorf("%w: storeurl: bolt: path %q holds a NUL byte", core.ErrConfig, path)
	case strings.HasSuffix(path, "/"):
		return loc, fmt.Errorf("%w: storeurl: bolt:%s names a directory: a bolt store is a file, such as bolt:%sgatehouse.db",
			core.ErrConfig, path, path)
	}
	loc.Path = path
	return loc, nil
}

func parseRedis(loc Location) (Location, error) {
	loc.Kind = Redis
	u, err := url.Parse(loc.raw)
	if err != nil {
		// url.Parse's error quotes the whole URL, password included: say less.
		return loc, fmt.Errorf("%w: storeurl: %s is not a Redis URL, such as redis://127.0.0.1:6379/0", core.ErrConfig, redact(loc.raw))
	}
	if u.Host == "" || u.Hostname() == "" {
		return loc, fmt.Errorf("%w: storeurl: %s is not a Redis URL: it names no host; want redis://host:port/db, such as redis://127.0.0.1:6379/0",
			core.ErrConfig, redact(loc.raw))
	}
	o, err := redis.ParseURL(loc.raw)
	if err != nil {
		return loc, fmt.Errorf("%w: storeurl: %s is not a Redis URL: %s", core.ErrConfig, redact(loc.raw), strings.TrimPrefix(err.Error(), "redis: "))
	}
	loc.Addr, loc.DB, loc.TLS = o.Addr, o.DB, o.TLSConfig != nil
	return loc, nil
}

// Open opens the store url names (see the package doc). ctx bounds the connection to
// Redis or PostgreSQL and its first commands; a bolt file waits for its lock as long as the lock
// timeout (boltstore.WithLockTimeout, 1 s by default) instead.
func Open(ctx context.Context, raw string, opts ...Option) (core.Store, error) {
	loc, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	switch loc.Kind {
	case Memory:
		return memstore.New(), nil
	case Bolt:
		return openBolt(loc, o)
	case Postgres:
		return openPostgres(ctx, loc, o)
	default:
		return openRedis(ctx, loc, o)
	}
}

func openBolt(loc Location, o options) (core.Store, error) {
	if err := checkBoltPath(loc, o.noCreate); err != nil {
		return nil, err
	}
	bo := o.bolt
	if o.logger != nil {
		bo = append([]boltstore.Option{boltstore.WithLogger(o.logger)}, bo...)
	}
	s, err := boltstore.Open(loc.Path, bo...)
	if err != nil {
		return nil, fmt.Errorf("storeurl: %s: %w", loc, err)
	}
	return s, nil
}

// checkBoltPath refuses, as configuration errors, what boltstore would report as a
// failure to open: a directory, a missing directory, and a missing file if noCreate.
func checkBoltPath(loc Location, noCreate bool) error {
	info, err := os.Stat(loc.Path)
	switch {
	case err == nil && info.IsDir():
		return fmt.Errorf("%w: storeurl: %s: %s is a directory: a bolt store is a file", core.ErrConfig, loc, loc.Path)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil // permissions and the like: boltstore reports them as it opens
	case noCreate:
		return fmt.Errorf("%w: storeurl: %s: %s does not exist (%w)", core.ErrConfig, loc, loc.Path, fs.ErrNotExist)
	}
	dir := filepath.Dir(loc.Path)
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return fmt.Errorf("%w: storeurl: %s: directory %s does not exist; it is not created", core.ErrConfig, loc, dir)
	}
	return nil
}

func openRedis(ctx context.Context, loc Location, o options) (core.Store, error) {
	if loc.Cluster {
		return openRedisCluster(ctx, loc, o)
	}
	ro, err := redis.ParseURL(loc.raw) // Parse checked it
	if err != nil {
		return nil, fmt.Errorf("%w: storeurl: %s: %w", core.ErrConfig, loc, err)
	}
	q := mustQuery(loc.raw)
	ro.DialerRetries = 1
	if !q.Has("max_retries") {
		ro.MaxRetries = 1
	}
	if !q.Has("dial_timeout") {
		ro.DialTimeout = DefaultDialTimeout
	}
	for _, fn := range o.redisClient {
		fn(ro)
	}
	client := redis.NewClient(ro)
	rs := o.redis
	if o.logger != nil {
		rs = append([]redisstore.Option{redisstore.WithLogger(o.logger)}, rs...)
	}
	s, err := redisstore.New(ctx, client, rs...)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("storeurl: %s: %w", loc, err)
	}
	return &redisStore{Store: s, client: client}, nil
}

func parsePostgres(loc Location) (Location, error) {
	loc.Kind = Postgres
	cfg, err := pgxpool.ParseConfig(loc.raw)
	if err != nil {
		// pgx's message may quote the URL, password included: say less.
		return loc, fmt.Errorf("%w: storeurl: %s is not a PostgreSQL URL, such as "+
			"postgres://user:password@127.0.0.1:5432/app?sslmode=disable (%s)", core.ErrConfig, redact(loc.raw), pgReason(err))
	}
	cc := cfg.ConnConfig
	loc.Addr = net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))
	loc.Database = cc.Database
	// TLS when every attempt uses it (sslmode require, verify-ca, verify-full), not
	// when a plain connection may follow a refusal (allow, prefer).
	loc.TLS = cc.TLSConfig != nil
	for _, fb := range cc.Fallbacks {
		loc.TLS = loc.TLS && fb.TLSConfig != nil
	}
	return loc, nil
}

// pgReason is what pgx says is wrong with a connection string, without the string.
func pgReason(err error) string {
	var perr *pgconn.ParseConfigError
	if errors.As(err, &perr) && perr.Unwrap() != nil {
		return perr.Unwrap().Error()
	}
	if errors.As(err, &perr) {
		return "unreadable"
	}
	return err.Error()
}

func openPostgres(ctx context.Context, loc Location, o options) (core.Store, error) {
	cfg, err := pgxpool.ParseConfig(loc.raw) // Parse checked it
	if err != nil {
		return nil, fmt.Errorf("%w: storeurl: %s: %s", core.ErrConfig, loc, pgReason(err))
	}
	if !mustQuery(loc.raw).Has("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = DefaultDialTimeout
	}
	for _, fn := range o.postgresPool {
		fn(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: storeurl: %s: %w", core.ErrConfig, loc, err)
	}
	ps := o.postgres
	if o.logger != nil {
		ps = append([]pgstore.Option{pgstore.WithLogger(o.logger)}, ps...)
	}
	s, err := pgstore.New(ctx, pool, ps...)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("storeurl: %s: %w", loc, err)
	}
	return &pgStore{Store: s, pool: pool}, nil
}

// pgStore is a pgstore.Store that owns its pool.
type pgStore struct {
	*pgstore.Store
	pool *pgxpool.Pool
}

var _ core.Migrator = (*pgStore)(nil)

// Close closes the store, then its pool.
func (s *pgStore) Close() error {
	if err := s.Store.Close(); err != nil {
		return err // closed already: so is the pool
	}
	s.pool.Close()
	return nil
}

func mustQuery(raw string) url.Values {
	u, err := url.Parse(raw)
	if err != nil {
		return url.Values{}
	}
	return u.Query()
}

// redisStore is a redisstore.Store that owns its client.
type redisStore struct {
	*redisstore.Store
	client redis.UniversalClient
}

var _ core.Migrator = (*redisStore)(nil)

// Close closes the store, then its client.
func (s *redisStore) Close() error {
	if err := s.Store.Close(); err != nil {
		return err // closed already: so is the client
	}
	if err := s.client.Close(); err != nil {
		return fmt.Errorf("%w: storeurl: closing the Redis client: %w", core.ErrStoreUnavailable, err)
	}
	return nil
}

// redact replaces the password of a URL by "xxxxx", also when the URL does not parse.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if u.User == nil {
			return raw // as written: Redacted would reformat it ("redis://" as "redis:")
		}
		return u.Redacted()
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return raw
	}
	user, _, hasPassword := strings.Cut(rest[:at], ":")
	if !hasPassword {
		return raw
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}
