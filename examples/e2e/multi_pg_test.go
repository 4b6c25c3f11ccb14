package e2e

import (
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

// startPairOn starts A and B on the store URL (PostgreSQL, a Redis Cluster) at the same time, as startPair does on
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
		t.Fatalf("A signs with key %v, B with %v: want the one key kept in the shared store", ka, kb)
	}
	return a, b
}

// TestSharedLogoutPostgres: the logout contract on one PostgreSQL (sharedLogout).
func TestSharedLogoutPostgres(t *testing.T) {
	a, b := startPairOn(t, pgtest.Start(t).URL("postgres"))
	sharedLogout(t, a, b)
}

// TestSharedRefreshRacePostgres: the refresh race on one PostgreSQL (sharedRefreshRace).
func TestSharedRefreshRacePostgres(t *testing.T) {
	a, b := startPairOn(t, pgtest.Start(t).URL("postgres"))
	sharedRefreshRace(t, a, b)
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
