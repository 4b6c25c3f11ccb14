package redisstore

import (
	"context"
	"time"
)

// fail wraps a failure of op, or reports the store closed if Close ran meanwhile.
func (s *Store) fail(op string, err error) error {
	if s.closed.Load() {
		return closedError(op)
	}
	return failed(op, err)
}

// RevokeToken records that the token jti is revoked until exp, keeping the later expiry
// if it is already revoked, and publishes it to every instance. The key expires at
// exp, rounded up to the second. An empty jti is ignored: IsRevoked never matches one.
func (s *Store) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	if s.closed.Load() {
		return closedError("RevokeToken")
	}
	if jti == "" {
		return nil
	}
	err := revokeScript.Run(ctx, s.rdb, []string{s.keys.token(jti), s.keys.revocations(shardOf(jti))},
		"t:"+jti, encodeTime(exp), s.channel).Err()
	// Added even when the reply is lost, so that this instance sees its own write at
	// once whether it happened or not; a revocation that did not happen only costs a
	// round trip.
	s.tokens.Add(jti)
	if err != nil {
		return s.fail("RevokeToken", err)
	}
	return nil
}

// IsRevoked reports whether the token jti or the session sid is revoked. While the
// store is subscribed and its filters loaded, an id the filters rule out costs no round
// trip; any other lookup is one EXISTS of the candidate keys (on a cluster, one per
// key, pipelined). When the subscription is down every lookup goes to Redis, and fails
// if Redis does.
func (s *Store) IsRevoked(ctx context.Context, jti, sid string) (bool, error) {
	if s.closed.Load() {
		return false, closedError("IsRevoked")
	}
	if s.sub.Trusted() {
		if jti != "" && !s.tokens.MayContain(jti) {
			jti = ""
		}
		if sid != "" && !s.sessions.MayContain(sid) {
			sid = ""
		}
	}
	var keys []string
	switch {
	case jti != "" && sid != "" && s.cluster != nil:
		// Two keys of two slots, on as many masters: one command each, at once.
		pipe := s.rdb.Pipeline()
		a, b := pipe.Exists(ctx, s.keys.token(jti)), pipe.Exists(ctx, s.keys.revokedSession(sid))
		if _, err := pipe.Exec(ctx); err != nil {
			return false, s.fail("IsRevoked", err)
		}
		return a.Val()+b.Val() > 0, nil
	case jti != "" && sid != "":
		keys = []string{s.keys.token(jti), s.keys.revokedSession(sid)}
	case jti != "":
		keys = []string{s.keys.token(jti)}
	case sid != "":
		keys = []string{s.keys.revokedSession(sid)}
	default:
		return false, nil
	}
	n, err := s.rdb.Exists(ctx, keys...).Result()
	if err != nil {
		return false, s.fail("IsRevoked", err)
	}
	return n > 0, nil
}
