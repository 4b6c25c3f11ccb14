package pgstore

import (
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/jackc/pgx/v5"
)

// Export calls fn with every key, session and revocation of the store, read in one
// REPEATABLE READ transaction, so that what it lists is a snapshot of one instant, and
// stops at the first error fn returns, returning it. It holds one connection of the
// pool until it returns. Consumed ids are not exported (see core.Migrator), nor are
// counters (Count), which live a throttling window.
func (s *Store) Export(ctx context.Context, fn func(core.Entry) error) error {
	if s.closed.Load() {
		return closedError("Export")
	}
	var fnErr error
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error {
			// fnErr stops the walk; it is returned as it is, not as a store failure.
			each := func(sql string, scan func(pgx.Rows) (core.Entry, error)) error {
				rows, err := tx.Query(ctx, sql)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					e, err := scan(rows)
					if err != nil {
						return err
					}
					if err := fn(e); err != nil {
						fnErr = err
						return err
					}
				}
				return rows.Err()
			}
			if err := each(s.q.exportKeys, func(rows pgx.Rows) (core.Entry, error) {
				var name, value []byte
				err := rows.Scan(&name, &value)
				return core.Entry{Kind: core.EntryKey, ID: string(name), Value: value}, err
			}); err != nil {
				return err
			}
			if err := each(s.q.exportSessions, func(rows pgx.Rows) (core.Entry, error) {
				var r sessionRow
				if err := rows.Scan(r.dest()...); err != nil {
					return core.Entry{}, err
				}
				sess, err := r.session()
				if err != nil {
					return core.Entry{}, err
				}
				return core.Entry{Kind: core.EntrySession, ID: sess.ID, Session: sess}, nil
			}); err != nil {
				return err
			}
			return each(s.q.exportRevocations, func(rows pgx.Rows) (core.Entry, error) {
				var kind string
				var id []byte
				var exp int64
				if err := rows.Scan(&kind, &id, &exp); err != nil {
					return core.Entry{}, err
				}
				e := core.Entry{Kind: core.EntryRevokedToken, ID: string(id), Expires: decodeTime(exp)}
				if kind == "s" {
					e.Kind = core.EntryRevokedSession
				}
				return e, nil
			})
		})
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return s.fail("Export", err)
	}
	return nil
}

// Import writes entries in one transaction, so that the whole call is atomic: keys and
// sessions overwrite what has the same id (a session that changes subject leaves its
// old subject's list), revocations keep the later of two expiries and reach every
// instance's filter. The statements go to PostgreSQL in one batch; a very large store
// is best imported in calls of some thousands of entries.
//
// It refuses, before writing anything, an entry of unknown kind and a session entry
// whose Session is nil or whose ID is not Session.ID. Revocations of an empty id are
// skipped, as RevokeToken does.
func (s *Store) Import(ctx context.Context, entries []core.Entry) error {
	if s.closed.Load() {
		return closedError("Import")
	}
	var (
		batch              pgx.Batch
		tokens, sessionIDs []string
	)
	for i, e := range entries {
		switch e.Kind {
		case core.EntryKey:
			value := e.Value
			if value == nil {
				value = []byte{}
			}
			batch.Queue(s.q.importKey, bin(e.ID), value)
		case core.EntryRevokedToken, core.EntryRevokedSession:
			if e.ID == "" {
				continue
			}
			kind := "t"
			if e.Kind == core.EntryRevokedSession {
				kind = "s"
				sessionIDs = append(sessionIDs, e.ID)
			} else {
				tokens = append(tokens, e.ID)
			}
			batch.Queue(s.q.importRevocation, kind, bin(e.ID), encodeTime(e.Expires))
		case core.EntrySession:
			if e.Session == nil || e.Session.ID != e.ID {
				return fmt.Errorf("pgstore: Import: entry %d: session entry %q without its session", i, e.ID)
			}
			args, err := sessionArgs(e.Session)
			if err != nil {
				return err
			}
			batch.Queue(s.q.importSession, args...)
		default:
			return fmt.Errorf("pgstore: Import: entry %d: unknown kind %d", i, e.Kind)
		}
	}
	if batch.Len() == 0 {
		return nil
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return tx.SendBatch(ctx, &batch).Close()
	})
	// As in RevokeToken: added whether or not the answer came back.
	for _, id := range tokens {
		s.tokens.Add(id)
	}
	for _, id := range sessionIDs {
		s.sessions.Add(id)
	}
	if err != nil {
		return s.fail("Import", err)
	}
	return nil
}
