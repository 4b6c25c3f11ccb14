package redisstore

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
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

	// Members are listed in (second, id) order and each page either deletes a member
	// or keeps it; the kept ones stay in front, so the next page starts after them.
	for offset := 0; ; {
		r, err := purgeRevocationsScript.Run(ctx, s.rdb, []string{s.keys.revocations()},
			s.keys.prefix, nowArg, second, offset, purgePage).Int64Slice()
		if err != nil {
			return total, s.fail("Purge", err)
		}
		total += int(r[0] + r[1])
		goneTokens += int(r[0] + r[2])
		goneSessions += int(r[1] + r[3])
		offset += int(r[4])
		if r[5] < purgePage {
			break
		}
	}
	for _, idx := range []struct {
		script *redis.Script
		key    string
	}{
		{purgeSessionsScript, s.keys.sessionIndex()},
		{purgeConsumedScript, s.keys.consumedIndex()},
	} {
		n, err := s.purgeIndex(ctx, idx.script, idx.key, nowArg, second)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// purgeIndex pages through an index with a script answering {deleted, dropped, kept,
// page length}, as purgeSessionsScript and purgeConsumedScript do, and returns how many
// entries it deleted.
func (s *Store) purgeIndex(ctx context.Context, script *redis.Script, index string, nowArg, second string) (int, error) {
	total := 0
	for offset := 0; ; {
		r, err := script.Run(ctx, s.rdb, []string{index}, s.keys.prefix, nowArg, second, offset, purgePage).Int64Slice()
		if err != nil {
			return total, s.fail("Purge", err)
		}
		total += int(r[0])
		offset += int(r[2])
		if r[3] < purgePage {
			return total, nil
		}
	}
}
