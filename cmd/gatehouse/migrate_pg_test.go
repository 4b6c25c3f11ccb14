package main_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore/pgtest"
	"github.com/gatehouse-auth/gatehouse/storage/storeurl"
)

// TestMigratePostgres copies a bolt store to PostgreSQL and back to a new bolt file:
// tokens issued before the migration authenticate after it, on PostgreSQL and back on
// bolt; a revoked token and a logged-out session stay revoked; the content is the same
// entry by entry; and the rotation state came along.
func TestMigratePostgres(t *testing.T) {
	srv := pgtest.Start(t)
	pgURL := srv.URL("postgres")
	dir := t.TempDir()
	first, last := filepath.Join(dir, "first.db"), filepath.Join(dir, "last.db")

	w, before := seedBolt(t, first)

	// bolt → PostgreSQL (the tables are created), two entries per transaction.
	out := ok(t, "migrate", "--from", "bolt:"+first, "--to", pgURL, "--batch", "2")
	want := "copied 1 key, 2 sessions, 1 revoked token and 1 revoked session from bolt:" + first + " to " + pgURL + " in "
	if !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
		t.Errorf("migrate to PostgreSQL printed %q, want %q…", out, want)
	}
	ps, err := storeurl.Open(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	sameContent(t, "PostgreSQL after the migrate", snapshot(t, ps), before)
	pa, err := core.New(ps)
	if err != nil {
		t.Fatal(err)
	}
	wantAnswers(t, "on PostgreSQL", pa, w)
	if _, err := pa.Refresh(ctx, w.loggedOut.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
		t.Errorf("on PostgreSQL: Refresh of the logged-out session's token: %v, want invalid_grant", err)
	}
	ps.Close()

	// stats and purge read it.
	if out := ok(t, "stats", "--store", pgURL); !strings.Contains(out, "sessions          2") || !strings.Contains(out, "keys              signing/") {
		t.Errorf("stats of PostgreSQL:\n%s", out)
	}
	if out := ok(t, "purge", "--store", pgURL); out != "purged 0 expired entries from "+pgURL+"\n" {
		t.Errorf("purge: %q", out)
	}

	// PostgreSQL → a new bolt file.
	out = ok(t, "migrate", "--from", pgURL, "--to", "bolt:"+last)
	if want := "copied 1 key, 2 sessions, 1 revoked token and 1 revoked session from " + pgURL + " to bolt:" + last; !strings.HasPrefix(out, want) {
		t.Errorf("migrate back printed %q, want %q…", out, want)
	}
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
	fails(t, 1, "gatehouse migrate: "+pgURL+" holds another value than bolt:"+third+" for the key signing/HS256", nil,
		"migrate", "--from", "bolt:"+third, "--to", pgURL)

	srv.Stop()
	fails(t, 1, "gatehouse stats: cannot reach PostgreSQL at "+pgURL, []string{"connection refused"}, "stats", "--store", pgURL)
}
