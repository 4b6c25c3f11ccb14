package pgstore

import (
	"context"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/jackc/pgx/v5"
)

// EndSessions deletes every session of subject and, in the same statement, revokes each
// one's id until its AccessExpiresAt, as EndSession does for one (through the index on
// subject; a row another transaction holds, a rotation, is deleted as that one
// committed it, so the revocation covers the access tokens it allowed, and a session
// committed after the statement began is left alone and not returned); the revocations reach
// every instance's filter (see the package doc). It returns the sessions as they were,
// in no particular order; none is an empty list.
func (s *Store) EndSessions(ctx context.Context, subject string) ([]*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("EndSessions")
	}
	rows, err := s.pool.Query(ctx, s.q.endSessions, bin(subject))
	if err != nil {
		return nil, s.fail("EndSessions", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*core.Session, error) { return scanSession(row) })
	// This instance sees its own revocations at once, before the notifications bring
	// them; those of an answer that was lost come by notification only.
	for _, sess := range list {
		s.sessions.Add(sess.ID)
	}
	if err != nil {
		return nil, s.fail("EndSessions", err)
	}
	if list == nil {
		list = []*core.Session{}
	}
	return list, nil
}
