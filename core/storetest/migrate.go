package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// testMigrator checks core.Migrator. Run calls it for every store, and it skips a store
// that does not implement the interface.
func testMigrator(t *testing.T, h harness) {
	if _, ok := h.open(t).(core.Migrator); !ok {
		t.Skip("the store does not implement core.Migrator")
	}

	t.Run("Empty store", func(t *testing.T) {
		s := h.open(t)
		if got := export(t, s); len(got) != 0 {
			t.Errorf("Export of an empty store listed %d entries", len(got))
		}
		importAll(t, s, nil)
	})

	t.Run("Consumed ids are not exported", func(t *testing.T) {
		s := h.open(t)
		wantConsume(t, s, "state-1", at(hour), true)
		if got := export(t, s); len(got) != 0 {
			t.Errorf("Export of a store holding one consumed id listed %d entries, want none", len(got))
		}
	})

	t.Run("Round trip", func(t *testing.T) {
		src := h.open(t)
		want := fill(t, src)
		got := export(t, src)
		compareEntries(t, "Export of the filled store", got, want)

		dst := h.open(t)
		importAll(t, dst, got)
		compareEntries(t, "Export after Import into a fresh store", export(t, dst), want)
		// The copy answers as the original does, method by method.
		for _, e := range want {
			if e.Kind == core.EntrySession {
				checkSession(t, "Session("+e.ID+") after Import", get(t, dst, e.ID), e.Session)
			}
		}
		wantSessionIDs(t, dst, "alice", "sid-a1", "sid-a2")
		wantSessionIDs(t, dst, "bob", "sid-b1")
		wantRevoked(t, dst, "jti-1", "", true)
		wantRevoked(t, dst, "", "sid-ended", true)
		wantRevoked(t, dst, "sid-a1", "", true)
		wantRevoked(t, dst, "", "sid-a1", false) // revoked as a jti only
		wantRevoked(t, dst, "jti-unknown", "sid-b1", false)
		wantKey(t, dst, "signing", allBytes())
		wantKey(t, dst, "other", []byte("value of other"))
		// Rotation state came along: the current token rotates, the replaced one is
		// reuse once its grace window is over.
		rotateFails(t, dst, rotation("sid-a1", "sid-a1.rt1", "x", at(2*hour)), core.ErrRefreshReused)
		rotateOK(t, dst, rotation("sid-a1", "sid-a1.rt2", "sid-a1.rt3", at(2*hour)))
		// And so did every expiry, to the nanosecond.
		dst2 := h.open(t)
		importAll(t, dst2, got)
		purgeSteps(t, dst2)
	})

	t.Run("Import twice is idempotent", func(t *testing.T) {
		src := h.open(t)
		want := fill(t, src)
		entries := export(t, src)
		dst := h.open(t)
		importAll(t, dst, entries)
		importAll(t, dst, entries)
		compareEntries(t, "Export after importing twice", export(t, dst), want)
		wantSessionIDs(t, dst, "alice", "sid-a1", "sid-a2")
		wantSessionIDs(t, dst, "bob", "sid-b1")
		purgeSteps(t, dst) // each entry once
	})

	t.Run("Revocations keep the later expiry", func(t *testing.T) {
		s := h.open(t)
		m := s.(core.Migrator)
		revoke(t, s, "jti-1", at(2*hour))
		create(t, s, withLifetimes(newSession("sid-1", "alice"), at(day), at(2*day), at(2*hour)))
		endSession(t, s, "sid-1")
		earlier := []core.Entry{
			{Kind: core.EntryRevokedToken, ID: "jti-1", Expires: at(hour)},
			{Kind: core.EntryRevokedSession, ID: "sid-1", Expires: at(hour)},
			{Kind: core.EntryRevokedToken, ID: "jti-new", Expires: at(hour)},
		}
		if err := m.Import(context.Background(), earlier); err != nil {
			t.Fatalf("Import: %v", err)
		}
		wantRevoked(t, s, "jti-new", "", true)
		purge(t, s, at(hour), 1) // jti-new; the other two keep 2h
		wantRevoked(t, s, "jti-1", "", true)
		wantRevoked(t, s, "", "sid-1", true)
		later := []core.Entry{
			{Kind: core.EntryRevokedToken, ID: "jti-1", Expires: at(3 * hour)},
			{Kind: core.EntryRevokedSession, ID: "sid-1", Expires: at(3 * hour)},
		}
		if err := m.Import(context.Background(), later); err != nil {
			t.Fatalf("Import: %v", err)
		}
		purge(t, s, at(3*hour-1), 0)
		wantRevoked(t, s, "jti-1", "", true)
		wantRevoked(t, s, "", "sid-1", true)
		purge(t, s, at(3*hour), 2)
		wantRevoked(t, s, "jti-1", "sid-1", false)
	})

	t.Run("Import overwrites keys and sessions", func(t *testing.T) {
		s := h.open(t)
		m := s.(core.Migrator)
		create(t, s, newSession("sid-1", "alice")) // PurgeAt 7 days on
		loadOrStore(t, s, "signing", []byte("old"))
		imported := withLifetimes(newSession("sid-1", "bob"), at(hour), at(2*hour), at(16*minute))
		imported.Current = "sid-1.rt9"
		want := cloneSession(imported)
		err := m.Import(context.Background(), []core.Entry{
			{Kind: core.EntrySession, ID: "sid-1", Session: imported},
			{Kind: core.EntryKey, ID: "signing", Value: []byte("new")},
		})
		if err != nil {
			t.Fatalf("Import: %v", err)
		}
		checkSession(t, "Session after Import over it", get(t, s, "sid-1"), want)
		wantSessionIDs(t, s, "alice")
		wantSessionIDs(t, s, "bob", "sid-1")
		wantKey(t, s, "signing", []byte("new"))
		// The imported session's PurgeAt holds, not the one it replaced.
		purge(t, s, at(hour-1), 0)
		purge(t, s, at(hour), 1)
		wantSessionIDs(t, s, "bob")
	})

	t.Run("Export stops at the first error", func(t *testing.T) {
		s := h.open(t)
		fill(t, s)
		errStop := errors.New("storetest: stop")
		calls := 0
		err := s.(core.Migrator).Export(context.Background(), func(core.Entry) error {
			calls++
			return errStop
		})
		if !errors.Is(err, errStop) {
			t.Errorf("Export = %v, want the error fn returned", err)
		}
		if calls != 1 {
			t.Errorf("fn was called %d times after returning an error, want 1", calls)
		}
	})

	t.Run("Closed", func(t *testing.T) {
		s := h.open(t)
		m := s.(core.Migrator)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		err := m.Export(context.Background(), func(core.Entry) error { return nil })
		if !errors.Is(err, core.ErrStoreClosed) {
			t.Errorf("Export after Close: error = %v, want %v", err, core.ErrStoreClosed)
		}
		err = m.Import(context.Background(), []core.Entry{{Kind: core.EntryRevokedToken, ID: "jti-1", Expires: at(hour)}})
		if !errors.Is(err, core.ErrStoreClosed) {
			t.Errorf("Import after Close: error = %v, want %v", err, core.ErrStoreClosed)
		}
	})
}

