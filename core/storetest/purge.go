package storetest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

func testPurge(t *testing.T, h harness) {
	t.Run("Empty store", func(t *testing.T) {
		s := h.open(t)
		purge(t, s, at(100*365*day), 0)
	})

	t.Run("Revocations", func(t *testing.T) {
		s := h.open(t)
		revoke(t, s, "jti-1", at(hour))
		revoke(t, s, "jti-2", at(2*hour))
		revoke(t, s, "jti-3", at(3*hour))
		purge(t, s, at(hour-1), 0)
		wantRevoked(t, s, "jti-1", "", true)
		purge(t, s, at(hour), 1) // at the expiry, not after it
		wantRevoked(t, s, "jti-1", "", false)
		wantRevoked(t, s, "jti-2", "", true)
		wantRevoked(t, s, "jti-3", "", true)
		purge(t, s, at(hour), 0)
		purge(t, s, at(150*minute), 1)
		wantRevoked(t, s, "jti-2", "", false)
		wantRevoked(t, s, "jti-3", "", true)
	})

	t.Run("Sessions at PurgeAt", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			session *core.Session
			purgeAt time.Time
		}{
			{"idle end", withLifetimes(newSession("sid-1", "alice"), at(hour), at(2*hour), at(16*minute)), at(hour)},
			{"absolute end", withLifetimes(newSession("sid-1", "alice"), at(3*hour), at(2*hour), at(16*minute)), at(2 * hour)},
			{"no idle end", withLifetimes(newSession("sid-1", "alice"), time.Time{}, at(2*hour), at(16*minute)), at(2 * hour)},
			{"access tokens outlive both", withLifetimes(newSession("sid-1", "alice"), at(hour), at(2*hour), at(4*hour)), at(4 * hour)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := tc.session.PurgeAt(); !got.Equal(tc.purgeAt) {
					t.Fatalf("test bug: PurgeAt = %v, want %v", got, tc.purgeAt)
				}
				s := h.open(t)
				create(t, s, tc.session)
				live := newSession("sid-live", "alice") // PurgeAt is 7 days on
				create(t, s, live)
				purge(t, s, tc.purgeAt.Add(-1), 0)
				if get(t, s, "sid-1") == nil {
					t.Fatal("session purged a nanosecond before its PurgeAt")
				}
				purge(t, s, tc.purgeAt, 1)
				if got := get(t, s, "sid-1"); got != nil {
					t.Error("session kept at its PurgeAt")
				}
				wantSessionIDs(t, s, "alice", "sid-live")
				checkSession(t, "the live session", get(t, s, "sid-live"), newSession("sid-live", "alice"))
				// Purging a session is not ending it: nothing is revoked.
				wantRevoked(t, s, "", "sid-1", false)
			})
		}
	})

	t.Run("Rotate moves PurgeAt", func(t *testing.T) {
		s := h.open(t)
		// PurgeAt is the idle end at 1h; a rotation at 30m moves it to 90m, then the
		// access tokens it allows move it to 2h.
		create(t, s, withLifetimes(newSession("sid-1", "alice"), at(hour), at(30*day), at(16*minute)))
		r := rotation("sid-1", "sid-1.rt1", "sid-1.rt2", at(30*minute))
		r.IdleTimeout = hour
		r.AccessExpiresAt = at(2 * hour)
		rotateOK(t, s, r)
		purge(t, s, at(hour), 0)
		purge(t, s, at(90*minute), 0)
		if get(t, s, "sid-1") == nil {
			t.Fatal("session purged at its PurgeAt from before Rotate")
		}
		purge(t, s, at(2*hour), 1)
		if get(t, s, "sid-1") != nil {
			t.Error("session kept at its PurgeAt after Rotate")
		}
	})

	t.Run("Counts revocations and sessions together", func(t *testing.T) {
		s := h.open(t)
		revoke(t, s, "jti-1", at(hour))
		revoke(t, s, "jti-2", at(hour))
		revoke(t, s, "jti-late", at(3*hour))
		create(t, s, withLifetimes(newSession("sid-1", "alice"), at(hour), at(2*hour), at(16*minute)))
		create(t, s, withLifetimes(newSession("sid-2", "bob"), at(30*minute), at(2*hour), at(16*minute)))
		create(t, s, withLifetimes(newSession("sid-ended", "bob"), at(day), at(2*day), at(hour)))
		create(t, s, newSession("sid-live", "bob"))
		endSession(t, s, "sid-ended") // one revocation until 1h, no session
		// jti-1, jti-2, the revocation of sid-ended, sid-1 and sid-2.
		purge(t, s, at(hour), 5)
		wantRevoked(t, s, "jti-late", "", true)
		wantSessionIDs(t, s, "alice")
		wantSessionIDs(t, s, "bob", "sid-live")
		purge(t, s, at(hour), 0)
	})

	t.Run("Many entries", func(t *testing.T) {
		s := h.open(t)
		const n = 100
		for i := range n {
			sess := newSession(jtiN(i), "alice")
			sess.IdleExpiresAt = at(time.Duration(i+1) * minute)
			sess.AccessExpiresAt = sess.CreatedAt
			create(t, s, sess)
			revoke(t, s, jtiN(i), at(time.Duration(i+1)*minute))
		}
		purge(t, s, at(n/2*minute), n) // half of each
		if got := len(sessionIDs(t, s, "alice")); got != n/2 {
			t.Errorf("%d sessions left, want %d", got, n/2)
		}
		wantRevoked(t, s, jtiN(n/2-1), "", false)
		wantRevoked(t, s, jtiN(n/2), "", true)
		purge(t, s, at(n*minute), n)
		wantSessionIDs(t, s, "alice")
	})
}
