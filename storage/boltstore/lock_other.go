//go:build !unix

package boltstore

import (
	"os"
	"time"
)

// openFileFunc returns nil on systems without flock: bbolt opens and locks the file
// itself, and truncation is found after it opened the file (Store.checkSize). The
// file's mode is not checked: these systems (Windows) have no group and other bits.
func openFileFunc(time.Duration, func(*os.File) error) func(string, int, os.FileMode) (*os.File, error) {
	return nil
}

func releaseFile(f *os.File) { _ = f.Close() }
