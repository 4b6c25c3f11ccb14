package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/revfilter"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Errors of this store. Each matches core.ErrStoreUnavailable too, so that a request
// that meets one is answered 503.
var (
	// ErrLocked is returned by Open when another opener, in this process or another,
	// holds the file for longer than the lock timeout.
	ErrLocked error = &storeError{"gatehouse: boltstore: database file is locked by another opener"}
	// ErrCorrupt is returned when the file is damaged, truncated, or not a store of
	// this package: by Open, and by any method that meets a damaged record.
	ErrCorrupt error = &storeError{"gatehouse: boltstore: database file is damaged or not a gatehouse store"}
	// ErrSessionExists is returned by CreateSession for an id already stored.
	ErrSessionExists error = &storeError{"gatehouse: boltstore: session id already exists"}
	// ErrInvalidID is returned by the methods that write an id (jti, session id,
	// subject or key name) that is empty or longer than MaxIDLength.
	ErrInvalidID error = &storeError{"gatehouse: boltstore: empty or oversized id"}
)

// ErrReadableFile is returned by Open for a file that group or others may read or
// write (mode & 0o077 != 0), unless given InsecureAllowReadableFile. The file holds the
// generated signing keys: whoever reads it can mint tokens for anyone. It matches
// core.ErrConfig, not core.ErrStoreUnavailable: retrying does not help, chmod 600 does.
var ErrReadableFile = fmt.Errorf("%w: boltstore: database file is open to group or others", core.ErrConfig)

type storeError struct{ msg string }

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return core.ErrStoreUnavailable }

// failed wraps a failure of op so that it matches core.ErrStoreUnavailable and err.
func failed(op string, err error) error {
	if errors.Is(err, core.ErrStoreUnavailable) {
		return fmt.Errorf("boltstore: %s: %w", op, err)
	}
	return fmt.Errorf("%w: boltstore: %s: %w", core.ErrStoreUnavailable, op, err)
}

func closedError(op string) error { return fmt.Errorf("boltstore: %s: %w", op, core.ErrStoreClosed) }

// Store is a core.Store in one bbolt file. Make one with Open; it is safe for concurrent
// use, and must be closed with Close.
type Store struct {
	path string
	db   *bolt.DB
	opts options

	// The revocation filters, one per kind, so that a revoked jti never matches a
	// session id: IsRevoked reads the file only when one of them says maybe.
	tokens, sessions *revfilter.Set
	growing          [2]atomic.Bool // a growth rebuild of tokens / sessions is running

	// mu is held shared by every call that uses db and exclusively by Close, so that
	// Close waits for them and they see closed once it has started.
	mu     sync.RWMutex
	closed atomic.Bool

	writes, commits, filterReads atomic.Uint64 // see Stats

	ops        chan *op // write requests for the writer (writer.go)
	quit       chan struct{}
	writerDone chan struct{}
	bg         sync.WaitGroup // purge loop and filter rebuilds
}

var _ core.Store = (*Store)(nil)

// Open opens the store in the bbolt file at path, creating the file (mode 0600) if it
// does not exist, and starts the background purge. It refuses, with ErrReadableFile and
// without changing it, a file that group or others may read or write, unless given
// InsecureAllowReadableFile (on Unix; Windows has no such mode bits). It waits up to
// the lock timeout for another opener to let go of the file, then fails with ErrLocked.
// A file that is damaged or truncated makes it fail with ErrCorrupt, never panic; Open
// checks the file's meta pages, size and buckets and reads every revocation, not every
// page (see Check).
func Open(path string, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	db, err := openDB(path, o)
	if err != nil {
		return nil, err
	}
	s := &Store{
		path:       path,
		db:         db,
		opts:       o,
		ops:        make(chan *op, maxBatch),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	if err := s.init(); err != nil {
		_ = guard("close", db.Close)
		return nil, err
	}
	go s.writeLoop()
	if o.purgeInterval > 0 {
		s.bg.Add(1)
		go s.purgeLoop()
	}
	return s, nil
}

// openDB opens the bbolt file, turning a lock timeout into ErrLocked and a panic on a
// damaged file into ErrCorrupt.
func openDB(path string, o options) (*bolt.DB, error) {
	var (
		db     *bolt.DB
		opened *os.File
	)
	open := openFileFunc(o.lockTimeout, func(f *os.File) error {
		if o.allowReadable {
			return nil
		}
		return checkMode(path, f)
	})
	err := guard("open", func() (err error) {
		db, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:      o.lockTimeout,
			FreelistType: bolt.FreelistMapType,
			MaxSize:      o.maxSize,
			NoSync:       o.noSync,
			OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
				var f *os.File
				var err error
				if open != nil {
					f, err = open(name, flag, perm)
				} else {
					f, err = os.OpenFile(name, flag, perm)
				}
				opened = f
				return f, err
			},
		})
		return err
	})
	if err != nil && db == nil && opened != nil && errors.Is(err, ErrCorrupt) {
		// bbolt panicked inside Open and kept the file: let go of it.
		releaseFile(opened)
	}
	var pathErr *fs.PathError
	var errno syscall.Errno
	switch {
	case err == nil:
	case errors.Is(err, ErrLocked), errors.Is(err, ErrReadableFile):
		return nil, err
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s (waited %v)", ErrLocked, path, o.lockTimeout)
	case errors.Is(err, ErrCorrupt):
		return nil, fmt.Errorf("%s: %w", path, err)
	case errors.As(err, &pathErr), errors.As(err, &errno):
		// The file system refused (permissions, a missing directory, ...).
		return nil, failed("open", err)
	default:
		// bbolt's other errors are about the file's content: bad magic, checksum or
		// version, "file size too small", ...
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	return db, nil
}

