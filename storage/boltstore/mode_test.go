//go:build unix

package boltstore_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
)

// A new file is created 0600 whatever the umask lets through (SECURITY 44).
func TestNewFileIs0600(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	openAt(t, path)
	if mode := fileMode(t, path); mode != 0o600 {
		t.Errorf("new file has mode %04o, want 0600", mode)
	}
}

// A file group or others may read or write is refused, with an error naming it and
// the fix, and left exactly as it was: an existing store, and an empty file (which
// bbolt would otherwise initialise) (SECURITY 44).
func TestReadableFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store.db")
	s := openAt(t, store)
	if _, err := s.LoadOrStoreKey(ctx, "signing", []byte("secret")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{store, empty} {
		for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o666} {
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, path)
			s, err := boltstore.Open(path)
			if err == nil {
				s.Close()
				t.Errorf("Open(%s) with mode %04o succeeded", filepath.Base(path), mode)
				continue
			}
			if !errors.Is(err, boltstore.ErrReadableFile) || !errors.Is(err, core.ErrConfig) {
				t.Errorf("Open(%s) with mode %04o: error = %v, want ErrReadableFile", filepath.Base(path), mode, err)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "chmod 600 "+path) {
				t.Errorf("Open with mode %04o: error %q does not name the file and the fix", mode, msg)
			}
			if path == store && mode == 0o644 {
				t.Logf("mode 0644: %v", err)
			}
			if after := snapshot(t, path); after != before {
				t.Errorf("Open(%s) with mode %04o changed the file: %+v, was %+v", filepath.Base(path), mode, after, before)
			}
		}
	}
}

// The refusal comes at once, even while another opener holds the file's lock.
func TestReadableFileIsRefusedWithoutWaitingForTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	openAt(t, path, boltstore.InsecureAllowReadableFile())
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s, err := boltstore.Open(path, boltstore.WithLockTimeout(5*time.Second))
	if err == nil {
		s.Close()
		t.Fatal("second Open of a locked, readable file succeeded")
	}
	if !errors.Is(err, boltstore.ErrReadableFile) {
		t.Errorf("error = %v, want ErrReadableFile", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refused after %v: it waited for the lock", d)
	}
}

// With InsecureAllowReadableFile the file opens and keeps its mode.
func TestInsecureAllowReadableFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := openAt(t, path)
	if err := s.RevokeToken(ctx, "jti-1", base); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s = openAt(t, path, boltstore.InsecureAllowReadableFile())
	if ok, err := s.IsRevoked(ctx, "jti-1", ""); err != nil || !ok {
		t.Errorf("IsRevoked(jti-1) = %v, %v; want true", ok, err)
	}
	if mode := fileMode(t, path); mode != 0o644 {
		t.Errorf("mode %04o after opening, want 0644 left as it was", mode)
	}
}

func fileMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

type fileState struct {
	mode    fs.FileMode
	size    int64
	modTime time.Time
	sum     string
}

func snapshot(t *testing.T, path string) fileState {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fileState{info.Mode().Perm(), info.Size(), info.ModTime(), string(bytes.Clone(data))}
}
