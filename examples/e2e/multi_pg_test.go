package e2e

import (
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/storage/pgstore/pgtest"
)

// The two-instance contract on PostgreSQL: A on Gin and B on Fiber share one database
// (GATEHOUSE_STORE=postgres://…, pgstore through storeurl), as on Redis.

// logListenerLost is the line pgstore logs when an instance stops trusting its
// revocation filters; it logs logFiltersLoaded, as redisstore does, when it trusts
// them again.
const logListenerLost = "revocation listener lost"

// startPairOn starts A and B on the store URL at the same time, as startPair does on
// Redis, and checks that they agree on the signing key.
func startPairOn(t *testing.T, store string) (a, b *server) {
	t.Helper()
	addrA, addrB := freeAddr(t), freeAddr(t)
	env := func(addr string) map[string]string {
		return map[string]string{"GATEHOUSE_ADDR": addr, "GATEHOUSE_PUBLIC_URL": "http://" + addrA, "GATEHOUSE_STORE": store, "GATEHOUSE_RATE_LIMIT": "0"}
	}
	binary(t, "gin")
	a = launch(t, "gin", t.TempDir(), env(addrA))
	b = launch(t, "fiber", t.TempDir(), env(addrB))
	a.await()
	b.await()
	b.url = "http://" + addrB

	ca, cb := newClient(t, a.url), newClient(t, b.url)
	tok := ca.signIn(ada, true)
	cb.do("GET", "/api/protected", bearer(tok.access)).want(t, 200)
	fromB := cb.do("POST", "/auth/refresh", refreshForm(tok.refresh)).want(t, 200).json(t)["access_token"].(string)
	ca.do("GET", "/api/protected", bearer(fromB)).want(t, 200)
	if ka, kb := jwtPart(t, tok.access, 0)["kid"], jwtPart(t, fromB, 0)["kid"]; ka != kb || ka == nil {
		t.Fatalf("A signs with key %v, B with %v: want the one key kept in PostgreSQL", ka, kb)
	}
	return a, b
}

// TestSharedLogoutPostgres: a session signed in on A and logged out on B is refused on
// A within 100 ms of B's 200, and its refresh token too.
func TestSharedLogoutPostgres(t *testing.T) {
	const rounds = 20
	a, b := startPairOn(t, pgtest.Start(t).URL("postgres"))
	ca, cb := newClient(t, a.url), newClient(t, b.url)
	lat := make([]time.Duration, 0, rounds)
	for range rounds {
		tok := ca.signIn(ada, true)
		ca.do("GET", "/api/protected", bearer(tok.access)).want(t, 200)
		cb.do("POST", "/auth/logout", bearer(tok.access)).want(t, 200)
		lat = append(lat, refusedWithin(t, ca, tok.access, time.Second))
		ca.do("POST", "/auth/refresh", refreshForm(tok.refresh)).wantError(t, 400, "invalid_grant")
	}
	checkPropagation(t, lat)
}

// TestSharedRefreshRacePostgres: one refresh token sent to A and B at the same instant
// has exactly one winner; the other gets invalid_grant, and the reuse ends the
// session on both, the winner's new tokens included.
func TestSharedRefreshRacePostgres(t *testing.T) {
	const rounds = 10
	a, b := startPairOn(t, pgtest.Start(t).URL("postgres"))
	cs := []*client{newClient(t, a.url), newClient(t, b.url)}
	for round := range rounds {
		tok := cs[0].signIn(ada, true)
		for _, c := range cs {
			c.do("GET", "/api", bearer(tok.access)).want(t, 200)
		}
		var (
			replies [2]reply
			errs    [2]error
			wg      sync.WaitGroup
			start   = make(chan struct{})
		)
		for i, c := range cs {
			wg.Go(func() {
				<-start
				replies[i], errs[i] = c.try("POST", "/auth/refresh", refreshForm(tok.refresh))
			})
		}
		close(start)
		wg.Wait()
		var winners []int
		for i, r := range replies {
			if errs[i] != nil {
				t.Fatalf("round %d: %v", round, errs[i])
			}
			if r.status == 200 {
				winners = append(winners, i)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d winners (A %v, B %v), want exactly one", round, len(winners), replies[0], replies[1])
		}
		w := winners[0]
		replies[1-w].wantError(t, 400, "invalid_grant")
		next := replies[w].json(t)
		for _, c := range cs {
			refusedWithin(t, c, next["access_token"].(string), time.Second)
			c.do("POST", "/auth/refresh", refreshForm(next["refresh_token"].(string))).wantError(t, 400, "invalid_grant")
		}
	}
}

// TestSharedPostgresRestart: PostgreSQL shuts down at once (every backend killed) and
// comes back on the same port and data directory. Once an instance has logged that its
// listener is lost, every call answers 503 with Retry-After, a revoked token included,
// never 200; after the restart both recover by themselves, the logout made before is
// still in force, live sessions work, and a logout propagates again.
func TestSharedPostgresRestart(t *testing.T) {
	pg := pgtest.Start(t)
	a, b := startPairOn(t, pg.URL("postgres"))
	srv := []*server{a, b}
	cs := []*client{newClient(t, a.url), newClient(t, b.url)}
	revoked, live := cs[0].signIn(ada, true), cs[0].signIn(ada, true)
	cs[1].do("POST", "/auth/logout", bearer(revoked.access)).want(t, 200)
	refusedWithin(t, cs[0], revoked.access, propagation)

	lost, loaded := logged(srv, logListenerLost), logged(srv, logFiltersLoaded)
	stopped := time.Now()
	pg.Stop()
	seen := waitLogged(t, srv, logListenerLost, lost, 5*time.Second)
	for i, c := range cs {
		t.Logf("%s knew of the stop %v after it", srv[i].fw, seen[i].Sub(stopped).Round(time.Millisecond))
		for _, tc := range []struct {
			what string
			r    reply
		}{
			{"a live token", c.do("GET", "/api/protected", bearer(live.access))},
			{"a revoked token", c.do("GET", "/api/protected", bearer(revoked.access))},
			{"a refresh", c.do("POST", "/auth/refresh", refreshForm(live.refresh))},
		} {
			if tc.r.status != 503 || tc.r.header.Get("Retry-After") == "" {
				t.Errorf("%s while PostgreSQL is down, %s: %v (Retry-After %q), want 503 with Retry-After",
					srv[i].fw, tc.what, tc.r, tc.r.header.Get("Retry-After"))
			}
		}
	}

	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	up := time.Now()
	trusted := waitLogged(t, srv, logFiltersLoaded, loaded, 10*time.Second)
	for i, c := range cs {
		t.Logf("%s trusted its filters %v after PostgreSQL was back", srv[i].fw, trusted[i].Sub(up).Round(time.Millisecond))
		c.do("GET", "/api/protected", bearer(revoked.access)).wantError(t, 401, "invalid_token")
		c.do("GET", "/api/protected", bearer(live.access)).want(t, 200)
	}
	next := cs[1].do("POST", "/auth/refresh", refreshForm(live.refresh)).want(t, 200).json(t)
	access := next["access_token"].(string)
	cs[0].do("GET", "/api/protected", bearer(access)).want(t, 200)
	cs[0].do("POST", "/auth/logout", bearer(access)).want(t, 200)
	refusedWithin(t, cs[1], access, propagation)
}
