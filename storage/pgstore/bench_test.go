package pgstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The figures of the PostgreSQL store, for bench/: run with
//
//	go test -run '^$' -bench . -benchtime 2000x
//
// against the server TestMain starts (fsync off: the figures are the store's and the
// protocol's, not the disk's) or GATEHOUSE_POSTGRES_URL.

const clients = 64

// benchAuth returns a core.Auth over a store of a schema of its own, with a pool of
// at least 64 connections, so that 64 clients do not queue for one.
func benchAuth(b *testing.B) (*pgstore.Store, *core.Auth) {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(shared(b))
	must(b, err)
	cfg.MaxConns = clients
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	must(b, err)
	b.Cleanup(pool.Close)
	s := newStore(b, pool, pgstore.WithSchema(uniqueSchema(b, shared(b))), pgstore.WithPurgeInterval(0))
	a, err := core.New(s, quiet)
	must(b, err)
	return s, a
}

// spread runs n calls of fn from 64 goroutines and reports them per second as unit.
func spread(b *testing.B, n int, unit string, fn func(i int) error) {
	b.Helper()
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), unit)
}

// BenchmarkRefresh64 measures refreshes (core.Auth.Refresh: verify, rotate in one
// UPDATE, mint) from 64 clients, each refreshing sessions of its own, as refreshes/s.
func BenchmarkRefresh64(b *testing.B) {
	ctx := context.Background()
	_, a := benchAuth(b)
	toks := make([]string, b.N)
	for i := range toks {
		t, err := a.Issue(ctx, core.Identity{Subject: fmt.Sprintf("user-%d", i%1000)}, core.Client{})
		must(b, err)
		toks[i] = t.RefreshToken
	}
	spread(b, b.N, "refreshes/s", func(i int) error {
		_, err := a.Refresh(ctx, toks[i])
		return err
	})
}

// BenchmarkLogout64 measures logouts (core.Auth.Logout: delete the session and revoke
// its id in one statement, announced to every instance) from 64 clients, as
// logouts/s.
func BenchmarkLogout64(b *testing.B) {
	ctx := context.Background()
	_, a := benchAuth(b)
	sids := make([]string, b.N)
	for i := range sids {
		t, err := a.Issue(ctx, core.Identity{Subject: fmt.Sprintf("user-%d", i%1000)}, core.Client{})
		must(b, err)
		sids[i] = t.Session.ID
	}
	spread(b, b.N, "logouts/s", func(i int) error { return a.Logout(ctx, sids[i]) })
}

// BenchmarkPropagation measures the time from RevokeToken returning on instance A to
// IsRevoked answering true on instance B, B polling its filters, and reports the
// median and the 99th percentile.
func BenchmarkPropagation(b *testing.B) {
	ctx := context.Background()
	schema := pgstore.WithSchema(uniqueSchema(b, shared(b)))
	a := newStore(b, newPool(b, shared(b)), schema, pgstore.WithPurgeInterval(0))
	s := newStore(b, newPool(b, shared(b)), schema, pgstore.WithPurgeInterval(0))
	lat := make([]time.Duration, 0, b.N)
	for i := range b.N {
		jti := fmt.Sprintf("jti-%d", i)
		start := time.Now()
		must(b, a.RevokeToken(ctx, jti, future))
		for {
			ok, err := s.IsRevoked(ctx, jti, "")
			must(b, err)
			if ok {
				break
			}
			if time.Since(start) > 5*time.Second {
				b.Fatalf("%s not seen on B within 5s", jti)
			}
			time.Sleep(20 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	if !pgstore.FilterTrusted(s) {
		b.Fatal("B stopped trusting its filters: the answers did not come through them")
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkIsRevoked compares the two paths of IsRevoked, with 10,000 revocations
// stored: a miss, answered by the in-memory filters, and a hit, one statement.
func BenchmarkIsRevoked(b *testing.B) {
	ctx := context.Background()
	s := newStore(b, newPool(b, shared(b)), pgstore.WithSchema(uniqueSchema(b, shared(b))), pgstore.WithPurgeInterval(0))
	entries := make([]core.Entry, 10_000)
	for i := range entries {
		entries[i] = core.Entry{Kind: core.EntryRevokedToken, ID: fmt.Sprintf("revoked-%d", i), Expires: future}
	}
	must(b, s.Import(ctx, entries))
	const n = 1024
	var misses [n]string
	for i := range misses {
		misses[i] = fmt.Sprintf("jti-%d", i)
	}
	b.Run("miss", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if ok, err := s.IsRevoked(ctx, misses[i%n], "sid-live"); ok || err != nil {
				b.Fatal(ok, err)
			}
			i++
		}
	})
	b.Run("hit", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if ok, err := s.IsRevoked(ctx, entries[i%len(entries)].ID, "sid-live"); !ok || err != nil {
				b.Fatal(ok, err)
			}
			i++
		}
	})
}
