package boltstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	bolt "go.etcd.io/bbolt"
)

var base = time.Date(2100, time.March, 4, 5, 6, 7, 123456789, time.UTC)

// withoutSync turns fsync off, for tests whose subject is not durability and that
// would otherwise spend minutes in fdatasync.
func withoutSync() Option { return func(o *options) { o.noSync = true } }

func openTest(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "gatehouse.db"), append([]Option{WithPurgeInterval(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSyncByDefault: a store opened without options, or with every exported option,
// has bbolt fsync each commit and each growth of the file: NoSync and NoGrowSync are
// never on outside the tests that ask for them (SECURITY 27).
func TestSyncByDefault(t *testing.T) {
	for name, opts := range map[string][]Option{
		"defaults": nil,
		"every option": {WithLockTimeout(2 * time.Second), WithPurgeInterval(time.Hour), WithFilterFPRate(0.01),
			WithMaxSize(1 << 30), WithClock(time.Now), WithLogger(slog.New(slog.DiscardHandler))},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := Open(filepath.Join(t.TempDir(), "gatehouse.db"), opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.db.NoSync || s.db.NoGrowSync || s.opts.noSync {
				t.Errorf("NoSync %v, NoGrowSync %v (option %v): want every commit synced", s.db.NoSync, s.db.NoGrowSync, s.opts.noSync)
			}
		})
	}
}

// TestFileStopsGrowing runs revoke, expire, purge cycles with a window of revocations
// alive at any time, as a server has: each cycle revokes a token that lives for the
// next window cycles, and purges the one that expires. The pages each purge frees are
// reused, so the file reaches a size and stays there. [SECURITY 31]
func TestFileStopsGrowing(t *testing.T) {
	half, window := 50_000, 2_000 // 100k cycles in all
	if raceEnabled || testing.Short() {
		half = 5_000 // 10k: -race makes a cycle take a millisecond
	}
	s := openTest(t, withoutSync())
	ctx := context.Background()
	cycle := func(i int) {
		at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
		if err := s.RevokeToken(ctx, fmt.Sprintf("jti-%08d-a-token-id-of-usual-length", i), at(i+window)); err != nil {
			t.Fatal(err)
		}
		want := 0
		if i >= window {
			want = 1
		}
		if n, err := s.Purge(ctx, at(i)); err != nil || n != want {
			t.Fatalf("cycle %d: Purge = %d, %v; want %d", i, n, err, want)
		}
	}
	size := func() int64 {
		info, err := os.Stat(s.path)
		if err != nil {
			t.Fatal(err)
		}
		return info.Size()
	}
	for i := range half {
		cycle(i)
	}
	first := size()
	for i := half; i < 2*half; i++ {
		cycle(i)
	}
	second := size()
	t.Logf("file size after %d cycles: %d bytes, after %d: %d bytes", half, first, 2*half, second)
	if second > first+first/10 {
		t.Errorf("file grew from %d to %d bytes between cycle %d and %d", first, second, half, 2*half)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
	if st := s.Stats(); st.RevokedTokens != window {
		t.Errorf("Stats.RevokedTokens = %d, want the window %d", st.RevokedTokens, window)
	}
}

// TestFailingWriteLeavesItsBatch holds the writer, queues three writes, of which the
// middle one fails, and releases it: the three share a transaction, the failure rolls
// it back, and the other two are made again without it.
func TestFailingWriteLeavesItsBatch(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	release, held := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go s.update(ctx, "hold", func(*bolt.Tx) error { once.Do(func() { close(held) }); <-release; return nil }, nil)
	<-held

	boom := errors.New("boom")
	put := func(key string, fail bool) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketKeys).Put([]byte(key), []byte("v")); err != nil {
				return err
			}
			if fail {
				return boom
			}
			return nil
		}
	}
	var afterCalls sync.Map
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, w := range []struct {
		key  string
		fail bool
	}{{"a", false}, {"bad", true}, {"b", false}} {
		wg.Go(func() {
			errs[i] = s.update(ctx, "test", put(w.key, w.fail), func() { afterCalls.Store(w.key, true) })
		})
	}
	for len(s.ops) < 3 {
		time.Sleep(time.Millisecond)
	}
	commits := s.commits.Load()
	close(release)
	wg.Wait()

	if errs[0] != nil || errs[2] != nil {
		t.Errorf("good writes failed: %v, %v", errs[0], errs[2])
	}
	if !errors.Is(errs[1], boom) || !errors.Is(errs[1], core.ErrStoreUnavailable) {
		t.Errorf("bad write: error = %v, want boom as a store failure", errs[1])
	}
	// One commit for the write that held the writer, one for the two good writes.
	if got := s.commits.Load() - commits; got != 2 {
		t.Errorf("the hold and the two good writes took %d commits, want 2", got)
	}
	for key, want := range map[string]bool{"a": true, "b": true, "bad": false} {
		var found bool
		s.db.View(func(tx *bolt.Tx) error { found = tx.Bucket(bucketKeys).Get([]byte(key)) != nil; return nil })
		if found != want {
			t.Errorf("key %q stored = %v, want %v", key, found, want)
		}
		if _, called := afterCalls.Load(key); called != want {
			t.Errorf("after of %q called = %v, want %v", key, called, want)
		}
	}
}

