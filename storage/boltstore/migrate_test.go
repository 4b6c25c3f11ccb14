package boltstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// importRevocations imports n revoked tokens named by name in batches of batch, as the
// bench module loads its million.
func importRevocations(t testing.TB, s *Store, n, batch int, name func(int) string, exp time.Time) {
	t.Helper()
	for lo := 0; lo < n; lo += batch {
		entries := make([]core.Entry, 0, batch)
		for i := lo; i < min(lo+batch, n); i++ {
			entries = append(entries, core.Entry{Kind: core.EntryRevokedToken, ID: name(i), Expires: exp})
		}
		if err := s.Import(context.Background(), entries); err != nil {
			t.Fatalf("Import of entries %d-%d: %v", lo, lo+len(entries)-1, err)
		}
	}
}

var ctx = context.Background()

func revokedName(i int) string { return fmt.Sprintf("revoked-%09d", i) }

// randomName is UUID-shaped and in no particular key order, as real jtis are.
func randomName(i int) string {
	h := uint64(i) * 0x9e3779b97f4a7c15
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(h>>32), uint16(h>>16), h&0xfff, (h>>12)&0xfff, h>>16)
}

// TestImportGrowsFilters imports batches that push the token filter past its capacity
// several times: when each Import returns, the filter holds every id at its capacity,
// and the file, reopened, holds every revocation, purged at its expiry.
func TestImportGrowsFilters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := Open(path, WithPurgeInterval(0), withoutSync())
	if err != nil {
		t.Fatal(err)
	}
	first := s.tokens.Capacity()
	n, batch := 6*first, first
	exp := func(i int) time.Time { return base.Add(time.Duration(i%2) * time.Hour) }
	for lo := 0; lo < n; lo += batch {
		var entries []core.Entry
		for i := lo; i < lo+batch; i++ {
			entries = append(entries, core.Entry{Kind: core.EntryRevokedToken, ID: randomName(i), Expires: exp(i)})
		}
		// The same session id twice in one batch, and revoked again in every batch.
		entries = append(entries,
			core.Entry{Kind: core.EntryRevokedSession, ID: "sid-1", Expires: base},
			core.Entry{Kind: core.EntryRevokedSession, ID: "sid-1", Expires: base.Add(time.Hour)})
		if err := s.Import(ctx, entries); err != nil {
			t.Fatal(err)
		}
		if c, capacity := s.tokens.Count(), s.tokens.Capacity(); c != lo+batch || c > capacity {
			t.Fatalf("after importing %d revocations: token filter counts %d, capacity %d", lo+batch, c, capacity)
		}
		if c := s.sessions.Count(); c != 1 {
			t.Fatalf("session filter counts %d ids, want 1: a revocation already there was added again", c)
		}
	}
	for i := range n {
		if revoked, err := s.IsRevoked(ctx, randomName(i), ""); err != nil || !revoked {
			t.Fatalf("IsRevoked(%s) = %v, %v", randomName(i), revoked, err)
		}
	}
	reads := s.filterReads.Load()
	for i := n; i < 2*n; i++ {
		if revoked, err := s.IsRevoked(ctx, randomName(i), "sid-2"); err != nil || revoked {
			t.Fatalf("IsRevoked(%s) = %v, %v", randomName(i), revoked, err)
		}
	}
	if fp := s.filterReads.Load() - reads; fp > uint64(n)/100 {
		t.Errorf("%d of %d lookups of ids never revoked read the file: the filter is overfull", fp, n)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAtTest(t, path)
	if got, err := s.Purge(ctx, base); err != nil || got != n/2 {
		t.Fatalf("Purge(base) after reopening = %d, %v; want %d", got, err, n/2)
	}
	if got, err := s.Purge(ctx, base.Add(time.Hour)); err != nil || got != n/2+1 {
		t.Fatalf("Purge(base+1h) after reopening = %d, %v; want %d (the rest and sid-1)", got, err, n/2+1)
	}
}

