package main_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore/redistest"
	"github.com/gatehouse-auth/gatehouse/storage/storeurl"
)

// TestMigrateRedisCluster copies a bolt store to a Redis Cluster, the cluster to a
// single Redis, and that back to a new bolt file: tokens issued before the migration
// authenticate after it, on the cluster and at the end; a revoked token and a
// logged-out session stay revoked; the content is the same entry by entry; and the
// rotation state came along.
func TestMigrateRedisCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	srv := redistest.Start(t)
	clusterURL := "redis+cluster://" + strings.Join(cl.Addrs(), ",")
	redisURL := srv.URL(1)
	dir := t.TempDir()
	first, last := filepath.Join(dir, "first.db"), filepath.Join(dir, "last.db")

	w, before := seedBolt(t, first)

	// bolt → the cluster, two entries per batch.
	out := ok(t, "migrate", "--from", "bolt:"+first, "--to", clusterURL, "--batch", "2")
	want := "copied 1 key, 2 sessions, 1 revoked token and 1 revoked session from bolt:" + first + " to " + clusterURL + " in "
	if !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
		t.Errorf("migrate to the cluster printed %q, want %q…", out, want)
	}
	cs, err := storeurl.Open(ctx, clusterURL)
	if err != nil {
		t.Fatal(err)
	}
	sameContent(t, "the cluster after the migrate", snapshot(t, cs), before)
	ca, err := core.New(cs)
	if err != nil {
		t.Fatal(err)
	}
	wantAnswers(t, "on the cluster", ca, w)
	if _, err := ca.Refresh(ctx, w.loggedOut.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
		t.Errorf("on the cluster: Refresh of the logged-out session's token: %v, want invalid_grant", err)
	}
	sessions, err := ca.Sessions(ctx, "https://idp.example#alice")
	if err != nil || len(sessions) != 1 || sessions[0].ID != w.alice.Session.ID {
		t.Errorf("on the cluster: alice's sessions = %v, %v; want her live one", sessions, err)
	}
	cs.Close()

	// stats and purge read it.
	if out := ok(t, "stats", "--store", clusterURL); !strings.Contains(out, "sessions          2") || !strings.Contains(out, "keys              signing/") {
		t.Errorf("stats of the cluster:\n%s", out)
	}
	if out := ok(t, "purge", "--store", clusterURL); out != "purged 0 expired entries from "+clusterURL+"\n" {
		t.Errorf("purge: %q", out)
	}

	// The cluster → a single Redis → a new bolt file.
	out = ok(t, "migrate", "--from", clusterURL, "--to", redisURL)
	if want := "copied 1 key, 2 sessions, 1 revoked token and 1 revoked session from " + clusterURL + " to " + redisURL; !strings.HasPrefix(out, want) {
		t.Errorf("migrate to a single Redis printed %q, want %q…", out, want)
	}
	ok(t, "migrate", "--from", redisURL, "--to", "bolt:"+last)
	s2, a2 := boltAuth(t, last)
	sameContent(t, "the last bolt file", snapshot(t, s2), before)
	wantAnswers(t, "after the round trip", a2, w)
	if _, err := a2.Refresh(ctx, w.alice.RefreshToken); err != nil {
		t.Errorf("Refresh of alice's refresh token after the round trip: %v", err)
	}
	if _, err := a2.Refresh(ctx, w.bob.RefreshToken); !errors.Is(err, core.ErrRefreshReused) {
		t.Errorf("Refresh of bob's replaced refresh token: %v, want ErrRefreshReused", err)
	}

	// A destination with another signing key is refused, as with the other stores.
	third := filepath.Join(dir, "third.db")
	th, _ := boltAuth(t, third)
	th.Close()
	fails(t, 1, "gatehouse migrate: "+clusterURL+" holds another value than bolt:"+third+" for the key signing/HS256", nil,
		"migrate", "--from", "bolt:"+third, "--to", clusterURL)

	cl.Kill()
	fails(t, 1, "gatehouse stats: cannot reach Redis at "+clusterURL, []string{"connection refused"}, "stats", "--store", clusterURL)
}
