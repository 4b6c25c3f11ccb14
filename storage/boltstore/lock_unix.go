//go:build unix

package boltstore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// openFileFunc returns the function bbolt opens the file with. It first runs check on
// the open file (its mode: a refused file is not worth waiting for), then takes the
// file's lock itself, waiting up to timeout, and only then checks that the file is not
// truncated: the check reads the meta pages, which the lock holder may be writing.
// bbolt's own flock on the same open file then succeeds at once. On Linux, flock locks
// belong to an open file description, so a second Open in the same process waits
// like one in another process.
func openFileFunc(timeout time.Duration, check func(*os.File) error) func(string, int, os.FileMode) (*os.File, error) {
	return func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		if err != nil {
			return nil, err
		}
		if err := check(f); err != nil {
			f.Close()
			return nil, err
		}
		if err := lockFile(f, timeout); err != nil {
			f.Close()
			return nil, err
		}
		if err := checkTruncated(f); err != nil {
			f.Close() // releases the lock: nothing is mapped yet
			return nil, err
		}
		return f, nil
	}
}

func lockFile(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return fmt.Errorf("flock: %w", err)
		case time.Now().After(deadline):
			return fmt.Errorf("%w: %s (waited %v)", ErrLocked, f.Name(), timeout)
		}
		time.Sleep(min(10*time.Millisecond, time.Until(deadline)+time.Millisecond))
	}
}

// releaseFile unlocks and closes f, when bbolt panicked in Open and left it open. The
// explicit unlock matters: bbolt may have mapped the file, and a mapping keeps the
// open file description, and with it the lock, alive after Close.
func releaseFile(f *os.File) {
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	_ = f.Close()
}
