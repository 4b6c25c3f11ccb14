package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// purgePage is how many index members one Purge script looks at, so that no script
// holds Redis for long.
const purgePage = 500

// Purge deletes the revocations and consumed ids whose expiry is at or before now, the
// counters whose window ended then, and the sessions whose PurgeAt is, and returns how
// many it deleted.
//
// Redis deletes expired keys by itself, by its own clock: a revocation or session
// whose time has come on Redis's clock is usually gone before Purge looks. Purge does
// not count those, since it did not delete them; it removes them from the indexes. Its
// cost grows with the number of index members at or before now, read through the
// shards' indexes page by page, not with the size of the store: each round sends the
// next page of every index that has one, in one pipeline (on a cluster, one per
// master, at once), then drops the sessions it deleted from their subject indexes.
func (s *Store) Purge(ctx context.Context, now time.Time) (int, error) {
	if s.closed.Load() {
		return 0, closedError("Purge")
	}
	nowArg, second := encodeTime(now), strconv.FormatInt(now.Unix(), 10)
	total, goneTokens, goneSessions := 0, 0, 0
	defer func() {
		s.tokens.Removed(goneTokens)
		s.sessions.Removed(goneSessions)
		if s.tokens.NeedsRebuild() || s.sessions.NeedsRebuild() {
			s.sub.Kick()
		}
	}()

	// A page is one index of one shard, from offset: the members are listed in
	// (second, id) order and each page either deletes a member or keeps it; the kept
	// ones stay in front, so the next page starts after them.
	type page struct {
		index, shard, infix string
		offset              int
	}
	var pages []page
	for _, h := range allShards {
		pages = append(pages,
			page{s.keys.revocations(h), s.keys.shard(h), "r", 0},
			page{s.keys.sessionIndex(h), s.keys.shard(h), "s:", 0},
			page{s.keys.consumedIndex(h), s.keys.shard(h), "c:", 0},
			page{s.keys.counterIndex(h), s.keys.shard(h), "n:", 0})
	}
	for len(pages) > 0 {
		calls := make([]call, len(pages))
		for i, p := range pages {
			calls[i] = call{keys: []string{p.index}, args: []any{p.shard, nowArg, second, p.offset, purgePage, p.infix}}
		}
		var (
			next    []page
			ended   = map[string][]any{} // subject → ids of the sessions deleted
			subject []string
			failure error
		)
		for i, c := range s.runAll(ctx, purgeScript, calls) {
			r, err := c.Slice()
			if err == nil && len(r) < 6 {
				err = fmt.Errorf("unexpected reply %v", r)
			}
			if err != nil {
				if failure == nil {
					failure = err
				}
				continue
			}
			n := make([]int, 6)
			for j := range n {
				v, _ := r[j].(int64)
				n[j] = int(v)
			}
			total += n[0] + n[1]
			if pages[i].infix == "r" {
				goneTokens += n[0] + n[2]
				goneSessions += n[1] + n[3]
			}
			for j := 6; j+1 < len(r); j += 2 {
				sub, _ := r[j].(string)
				sid, _ := r[j+1].(string)
				if _, ok := ended[sub]; !ok {
					subject = append(subject, sub)
				}
				ended[sub] = append(ended[sub], sid)
			}
			if n[5] == purgePage {
				p := pages[i]
				p.offset += n[4]
				next = append(next, p)
			}
		}
		if len(subject) > 0 {
			calls := make([]call, len(subject))
			for i, sub := range subject {
				calls[i] = call{keys: []string{s.keys.subject(sub)}, args: append([]any{"-"}, ended[sub]...)}
			}
			for _, c := range s.runAll(ctx, subjectScript, calls) {
				if err := c.Err(); err != nil && failure == nil {
					failure = err
				}
			}
		}
		if failure != nil {
			return total, s.fail("Purge", failure)
		}
		pages = next
	}
	return total, nil
}
