package boltstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return openTemp(t) })
}

// TestConformanceLooseFilter runs the suite with filters that say "maybe" half the
// time, so that most answers come from the file rather than from memory.
func TestConformanceLooseFilter(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store { return openTemp(t, boltstore.WithFilterFPRate(0.5)) })
}

var (
	ctx  = context.Background()
	base = time.Date(2100, time.March, 4, 5, 6, 7, 123456789, time.UTC)
)

// openTemp opens a store in a new file under t.TempDir and closes it when t ends.
func openTemp(t testing.TB, opts ...boltstore.Option) *boltstore.Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "gatehouse.db"), opts...)
}

// openAt opens the store at path and closes it when t ends, unless the test did.
func openAt(t testing.TB, path string, opts ...boltstore.Option) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, core.ErrStoreClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func session(id, subject string) *core.Session {
	return &core.Session{
		ID:              id,
		Identity:        core.Identity{Subject: subject, Email: subject + "@example.com", Claims: map[string]any{"role": "admin"}},
		CreatedAt:       base,
		LastUsedAt:      base,
		ExpiresAt:       base.Add(30 * 24 * time.Hour),
		IdleExpiresAt:   base.Add(7 * 24 * time.Hour),
		AccessExpiresAt: base.Add(16 * time.Minute),
		Current:         id + ".rt1",
	}
}