// fill writes one entry of every kind, and then some, into s, and returns what Export
// must then list, by entryKey.
//
//   - keys "signing" (every byte value) and "other";
//   - sessions sid-a1 (alice, rotated at 1h: Previous set, PurgeAt 1h+1d), sid-a2
//     (alice, PurgeAt 7d) and sid-b1 (bob, few fields, PurgeAt 1d);
//   - revoked tokens jti-1 (until 1h), jti-2 (until 3h and a nanosecond) and sid-a1
//     (until 1h: a jti equal to a session id);
//   - the revoked session sid-ended (bob, ended; until 2h, its AccessExpiresAt).
func fill(t *testing.T, s core.Store) map[string]core.Entry {
	t.Helper()
	want := map[string]core.Entry{}
	add := func(e core.Entry) { want[entryKey(e)] = e }

	for name, v := range map[string][]byte{"signing": allBytes(), "other": []byte("value of other")} {
		loadOrStore(t, s, name, v)
		add(core.Entry{Kind: core.EntryKey, ID: name, Value: v})
	}

	a1 := newSession("sid-a1", "alice")
	a1.Identity.Claims = map[string]any{"role": "admin", "ünï": "çødé"}
	a1.IP = "2001:db8::1"
	create(t, s, a1)
	rotateOK(t, s, rotation("sid-a1", "sid-a1.rt1", "sid-a1.rt2", at(hour)))
	create(t, s, newSession("sid-a2", "alice"))
	create(t, s, &core.Session{
		ID:              "sid-b1",
		Identity:        core.Identity{Subject: "bob"},
		CreatedAt:       base,
		LastUsedAt:      base,
		ExpiresAt:       at(day),
		IdleExpiresAt:   at(day),
		AccessExpiresAt: at(15 * minute),
		Current:         "sid-b1.rt1",
	})
	for _, id := range []string{"sid-a1", "sid-a2", "sid-b1"} {
		add(core.Entry{Kind: core.EntrySession, ID: id, Session: get(t, s, id)})
	}

	create(t, s, withLifetimes(newSession("sid-ended", "bob"), at(day), at(2*day), at(2*hour)))
	endSession(t, s, "sid-ended")
	add(core.Entry{Kind: core.EntryRevokedSession, ID: "sid-ended", Expires: at(2 * hour)})

	for jti, exp := range map[string]time.Time{"jti-1": at(hour), "jti-2": at(3*hour + 1), "sid-a1": at(hour)} {
		revoke(t, s, jti, exp)
		add(core.Entry{Kind: core.EntryRevokedToken, ID: jti, Expires: exp})
	}
	return want
}

