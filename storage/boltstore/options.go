package boltstore

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// Defaults of the options.
const (
	DefaultLockTimeout   = time.Second
	DefaultPurgeInterval = 10 * time.Minute
	// DefaultFPRate is the share of IsRevoked calls for tokens that are not revoked
	// that still read the file, because the in-memory filter cannot rule them out.
	DefaultFPRate = 0.001
)

// Option configures Open.
type Option func(*options)

type options struct {
	lockTimeout   time.Duration
	purgeInterval time.Duration
	fpRate        float64
	maxSize       int
	now           func() time.Time
	logger        *slog.Logger
	allowReadable bool
	noSync        bool // tests only: never set by an exported option
}

func defaultOptions() options {
	return options{
		lockTimeout:   DefaultLockTimeout,
		purgeInterval: DefaultPurgeInterval,
		fpRate:        DefaultFPRate,
		now:           time.Now,
		logger:        slog.Default(),
	}
}

func (o *options) validate() error {
	switch {
	case o.lockTimeout <= 0:
		return fmt.Errorf("%w: boltstore: lock timeout %v, want > 0 (bbolt would wait forever)", core.ErrConfig, o.lockTimeout)
	case o.purgeInterval < 0:
		return fmt.Errorf("%w: boltstore: purge interval %v, want >= 0", core.ErrConfig, o.purgeInterval)
	case math.IsNaN(o.fpRate) || o.fpRate <= 0 || o.fpRate > 0.5:
		return fmt.Errorf("%w: boltstore: filter false-positive rate %v, want in (0, 0.5]", core.ErrConfig, o.fpRate)
	case o.maxSize < 0:
		return fmt.Errorf("%w: boltstore: max size %d, want >= 0", core.ErrConfig, o.maxSize)
	case o.now == nil:
		return fmt.Errorf("%w: boltstore: nil clock", core.ErrConfig)
	case o.logger == nil:
		return fmt.Errorf("%w: boltstore: nil logger", core.ErrConfig)
	}
	return nil
}

// WithLockTimeout sets how long Open waits for another opener to release the file
// before it fails with ErrLocked. It must be positive. Default: DefaultLockTimeout.
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) { o.lockTimeout = d }
}

// WithPurgeInterval sets how often the store purges expired entries in the background;
// 0 disables background purging, leaving it to the application's calls to Purge.
// Default: DefaultPurgeInterval.
func WithPurgeInterval(d time.Duration) Option {
	return func(o *options) { o.purgeInterval = d }
}

// WithFilterFPRate sets the false-positive rate of the in-memory revocation filters:
// the share of lookups of ids that are not revoked that still cost a read transaction.
// Lower rates take more memory: about 10 bits per revoked id at 0.01, 16 at 0.001.
// It must lie in (0, 0.5]. Default: DefaultFPRate.
func WithFilterFPRate(p float64) Option {
	return func(o *options) { o.fpRate = p }
}

// WithMaxSize caps the size of the file in bytes. A write that would grow the file past
// it fails (and the request with it, as core.ErrStoreUnavailable) instead of filling the
// disk; entries Purge deletes make room again. 0, the default, means no cap.
func WithMaxSize(bytes int) Option {
	return func(o *options) { o.maxSize = bytes }
}

// WithClock sets the clock of the background purge. Answers never depend on it: every
// method takes its times from its arguments. Default: time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// WithLogger sets where the background purge reports its failures. Default:
// slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// InsecureAllowReadableFile makes Open accept a file that group or others may read or
// write. Such a file gives whoever can read it the store's generated signing keys, and
// with them tokens for any user: prefer chmod 600. It is for files whose access is
// guarded otherwise (a private directory, an ACL) and that a tool insists on sharing.
// New files are created 0600 with or without it.
func InsecureAllowReadableFile() Option {
	return func(o *options) { o.allowReadable = true }
}