func mustRevoked(t *testing.T, s *boltstore.Store, jti, sid string, want bool) {
	t.Helper()
	got, err := s.IsRevoked(ctx, jti, sid)
	if err != nil {
		t.Fatalf("IsRevoked(%q, %q): %v", jti, sid, err)
	}
	if got != want {
		t.Errorf("IsRevoked(%q, %q) = %v, want %v", jti, sid, got, want)
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000 // more than the smallest filter holds: it grows, then reloads
	for i := range n {
		if err := s.RevokeToken(ctx, fmt.Sprintf("jti-%d", i), base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"sid-1", "sid-2", "sid-ended"} {
		if err := s.CreateSession(ctx, session(id, "alice")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.EndSession(ctx, "sid-ended"); err != nil {
		t.Fatal(err)
	}
	rotated, err := s.Rotate(ctx, core.Rotation{SessionID: "sid-1", Presented: "sid-1.rt1", Next: "sid-1.rt2",
		Now: base.Add(time.Minute), Grace: time.Second, IdleTimeout: time.Hour, AccessExpiresAt: base.Add(20 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	key := []byte{0, 1, 2, 255}
	if _, err := s.LoadOrStoreKey(ctx, "signing", key); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Consume(ctx, "state:1", base.Add(time.Hour)); err != nil || !ok {
		t.Fatalf("Consume(state:1) = %v, %v; want true", ok, err)
	}
	for i := range 3 {
		if c, _, err := s.Count(ctx, "pw:ip:192.0.2.1", 1, base.Add(time.Duration(i)*time.Minute), time.Hour); err != nil || c != i+1 {
			t.Fatalf("Count(pw:ip:192.0.2.1) = %d, %v; want %d", c, err, i+1)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	for i := range n {
		mustRevoked(t, s, fmt.Sprintf("jti-%d", i), "", true)
	}
	mustRevoked(t, s, "jti-unknown", "", false)
	mustRevoked(t, s, "", "sid-ended", true)
	mustRevoked(t, s, "", "sid-1", false)
	got, err := s.Session(ctx, "sid-1")
	if err != nil || got == nil || got.Current != "sid-1.rt2" || !got.IdleExpiresAt.Equal(rotated.IdleExpiresAt) {
		t.Errorf("Session(sid-1) after reopen = %+v, %v; want the rotated session", got, err)
	}
	list, err := s.Sessions(ctx, "alice")
	if err != nil || len(list) != 2 {
		t.Errorf("Sessions(alice) after reopen = %d sessions, %v; want 2", len(list), err)
	}
	if v, err := s.LoadOrStoreKey(ctx, "signing", []byte("other")); err != nil || !bytes.Equal(v, key) {
		t.Errorf("LoadOrStoreKey after reopen = %q, %v; want %q", v, err, key)
	}
	if ok, err := s.Consume(ctx, "state:1", base.Add(time.Hour)); err != nil || ok {
		t.Errorf("Consume(state:1) after reopen = %v, %v; want false", ok, err)
	}
	if c, end, err := s.Count(ctx, "pw:ip:192.0.2.1", 0, base.Add(time.Minute), time.Hour); err != nil || c != 3 ||
		!end.Equal(base.Add(time.Hour)) {
		t.Errorf("Count(pw:ip:192.0.2.1, 0) after reopen = %d, %v, %v; want 3, %v", c, end, err, base.Add(time.Hour))
	}
	// The expiry index came back too: Purge finds exactly what is due.
	if n2, err := s.Purge(ctx, base.Add(time.Hour)); err != nil || n2 != n+3 {
		t.Errorf("Purge after reopen = %d, %v; want %d (the tokens, sid-ended, state:1 and the counter)", n2, err, n+3)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}

func TestFailedCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := openAt(t, path, boltstore.WithMaxSize(1<<20), boltstore.WithPurgeInterval(0))
	var (
		n       int
		failure error
	)
	pad := string(bytes.Repeat([]byte("p"), 200))
	for n = 0; n < 100_000; n++ {
		if failure = s.RevokeToken(ctx, fmt.Sprintf("jti-%06d-%s", n, pad), base.Add(time.Hour)); failure != nil {
			break
		}
	}
	if failure == nil {
		t.Fatal("1 MiB store took 100000 revocations of 200 bytes")
	}
	if !errors.Is(failure, core.ErrStoreUnavailable) {
		t.Fatalf("failed write: error = %v, want core.ErrStoreUnavailable", failure)
	}
	if r := core.ErrorResponse(failure); r.Status != 503 {
		t.Errorf("failed write maps to %d, want 503", r.Status)
	}
	t.Logf("write %d failed: %v", n, failure)
	mustRevoked(t, s, fmt.Sprintf("jti-%06d-%s", n, pad), "", false)
	mustRevoked(t, s, fmt.Sprintf("jti-%06d-%s", n-1, pad), "", true)
	mustRevoked(t, s, fmt.Sprintf("jti-%06d-%s", 0, pad), "", true)
	if err := s.Check(); err != nil {
		t.Errorf("Check after the failed commit: %v", err)
	}
	if _, err := s.Purge(ctx, base.Add(time.Hour)); err != nil {
		t.Fatalf("Purge after the failed commit: %v", err)
	}
	if err := s.RevokeToken(ctx, "jti-after", base.Add(time.Hour)); err != nil {
		t.Errorf("write after Purge freed space: %v", err)
	}
	mustRevoked(t, s, "jti-after", "", true)
}

func TestBackgroundPurge(t *testing.T) {
	var (
		mu  sync.Mutex
		now = base
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := openTemp(t, boltstore.WithPurgeInterval(5*time.Millisecond), boltstore.WithClock(clock))
	if err := s.RevokeToken(ctx, "jti-1", base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(30 * time.Millisecond) // some purges at base: nothing is due
	mustRevoked(t, s, "jti-1", "", true)

	mu.Lock()
	now = base.Add(time.Hour)
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		revoked, err := s.IsRevoked(ctx, "jti-1", "")
		if err != nil {
			t.Fatal(err)
		}
		if !revoked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("background purge did not delete an expired revocation within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStatsShowSharedCommits(t *testing.T) {
	s := openTemp(t)
	const n = 64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			if err := s.RevokeToken(ctx, fmt.Sprintf("jti-%d", i), base); err != nil {
				t.Error(err)
			}
		})
	}
	before := s.Stats()
	close(start)
	wg.Wait()
	st := s.Stats()
	writes, commits := st.Writes-before.Writes, st.Commits-before.Commits
	t.Logf("%d concurrent revocations: %d writes in %d commits", n, writes, commits)
	if writes != n {
		t.Errorf("Stats.Writes grew by %d, want %d", writes, n)
	}
	if commits >= n {
		t.Errorf("%d concurrent revocations took %d commits: no commit was shared", n, commits)
	}
	if st.RevokedTokens != n {
		t.Errorf("Stats.RevokedTokens = %d, want %d", st.RevokedTokens, n)
	}
}

func TestInvalidIDs(t *testing.T) {
	s := openTemp(t)
	long := string(bytes.Repeat([]byte("a"), boltstore.MaxIDLength+1))
	for _, jti := range []string{"", long} {
		if err := s.RevokeToken(ctx, jti, base); !errors.Is(err, boltstore.ErrInvalidID) {
			t.Errorf("RevokeToken(%.10q): error = %v, want ErrInvalidID", jti, err)
		}
	}
	for _, sess := range []*core.Session{nil, session("", "alice"), session("sid", ""), session(long, "alice"), session("sid", long)} {
		if err := s.CreateSession(ctx, sess); !errors.Is(err, boltstore.ErrInvalidID) {
			t.Errorf("CreateSession: error = %v, want ErrInvalidID", err)
		}
	}
	if _, err := s.LoadOrStoreKey(ctx, "", []byte("v")); !errors.Is(err, boltstore.ErrInvalidID) {
		t.Errorf("LoadOrStoreKey(\"\"): error = %v, want ErrInvalidID", err)
	}
	for _, id := range []string{"", long} {
		if ok, err := s.Consume(ctx, id, base); ok || !errors.Is(err, boltstore.ErrInvalidID) {
			t.Errorf("Consume(%.10q) = %v, %v; want ErrInvalidID", id, ok, err)
		}
		for _, add := range []int{0, 1} {
			if c, _, err := s.Count(ctx, id, add, base, time.Minute); c != 0 || !errors.Is(err, boltstore.ErrInvalidID) {
				t.Errorf("Count(%.10q, %d) = %d, %v; want ErrInvalidID", id, add, c, err)
			}
		}
	}
	// Lookups of such ids find nothing rather than fail.
	mustRevoked(t, s, long, long, false)
	if got, err := s.Session(ctx, long); got != nil || err != nil {
		t.Errorf("Session(long) = %v, %v; want nil, nil", got, err)
	}
	if got, err := s.EndSession(ctx, long); got != nil || err != nil {
		t.Errorf("EndSession(long) = %v, %v; want nil, nil", got, err)
	}
	if _, err := s.Rotate(ctx, core.Rotation{SessionID: long}); !errors.Is(err, core.ErrSessionNotFound) {
		t.Errorf("Rotate(long): error = %v, want ErrSessionNotFound", err)
	}
}

func TestSubjectWithZeroByte(t *testing.T) {
	// The subject index key is subject ‖ 0 ‖ sid: a subject holding a 0 byte must not
	// make the sessions of another subject show up.
	s := openTemp(t)
	for _, p := range [][2]string{{"s1", "a"}, {"s2", "a\x00b"}, {"b\x00s3", "a"}} {
		if err := s.CreateSession(ctx, session(p[0], p[1])); err != nil {
			t.Fatal(err)
		}
	}
	for subject, want := range map[string][]string{"a": {"b\x00s3", "s1"}, "a\x00b": {"s2"}, "a\x00": nil} {
		list, err := s.Sessions(ctx, subject)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, sess := range list {
			got = append(got, sess.ID)
		}
		if slices.Sort(got); !slices.Equal(got, want) {
			t.Errorf("Sessions(%q) = %q, want %q", subject, got, want)
		}
	}
}

func TestEmptyKeyValue(t *testing.T) {
	s := openTemp(t)
	for _, name := range []string{"nil", "empty"} {
		var in []byte
		if name == "empty" {
			in = []byte{}
		}
		if v, err := s.LoadOrStoreKey(ctx, name, in); err != nil || len(v) != 0 {
			t.Fatalf("LoadOrStoreKey(%s) = %q, %v", name, v, err)
		}
		if v, err := s.LoadOrStoreKey(ctx, name, []byte("second")); err != nil || len(v) != 0 {
			t.Errorf("LoadOrStoreKey(%s) again = %q, %v; want the empty value stored first", name, v, err)
		}
	}
}

func TestCloseStopsGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := boltstore.Open(path, boltstore.WithPurgeInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 50 { // past the first filter's capacity: a rebuild starts
		wg.Go(func() {
			for i := range 100 {
				if err := s.RevokeToken(ctx, fmt.Sprintf("jti-%d-%d", w, i), base); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Close waited for the writer, the purge loop and any rebuild; each may still be
	// returning from the deferred call that told Close it was done.
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before Open:\n%s", after, before, buf[:runtime.Stack(buf, true)])
	}
	if err := s.Close(); !errors.Is(err, core.ErrStoreClosed) {
		t.Errorf("second Close: %v, want ErrStoreClosed", err)
	}
}

func TestMonotonicTimes(t *testing.T) {
	// Times from time.Now carry a monotonic reading, which the file does not keep: the
	// expiry index must not depend on it.
	s := openTemp(t)
	now := time.Now()
	sess := session("sid-1", "alice")
	sess.CreatedAt, sess.LastUsedAt = now, now
	sess.ExpiresAt, sess.IdleExpiresAt, sess.AccessExpiresAt = now.Add(2*time.Hour), now.Add(time.Hour), now.Add(15*time.Minute)
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	later := time.Now()
	if _, err := s.Rotate(ctx, core.Rotation{SessionID: "sid-1", Presented: "sid-1.rt1", Next: "sid-1.rt2",
		Now: later, IdleTimeout: time.Hour, AccessExpiresAt: later.Add(15 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// PurgeAt is the idle end the rotation set, later+1h.
	if n, err := s.Purge(ctx, later.Add(time.Hour-1)); err != nil || n != 0 {
		t.Fatalf("Purge before PurgeAt = %d, %v", n, err)
	}
	if n, err := s.Purge(ctx, later.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("Purge at PurgeAt = %d, %v; want 1", n, err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestValuesOutliveTheirTransaction keeps what LoadOrStoreKey, Session, Sessions and
// Export returned, then grows the file far past its memory map, which makes bbolt map
// it afresh and unmap the old mapping: every kept value is intact. A value that still
// pointed into the old mapping would read garbage or fault (SECURITY 32).
func TestValuesOutliveTheirTransaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := openAt(t, path, boltstore.WithPurgeInterval(0))
	key := bytes.Repeat([]byte("0123456789abcdef"), 512) // 8 KiB: pages of its own
	stored, err := s.LoadOrStoreKey(ctx, "signing", key)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := s.LoadOrStoreKey(ctx, "signing", []byte("other"))
	if err != nil {
		t.Fatal(err)
	}
	want := session("sid-1", "alice")
	want.Identity.Claims = map[string]any{"role": string(bytes.Repeat([]byte("r"), 5000))}
	if err := s.CreateSession(ctx, want); err != nil {
		t.Fatal(err)
	}
	one, err := s.Session(ctx, "sid-1")
	if err != nil || one == nil {
		t.Fatalf("Session = %v, %v", one, err)
	}
	list, err := s.Sessions(ctx, "alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("Sessions = %v, %v", list, err)
	}
	var exported []core.Entry
	if err := s.Export(ctx, func(e core.Entry) error { exported = append(exported, e); return nil }); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return info.Size()
	}
	before := size()

	var grow []core.Entry
	for i := range 40_000 {
		grow = append(grow, core.Entry{Kind: core.EntryRevokedToken, Expires: base.Add(time.Hour),
			ID: fmt.Sprintf("jti-%06d-%s", i, bytes.Repeat([]byte("x"), 100))})
	}
	if err := s.Import(ctx, grow); err != nil {
		t.Fatal(err)
	}
	if after := size(); after < 16*before {
		t.Fatalf("test bug: the file grew from %d to %d bytes only, not past its mapping", before, after)
	}

	for name, got := range map[string][]byte{"stored": stored, "loaded": loaded} {
		if !bytes.Equal(got, key) {
			t.Errorf("LoadOrStoreKey value (%s) changed after the file was mapped afresh", name)
		}
	}
	for name, got := range map[string]*core.Session{"Session": one, "Sessions": list[0]} {
		if got.ID != want.ID || got.Current != want.Current || got.Identity.Subject != want.Identity.Subject ||
			got.Identity.Claims["role"] != want.Identity.Claims["role"] || !got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Errorf("%s value changed after the file was mapped afresh: %+v", name, got)
		}
	}
	found := 0
	for _, e := range exported {
		switch {
		case e.Kind == core.EntryKey && e.ID == "signing":
			found++
			if !bytes.Equal(e.Value, key) {
				t.Error("exported key changed after the file was mapped afresh")
			}
		case e.Kind == core.EntrySession && e.ID == "sid-1":
			found++
			if e.Session.Current != want.Current || e.Session.Identity.Claims["role"] != want.Identity.Claims["role"] {
				t.Errorf("exported session changed after the file was mapped afresh: %+v", e.Session)
			}
		}
	}
	if found != 2 {
		t.Errorf("Export listed %d of the key and the session", found)
	}
}