// purgeSteps purges a store holding fill's content step by step, checking that every
// expiry came through exactly and that each entry is there once.
func purgeSteps(t *testing.T, s core.Store) {
	t.Helper()
	purge(t, s, at(hour-1), 0)
	purge(t, s, at(hour), 2) // jti-1 and the jti sid-a1
	purge(t, s, at(2*hour), 1)
	wantRevoked(t, s, "", "sid-ended", false)
	purge(t, s, at(3*hour), 0)
	purge(t, s, at(3*hour+1), 1) // jti-2
	purge(t, s, at(day), 1)      // sid-b1
	wantSessionIDs(t, s, "bob")
	purge(t, s, at(day+hour-1), 0)
	purge(t, s, at(day+hour), 1) // sid-a1
	purge(t, s, at(7*day), 1)    // sid-a2
	wantSessionIDs(t, s, "alice")
	if got := export(t, s); len(got) != 2 {
		t.Errorf("after purging everything, Export lists %d entries, want the 2 keys", len(got))
	}
}

func entryKey(e core.Entry) string { return fmt.Sprintf("%d/%s", e.Kind, e.ID) }

// export returns every entry Export lists, failing t on an error or a repeated entry.
func export(t *testing.T, s core.Store) []core.Entry {
	t.Helper()
	var list []core.Entry
	seen := map[string]bool{}
	err := s.(core.Migrator).Export(context.Background(), func(e core.Entry) error {
		if seen[entryKey(e)] {
			t.Errorf("Export listed entry %s twice", entryKey(e))
		}
		seen[entryKey(e)] = true
		list = append(list, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return list
}

func importAll(t *testing.T, s core.Store, entries []core.Entry) {
	t.Helper()
	if err := s.(core.Migrator).Import(context.Background(), entries); err != nil {
		t.Fatalf("Import of %d entries: %v", len(entries), err)
	}
}

// compareEntries fails t unless got holds exactly the entries of want, field by field.
func compareEntries(t *testing.T, what string, got []core.Entry, want map[string]core.Entry) {
	t.Helper()
	var missing, extra []string
	seen := map[string]bool{}
	for _, g := range got {
		k := entryKey(g)
		seen[k] = true
		w, ok := want[k]
		if !ok {
			extra = append(extra, k)
			continue
		}
		switch g.Kind {
		case core.EntryKey:
			if !bytes.Equal(g.Value, w.Value) {
				t.Errorf("%s: key %q = %q, want %q", what, g.ID, g.Value, w.Value)
			}
		case core.EntrySession:
			if g.Session == nil {
				t.Errorf("%s: session entry %q has no session", what, g.ID)
				continue
			}
			for _, d := range sessionDiff(w.Session, g.Session) {
				t.Errorf("%s: session %q: %s", what, g.ID, d)
			}
		case core.EntryRevokedToken, core.EntryRevokedSession:
			if !g.Expires.Equal(w.Expires) {
				t.Errorf("%s: revocation %s expires %v, want %v", what, k, g.Expires, w.Expires)
			}
		}
	}
	for k := range want {
		if !seen[k] {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("%s: missing entries %q, unexpected entries %q (kind/id; kinds: 1 key, 2 session, 3 revoked token, 4 revoked session)",
			what, missing, extra)
	}
}
