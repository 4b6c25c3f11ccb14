package boltstore_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
	bolt "go.etcd.io/bbolt"
)

func TestSecondOpenInProcessIsLocked(t *testing.T) {
	// bbolt locks with flock(2), which belongs to an open file description, not to a
	// process: a second Open in the same process waits like one in another process.
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	openAt(t, path)
	start := time.Now()
	s2, err := boltstore.Open(path, boltstore.WithLockTimeout(200*time.Millisecond))
	elapsed := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if !errors.Is(err, boltstore.ErrLocked) || !errors.Is(err, core.ErrStoreUnavailable) {
		t.Errorf("second Open: error = %v, want ErrLocked", err)
	}
	// bbolt retries every 50ms and gives up when the next retry would overrun.
	if elapsed < 140*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("second Open failed after %v, want about the 200ms lock timeout", elapsed)
	}
	t.Logf("second Open: %v after %v", err, elapsed.Round(time.Millisecond))
}

func TestOpenAfterCloseIsNotLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	openAt(t, path, boltstore.WithLockTimeout(100*time.Millisecond))
}

func TestBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  boltstore.Option
	}{
		{"zero lock timeout", boltstore.WithLockTimeout(0)},
		{"negative purge interval", boltstore.WithPurgeInterval(-time.Second)},
		{"zero fp rate", boltstore.WithFilterFPRate(0)},
		{"fp rate one", boltstore.WithFilterFPRate(1)},
		{"negative max size", boltstore.WithMaxSize(-1)},
		{"nil clock", boltstore.WithClock(nil)},
		{"nil logger", boltstore.WithLogger(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gatehouse.db")
			s, err := boltstore.Open(path, tc.opt)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, core.ErrConfig) {
				t.Errorf("error = %v, want core.ErrConfig", err)
			}
			if _, err := os.Stat(path); err == nil {
				t.Error("Open with a bad option created the file")
			}
		})
	}
}

// filledFile returns the path of a closed store file holding revocations and sessions.
func filledFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		if err := s.RevokeToken(ctx, fmt.Sprintf("jti-%06d-%s", i, bytes.Repeat([]byte("x"), 40)), base); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 200 {
		if err := s.CreateSession(ctx, session(fmt.Sprintf("sid-%d", i), "alice")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDamagedFile opens damaged files: each must give an error matching ErrCorrupt
// from Open or, for damage Open does not read, from Check, and never panic.
func TestDamagedFile(t *testing.T) {
	good := filledFile(t)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	used := usedSize(t, good) // bbolt grows files ahead of use; the rest is unused
	t.Logf("intact file: %d bytes, %d in use", len(data), used)
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 1<<16)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	scribbled := bytes.Clone(data)
	for i := 4 * 4096; i < used; i++ { // every page after the metas and the first two
		scribbled[i] = byte(rng.Uint32())
	}
	zeroedMiddle := bytes.Clone(data)
	clear(zeroedMiddle[used/2 : used/2+8*4096])

	for _, tc := range []struct {
		name      string
		content   []byte
		openFails bool // else Open may succeed, and then Check must fail
	}{
		{"garbage", garbage, true},
		{"text", []byte("revoked: jti-1\nrevoked: jti-2\n"), true},
		{"one page", data[:4096], true},
		{"half a meta page", data[:6000], true},
		{"metas only", data[:2*4096], true},
		{"truncated to 1/2", data[:used/2], true},
		{"truncated to 3/4", data[:used*3/4], true},
		{"last page cut", data[:used-4096], true},
		{"last byte cut", data[:used-1], true},
		{"pages scribbled over", scribbled, false},
		{"pages zeroed", zeroedMiddle, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "damaged.db")
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := boltstore.Open(path, boltstore.WithPurgeInterval(0))
			if err != nil {
				if !errors.Is(err, boltstore.ErrCorrupt) || !errors.Is(err, core.ErrStoreUnavailable) {
					t.Errorf("Open: error = %v, want ErrCorrupt", err)
				}
				t.Logf("Open: %.300v", err)
				// The failed Open let go of the file: opening it again fails the same
				// way, at once, not with ErrLocked after the timeout.
				s, err := boltstore.Open(path, boltstore.WithLockTimeout(50*time.Millisecond))
				if err == nil {
					s.Close()
					t.Fatal("second Open of the damaged file succeeded")
				}
				if errors.Is(err, boltstore.ErrLocked) {
					t.Errorf("second Open: %v; the first left the file locked", err)
				}
				return
			}
			defer s.Close()
			if tc.openFails {
				t.Fatal("Open of a damaged file succeeded")
			}
			err = s.Check()
			if !errors.Is(err, boltstore.ErrCorrupt) {
				t.Errorf("Check: error = %v, want ErrCorrupt", err)
			}
			t.Logf("Open succeeded, Check: %.300v", err)
		})
	}

	t.Run("unused tail cut", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "short.db")
		if err := os.WriteFile(path, data[:used], 0o600); err != nil {
			t.Fatal(err)
		}
		s := openAt(t, path)
		if err := s.Check(); err != nil {
			t.Errorf("Check: %v", err)
		}
	})
}

// usedSize is the size bbolt's meta page gives the file at path: its pages in use.
func usedSize(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var size int64
	if err := db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); err != nil {
		t.Fatal(err)
	}
	return int(size)
}

