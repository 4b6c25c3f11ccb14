package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/jackc/pgx/v5"
)

// CreateSession stores sess. It fails with ErrSessionExists if a session with the same
// ID exists.
func (s *Store) CreateSession(ctx context.Context, sess *core.Session) error {
	if s.closed.Load() {
		return closedError("CreateSession")
	}
	if sess == nil {
		return errors.New("pgstore: CreateSession of a nil session")
	}
	args, err := sessionArgs(sess)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.q.createSession, args...)
	if err != nil {
		return s.fail("CreateSession", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %q", ErrSessionExists, sess.ID)
	}
	return nil
}

// Session returns the session sid, or (nil, nil) if there is none.
func (s *Store) Session(ctx context.Context, sid string) (*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("Session")
	}
	sess, err := scanSession(s.pool.QueryRow(ctx, s.q.session, bin(sid)))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, s.fail("Session", err)
	}
	return sess, nil
}

// Sessions returns every session of subject, in no particular order, read in one
// statement through an index on the subject.
func (s *Store) Sessions(ctx context.Context, subject string) ([]*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("Sessions")
	}
	rows, err := s.pool.Query(ctx, s.q.sessions, bin(subject))
	if err != nil {
		return nil, s.fail("Sessions", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*core.Session, error) { return scanSession(row) })
	if err != nil {
		return nil, s.fail("Sessions", err)
	}
	return list, nil
}

// Rotate checks r against the session and swaps its refresh token, as core.Store
// describes, in one UPDATE that locks the session's row: of concurrent rotations, on
// any number of instances, one runs at a time, and each sees what the one before
// committed. When the UPDATE matches nothing, which changes nothing, a second
// statement reads the session to tell why: not found (or ended meanwhile), expired,
// or a token that is not the current one.
func (s *Store) Rotate(ctx context.Context, r core.Rotation) (*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("Rotate")
	}
	var idle *int64 // IdleTimeout 0: IdleExpiresAt = ExpiresAt
	if r.IdleTimeout != 0 {
		v := encodeTime(r.Now.Add(r.IdleTimeout))
		idle = &v
	}
	now := encodeTime(r.Now)
	sess, err := scanSession(s.pool.QueryRow(ctx, s.q.rotate,
		bin(r.SessionID), bin(r.Presented), bin(r.Next), now, encodeTime(r.Now.Add(r.Grace)),
		r.Grace > 0, idle, encodeTime(r.AccessExpiresAt)))
	switch {
	case err == nil:
		return sess, nil
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, s.fail("Rotate", err)
	}
	var row sessionRow
	err = s.pool.QueryRow(ctx, s.q.session, bin(r.SessionID)).Scan(row.dest()...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, core.ErrSessionNotFound
	case err != nil:
		return nil, s.fail("Rotate", err)
	case now >= row.expires || now >= row.idle:
		// Expiry is checked before the token, so an expired session answers expired
		// whatever is presented.
		return nil, core.ErrSessionExpired
	}
	return nil, core.ErrRefreshReused
}

// EndSession deletes the session sid and, in the same statement, revokes its id until
// its AccessExpiresAt; the revocation reaches every instance's filter (see the package
// doc). It returns the session as it was, or (nil, nil) if there was none.
func (s *Store) EndSession(ctx context.Context, sid string) (*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("EndSession")
	}
	sess, err := scanSession(s.pool.QueryRow(ctx, s.q.endSession, bin(sid)))
	// Added even when the answer is lost, so that this instance sees its own write at
	// once whether it happened or not; a revocation that did not happen only costs a
	// round trip.
	if err == nil || !errors.Is(err, pgx.ErrNoRows) {
		s.sessions.Add(sid)
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, s.fail("EndSession", err)
	}
	return sess, nil
}

// sessionArgs returns the 13 arguments of insertSession for sess.
func sessionArgs(sess *core.Session) ([]any, error) {
	identity, err := json.Marshal(sess.Identity)
	if err != nil {
		return nil, fmt.Errorf("pgstore: session %q: %w", sess.ID, err)
	}
	return []any{
		bin(sess.ID), bin(sess.Identity.Subject), string(identity), bin(sess.UserAgent), bin(sess.IP),
		encodeTime(sess.CreatedAt), encodeTime(sess.LastUsedAt), encodeTime(sess.ExpiresAt),
		encodeTime(sess.IdleExpiresAt), encodeTime(sess.AccessExpiresAt),
		bin(sess.Current), bin(sess.Previous), encodeTime(sess.PreviousUntil),
	}, nil
}

// sessionRow receives the columns of sessionColumns.
type sessionRow struct {
	id, identity, ua, ip                            []byte
	created, last, expires, idle, access, prevUntil int64
	current, previous                               []byte
}

func (r *sessionRow) dest() []any {
	return []any{&r.id, &r.identity, &r.ua, &r.ip, &r.created, &r.last, &r.expires,
		&r.idle, &r.access, &r.current, &r.previous, &r.prevUntil}
}

func (r *sessionRow) session() (*core.Session, error) {
	sess := &core.Session{
		ID:              string(r.id),
		CreatedAt:       decodeTime(r.created),
		LastUsedAt:      decodeTime(r.last),
		ExpiresAt:       decodeTime(r.expires),
		IdleExpiresAt:   decodeTime(r.idle),
		AccessExpiresAt: decodeTime(r.access),
		Current:         string(r.current),
		Previous:        string(r.previous),
		PreviousUntil:   decodeTime(r.prevUntil),
		UserAgent:       string(r.ua),
		IP:              string(r.ip),
	}
	if err := json.Unmarshal(r.identity, &sess.Identity); err != nil {
		return nil, fmt.Errorf("pgstore: session %q: identity: %w", sess.ID, err)
	}
	return sess, nil
}

// scanSession reads one row of sessionColumns.
func scanSession(row pgx.Row) (*core.Session, error) {
	var r sessionRow
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.session()
}
