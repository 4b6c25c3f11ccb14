package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

func testSessions(t *testing.T, h harness) {
	t.Run("Round trip keeps every field", func(t *testing.T) {
		s := h.open(t)
		paris := time.FixedZone("UTC+1", 3600)
		full := newSession("sid-1", "alice")
		full.Identity.Claims = map[string]any{"role": "admin", "tenant": "acme", "empty": "", "ünï": "çødé"}
		full.CreatedAt = base.In(paris)
		full.LastUsedAt = at(time.Hour + 987654321).In(paris)
		full.Previous = "sid-1.rt0"
		full.PreviousUntil = at(time.Hour + 30*time.Second + 1)
		full.IP = "2001:db8::1"
		minimal := &core.Session{
			ID:              "sid-2",
			Identity:        core.Identity{Subject: "bob"},
			CreatedAt:       base,
			LastUsedAt:      base,
			ExpiresAt:       at(day),
			IdleExpiresAt:   at(day),
			AccessExpiresAt: at(15 * time.Minute),
			Current:         "sid-2.rt1",
		}
		for _, sess := range []*core.Session{full, minimal} {
			want := cloneSession(sess)
			create(t, s, sess)
			checkSession(t, "Session("+sess.ID+")", get(t, s, sess.ID), want)
		}
	})

	t.Run("Values are copied in and out", func(t *testing.T) {
		s := h.open(t)
		in := newSession("sid-1", "alice")
		want := cloneSession(in)
		create(t, s, in)
		// The caller changing what it passed in does not change the store...
		scribble(in)
		checkSession(t, "after changing the value passed to CreateSession", get(t, s, "sid-1"), want)
		// ...nor does it changing what it got back, from any method that returns sessions.
		scribble(get(t, s, "sid-1"))
		checkSession(t, "after changing the value returned by Session", get(t, s, "sid-1"), want)
		list, err := s.Sessions(context.Background(), "alice")
		if err != nil {
			t.Fatalf("Sessions: %v", err)
		}
		for _, sess := range list {
			scribble(sess)
		}
		checkSession(t, "after changing the values returned by Sessions", get(t, s, "sid-1"), want)
	})

	t.Run("Duplicate id is refused and changes nothing", func(t *testing.T) {
		s := h.open(t)
		orig := newSession("sid-1", "alice")
		want := cloneSession(orig)
		create(t, s, orig)
		dup := newSession("sid-1", "mallory")
		dup.Current = "mallory.rt1"
		dup.ExpiresAt = at(365 * day)
		if err := s.CreateSession(context.Background(), dup); err == nil {
			t.Fatal("CreateSession with an id already stored succeeded")
		}
		checkSession(t, "Session after the refused duplicate", get(t, s, "sid-1"), want)
		wantSessionIDs(t, s, "alice", "sid-1")
		wantSessionIDs(t, s, "mallory")
	})

	t.Run("Unknown id is nil, nil", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		for _, sid := range []string{"sid-2", "sid-", "SID-1", ""} {
			if got := get(t, s, sid); got != nil {
				t.Errorf("Session(%q) = session %q, want nil", sid, got.ID)
			}
		}
	})

	t.Run("Sessions lists exactly the subject's", func(t *testing.T) {
		s := h.open(t)
		want := map[string]*core.Session{}
		for _, p := range [][2]string{
			{"a1", "alice"}, {"a2", "alice"}, {"a3", "alice"},
			{"b1", "alice2"}, {"c1", "alic"}, {"d1", "Alice"}, {"e1", "bob"},
		} {
			sess := newSession(p[0], p[1])
			want[sess.ID] = cloneSession(sess)
			create(t, s, sess)
		}
		wantSessionIDs(t, s, "alice", "a1", "a2", "a3")
		wantSessionIDs(t, s, "alice2", "b1")
		wantSessionIDs(t, s, "alic", "c1")
		wantSessionIDs(t, s, "Alice", "d1")
		wantSessionIDs(t, s, "bob", "e1")
		wantSessionIDs(t, s, "carol")
		wantSessionIDs(t, s, "")
		list, err := s.Sessions(context.Background(), "alice")
		if err != nil {
			t.Fatalf("Sessions: %v", err)
		}
		for _, got := range list {
			checkSession(t, "Sessions(alice) entry "+got.ID, got, want[got.ID])
		}
	})

	t.Run("Sessions follows Rotate", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		rotated, err := s.Rotate(context.Background(), core.Rotation{
			SessionID: "sid-1", Presented: "sid-1.rt1", Next: "sid-1.rt2",
			Now: at(time.Hour), IdleTimeout: day, AccessExpiresAt: at(time.Hour + 16*time.Minute),
		})
		if err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		list, err := s.Sessions(context.Background(), "alice")
		if err != nil {
			t.Fatalf("Sessions: %v", err)
		}
		if len(list) != 1 {
			t.Fatalf("Sessions(alice) has %d sessions after one Rotate, want 1", len(list))
		}
		checkSession(t, "Sessions(alice) after Rotate", list[0], rotated)
	})
}

