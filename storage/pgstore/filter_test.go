package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A miss answers from the filters without a statement; a hit costs one.
func TestIsRevokedRoundTrips(t *testing.T) {
	ctx := context.Background()
	var stmts atomic.Int64
	cfg, err := pgxpool.ParseConfig(shared(t))
	must(t, err)
	cfg.ConnConfig.Tracer = countTracer{&stmts}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	must(t, err)
	t.Cleanup(pool.Close)
	s := newStore(t, pool, pgstore.WithSchema(uniqueSchema(t, shared(t))))
	must(t, s.RevokeToken(ctx, "jti-revoked", future))
	must(t, s.CreateSession(ctx, session("sid-ended", "alice")))
	_, err = s.EndSession(ctx, "sid-ended")
	must(t, err)
	if !pgstore.FilterTrusted(s) {
		t.Fatal("filters not trusted after New")
	}

	before := stmts.Load()
	const n = 10000
	for i := range n {
		revoked, err := s.IsRevoked(ctx, fmt.Sprintf("jti-%d", i), fmt.Sprintf("sid-%d", i))
		if err != nil || revoked {
			t.Fatalf("IsRevoked(miss %d) = %v, %v", i, revoked, err)
		}
	}
	// At the default false-positive rate of 0.001 per filter, about 20 of them.
	if got := stmts.Load() - before; got > n/100 {
		t.Errorf("%d misses cost %d statements, want about %d", n, got, 2*n/1000)
	}
	for _, tc := range []struct{ jti, sid string }{{"jti-revoked", ""}, {"", "sid-ended"}, {"jti-revoked", "sid-ended"}} {
		before := stmts.Load()
		if revoked, err := s.IsRevoked(ctx, tc.jti, tc.sid); err != nil || !revoked {
			t.Errorf("IsRevoked(%q, %q) = %v, %v", tc.jti, tc.sid, revoked, err)
		}
		if got := stmts.Load() - before; got != 1 {
			t.Errorf("IsRevoked(%q, %q) cost %d statements, want 1", tc.jti, tc.sid, got)
		}
	}
}

type countTracer struct{ n *atomic.Int64 }

func (c countTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (countTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Instances purging at once share the expired rows: every row is deleted once, the
// counts add up, and a row another transaction holds locked is skipped, not waited
// for.
func TestPurgeShared(t *testing.T) {
	ctx := context.Background()
	a, b := pair(t, shared(t), pgstore.WithPurgeBatch(50), pgstore.WithPurgeInterval(0))
	past := future.Add(-time.Hour)
	const n = 3000
	// Import writes them in one batch; every other is a session revocation.
	var entries []entry
	for i := range n {
		entries = append(entries, entry{fmt.Sprintf("id-%d", i), i%2 == 1})
	}
	must(t, importRevocations(ctx, a, entries, past))
	for i := range 100 { // not due
		must(t, a.RevokeToken(ctx, fmt.Sprintf("live-%d", i), future.Add(time.Hour)))
	}

	// A transaction holds one due row locked while the instances purge.
	tx, err := a.Pool().Begin(ctx)
	must(t, err)
	defer tx.Rollback(ctx)
	var locked int
	must(t, tx.QueryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM "+
		pgx.Identifier{schemaOf(t, a), pgstore.DefaultTablePrefix + "revocations"}.Sanitize()+
		" WHERE id = $1 FOR UPDATE) x", []byte("id-7")).Scan(&locked))
	if locked != 1 {
		t.Fatalf("locked %d rows, want 1", locked)
	}

	var (
		wg     sync.WaitGroup
		counts [4]int
		errs   [4]error
	)
	start := time.Now()
	for i := range counts {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() { counts[i], errs[i] = s.Purge(ctx, future) })
	}
	wg.Wait()
	elapsed := time.Since(start)
	total := 0
	for i := range counts {
		must(t, errs[i])
		total += counts[i]
	}
	t.Logf("4 concurrent purges of %d rows in batches of 50: %v deleted %d in %v", n, counts, total, elapsed)
	if total != n-1 {
		t.Errorf("purges deleted %d rows together, want %d (all due rows but the locked one)", total, n-1)
	}
	must(t, tx.Rollback(ctx))
	if got, err := a.Purge(ctx, future); err != nil || got != 1 {
		t.Errorf("Purge after the lock is released = %d, %v; want the 1 row left", got, err)
	}
	for i := range 100 {
		if ok, err := b.IsRevoked(ctx, fmt.Sprintf("live-%d", i), ""); err != nil || !ok {
			t.Fatalf("live-%d purged: %v, %v", i, ok, err)
		}
	}
}

// The background purge runs on its own, by the clock it is given.
func TestBackgroundPurge(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, newPool(t, shared(t)), pgstore.WithSchema(uniqueSchema(t, shared(t))),
		pgstore.WithPurgeInterval(20*time.Millisecond), pgstore.WithClock(func() time.Time { return future.Add(time.Hour) }))
	must(t, s.RevokeToken(ctx, "jti-old", future))
	must(t, s.RevokeToken(ctx, "jti-new", future.Add(2*time.Hour)))
	storetest.WaitFor(t, 5*time.Second, "the background purge deletes the expired revocation", func() bool {
		n := 0
		_ = s.Export(ctx, func(e coreEntry) error { n++; return nil })
		return n == 1
	})
	if ok, err := s.IsRevoked(ctx, "jti-new", ""); err != nil || !ok {
		t.Errorf("IsRevoked(jti-new) = %v, %v", ok, err)
	}
}
