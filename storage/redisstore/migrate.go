package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/redis/go-redis/v9"
)

// exportBatch is how many keys Export reads per pipeline.
const exportBatch = 500

// Export calls fn with every key, session and revocation of the store's prefix, found
// by SCAN (on a cluster, of every master in turn) and read in pipelined batches, and
// stops at the first error fn returns, returning it. It is not a snapshot: an entry
// written or deleted while Export runs may or may not be seen. Stop the writers first
// for an exact copy. Consumed ids are not exported (see core.Migrator), nor are
// counters (Count): throttling state that lives a window of minutes, which a store
// that starts without it only forgets.
func (s *Store) Export(ctx context.Context, fn func(core.Entry) error) error {
	if s.closed.Load() {
		return closedError("Export")
	}
	nodes, err := s.masters(ctx)
	if err != nil {
		return s.fail("Export", err)
	}
	for _, n := range nodes {
		// The shards' keys and the k: ones; exportBatch picks the entries among them.
		iter := n.client.Scan(ctx, 0, s.keys.match("[{k]*"), scanCount).Iterator()
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
		if err := s.exportBatch(ctx, batch, fn); err != nil {
			return err
		}
	}
	return nil
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
		if len(tail) >= 2 && tail[:2] == "k:" {
			items = append(items, item{core.EntryKey, tail[2:], pipe.Get(ctx, k)})
			continue
		}
		if len(tail) < shardLen || tail[0] != '{' || tail[shardLen-1] != '}' {
			continue
		}
		switch tail = tail[shardLen:]; {
		case len(tail) > 3 && tail[:3] == "rt:":
			items = append(items, item{core.EntryRevokedToken, tail[3:], pipe.Get(ctx, k)})
		case len(tail) > 3 && tail[:3] == "rs:":
			items = append(items, item{core.EntryRevokedSession, tail[3:], pipe.Get(ctx, k)})
		case len(tail) >= 2 && tail[:2] == "s:":
			items = append(items, item{core.EntrySession, tail[2:], pipe.HGetAll(ctx, k)})
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

// Import writes entries: keys and sessions overwrite what has the same id (a session
// that changes subject leaves its old subject's list), revocations keep the later of
// two expiries and are published to every instance. Each entry expires as the store's
// own writes do, so an entry already expired on Redis's clock is dropped by Redis at
// once.
//
// On one Redis the whole call is one script, atomic, which holds Redis for as long as
// it writes: import a large store in batches of some thousands. On a cluster the
// entries of each shard are one script, the keys and the subject indexes one each,
// all pipelined: the call is atomic per shard, not as a whole, and a failure part-way
// leaves some entries written (importing the same entries again completes it).
//
// It refuses, before writing anything, an entry that fails core.Entry.Validate.
// Revocations of an empty id are skipped, as RevokeToken does.
func (s *Store) Import(ctx context.Context, entries []core.Entry) error {
	if s.closed.Load() {
		return closedError("Import")
	}
	// Records of importScript: those of the shards, then the keys and the subject
	// indexes, which sessions are filed in after they are stored.
	var (
		byShard          = map[string][]any{}
		shardOrder       []string
		rest             []record
		tokens, sessions []string
	)
	addShard := func(r record) {
		if _, ok := byShard[r.shard]; !ok {
			shardOrder = append(shardOrder, r.shard)
		}
		byShard[r.shard] = append(byShard[r.shard], r.flat()...)
	}
	for i, e := range entries {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("redisstore: Import: entry %d: %w", i, err)
		}
		switch e.Kind {
		case core.EntryKey:
			rest = append(rest, record{kind: "k", id: e.ID, args: []any{e.Value}, key: s.keys.key(e.ID)})
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
			addShard(record{kind: kind, shard: shardOf(e.ID), id: e.ID, args: []any{encodeTime(e.Expires)}})
		case core.EntrySession:
			fields, err := encodeSession(e.Session)
			if err != nil {
				return err
			}
			sub := e.Session.Identity.Subject
			addShard(record{kind: "S", shard: shardOf(e.ID), id: e.ID,
				args: append([]any{sub, encodeTime(e.Session.PurgeAt())}, fields...)})
			rest = append(rest, record{kind: "U", id: e.ID, args: []any{sub, indexSecond(e.Session)}, key: s.keys.subject(sub)})
		}
	}
	if len(shardOrder) == 0 && len(rest) == 0 {
		return nil
	}
	err := s.importRecords(ctx, shardOrder, byShard, rest)
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

// record is one record of importScript; key is the key a cluster routes it by, for
// the records that do not lie in a shard.
type record struct {
	kind, shard, id string
	args            []any
	key             string
}

func (r record) flat() []any {
	return append([]any{r.kind, r.shard, r.id, len(r.args)}, r.args...)
}

// importRecords runs importScript: once on one Redis; on a cluster once per shard, then
// once per other record, with the records that drop sessions from the subject
// indexes they left.
func (s *Store) importRecords(ctx context.Context, shardOrder []string, byShard map[string][]any, rest []record) error {
	head := []any{s.keys.prefix, s.channel}
	if s.cluster == nil {
		args := append(head, "1")
		for _, h := range shardOrder {
			args = append(args, byShard[h]...)
		}
		for _, r := range rest {
			args = append(args, r.flat()...)
		}
		return importScript.Run(ctx, s.rdb, []string{s.keys.prefix}, args...).Err()
	}
	head = append(head, "0")
	calls := make([]call, len(shardOrder))
	for i, h := range shardOrder {
		calls[i] = call{keys: []string{s.keys.revocations(h)}, args: append(slices.Clip(head), byShard[h]...)}
	}
	for _, c := range s.runAll(ctx, importScript, calls) {
		moved, err := c.StringSlice()
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(moved); i += 2 { // old subject, session id
			rest = append(rest, record{kind: "R", id: moved[i+1], args: []any{moved[i]}, key: s.keys.subject(moved[i])})
		}
	}
	calls = make([]call, len(rest))
	for i, r := range rest {
		calls[i] = call{keys: []string{r.key}, args: append(slices.Clip(head), r.flat()...)}
	}
	for _, c := range s.runAll(ctx, importScript, calls) {
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}