func openAtTest(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path, WithPurgeInterval(0), withoutSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestImportRefusesBeforeWriting: one bad entry, anywhere in the batch, and nothing of
// the batch is written.
func TestImportRefusesBeforeWriting(t *testing.T) {
	long := string(make([]byte, MaxIDLength+1))
	good := []core.Entry{
		{Kind: core.EntryKey, ID: "k", Value: []byte("v")},
		{Kind: core.EntryRevokedToken, ID: "jti-1", Expires: base},
		{Kind: core.EntrySession, ID: "sid-1", Session: &core.Session{ID: "sid-1", Identity: core.Identity{Subject: "alice"}}},
	}
	// Entries core.Entry.Validate refuses for every store (core's TestEntryValidate
	// holds the rule's own table) come back matching core.ErrInvalidRequest; oversized
	// ids, this store's own limit, ErrInvalidID.
	cases := []struct {
		name string
		bad  core.Entry
		want error
	}{
		{"unknown kind", core.Entry{Kind: 9, ID: "x"}, core.ErrInvalidRequest},
		{"zero kind", core.Entry{ID: "x"}, core.ErrInvalidRequest},
		{"session entry without its session", core.Entry{Kind: core.EntrySession, ID: "sid-2"}, core.ErrInvalidRequest},
		{"session entry of another id", core.Entry{Kind: core.EntrySession, ID: "sid-2", Session: &core.Session{ID: "sid-3", Identity: core.Identity{Subject: "a"}}}, core.ErrInvalidRequest},
		{"empty key name", core.Entry{Kind: core.EntryKey, Value: []byte("v")}, core.ErrInvalidRequest},
		{"session without a subject", core.Entry{Kind: core.EntrySession, ID: "sid-2", Session: &core.Session{ID: "sid-2"}}, core.ErrInvalidRequest},
		{"session with an empty id", core.Entry{Kind: core.EntrySession, Session: &core.Session{Identity: core.Identity{Subject: "a"}}}, core.ErrInvalidRequest},
		{"oversized key name", core.Entry{Kind: core.EntryKey, ID: long}, ErrInvalidID},
		{"oversized jti", core.Entry{Kind: core.EntryRevokedToken, ID: long, Expires: base}, ErrInvalidID},
		{"oversized revoked session id", core.Entry{Kind: core.EntryRevokedSession, ID: long, Expires: base}, ErrInvalidID},
		{"oversized session id", core.Entry{Kind: core.EntrySession, ID: long, Session: &core.Session{ID: long, Identity: core.Identity{Subject: "a"}}}, ErrInvalidID},
		{"oversized subject", core.Entry{Kind: core.EntrySession, ID: "sid-2", Session: &core.Session{ID: "sid-2", Identity: core.Identity{Subject: long}}}, ErrInvalidID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, withoutSync())
			err := s.Import(ctx, append(append([]core.Entry(nil), good...), tc.bad))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Import: error = %v, want %v", err, tc.want)
			}
			n := 0
			if err := s.Export(ctx, func(core.Entry) error { n++; return nil }); err != nil {
				t.Fatal(err)
			}
			if n != 0 || s.writes.Load() != 0 {
				t.Errorf("after a refused Import the store holds %d entries, %d writes", n, s.writes.Load())
			}
		})
	}
	t.Run("empty revoked ids are skipped", func(t *testing.T) {
		s := openTest(t, withoutSync())
		err := s.Import(ctx, []core.Entry{{Kind: core.EntryRevokedToken}, {Kind: core.EntryRevokedSession}})
		if err != nil || s.writes.Load() != 0 {
			t.Errorf("Import of empty revoked ids = %v, %d writes; want nil, none", err, s.writes.Load())
		}
	})
}

// TestImportDuringTraffic imports while other goroutines revoke and ask: once a
// revocation's call has returned, whether RevokeToken or Import, IsRevoked reports it,
// through every growth of the filter.
func TestImportDuringTraffic(t *testing.T) {
	s := openTest(t, withoutSync())
	batches, batch := 8, s.tokens.Capacity()/2
	if raceEnabled {
		batches = 4
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done []string // ids whose write has returned
		stop = make(chan struct{})
	)
	record := func(ids ...string) {
		mu.Lock()
		done = append(done, ids...)
		mu.Unlock()
	}
	wg.Go(func() {
		defer close(stop)
		for b := range batches {
			entries := make([]core.Entry, batch)
			ids := make([]string, batch)
			for i := range entries {
				ids[i] = randomName(b*batch + i)
				entries[i] = core.Entry{Kind: core.EntryRevokedToken, ID: ids[i], Expires: base}
			}
			if err := s.Import(ctx, entries); err != nil {
				t.Error(err)
				return
			}
			record(ids...)
		}
	})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("direct-%d", i)
			if err := s.RevokeToken(ctx, id, base); err != nil {
				t.Error(err)
				return
			}
			record(id)
		}
	})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				ids := done[:len(done):len(done)]
				mu.Unlock()
				for i := len(ids) - 1; i >= 0 && i >= len(ids)-200; i-- {
					if revoked, err := s.IsRevoked(ctx, ids[i], ""); err != nil || !revoked {
						t.Errorf("IsRevoked(%s) after its write returned = %v, %v", ids[i], revoked, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for _, id := range done {
		if revoked, err := s.IsRevoked(ctx, id, ""); err != nil || !revoked {
			t.Fatalf("IsRevoked(%s) = %v, %v", id, revoked, err)
		}
	}
}

// BenchmarkImport loads a million revoked tokens in batches of 50,000, durably, as the
// bench module builds its fixture: with jtis in key order, and UUID-shaped ones in none.
func BenchmarkImport(b *testing.B) {
	const n, batch = 1_000_000, 50_000
	for _, tc := range []struct {
		name string
		id   func(int) string
	}{{"ordered", revokedName}, {"random", randomName}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "gatehouse.db")
				s, err := Open(path, WithPurgeInterval(0))
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				importRevocations(b, s, n, batch, tc.id, base)
				b.ReportMetric(time.Since(start).Seconds(), "s/million")
				b.StopTimer()
				if s.tokens.Count() != n || s.tokens.Count() > s.tokens.Capacity() {
					b.Fatalf("filter counts %d, capacity %d", s.tokens.Count(), s.tokens.Capacity())
				}
				start = time.Now()
				entries := 0
				if err := s.Export(context.Background(), func(core.Entry) error { entries++; return nil }); err != nil {
					b.Fatal(err)
				}
				b.Logf("Export of %d entries: %v", entries, time.Since(start).Round(time.Millisecond))
				s.Close()
				b.StartTimer()
			}
		})
	}
}