// TestFilterGrowsAndShrinks revokes more ids than the first filter holds, then purges
// them: the filter is rebuilt larger in the background, then smaller by Purge, and no
// revoked id is ever missed.
func TestFilterGrowsAndShrinks(t *testing.T) {
	s := openTest(t, withoutSync())
	ctx := context.Background()
	first := s.tokens.Capacity()
	n := 3 * first
	for i := range n {
		jti := fmt.Sprintf("jti-%d", i)
		if err := s.RevokeToken(ctx, jti, base.Add(time.Duration(min(i%3, 1))*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if revoked, err := s.IsRevoked(ctx, jti, ""); err != nil || !revoked {
			t.Fatalf("IsRevoked(%s) right after RevokeToken = %v, %v", jti, revoked, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.tokens.Count() > s.tokens.Capacity() || s.growing[0].Load() {
		if time.Now().After(deadline) {
			t.Fatalf("filter holds %d ids, capacity %d: it did not grow", s.tokens.Count(), s.tokens.Capacity())
		}
		time.Sleep(time.Millisecond)
	}
	grown := s.tokens.Capacity()
	if grown < n {
		t.Errorf("filter capacity %d after %d revocations", grown, n)
	}
	for i := range n {
		if revoked, err := s.IsRevoked(ctx, fmt.Sprintf("jti-%d", i), ""); err != nil || !revoked {
			t.Fatalf("IsRevoked(jti-%d) after the filter grew = %v, %v", i, revoked, err)
		}
	}

	// Purge the third due first: not more than half of the filter is stale, so it stays.
	if got, err := s.Purge(ctx, base); err != nil || got != n/3 {
		t.Fatalf("Purge(base) = %d, %v; want %d", got, err, n/3)
	}
	if s.tokens.Capacity() != grown {
		t.Errorf("a third of the filter stale: it was rebuilt (capacity %d, was %d)", s.tokens.Capacity(), grown)
	}
	// Purge the rest: all of it is stale, and Purge rebuilds it small.
	if got, err := s.Purge(ctx, base.Add(time.Hour)); err != nil || got != n-n/3 {
		t.Fatalf("Purge(base+1h) = %d, %v; want %d", got, err, n-n/3)
	}
	if s.tokens.Capacity() >= grown || s.tokens.Count() != 0 {
		t.Errorf("after purging everything: filter capacity %d (was %d), %d ids (want 0)",
			s.tokens.Capacity(), grown, s.tokens.Count())
	}
	reads := s.filterReads.Load()
	for i := range n {
		if revoked, err := s.IsRevoked(ctx, fmt.Sprintf("jti-%d", i), ""); err != nil || revoked {
			t.Fatalf("IsRevoked(purged jti-%d) = %v, %v", i, revoked, err)
		}
	}
	if extra := s.filterReads.Load() - reads; extra > uint64(n)/100 {
		t.Errorf("%d of %d lookups of purged ids read the file: the filter was not rebuilt", extra, n)
	}
}

func TestTimeKeyOrder(t *testing.T) {
	times := []time.Time{
		{}, minTime.Add(-time.Hour), minTime, time.Unix(-1, 0), time.Unix(0, 0), time.Unix(0, 1),
		base, base.Add(1), maxTime, maxTime.Add(time.Hour),
	}
	for i := 1; i < len(times); i++ {
		a, b := timeKey(times[i-1]), timeKey(times[i])
		if string(a) > string(b) {
			t.Errorf("timeKey(%v) sorts after timeKey(%v)", times[i-1], times[i])
		}
	}
}

// TestEndSessionsOneCommit: ending a user's 1,000 sessions is one write in one commit,
// durable (SECURITY 46), where core's LogoutAll used to make a commit per session
// (BenchmarkLogoutAll compares the two).
func TestEndSessionsOneCommit(t *testing.T) {
	s := openTest(t)
	putSessions(t, s, 1000, func(i int) (string, string) { return fmt.Sprintf("sid-%d", i), "alice" })
	putSessions(t, s, 10, func(i int) (string, string) { return fmt.Sprintf("bob-%d", i), "bob" })
	writes, commits := s.writes.Load(), s.commits.Load()
	start := time.Now()
	list, err := s.EndSessions(context.Background(), "alice")
	elapsed := time.Since(start)
	if err != nil || len(list) != 1000 {
		t.Fatalf("EndSessions = %d sessions, %v; want 1000", len(list), err)
	}
	if w, c := s.writes.Load()-writes, s.commits.Load()-commits; w != 1 || c != 1 {
		t.Errorf("EndSessions of 1000 sessions made %d writes in %d commits, want 1 in 1", w, c)
	}
	if got, err := s.Sessions(context.Background(), "bob"); err != nil || len(got) != 10 {
		t.Errorf("Sessions(bob) = %d, %v; want 10 untouched", len(got), err)
	}
	t.Logf("EndSessions of 1000 sessions, fsync on: %v, one commit", elapsed.Round(time.Millisecond))
}
