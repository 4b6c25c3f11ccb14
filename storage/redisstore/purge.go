package redisstore

import (
	"context"
	"strconv"
	"time"
)

// purgePage is how many index members one Purge script looks at, so that no script
// holds Redis for long.
const purgePage = 500

// Purge deletes the revocations and consumed ids whose expiry is at or before now and
// the sessions whose PurgeAt is, and returns how many it deleted.
//
// Redis deletes expired keys by itself, by its own clock: a revocation or session
// whose time has come on Redis's clock is usually gone before Purge looks. Purge does
// not count those, since it did not delete them; it removes them from the indexes. Its
// cost grows with the number of index members at or before now, read through the
// indexes page by page, not with the size of the store.
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
			s.sub.kickReload()
		}
	}()

	n, gone, err := s.purgeIndex(ctx, s.keys.revocations(), "r", nowArg, second)
	total, goneTokens, goneSessions = n, gone[0], gone[1]
	if err != nil {
		return total, err
	}
	for _, idx := range [][2]string{{s.keys.sessionIndex(), "s:"}, {s.keys.consumedIndex(), "c:"}} {
		n, _, err := s.purgeIndex(ctx, idx[0], idx[1], nowArg, second)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// purgeIndex pages through index with purgeScript, its entries under the key prefix
// plus infix, and returns how many entries it deleted and how many of its members it
// removed, deleted or dropped, by class (see purgeScript): for the revocation index,
// revoked tokens and revoked sessions.
func (s *Store) purgeIndex(ctx context.Context, index, infix, nowArg, second string) (int, [2]int, error) {
	deleted, gone := 0, [2]int{}
	// Members are listed in (second, id) order and each page either deletes a member
	// or keeps it; the kept ones stay in front, so the next page starts after them.
	for offset := 0; ; {
		r, err := purgeScript.Run(ctx, s.rdb, []string{index}, s.keys.prefix, nowArg, second, offset, purgePage, infix).Int64Slice()
		if err != nil {
			return deleted, gone, s.fail("Purge", err)
		}
		deleted += int(r[0] + r[1])
		gone[0] += int(r[0] + r[2])
		gone[1] += int(r[1] + r[3])
		offset += int(r[4])
		if r[5] < purgePage {
			return deleted, gone, nil
		}
	}
}
