package redisstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/redis/go-redis/v9"
)

// exportBatch is how many keys Export reads per pipeline.
const exportBatch = 500

// Export calls fn with every key, session and revocation of the store's prefix, found
// by SCAN and read in pipelined batches, and stops at the first error fn returns,
// returning it. It is not a snapshot: an entry written or deleted while Export runs
// may or may not be seen. Stop the writers first for an exact copy. Consumed ids are
// not exported (see core.Migrator).
func (s *Store) Export(ctx context.Context, fn func(core.Entry) error) error {
	if s.closed.Load() {
		return closedError("Export")
	}
	iter := s.rdb.Scan(ctx, 0, s.keys.match("[krs]*"), scanCount).Iterator()
	batch := make([]string, 0, exportBatch)
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == exportBatch {
			if err := s.exportBatch(ctx, batch, fn); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return s.fail("Export", err)
	}
	return s.exportBatch(ctx, batch, fn)
}

func (s *Store) exportBatch(ctx context.Context, keys []string, fn func(core.Entry) error) error {
	type item struct {
		kind core.EntryKind
		id   string
		cmd  redis.Cmder
	}
	p := len(s.keys.prefix)
	items := make([]item, 0, len(keys))
	pipe := s.rdb.Pipeline()
	for _, k := range keys {
		tail := k[p:]
		switch {
		case len(tail) > 3 && tail[:3] == "rt:":
			items = append(items, item{core.EntryRevokedToken, tail[3:], pipe.Get(ctx, k)})
		case len(tail) > 3 && tail[:3] == "rs:":
			items = append(items, item{core.EntryRevokedSession, tail[3:], pipe.Get(ctx, k)})
		case len(tail) >= 2 && tail[:2] == "s:":
			items = append(items, item{core.EntrySession, tail[2:], pipe.HGetAll(ctx, k)})
		case len(tail) >= 2 && tail[:2] == "k:":
			items = append(items, item{core.EntryKey, tail[2:], pipe.Get(ctx, k)})
		}
	}
	if len(items) == 0 {
		return nil
	}
	// Exec's error is that of the first failed command; each is looked at below.
	_, _ = pipe.Exec(ctx)
	for _, it := range items {
		err := it.cmd.Err()
		switch {
		case errors.Is(err, redis.Nil):
			continue // expired or deleted since SCAN listed it
		case err != nil && redis.HasErrorPrefix(err, "WRONGTYPE"):
			continue // not a key of this store: another prefix that starts with ours
		case err != nil:
			return s.fail("Export", err)
		}
		e := core.Entry{Kind: it.kind, ID: it.id}
		switch c := it.cmd.(type) {
		case *redis.StringCmd:
			if it.kind == core.EntryKey {
				e.Value = []byte(c.Val())
				break
			}
			t, err := decodeTime(c.Val())
			if err != nil {
				return failed("Export", err)
			}
			e.Expires = t
		case *redis.MapStringStringCmd:
			if len(c.Val()) == 0 {
				continue
			}
			sess, err := decodeSession(c.Val())
			if err != nil {
				return err
			}
			e.Session = sess
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Import writes entries in one script, so that the whole call is atomic: keys and
// sessions overwrite what has the same id (a session that changes subject leaves its
// old subject's list), revocations keep the later of two expiries and are published
// to every instance. Each entry expires as the store's own writes do, so an entry
// already expired on Redis's clock is dropped by Redis at once. One call holds Redis
// for as long as it writes: import a large store in batches of some thousands.
//
// It refuses, before writing anything, an entry that fails core.Entry.Validate.
// Revocations of an empty id are skipped, as RevokeToken does.
func (s *Store) Import(ctx context.Context, entries []core.Entry) error {
	if s.closed.Load() {
		return closedError("Import")
	}
	args := []any{s.keys.prefix, s.channel}
	var tokens, sessions []string
	for i, e := range entries {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("redisstore: Import: entry %d: %w", i, err)
		}
		switch e.Kind {
		case core.EntryKey:
			args = append(args, "k", e.ID, 1, e.Value)
		case core.EntryRevokedToken, core.EntryRevokedSession:
			if e.ID == "" {
				continue
			}
			kind := "t"
			if e.Kind == core.EntryRevokedSession {
				kind = "s"
				sessions = append(sessions, e.ID)
			} else {
				tokens = append(tokens, e.ID)
			}
			args = append(args, kind, e.ID, 1, encodeTime(e.Expires))
		case core.EntrySession:
			fields, err := encodeSession(e.Session)
			if err != nil {
				return err
			}
			args = append(args, "S", e.ID, 2+len(fields), e.Session.Identity.Subject, encodeTime(e.Session.PurgeAt()))
			args = append(args, fields...)
		}
	}
	if len(args) == 2 {
		return nil
	}
	err := importScript.Run(ctx, s.rdb, []string{s.keys.revocations(), s.keys.sessionIndex()}, args...).Err()
	// As in RevokeToken: added whether or not the reply came back.
	for _, id := range tokens {
		s.tokens.Add(id)
	}
	for _, id := range sessions {
		s.sessions.Add(id)
	}
	if err != nil {
		return s.fail("Import", err)
	}
	return nil
}
