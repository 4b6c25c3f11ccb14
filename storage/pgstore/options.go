package pgstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// Defaults of the options.
const (
	// DefaultSchema is the schema of the store's tables.
	DefaultSchema = "public"
	// DefaultTablePrefix starts the name of each of the store's tables, indexes and
	// functions.
	DefaultTablePrefix = "gatehouse_"
	// DefaultFPRate is the share of IsRevoked calls for ids that are not revoked that
	// still cost a round trip, because the in-memory filter cannot rule them out.
	DefaultFPRate = 0.001
	// DefaultHealthCheck is how long the listener connection may stay silent before
	// the store pings PostgreSQL over it; a ping unanswered for as long again counts as
	// a lost listener.
	DefaultHealthCheck = time.Second
	// DefaultPurgeInterval is how often each instance purges expired rows in the
	// background.
	DefaultPurgeInterval = 10 * time.Minute
	// DefaultPurgeBatch is the most rows one statement of Purge deletes.
	DefaultPurgeBatch = 1000
)

// maxIdentifier is PostgreSQL's longest identifier (NAMEDATALEN - 1), in bytes.
const maxIdentifier = 63

// longestName is the longest name the store puts after the table prefix.
const longestName = "revocations_expires_idx"

// Option configures New, Open, Migrate and Migrations.
type Option func(*options)

type options struct {
	schema        string
	prefix        string
	migrate       bool
	fpRate        float64
	healthCheck   time.Duration
	purgeInterval time.Duration
	purgeBatch    int
	now           func() time.Time
	logger        *slog.Logger
}

func defaultOptions() options {
	return options{
		schema:        DefaultSchema,
		prefix:        DefaultTablePrefix,
		migrate:       true,
		fpRate:        DefaultFPRate,
		healthCheck:   DefaultHealthCheck,
		purgeInterval: DefaultPurgeInterval,
		purgeBatch:    DefaultPurgeBatch,
		now:           time.Now,
		logger:        slog.Default(),
	}
}

func buildOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	return o, o.validate()
}

func (o *options) validate() error {
	switch {
	case o.schema == "" || len(o.schema) > maxIdentifier || strings.ContainsRune(o.schema, 0):
		return fmt.Errorf("%w: pgstore: schema %q: want 1 to %d bytes, no NUL", core.ErrConfig, o.schema, maxIdentifier)
	case len(o.prefix)+len(longestName) > maxIdentifier || strings.ContainsRune(o.prefix, 0):
		return fmt.Errorf("%w: pgstore: table prefix %q: want at most %d bytes (PostgreSQL's names have %d), no NUL",
			core.ErrConfig, o.prefix, maxIdentifier-len(longestName), maxIdentifier)
	case math.IsNaN(o.fpRate) || o.fpRate <= 0 || o.fpRate > 0.5:
		return fmt.Errorf("%w: pgstore: filter false-positive rate %v, want in (0, 0.5]", core.ErrConfig, o.fpRate)
	case o.healthCheck <= 0:
		return fmt.Errorf("%w: pgstore: health check interval %v, want > 0", core.ErrConfig, o.healthCheck)
	case o.purgeInterval < 0:
		return fmt.Errorf("%w: pgstore: purge interval %v, want >= 0", core.ErrConfig, o.purgeInterval)
	case o.purgeBatch <= 0:
		return fmt.Errorf("%w: pgstore: purge batch %d, want > 0", core.ErrConfig, o.purgeBatch)
	case o.now == nil:
		return fmt.Errorf("%w: pgstore: nil clock", core.ErrConfig)
	case o.logger == nil:
		return fmt.Errorf("%w: pgstore: nil logger", core.ErrConfig)
	}
	return nil
}

// channel is the LISTEN/NOTIFY channel of the store's revocations: the schema and the
// table prefix, so that two stores of one database hear only their own, or a hash of
// them where that is longer than a channel name may be.
func (o *options) channel() string {
	c := o.schema + "." + o.prefix + "revocations"
	if len(c) <= maxIdentifier {
		return c
	}
	sum := sha256.Sum256([]byte(o.schema + "\x00" + o.prefix))
	return "gatehouse_revocations_" + hex.EncodeToString(sum[:16])
}

// WithSchema sets the schema of the store's tables. Migrate creates it if it does not
// exist. Default: DefaultSchema.
func WithSchema(name string) Option {
	return func(o *options) { o.schema = name }
}

// WithTablePrefix sets the string every table, index and function name of the store
// starts with, so that several applications, or several stores of one, can share a
// schema; it may be empty in a schema of the store's own. Stores of one schema and
// prefix share their data. Default: DefaultTablePrefix.
func WithTablePrefix(prefix string) Option {
	return func(o *options) { o.prefix = prefix }
}

// WithoutMigrate makes New leave the schema alone, for teams that run migrations
// with their own tool (see Migrations). New then checks that the schema is at the
// version this package needs and fails with an error matching ErrSchema if it is
// missing, older or newer.
func WithoutMigrate() Option {
	return func(o *options) { o.migrate = false }
}

// WithFilterFPRate sets the false-positive rate of the in-memory revocation filters:
// the share of lookups of ids that are not revoked that still cost a round trip. Lower
// rates take more memory: about 10 bits per revoked id at 0.01, 16 at 0.001. It must
// lie in (0, 0.5]. Default: DefaultFPRate.
func WithFilterFPRate(p float64) Option {
	return func(o *options) { o.fpRate = p }
}

// WithHealthCheck sets how long the listener connection may stay silent before the
// store pings PostgreSQL over it. A ping unanswered for as long again counts as a lost
// listener: IsRevoked then asks the database on every call until the listener is back
// and the filters are reloaded. A closed connection is noticed at once; this bounds
// how long a silently broken one (a network partition) goes unnoticed, to about twice
// d. It must be positive. Default: DefaultHealthCheck.
func WithHealthCheck(d time.Duration) Option {
	return func(o *options) { o.healthCheck = d }
}

// WithPurgeInterval sets how often the store purges expired rows in the background;
// 0 disables background purging, leaving it to the application's calls to Purge.
// Instances sharing the database share the work (see Purge). Default:
// DefaultPurgeInterval.
func WithPurgeInterval(d time.Duration) Option {
	return func(o *options) { o.purgeInterval = d }
}

// WithPurgeBatch sets the most rows one statement of Purge deletes, and so how long
// it holds their locks. It must be positive. Default: DefaultPurgeBatch.
func WithPurgeBatch(n int) Option {
	return func(o *options) { o.purgeBatch = n }
}

// WithClock sets the clock of the background purge. Answers never depend on it: every
// method takes its times from its arguments. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithLogger sets where the store reports losing and regaining its listener and the
// failures of its background purge. Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}
