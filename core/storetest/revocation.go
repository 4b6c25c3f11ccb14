package storetest

import (
	"context"
	"testing"
)

func testRevocation(t *testing.T, h harness) {
	t.Run("Empty store revokes nothing", func(t *testing.T) {
		s := h.open(t)
		wantRevoked(t, s, "jti-1", "sid-1", false)
		wantRevoked(t, s, "", "", false)
	})

	t.Run("By jti", func(t *testing.T) {
		s := h.open(t)
		revoke(t, s, "jti-1", at(hour))
		wantRevoked(t, s, "jti-1", "", true)
		wantRevoked(t, s, "jti-1", "sid-unrelated", true)
		wantRevoked(t, s, "jti-2", "", false)
		wantRevoked(t, s, "jti-2", "sid-unrelated", false)
	})

	t.Run("By session id", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		wantRevoked(t, s, "", "sid-1", false) // a live session is not revoked
		endSession(t, s, "sid-1")
		wantRevoked(t, s, "", "sid-1", true)
		wantRevoked(t, s, "jti-unrelated", "sid-1", true)
		wantRevoked(t, s, "", "sid-2", false)
		wantRevoked(t, s, "jti-unrelated", "sid-2", false)
	})

	t.Run("By both", func(t *testing.T) {
		s := h.open(t)
		revoke(t, s, "jti-1", at(hour))
		create(t, s, newSession("sid-1", "alice"))
		endSession(t, s, "sid-1")
		wantRevoked(t, s, "jti-1", "sid-1", true)
		wantRevoked(t, s, "jti-1", "sid-2", true)
		wantRevoked(t, s, "jti-2", "sid-1", true)
		wantRevoked(t, s, "jti-2", "sid-2", false)
	})

	t.Run("Empty ids never match", func(t *testing.T) {
		s := h.open(t)
		revoke(t, s, "jti-1", at(hour))
		// A store may refuse to revoke an empty jti or ignore it; either way an empty
		// jti or sid must not come back as revoked.
		_ = s.RevokeToken(context.Background(), "", at(hour))
		wantRevoked(t, s, "", "", false)
		wantRevoked(t, s, "", "sid-1", false)
		wantRevoked(t, s, "jti-2", "", false)
	})

	t.Run("Similar ids are not revoked", func(t *testing.T) {
		s := h.open(t)
		revoke(t, s, "jti-1", at(hour))
		for _, jti := range []string{"jti-", "jti-10", "JTI-1", "jti-1 ", " jti-1", "jti", "jti-1\x00"} {
			wantRevoked(t, s, jti, "", false)
		}
	})

	t.Run("Token and session ids are apart", func(t *testing.T) {
		// A revoked jti does not revoke a session of the same id, nor the reverse.
		s := h.open(t)
		revoke(t, s, "same-id", at(hour))
		wantRevoked(t, s, "", "same-id", false)
		create(t, s, newSession("sid-1", "alice"))
		endSession(t, s, "sid-1")
		wantRevoked(t, s, "sid-1", "", false)
	})

	t.Run("Revoking twice keeps the later expiry", func(t *testing.T) {
		for _, tc := range []struct {
			name          string
			first, second int // hours after base
		}{
			{"later second", 1, 2},
			{"earlier second", 2, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := h.open(t)
				revoke(t, s, "jti-1", at(hourN(tc.first)))
				revoke(t, s, "jti-1", at(hourN(tc.second)))
				wantRevoked(t, s, "jti-1", "", true)
				// Between the two expiries: the later one must still hold.
				purge(t, s, at(90*minute), 0)
				wantRevoked(t, s, "jti-1", "", true)
				// At the later one it goes, and it was one entry, not two.
				purge(t, s, at(2*hour), 1)
				wantRevoked(t, s, "jti-1", "", false)
			})
		}
	})

	t.Run("Revoking an expired jti again revives it", func(t *testing.T) {
		s := h.open(t)
		revoke(t, s, "jti-1", at(hour))
		purge(t, s, at(hour), 1)
		wantRevoked(t, s, "jti-1", "", false)
		revoke(t, s, "jti-1", at(3*hour))
		wantRevoked(t, s, "jti-1", "", true)
		purge(t, s, at(3*hour-1), 0)
		wantRevoked(t, s, "jti-1", "", true)
	})

	t.Run("Many revocations", func(t *testing.T) {
		s := h.open(t)
		const n = 200
		for i := range n {
			revoke(t, s, jtiN(i), at(hourN(1+i%4)))
		}
		for i := range n {
			wantRevoked(t, s, jtiN(i), "", true)
		}
		wantRevoked(t, s, jtiN(n), "", false)
		purge(t, s, at(2*hour), n/2) // expiries at 1h and 2h
		for i := range n {
			wantRevoked(t, s, jtiN(i), "", 1+i%4 > 2)
		}
	})
}
