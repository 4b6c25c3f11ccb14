package boltstore

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	bolt "go.etcd.io/bbolt"
)

// fixture returns an open store whose file holds n revoked tokens. The file is written
// in transactions of 100k entries, not one commit per entry, so that a million take
// seconds, then opened as a user would, which loads the filters from it.
func fixture(b *testing.B, n int) *Store {
	b.Helper()
	path := filepath.Join(b.TempDir(), "gatehouse.db")
	s, err := Open(path, WithPurgeInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if n > 0 {
		start := time.Now()
		db, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		const chunk = 100_000
		for lo := 0; lo < n; lo += chunk {
			err := db.Update(func(tx *bolt.Tx) error {
				// Keys and expiries both ascend: append-only pages, filled up.
				tx.Bucket(bucketRevocations).FillPercent = 1
				tx.Bucket(bucketExpiry).FillPercent = 1
				for i := lo; i < min(lo+chunk, n); i++ {
					if _, err := putRevocation(tx, kindToken, presentJTI(i), base.Add(time.Duration(i)*time.Millisecond), nil); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := db.Sync(); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.Logf("wrote %d revocations in %v", n, time.Since(start).Round(time.Millisecond))
	}
	start := time.Now()
	s, err = Open(path, WithPurgeInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if n > 0 {
		b.Logf("Open loaded %d revocations in %v; filter %d KiB", n, time.Since(start).Round(time.Millisecond),
			s.tokens.Filter().SizeBytes()>>10)
	}
	return s
}

// presentJTI is the i-th revoked jti of the fixture: UUID-shaped, in key order.
func presentJTI(i int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i, i&0xffff, i&0xfff, i&0xfff, uint64(i)*2654435761)
}

// BenchmarkIsRevokedMiss is the per-request check of a token and session that are not
// revoked, with no revocation in the file and with a million.
func BenchmarkIsRevokedMiss(b *testing.B) {
	const queries = 1 << 16
	jtis, sids := make([]string, queries), make([]string, queries)
	for i := range jtis {
		jtis[i] = fmt.Sprintf("%08x-%04x-4%03x-9%03x-%012x", i, i&0xffff, i&0xfff, i&0xfff, uint64(i)*40503)
		sids[i] = fmt.Sprintf("sid-%08x-%08x", i, uint64(i)*2246822519)
	}
	for _, n := range []int{0, 1_000_000} {
		b.Run(fmt.Sprintf("revoked=%d", n), func(b *testing.B) {
			s := fixture(b, n)
			ctx := context.Background()
			reads := s.filterReads.Load()
			i := 0
			for b.Loop() {
				revoked, err := s.IsRevoked(ctx, jtis[i&(queries-1)], sids[i&(queries-1)])
				if err != nil || revoked {
					b.Fatalf("IsRevoked = %v, %v", revoked, err)
				}
				i++
			}
			b.ReportMetric(float64(s.filterReads.Load()-reads)/float64(b.N), "file-reads/op")
		})
	}
}

// BenchmarkConcurrentLogout is 64 goroutines logging out at once, each logout durable
// (fsync on) when it returns: EndSession, which deletes a session and revokes it, and
// RevokeToken. logouts/s is the figure; writes/commit shows how many share a commit.
func BenchmarkConcurrentLogout(b *testing.B) {
	const goroutines = 64
	b.Run("EndSession", func(b *testing.B) {
		s := openTest(b)
		createSessions(b, s, b.N)
		runLogouts(b, s, goroutines, func(i int64) error {
			sess, err := s.EndSession(context.Background(), fmt.Sprintf("sid-%d", i))
			if err == nil && sess == nil {
				err = fmt.Errorf("session sid-%d not found", i)
			}
			return err
		})
	})
	b.Run("RevokeToken", func(b *testing.B) {
		s := openTest(b)
		runLogouts(b, s, goroutines, func(i int64) error {
			return s.RevokeToken(context.Background(), fmt.Sprintf("jti-%d", i), base)
		})
	})
}

func runLogouts(b *testing.B, s *Store, goroutines int, logout func(int64) error) {
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((goroutines + procs - 1) / procs)
	writes, commits := s.writes.Load(), s.commits.Load()
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := logout(next.Add(1) - 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logouts/s")
	if c := s.commits.Load() - commits; c > 0 {
		b.ReportMetric(float64(s.writes.Load()-writes)/float64(c), "writes/commit")
	}
}

// BenchmarkLogoutAll ends the 1,000 sessions of one user, durably, as core's LogoutAll
// did before Store.EndSessions (Sessions, then EndSession one after another: a commit
// each) and as it does now (EndSessions: one transaction, one commit). ms/op is the
// time of one LogoutAll.
func BenchmarkLogoutAll(b *testing.B) {
	const sessions = 1000
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		logout func(s *Store, subject string) (int, error)
	}{
		{"EndSession each", func(s *Store, subject string) (int, error) {
			list, err := s.Sessions(ctx, subject)
			if err != nil {
				return 0, err
			}
			n := 0
			for _, sess := range list {
				ended, err := s.EndSession(ctx, sess.ID)
				if err != nil {
					return n, err
				}
				if ended != nil {
					n++
				}
			}
			return n, nil
		}},
		{"EndSessions", func(s *Store, subject string) (int, error) {
			list, err := s.EndSessions(ctx, subject)
			return len(list), err
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := openTest(b)
			commits := uint64(0)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				subject := fmt.Sprintf("user-%d", i)
				putSessions(b, s, sessions, func(j int) (string, string) { return fmt.Sprintf("sid-%d-%d", i, j), subject })
				before := s.commits.Load()
				b.StartTimer()
				n, err := tc.logout(s, subject)
				if err != nil || n != sessions {
					b.Fatalf("LogoutAll = %d, %v; want %d, nil", n, err, sessions)
				}
				commits += s.commits.Load() - before
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/op")
			b.ReportMetric(float64(commits)/float64(b.N), "commits/op")
		})
	}
}

// createSessions stores sessions sid-0 … sid-(n-1) of users user-0 … user-999 in large
// transactions.
func createSessions(b testing.TB, s *Store, n int) {
	b.Helper()
	putSessions(b, s, n, func(i int) (string, string) { return fmt.Sprintf("sid-%d", i), fmt.Sprintf("user-%d", i%1000) })
}

// putSessions stores n sessions, the i-th with the id and subject name(i) returns, in
// large transactions.
func putSessions(b testing.TB, s *Store, n int, name func(i int) (id, subject string)) {
	b.Helper()
	for lo := 0; lo < n; lo += 10_000 {
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i := lo; i < min(lo+10_000, n); i++ {
				id, subject := name(i)
				sess := &core.Session{
					ID: id, Identity: core.Identity{Subject: subject},
					CreatedAt: base, LastUsedAt: base, ExpiresAt: base.Add(24 * time.Hour),
					IdleExpiresAt: base.Add(time.Hour), AccessExpiresAt: base.Add(16 * time.Minute),
					Current: fmt.Sprintf("rt-%d", i),
				}
				data, err := encodeSession(sess)
				if err != nil {
					return err
				}
				if err := tx.Bucket(bucketSessions).Put([]byte(sess.ID), data); err != nil {
					return err
				}
				if err := tx.Bucket(bucketSubjects).Put(subjectKey(sess.Identity.Subject, sess.ID), nil); err != nil {
					return err
				}
				if err := tx.Bucket(bucketExpiry).Put(expiryKey(timeKey(sess.PurgeAt()), kindRecord, sess.ID), nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
