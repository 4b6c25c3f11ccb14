package bench

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
)

// BenchmarkLogout64 measures durable logouts (core.Auth.Logout: delete the session and
// revoke its id, fsynced) from 64 goroutines at once on a bbolt store, and reports
// logouts per second. The target is 5,000/s; group commits share one fsync among the
// logouts that arrive together.
func BenchmarkLogout64(b *testing.B) {
	s, err := boltstore.Open(filepath.Join(b.TempDir(), "logout.db"), boltstore.WithPurgeInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	a, err := core.New(s, core.WithIssuer(issuer), core.WithAudience(audience))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	sids := make([]string, b.N)
	for i := range sids {
		t, err := a.Issue(ctx, core.Identity{Subject: "user", Email: "ada@example.com"}, core.Client{})
		if err != nil {
			b.Fatal(err)
		}
		sids[i] = t.Session.ID
	}
	const workers = 64
	next := make(chan string, len(sids))
	for _, sid := range sids {
		next <- sid
	}
	close(next)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for sid := range next {
				if err := a.Logout(ctx, sid); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(len(sids))/time.Since(start).Seconds(), "logouts/s")
}