// checkMode fails with ErrReadableFile, naming the file and the fix, if group or
// others may read or write the open file f, found at path.
func checkMode(path string, f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if mode := info.Mode().Perm(); mode&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o, and holds signing keys and sessions: run chmod 600 %s "+
			"(or, to open it anyway, boltstore.InsecureAllowReadableFile)", ErrReadableFile, path, mode, path)
	}
	return nil
}

// init checks the file and loads the revocation filters.
func (s *Store) init() error {
	err := guard("verify", func() error {
		if err := s.checkSize(); err != nil {
			return err
		}
		return s.initBuckets()
	})
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	if err := s.loadFilters(); err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	return nil
}

// checkSize fails if the file is shorter than its meta page says. bbolt maps the file
// and would fault on the first page past its end (SIGBUS, which recover cannot catch
// without SetPanicOnFault); this check finds a truncated file before any such access.
func (s *Store) checkSize() error {
	info, err := os.Stat(s.db.Path())
	if err != nil {
		return failed("stat", err)
	}
	return s.db.View(func(tx *bolt.Tx) error {
		if want := tx.Size(); info.Size() < want {
			return fmt.Errorf("%w: file has %d bytes, its meta page says %d (truncated)", ErrCorrupt, info.Size(), want)
		}
		return nil
	})
}

// initBuckets creates the buckets in a new file, checks them in an existing one, and
// brings a file of an older layout (olderLayouts) up to the current one.
func (s *Store) initBuckets() error {
	var present [][]byte
	foreign := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			for _, b := range allBuckets {
				if bytes.Equal(name, b) {
					present = append(present, b)
					return nil
				}
			}
			foreign++
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	switch {
	case foreign > 0:
		return fmt.Errorf("%w: found %d of its %d buckets and %d others", ErrCorrupt, len(present), len(allBuckets), foreign)
	case len(present) == 0:
		// A new file, or one whose creation was cut short before its first commit.
		err := s.db.Update(func(tx *bolt.Tx) error {
			for _, b := range allBuckets {
				if _, err := tx.CreateBucket(b); err != nil {
					return err
				}
			}
			return tx.Bucket(bucketMeta).Put(formatKey, formatVersion)
		})
		if err != nil {
			return failed("create buckets", err)
		}
		return nil
	case len(present) < len(allBuckets):
		return s.upgrade(present)
	}
	var v []byte
	err = s.db.View(func(tx *bolt.Tx) error {
		v = bytes.Clone(tx.Bucket(bucketMeta).Get(formatKey))
		return nil
	})
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	case bytes.Equal(v, formatVersion):
		return nil
	}
	return s.upgrade(present) // layout 3, which had every bucket, or refused
}

