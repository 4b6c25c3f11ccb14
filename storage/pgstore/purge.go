package pgstore

import (
	"context"
	"math/rand/v2"
	"time"
)

// Purge deletes the revocations and consumed ids whose expiry is at or before now, the
// counters whose window ended then, and the sessions whose PurgeAt is, and returns how
// many it deleted. It deletes in
// statements of at most WithPurgeBatch rows each, found through an index on the
// expiry, so its cost grows with the number of expired rows only and no statement
// holds many locks. Each statement skips the rows another transaction has locked
// (FOR UPDATE SKIP LOCKED): instances purging at once share the rows instead of
// waiting for each other, and Purge does not wait for a write in progress. If a
// statement fails, Purge returns the count of the rows deleted before.
func (s *Store) Purge(ctx context.Context, now time.Time) (int, error) {
	if s.closed.Load() {
		return 0, closedError("Purge")
	}
	limit, batch := encodeTime(now), s.opts.purgeBatch
	total := 0
	for {
		var tokens, sessions int
		if err := s.pool.QueryRow(ctx, s.q.purgeRevocations, limit, batch).Scan(&tokens, &sessions); err != nil {
			return total, s.fail("Purge", err)
		}
		s.tokens.Removed(tokens)
		s.sessions.Removed(sessions)
		total += tokens + sessions
		if tokens+sessions < batch {
			break
		}
	}
	if s.tokens.NeedsRebuild() || s.sessions.NeedsRebuild() {
		s.feed.Kick()
	}
	for _, q := range []string{s.q.purgeSessions, s.q.purgeConsumed, s.q.purgeCounters} {
		for {
			var n int
			if err := s.pool.QueryRow(ctx, q, limit, batch).Scan(&n); err != nil {
				return total, s.fail("Purge", err)
			}
			total += n
			if n < batch {
				break
			}
		}
	}
	return total, nil
}

// purgeLoop purges every purgeInterval, give or take a tenth so that instances started
// together do not purge in step, until ctx ends.
func (s *Store) purgeLoop(ctx context.Context) {
	defer s.wg.Done()
	for {
		d := s.opts.purgeInterval
		d += time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		n, err := s.Purge(ctx, s.opts.now())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.opts.logger.Warn("pgstore: background purge failed", "deleted", n, "err", err)
		case n > 0:
			s.opts.logger.Debug("pgstore: background purge", "deleted", n)
		}
	}
}