func testEndSession(t *testing.T, h harness) {
	t.Run("Ends, revokes and returns the session", func(t *testing.T) {
		s := h.open(t)
		other := newSession("sid-2", "alice")
		otherWant := cloneSession(other)
		create(t, s, newSession("sid-1", "alice"))
		create(t, s, other)
		// Rotate first, so the returned session must be the stored one, not the created.
		want, err := s.Rotate(context.Background(), core.Rotation{
			SessionID: "sid-1", Presented: "sid-1.rt1", Next: "sid-1.rt2",
			Now: at(time.Hour), Grace: time.Minute, IdleTimeout: day,
			AccessExpiresAt: at(time.Hour + 16*time.Minute),
		})
		if err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		want = cloneSession(want)
		wantRevoked(t, s, "", "sid-1", false)

		checkSession(t, "EndSession(sid-1)", endSession(t, s, "sid-1"), want)
		if got := get(t, s, "sid-1"); got != nil {
			t.Errorf("Session(sid-1) after EndSession = %q, want nil", got.ID)
		}
		wantSessionIDs(t, s, "alice", "sid-2")
		wantRevoked(t, s, "", "sid-1", true)
		// The other session of the same subject is untouched.
		wantRevoked(t, s, "", "sid-2", false)
		checkSession(t, "Session(sid-2)", get(t, s, "sid-2"), otherWant)
		// The session is gone: Rotate no longer finds it, even with its current token.
		_, err = s.Rotate(context.Background(), core.Rotation{
			SessionID: "sid-1", Presented: "sid-1.rt2", Next: "sid-1.rt3", Now: at(2 * time.Hour),
		})
		wantErr(t, "Rotate after EndSession", err, core.ErrSessionNotFound)
	})

	t.Run("Unknown id is nil, nil", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		if got := endSession(t, s, "sid-2"); got != nil {
			t.Errorf("EndSession(sid-2) = %q, want nil", got.ID)
		}
		wantSessionIDs(t, s, "alice", "sid-1")
		wantRevoked(t, s, "", "sid-1", false)
	})

	t.Run("Twice", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		if got := endSession(t, s, "sid-1"); got == nil {
			t.Fatal("first EndSession(sid-1) = nil, want the session")
		}
		if got := endSession(t, s, "sid-1"); got != nil {
			t.Errorf("second EndSession(sid-1) = %q, want nil", got.ID)
		}
		wantRevoked(t, s, "", "sid-1", true)
	})

	t.Run("Revocation lasts until AccessExpiresAt", func(t *testing.T) {
		s := h.open(t)
		sess := withLifetimes(newSession("sid-1", "alice"), at(hour), at(2*hour), at(3*hour))
		create(t, s, sess)
		endSession(t, s, "sid-1")
		// The session is deleted, so the revocation is the only entry left.
		purge(t, s, at(3*hour-1), 0)
		wantRevoked(t, s, "", "sid-1", true)
		purge(t, s, at(3*hour), 1)
		wantRevoked(t, s, "", "sid-1", false)
	})
}

// scribble changes every field of sess in place, the elements of its claims, roles and
// scopes included.
func scribble(sess *core.Session) {
	if sess.Identity.Claims == nil {
		sess.Identity.Claims = map[string]any{}
	}
	sess.Identity.Claims["role"] = "root"
	sess.Identity.Claims["injected"] = "yes"
	for _, list := range []*[]string{&sess.Identity.Roles, &sess.Identity.Scopes} {
		for i := range *list {
			(*list)[i] += "!"
		}
		*list = append(*list, "root")
	}
	sess.ID += "!"
	sess.Identity.Subject += "!"
	sess.Identity.Email += "!"
	sess.Identity.Name += "!"
	sess.Identity.Provider += "!"
	sess.CreatedAt = sess.CreatedAt.Add(1)
	sess.LastUsedAt = sess.LastUsedAt.Add(1)
	sess.ExpiresAt = sess.ExpiresAt.Add(1)
	sess.IdleExpiresAt = sess.IdleExpiresAt.Add(1)
	sess.AccessExpiresAt = sess.AccessExpiresAt.Add(1)
	sess.Current += "!"
	sess.Previous += "!"
	sess.PreviousUntil = sess.PreviousUntil.Add(1)
	sess.UserAgent += "!"
	sess.IP += "!"
}
