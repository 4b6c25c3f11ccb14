package main_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore/redistest"
	"github.com/gatehouse-auth/gatehouse/storage/storeurl"
)

// snapshot lists a store's content, one line per entry by kind and id, times in UTC,
// so that two stores' contents compare with ==.
func snapshot(t *testing.T, s core.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := s.(core.Migrator).Export(ctx, func(e core.Entry) error {
		k := fmt.Sprintf("%d/%s", e.Kind, e.ID)
		switch e.Kind {
		case core.EntryKey:
			out[k] = hex.EncodeToString(e.Value)
		case core.EntrySession:
			c := *e.Session
			for _, tp := range []*time.Time{&c.CreatedAt, &c.LastUsedAt, &c.ExpiresAt, &c.IdleExpiresAt, &c.AccessExpiresAt, &c.PreviousUntil} {
				*tp = tp.UTC()
			}
			b, err := json.Marshal(c)
			if err != nil {
				return err
			}
			out[k] = string(b)
		default:
			out[k] = e.Expires.UTC().Format(time.RFC3339Nano)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameContent(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: entry %s is missing", what, k)
		} else if g != want[k] {
			t.Errorf("%s: entry %s =\n\t%s\nwant\n\t%s", what, k, g, want[k])
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected entry %s", what, k)
		}
	}
}

// tokens of the round trip, and what each must do after it.
type world struct {
	alice, loggedOut, bob, bobNext *core.Tokens
}

// seedBolt makes the bolt store every migrate test copies, at path: alice with a live
// session and a logged-out one, bob refreshed once (his session has a Previous) with
// his first access token revoked. It returns the world and the store's content, and
// closes the store.
func seedBolt(t *testing.T, path string) (world, map[string]string) {
	t.Helper()
	s, a := boltAuth(t, path)
	var w world
	w.alice = issue(t, a, "https://idp.example#alice", "Firefox", "192.0.2.1")
	w.loggedOut = issue(t, a, "https://idp.example#alice", "curl/8.5.0", "192.0.2.2")
	w.bob = issue(t, a, "https://idp.example#bob", "Safari", "2001:db8::2")
	var err error
	if w.bobNext, err = a.Refresh(ctx, w.bob.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if err := a.Revoke(ctx, w.bob.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := a.Logout(ctx, w.loggedOut.Session.ID); err != nil {
		t.Fatal(err)
	}
	wantAnswers(t, "before", a, w)
	before := snapshot(t, s)
	s.Close()
	return w, before
}

// wantAnswers checks, on a, that the access tokens of w are valid or revoked as they
// were before the migration.
func wantAnswers(t *testing.T, where string, a *core.Auth, w world) {
	t.Helper()
	for _, c := range []struct {
		name  string
		token string
		want  error
	}{
		{"alice's live session", w.alice.AccessToken, nil},
		{"the logged-out session", w.loggedOut.AccessToken, core.ErrTokenRevoked},
		{"bob's revoked access token", w.bob.AccessToken, core.ErrTokenRevoked},
		{"bob's token from a refresh", w.bobNext.AccessToken, nil},
	} {
		claims, err := a.Authenticate(ctx, c.token)
		switch {
		case c.want == nil && err != nil:
			t.Errorf("%s: Authenticate(%s): %v, want valid", where, c.name, err)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: Authenticate(%s): error = %v, want %v", where, c.name, err, c.want)
		case c.want == nil && claims.Subject == "":
			t.Errorf("%s: Authenticate(%s): no subject", where, c.name)
		}
	}
}

// TestMigrateRoundTrip copies a bolt store to Redis and back to a new bolt file, and
// checks that nothing was lost: the content, entry by entry; the signing key, both
// ways; which tokens are valid or revoked; and the rotation state of every session.
func TestMigrateRoundTrip(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	first, last := filepath.Join(dir, "first.db"), filepath.Join(dir, "last.db")
	redisURL := srv.URL(2)

	w, before := seedBolt(t, first)
	if len(before) != 5 { // signing key, 2 sessions, a revoked token, a revoked session
		t.Fatalf("the first store holds %d entries, want 5: %v", len(before), before)
	}

	// bolt → Redis, two entries per script.
	out := ok(t, "migrate", "--from", "bolt:"+first, "--to", redisURL, "--batch", "2")
	want := "copied 1 key, 2 sessions, 1 revoked token and 1 revoked session from bolt:" + first + " to " + redisURL + " in "
	if !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
		t.Errorf("migrate to Redis printed %q, want %q…", out, want)
	}
	rs, err := storeurl.Open(ctx, redisURL)
	if err != nil {
		t.Fatal(err)
	}
	sameContent(t, "Redis after the first migrate", snapshot(t, rs), before)
	ra, err := core.New(rs)
	if err != nil {
		t.Fatal(err)
	}
	wantAnswers(t, "on Redis", ra, w)
	rs.Close()

	// Redis → a new bolt file.
	out = ok(t, "migrate", "--from", redisURL, "--to", "bolt:"+last)
	if want := "copied 1 key, 2 sessions, 1 revoked token and 1 revoked session from " + redisURL + " to bolt:" + last; !strings.HasPrefix(out, want) {
		t.Errorf("migrate back printed %q, want %q…", out, want)
	}
	s2, a2 := boltAuth(t, last)
	sameContent(t, "the last bolt file", snapshot(t, s2), before)
	wantAnswers(t, "after the round trip", a2, w)

	// The live refresh token refreshes; the logged-out session's does not.
	fresh, err := a2.Refresh(ctx, w.alice.RefreshToken)
	if err != nil {
		t.Fatalf("Refresh of alice's refresh token after the round trip: %v", err)
	}
	if _, err := a2.Refresh(ctx, w.loggedOut.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
		t.Errorf("Refresh of the logged-out session's token: error = %v, want ErrInvalidGrant", err)
	}
	// The signing key is the same: a token minted after verifies on the first store.
	_, a1 := boltAuth(t, first)
	if _, err := a1.Authenticate(ctx, fresh.AccessToken); err != nil {
		t.Errorf("a token minted after the round trip does not verify on the first store: %v", err)
	}
	// Rotation state came along: bob's replaced refresh token is reuse, which ends his
	// session, and with it his newer access token.
	if _, err := a2.Refresh(ctx, w.bob.RefreshToken); !errors.Is(err, core.ErrRefreshReused) {
		t.Errorf("Refresh of bob's replaced refresh token: error = %v, want ErrRefreshReused", err)
	}
	if _, err := a2.Authenticate(ctx, w.bobNext.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
		t.Errorf("bob's access token after reuse ended his session: error = %v, want ErrTokenRevoked", err)
	}
}

// TestMigrateKeys: a destination with another signing key is refused, and nothing is
// written, unless --force; one with the same key takes the copy again.
func TestMigrateKeys(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	src, other := filepath.Join(dir, "src.db"), filepath.Join(dir, "other.db")
	s, a := boltAuth(t, src)
	tok := issue(t, a, "https://idp.example#alice", "ua", "192.0.2.1")
	s.Close()
	o, _ := boltAuth(t, other) // generates its own key
	otherBefore := snapshot(t, o)
	o.Close()

	fails(t, 1, "gatehouse migrate: bolt:"+other+" holds another value than bolt:"+src+" for the key signing/HS256",
		[]string{"nothing was written", "--force"}, "migrate", "--from", "bolt:"+src, "--to", "bolt:"+other)
	o, _ = boltAuth(t, other)
	sameContent(t, "the refused destination", snapshot(t, o), otherBefore)
	o.Close()

	out := ok(t, "migrate", "--from", "bolt:"+src, "--to", "bolt:"+other, "--force")
	if !strings.Contains(out, "copied 1 key, 1 session") || !strings.Contains(out, "already held 1 entry") {
		t.Errorf("migrate --force printed %q", out)
	}
	o, oa := boltAuth(t, other)
	if _, err := oa.Authenticate(ctx, tok.AccessToken); err != nil {
		t.Errorf("after migrate --force, the source's token does not verify on the destination: %v", err)
	}
	o.Close()

	// The same key on both sides is no conflict: migrating twice is fine.
	for range 2 {
		ok(t, "migrate", "--from", "bolt:"+src, "--to", srv.URL(0))
	}
	// And a Redis destination is refused as a bolt one is.
	third := filepath.Join(dir, "third.db")
	th, _ := boltAuth(t, third)
	th.Close()
	fails(t, 1, "gatehouse migrate: "+srv.URL(0)+" holds another value than bolt:"+third+" for the key signing/HS256", nil,
		"migrate", "--from", "bolt:"+third, "--to", srv.URL(0))
}
