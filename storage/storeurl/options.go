package storeurl

import (
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// DefaultDialTimeout is how long Open's Redis client waits for a connection, unless
// the URL's dial_timeout says otherwise, and Open's PostgreSQL pool unless its
// connect_timeout does: long enough for a distant Redis, short
// enough that one that is down fails the start in seconds.
const DefaultDialTimeout = 2 * time.Second

// Option configures Open.
type Option func(*options)

type options struct {
	bolt         []boltstore.Option
	redis        []redisstore.Option
	redisClient  []func(*redis.Options)
	redisCluster []func(*redis.ClusterOptions)
	postgres     []pgstore.Option
	postgresPool []func(*pgxpool.Config)
	logger       *slog.Logger
	noCreate     bool
}

// WithBoltOptions passes opts to boltstore.Open when the URL names a bolt file.
func WithBoltOptions(opts ...boltstore.Option) Option {
	return func(o *options) { o.bolt = append(o.bolt, opts...) }
}

// WithRedisOptions passes opts to redisstore.New when the URL names a Redis.
func WithRedisOptions(opts ...redisstore.Option) Option {
	return func(o *options) { o.redis = append(o.redis, opts...) }
}

// WithRedisClientOptions calls fn with the options of the go-redis client Open makes,
// after the URL and the fail-fast settings (see the package doc) are applied, so
// that fn can change any of them: pool size, timeouts, TLS configuration.
func WithRedisClientOptions(fn func(*redis.Options)) Option {
	return func(o *options) { o.redisClient = append(o.redisClient, fn) }
}

// WithRedisClusterOptions calls fn with the options of the go-redis cluster client
// Open makes for a redis+cluster:// URL, after the URL and the fail-fast settings (see
// the package doc) are applied, so that fn can change any of them.
func WithRedisClusterOptions(fn func(*redis.ClusterOptions)) Option {
	return func(o *options) { o.redisCluster = append(o.redisCluster, fn) }
}

// WithPostgresOptions passes opts to pgstore.New when the URL names a PostgreSQL
// database.
func WithPostgresOptions(opts ...pgstore.Option) Option {
	return func(o *options) { o.postgres = append(o.postgres, opts...) }
}

// WithPostgresPoolConfig calls fn with the configuration of the pgx pool Open makes,
// after the URL and the fail-fast connect timeout (see the package doc) are applied,
// so that fn can change any of it: pool size, timeouts, TLS, a tracer.
func WithPostgresPoolConfig(fn func(*pgxpool.Config)) Option {
	return func(o *options) { o.postgresPool = append(o.postgresPool, fn) }
}

// WithLogger sets the logger of the bolt, Redis or PostgreSQL store
// (boltstore.WithLogger, redisstore.WithLogger, pgstore.WithLogger); options passed
// with WithBoltOptions, WithRedisOptions or WithPostgresOptions take precedence. It does not change go-redis's own logger, which is global
// (redis.SetLogger).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithoutCreate makes Open refuse a bolt file that does not exist, with an error
// matching core.ErrConfig and fs.ErrNotExist, instead of creating an empty store: for
// tools that read or change an existing store, where a mistyped path must not pass
// for an empty one.
func WithoutCreate() Option {
	return func(o *options) { o.noCreate = true }
}
