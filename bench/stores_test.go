package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore/redistest"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// BenchmarkStores puts the three stores side by side, in one run (issue 12, item 6):
//
//	cd bench && go test -run '^$' -bench Stores -benchtime 3x
//
// For each of bolt (a bbolt file in b.TempDir, fsync on), redis (a redis-server of
// redistest: appendonly, appendfsync everysec) and postgres (a server of pgtest: fsync
// OFF, so its figures are the store's and the protocol's, not the disk's), with
// 64 clients on a store holding 2,000 sessions:
//
//   - refresh: core.Auth.Refresh, each client refreshing sessions of its own; a round
//     refreshes every session once. Reported as refreshes/s.
//   - logout: core.Auth.Logout; a round signs in 2,000 more sessions (not timed) and
//     logs them out (timed), so the store goes from 4,000 to 2,000 sessions. Reported
//     as logouts/s.
//   - propagation (redis and postgres): two instances, each a core.Auth over a store
//     of its own (own pool, own filters) on the same server. From Logout returning on
//     A until Authenticate on B refuses the session's access token (B polls every
//     20 µs; it had authenticated the token before), over 200 logouts a round.
//     Reported as p50-µs and p99-µs. bolt is one process's file: there is no second
//     instance, so propagation does not apply.
//
// b.N is the number of rounds; the set-up (the servers, the 2,000 sessions) is done
// once per store. The servers are started by the benchmark (PostgreSQL and
// redis-server must be installed: `make deps-postgres deps-redis`).
func BenchmarkStores(b *testing.B) {
	for _, kind := range []struct {
		name string
		open func(b *testing.B) (a, other func() *core.Auth)
	}{
		{"bolt_fsync=on", openBolt},
		{"redis_aof=everysec", openRedis},
		{"postgres_fsync=off", openPostgres},
	} {
		b.Run(kind.name, func(b *testing.B) {
			instance, second := kind.open(b)
			a := instance()
			bed := fill(b, a, storeSessions)
			b.Run("refresh", func(b *testing.B) { benchRefresh(b, a, bed) })
			b.Run("logout", func(b *testing.B) { benchLogout(b, a) })
			b.Run("propagation", func(b *testing.B) {
				if second == nil {
					// Logged, not skipped: a skip is shown only with -v.
					if b.N == 1 {
						b.Log("not applicable: bbolt is one process's file, there is no second instance")
					}
					b.ReportMetric(0, "ns/op")
					return
				}
				benchPropagation(b, a, second())
			})
		})
	}
}

const (
	storeClients   = 64
	storeSessions  = 2_000
	propagations   = 200
	propagationCap = 5 * time.Second
)

var silent = core.WithLogger(slog.New(slog.DiscardHandler))

func newAuth(b *testing.B, s core.Store) *core.Auth {
	b.Helper()
	a, err := fixture.NewAuth(s, fixture.HMACKey(), silent)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

func openBolt(b *testing.B) (func() *core.Auth, func() *core.Auth) {
	s, err := boltstore.Open(filepath.Join(b.TempDir(), "bench.db"), boltstore.WithPurgeInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return func() *core.Auth { return newAuth(b, s) }, nil
}

func openRedis(b *testing.B) (func() *core.Auth, func() *core.Auth) {
	srv := redistest.Start(b, "appendonly yes", "appendfsync everysec")
	instance := func() *core.Auth {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: storeClients})
		b.Cleanup(func() { c.Close() })
		s, err := redisstore.New(context.Background(), c, redisstore.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return newAuth(b, s)
	}
	return instance, instance
}

func openPostgres(b *testing.B) (func() *core.Auth, func() *core.Auth) {
	srv := pgtest.Start(b)
	instance := func() *core.Auth {
		cfg, err := pgxpool.ParseConfig(srv.URL("postgres"))
		if err != nil {
			b.Fatal(err)
		}
		cfg.MaxConns = storeClients // 64 clients do not queue for a connection
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		s, err := pgstore.New(context.Background(), pool, pgstore.WithPurgeInterval(0), pgstore.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return newAuth(b, s)
	}
	return instance, instance
}

// fill signs in n sessions from 64 clients and returns their tokens.
func fill(b *testing.B, a *core.Auth, n int) []*core.Tokens {
	b.Helper()
	toks := make([]*core.Tokens, n)
	err := spread(n, func(i int) error {
		t, err := a.Issue(context.Background(), core.Identity{Subject: fmt.Sprintf("https://accounts.google.com|%021d", i), Email: fmt.Sprintf("user%d@example.com", i)},
			core.Client{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) bench", IP: "192.0.2.1"})
		toks[i] = t
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return toks
}

// spread runs fn(0) … fn(n-1) from 64 goroutines, client c taking c, c+64, …
func spread(n int, fn func(i int) error) error {
	errs := make([]error, storeClients)
	var wg sync.WaitGroup
	for c := range storeClients {
		wg.Go(func() {
			for i := c; i < n; i += storeClients {
				if err := fn(i); err != nil {
					errs[c] = fmt.Errorf("%d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func benchRefresh(b *testing.B, a *core.Auth, bed []*core.Tokens) {
	var elapsed time.Duration
	for range b.N {
		start := time.Now()
		err := spread(len(bed), func(i int) error {
			t, err := a.Refresh(context.Background(), bed[i].RefreshToken)
			if err == nil {
				bed[i] = t
			}
			return err
		})
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(b.N*len(bed))/elapsed.Seconds(), "refreshes/s")
}

func benchLogout(b *testing.B, a *core.Auth) {
	var elapsed time.Duration
	b.StopTimer()
	for range b.N {
		round := fill(b, a, storeSessions)
		start := time.Now()
		err := spread(len(round), func(i int) error { return a.Logout(context.Background(), round[i].Session.ID) })
		elapsed += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(b.N*storeSessions)/elapsed.Seconds(), "logouts/s")
}

func benchPropagation(b *testing.B, a, other *core.Auth) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N*propagations)
	b.StopTimer()
	for range b.N {
		round := fill(b, a, propagations)
		for _, t := range round {
			if _, err := other.Authenticate(ctx, t.AccessToken); err != nil {
				b.Fatalf("B refuses a live session: %v", err)
			}
			if err := a.Logout(ctx, t.Session.ID); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for {
				_, err := other.Authenticate(ctx, t.AccessToken)
				if errors.Is(err, core.ErrTokenRevoked) {
					break
				}
				if err != nil {
					b.Fatalf("B: %v", err)
				}
				if time.Since(start) > propagationCap {
					b.Fatalf("logout of %s not seen on B within %v", t.Session.ID, propagationCap)
				}
				time.Sleep(20 * time.Microsecond)
			}
			lat = append(lat, time.Since(start))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100])/1e3, "p99-µs")
}