// upgrade turns a file of an older layout, which has the buckets present, into one of
// the current layout, in one transaction: it adds the buckets that layout lacked,
// empty, and sets the version. A file whose buckets are not exactly those of the
// layout its version names is refused with ErrCorrupt.
func (s *Store) upgrade(present [][]byte) error {
	var missing [][]byte
	for _, b := range allBuckets {
		if !slices.ContainsFunc(present, func(p []byte) bool { return bytes.Equal(p, b) }) {
			missing = append(missing, b)
		}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%w: found %d of its %d buckets, not %q", ErrCorrupt, len(present), len(allBuckets), bucketMeta)
		}
		v := meta.Get(formatKey)
		for _, l := range olderLayouts {
			if !bytes.Equal(v, l.version) || !slices.EqualFunc(l.lacks, missing, bytes.Equal) {
				continue
			}
			for _, b := range missing {
				if _, err := tx.CreateBucket(b); err != nil {
					return err
				}
			}
			return meta.Put(formatKey, formatVersion)
		}
		if len(missing) == 0 {
			return fmt.Errorf("%w: layout version %q, want %q", ErrCorrupt, v, formatVersion)
		}
		return fmt.Errorf("%w: layout version %q without the buckets %q", ErrCorrupt, v, missing)
	})
	switch {
	case errors.Is(err, ErrCorrupt):
		return err
	case err != nil:
		return failed("upgrade layout", err)
	}
	return nil
}

// guard runs fn, turning a panic, and a memory fault in the file's mapping, into an
// error matching ErrCorrupt. bbolt panics on some damaged pages instead of failing.
func guard(what string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: %v", ErrCorrupt, what, r)
		}
	}()
	return fn()
}

// view runs fn in a read transaction, unless the store is closed or ctx done.
func (s *Store) view(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	return s.using(ctx, op, func() error { return s.db.View(fn) })
}

// using runs fn, which uses db, unless the store is closed or ctx done; Close waits
// for it.
func (s *Store) using(ctx context.Context, op string, fn func() error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return closedError(op)
	}
	if err := ctx.Err(); err != nil {
		return failed(op, err)
	}
	if err := guard(op, fn); err != nil {
		return failed(op, err)
	}
	return nil
}

// Close stops the background purge, waits for writes in progress, and closes the file.
// Calls after Close, Close included, fail with core.ErrStoreClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return closedError("close")
	}
	s.closed.Store(true)
	s.mu.Unlock()

	close(s.quit)
	<-s.writerDone // it has answered every write queued before closed was set
	s.bg.Wait()
	if err := s.db.Close(); err != nil {
		return failed("close", err)
	}
	return nil
}

// Check runs bbolt's consistency check over the whole file in a read transaction and
// returns every problem it finds, joined; nil means the file is sound. Writers are not
// blocked, but on a large file it reads every page: run it at start-up or from an
// operator's command, not per request.
func (s *Store) Check() error {
	var errs []error
	err := s.view(context.Background(), "check", func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, s.path, errors.Join(errs...))
	}
	return nil
}

// CompactTo writes a compacted copy of the store to a new file at path (mode 0600),
// from one read transaction, while the store stays in use. A bbolt file never shrinks:
// pages Purge frees are reused but not returned to the file system. To reclaim them,
// compact to a new file and put it in place of the old one while no process has the
// store open.
func (s *Store) CompactTo(path string) error {
	if _, err := os.Stat(path); err == nil {
		return failed("compact", fmt.Errorf("%s exists", path))
	}
	dst, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: s.opts.lockTimeout})
	if err != nil {
		return failed("compact", err)
	}
	err = s.using(context.Background(), "compact", func() error {
		return bolt.Compact(dst, s.db, 64<<20)
	})
	if cerr := dst.Close(); err == nil && cerr != nil {
		err = failed("compact", cerr)
	}
	if err != nil {
		_ = os.Remove(path)
	}
	return err
}

// Stats are counters of a store since Open, for monitoring.
type Stats struct {
	// Writes is the number of writes made: each call that changed or could have
	// changed the file (RevokeToken, CreateSession, Rotate, EndSession, EndSessions,
	// Consume, Count with add > 0, a stored key, each Import, each Purge transaction).
	Writes uint64
	// Commits is the number of transactions that carried them; each costs two
	// fdatasyncs. Writes/Commits is how many writes shared a commit on average.
	Commits uint64
	// FilterReads is the number of IsRevoked calls the filters could not answer,
	// because an id was revoked or a false positive, which read the file.
	FilterReads uint64
	// RevokedTokens and RevokedSessions estimate the revocations in the file: the
	// ids added to each filter since it was built, less those purged since.
	RevokedTokens, RevokedSessions int
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	return Stats{
		Writes:          s.writes.Load(),
		Commits:         s.commits.Load(),
		FilterReads:     s.filterReads.Load(),
		RevokedTokens:   s.tokens.Live(),
		RevokedSessions: s.sessions.Live(),
	}
}