func TestEmptyFileIsANewStore(t *testing.T) {
	// bbolt initialises a file of 0 bytes, as one made by touch: it is new, not damaged.
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openAt(t, path)
	if err := s.RevokeToken(ctx, "jti-1", base); err != nil {
		t.Fatal(err)
	}
}

func TestForeignBboltFileIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	writeForeignBolt(t, path)
	s, err := boltstore.Open(path)
	if err == nil {
		s.Close()
		t.Fatal("Open of another application's bbolt file succeeded")
	}
	if !errors.Is(err, boltstore.ErrCorrupt) {
		t.Errorf("error = %v, want ErrCorrupt", err)
	}
}

// TestFailedCommit fills a store capped by WithMaxSize until a write fails: the failure
// is a store failure (503), not a panic and not a silent success, nothing of the
// failed write is visible, earlier writes are intact, and once Purge frees pages writes
// succeed again.
// writeForeignBolt writes a valid bbolt file of another application.
func writeForeignBolt(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("users"))
		if err != nil {
			return err
		}
		return b.Put([]byte("alice"), []byte("admin"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCompactTo(t *testing.T) {
	s := openTemp(t)
	for i := range 2000 {
		if err := s.RevokeToken(ctx, fmt.Sprintf("jti-%d", i), base.Add(time.Duration(i%2)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Purge(ctx, base); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "compact.db")
	if err := s.CompactTo(dst); err != nil {
		t.Fatal(err)
	}
	if err := s.CompactTo(dst); err == nil {
		t.Error("CompactTo over an existing file succeeded")
	}
	c := openAt(t, dst)
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		mustRevoked(t, c, fmt.Sprintf("jti-%d", i), "", i%2 == 1)
	}
	if n, err := c.Purge(ctx, base.Add(time.Hour)); err != nil || n != 1000 {
		t.Errorf("Purge of the compacted copy = %d, %v; want 1000", n, err)
	}
}

// TestOlderLayoutsAreUpgraded opens files of layout 1, which had neither the bucket of
// consumed ids nor that of counters, of layout 2, which had no counters, and of layout
// 3, which had every bucket and JSON session records: Open adds what is missing, once,
// and keeps everything else; a file that lacks buckets its version had, or claims
// another layout, a newer one included, is refused.
func TestOlderLayoutsAreUpgraded(t *testing.T) {
	// downgrade turns a closed store file into one without the buckets drop, claiming
	// version v.
	downgrade := func(t *testing.T, path, v string, drop ...string) {
		t.Helper()
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			for _, b := range drop {
				if tx.Bucket([]byte(b)) != nil {
					if err := tx.DeleteBucket([]byte(b)); err != nil {
						return err
					}
				}
			}
			return tx.Bucket([]byte("meta")).Put([]byte("format"), []byte(v))
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, layout := range []struct {
		version string
		lacks   []string
	}{
		{"1", []string{"consumed", "counters"}},
		{"2", []string{"counters"}},
		{"3", nil},
	} {
		t.Run("layout "+layout.version, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "old.db")
			s, err := boltstore.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.RevokeToken(ctx, "jti-1", base.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateSession(ctx, session("sid-1", "alice")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Consume(ctx, "state:0", base.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			downgrade(t, path, layout.version, layout.lacks...)

			for round := range 2 {
				s := openAt(t, path)
				mustRevoked(t, s, "jti-1", "", true)
				if got, err := s.Session(ctx, "sid-1"); err != nil || got == nil {
					t.Fatalf("round %d: Session(sid-1) = %v, %v; want the session", round, got, err)
				}
				ok, err := s.Consume(ctx, "state:0", base.Add(time.Hour))
				if err != nil || ok != (layout.version == "1" && round == 0) {
					t.Errorf("round %d: Consume(state:0) = %v, %v; want %v", round, ok, err, layout.version == "1" && round == 0)
				}
				n, end, err := s.Count(ctx, "pw:ip:192.0.2.1", 1, base, time.Minute)
				if err != nil || n != round+1 || !end.Equal(base.Add(time.Minute)) {
					t.Errorf("round %d: Count = %d, %v, %v; want %d, %v", round, n, end, err, round+1, base.Add(time.Minute))
				}
				if err := s.Check(); err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}

	for i, tc := range []struct {
		version string
		drop    []string
	}{
		{"2", []string{"consumed", "counters"}},
		{"3", []string{"consumed", "counters"}},
		{"0", []string{"consumed", "counters"}},
		{"", []string{"consumed", "counters"}},
		{"1", []string{"consumed"}}, // layout 1 had no counters either
		{"1", []string{"counters"}},
		{"3", []string{"counters"}},
		{"4", []string{"counters"}},
		{"", []string{"counters"}},
		{"5", nil},
		{"", nil},
	} {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("bad-%d.db", i))
		s, err := boltstore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		downgrade(t, path, tc.version, tc.drop...)
		if s, err := boltstore.Open(path); !errors.Is(err, boltstore.ErrCorrupt) {
			if err == nil {
				s.Close()
			}
			t.Errorf("Open of a file of version %q without the buckets %q: error = %v, want ErrCorrupt", tc.version, tc.drop, err)
		}
	}
}
