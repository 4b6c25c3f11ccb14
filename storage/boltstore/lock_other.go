//go:build !unix

package boltstore

import (
	"os"
	"time"
)

// openFileFunc returns nil on systems without flock: bbolt opens and locks the file
// itself, and truncation is found after it opened the file (Store.checkSize).
func openFileFunc(time.Duration) func(string, int, os.FileMode) (*os.File, error) { return nil }

func releaseFile(f *os.File) { _ = f.Close() }
