package pgstore

import (
	"context"
	"time"
)

// RevokeToken records that the token jti is revoked until exp, keeping the later expiry
// if it is already revoked; the revocation reaches every instance's filter (see the
// package doc). An empty jti is ignored: IsRevoked never matches one.
func (s *Store) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	if s.closed.Load() {
		return closedError("RevokeToken")
	}
	if jti == "" {
		return nil
	}
	_, err := s.pool.Exec(ctx, s.q.revoke, "t", bin(jti), encodeTime(exp))
	// Added even when the answer is lost, so that this instance sees its own write at
	// once whether it happened or not; a revocation that did not happen only costs a
	// round trip.
	s.tokens.Add(jti)
	if err != nil {
		return s.fail("RevokeToken", err)
	}
	return nil
}

// IsRevoked reports whether the token jti or the session sid is revoked. While the
// listener is up and the filters are loaded, an id the filters rule out costs no round
// trip; any other lookup is one statement. When the listener is down every lookup
// goes to the database, and fails if the database does.
func (s *Store) IsRevoked(ctx context.Context, jti, sid string) (bool, error) {
	if s.closed.Load() {
		return false, closedError("IsRevoked")
	}
	if s.feed.Trusted() {
		if jti != "" && !s.tokens.MayContain(jti) {
			jti = ""
		}
		if sid != "" && !s.sessions.MayContain(sid) {
			sid = ""
		}
	}
	if jti == "" && sid == "" {
		return false, nil
	}
	var revoked bool
	if err := s.pool.QueryRow(ctx, s.q.isRevoked, orNull(jti), orNull(sid)).Scan(&revoked); err != nil {
		return false, s.fail("IsRevoked", err)
	}
	return revoked, nil
}
