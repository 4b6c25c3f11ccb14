package storeurl

import (
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/redis/go-redis/v9"
)

// DefaultDialTimeout is how long Open's Redis client waits for a connection, unless
// the URL's dial_timeout says otherwise: long enough for a distant Redis, short
// enough that one that is down fails the start in seconds.
const DefaultDialTimeout = 2 * time.Second

// Option configures Open.
type Option func(*options)

type options struct {
	bolt        []boltstore.Option
	redis       []redisstore.Option
	redisClient []func(*redis.Options)
	logger      *slog.Logger
	noCreate    bool
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

// WithLogger sets the logger of the bolt or Redis store (boltstore.WithLogger,
// redisstore.WithLogger); options passed with WithBoltOptions or WithRedisOptions
// take precedence. It does not change go-redis's own logger, which is global
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
