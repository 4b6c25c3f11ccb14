package redisstore

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// Defaults of the options.
const (
	// DefaultPrefix starts the name of every key and of the channel the store uses.
	DefaultPrefix = "gatehouse:"
	// DefaultFPRate is the share of IsRevoked calls for ids that are not revoked that
	// still cost a round trip, because the in-memory filter cannot rule them out.
	DefaultFPRate = 0.001
	// DefaultHealthCheck is how long the subscription may stay silent before the store
	// pings Redis over it; a ping unanswered for as long again counts as a lost
	// subscription.
	DefaultHealthCheck = time.Second
)

// Option configures New and Open.
type Option func(*options)

type options struct {
	prefix        string
	fpRate        float64
	healthCheck   time.Duration
	allowEviction bool
	skipEviction  bool
	logger        *slog.Logger
}

func defaultOptions() options {
	return options{
		prefix:      DefaultPrefix,
		fpRate:      DefaultFPRate,
		healthCheck: DefaultHealthCheck,
		logger:      slog.Default(),
	}
}

func (o *options) validate() error {
	switch {
	case o.prefix == "":
		return fmt.Errorf("%w: redisstore: empty key prefix", core.ErrConfig)
	case strings.ContainsAny(o.prefix, "{}"):
		return fmt.Errorf("%w: redisstore: key prefix %q holds a brace: the store puts hash tags "+
			"({…}) in its keys itself, so that each script touches one Redis Cluster slot", core.ErrConfig, o.prefix)
	case math.IsNaN(o.fpRate) || o.fpRate <= 0 || o.fpRate > 0.5:
		return fmt.Errorf("%w: redisstore: filter false-positive rate %v, want in (0, 0.5]", core.ErrConfig, o.fpRate)
	case o.healthCheck <= 0:
		return fmt.Errorf("%w: redisstore: health check interval %v, want > 0", core.ErrConfig, o.healthCheck)
	case o.logger == nil:
		return fmt.Errorf("%w: redisstore: nil logger", core.ErrConfig)
	}
	return nil
}

// WithPrefix sets the string every key name and the pub/sub channel of the store start
// with, so that several applications can share one Redis database. Stores that share a
// prefix share their data: give each application its own, and pick prefixes none of
// which starts with another ("app:" and "app:eu:" overlap; "app-us:" and "app-eu:" do
// not). It must not be empty, nor hold { or }, which would change the keys' hash
// tags (see the package doc). Default: DefaultPrefix.
func WithPrefix(prefix string) Option {
	return func(o *options) { o.prefix = prefix }
}

// WithFilterFPRate sets the false-positive rate of the in-memory revocation filters:
// the share of lookups of ids that are not revoked that still cost a round trip. Lower
// rates take more memory: about 10 bits per revoked id at 0.01, 16 at 0.001. It must
// lie in (0, 0.5]. Default: DefaultFPRate.
func WithFilterFPRate(p float64) Option {
	return func(o *options) { o.fpRate = p }
}

// WithHealthCheck sets how long the revocation subscription may stay silent before the
// store pings Redis over it. A ping unanswered for as long again counts as a lost
// subscription: IsRevoked then asks Redis on every call until the subscription is back
// and the filters are reloaded. A dropped connection is noticed at once; this bounds
// how long a silently broken one (a network partition) goes unnoticed, to about twice d.
// It must be positive. Default: DefaultHealthCheck.
func WithHealthCheck(d time.Duration) Option {
	return func(o *options) { o.healthCheck = d }
}

// WithLogger sets where the store reports losing and regaining its subscription.
// Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// InsecureAllowEviction lets New accept a Redis whose maxmemory-policy may evict keys
// (allkeys-* or volatile-*). Under memory pressure such a Redis deletes revocations
// before they expire, and the tokens they revoked are accepted again. Use it only where
// losing a revocation is acceptable, such as a throwaway development Redis.
func InsecureAllowEviction() Option {
	return func(o *options) { o.allowEviction = true }
}

// InsecureSkipEvictionCheck makes New skip reading maxmemory-policy, for a managed
// Redis that disables the CONFIG command. By passing it the operator states that the
// policy is noeviction; the store cannot check it.
func InsecureSkipEvictionCheck() Option {
	return func(o *options) { o.skipEviction = true }
}
