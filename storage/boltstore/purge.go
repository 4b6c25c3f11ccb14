package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// purgeChunk is the most entries one Purge transaction deletes, so that a large purge
// does not hold back the writes queued behind it for long.
const purgeChunk = 10_000

// Purge deletes revocations and consumed ids whose expiry is at or before now, counters
// whose window ended then, and sessions for which now is at or after PurgeAt, and returns how many it deleted. It
// walks the expiry index from its start and stops at the first entry not yet due, so
// its cost grows with the number of expired entries only. It deletes in transactions of at most purgeChunk
// entries; if one fails, the count returned is of the entries deleted before.
//
// When more than half of the ids a revocation filter was built with have been purged,
// Purge rebuilds it from the revocations left, so that purged ids stop costing a read.
func (s *Store) Purge(ctx context.Context, now time.Time) (int, error) {
	total := 0
	limit := timeKey(now)
	for {
		var n, tokens, sessions int
		var more bool
		err := s.update(ctx, "purge", func(tx *bolt.Tx) error {
			var err error
			n, tokens, sessions, more, err = purgeChunkTx(tx, limit)
			return err
		}, func() {
			s.tokens.Removed(tokens)
			s.sessions.Removed(sessions)
		})
		if err != nil {
			return total, err
		}
		total += n
		if !more {
			break
		}
	}
	for _, kind := range []byte{kindToken, kindSession} {
		if !s.filter(kind).NeedsRebuild() || !s.growing[kindIndex(kind)].CompareAndSwap(false, true) {
			continue
		}
		err := s.rebuildFilter(kind)
		s.growing[kindIndex(kind)].Store(false)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// purgeChunkTx deletes up to purgeChunk entries due at or before limit (a timeKey). It
// reports how many it deleted, how many of them were revoked tokens and sessions, and
// whether more are due.
func purgeChunkTx(tx *bolt.Tx, limit []byte) (n, tokens, sessions int, more bool, err error) {
	// Collect first, delete after: deleting under a bbolt cursor can make it skip keys.
	// The values are empty but for the leftovers of ended sessions (endSession).
	var due, values [][]byte
	c := tx.Bucket(bucketExpiry).Cursor()
	for k, v := c.First(); k != nil && bytes.Compare(k[:8], limit) <= 0; k, v = c.Next() {
		if len(due) == purgeChunk {
			more = true
			break
		}
		due, values = append(due, bytes.Clone(k)), append(values, bytes.Clone(v))
	}
	revs, idx, sess := tx.Bucket(bucketRevocations), tx.Bucket(bucketExpiry), tx.Bucket(bucketSessions)
	consumed, counters := tx.Bucket(bucketConsumed), tx.Bucket(bucketCounters)
	for i, k := range due {
		if len(k) < 10 {
			return 0, 0, 0, false, fmt.Errorf("%w: expiry index key of %d bytes", ErrCorrupt, len(k))
		}
		kind, id := k[8], k[9:]
		switch kind {
		case kindToken, kindSession:
			rk := append([]byte{kind}, id...)
			// The index holds the revocation's current expiry only (putRevocation
			// moves it), so the entry is due; check anyway rather than delete a
			// revocation that still holds.
			if v := revs.Get(rk); v != nil && bytes.Equal(v, k[:8]) {
				if err := revs.Delete(rk); err != nil {
					return 0, 0, 0, false, err
				}
				n++
				if kind == kindToken {
					tokens++
				} else {
					sessions++
				}
			}
			if len(values[i]) > 0 {
				if err := deleteLeftovers(tx, string(id), values[i]); err != nil {
					return 0, 0, 0, false, err
				}
			}
		case kindConsumed:
			// Consume never moves an expiry; check anyway, as for revocations.
			if v := consumed.Get(id); v != nil && bytes.Equal(v, k[:8]) {
				if err := consumed.Delete(id); err != nil {
					return 0, 0, 0, false, err
				}
				n++
			}
		case kindCounter:
			// Count moves a counter's index entry when it starts a new window; check
			// anyway, as for revocations.
			if v := counters.Get(id); len(v) == 16 && bytes.Equal(v[:8], k[:8]) {
				if err := counters.Delete(id); err != nil {
					return 0, 0, 0, false, err
				}
				n++
			}
		case kindRecord:
			if raw := sess.Get(id); raw != nil {
				s, err := decodeSession(raw)
				if err != nil {
					return 0, 0, 0, false, err
				}
				if !bytes.Equal(timeKey(s.PurgeAt()), k[:8]) {
					// An entry an ended session left (endSession), and a session
					// stored under the same id since: not this one's entry.
					break
				}
				if err := deleteSession(tx, string(id), s); err != nil {
					return 0, 0, 0, false, err
				}
				n++
			}
		default:
			return 0, 0, 0, false, fmt.Errorf("%w: expiry index entry of kind %q", ErrCorrupt, kind)
		}
		if err := idx.Delete(k); err != nil {
			return 0, 0, 0, false, err
		}
	}
	return n, tokens, sessions, more, nil
}

// purgeLoop purges every purge interval, at the time of the store's clock, until Close.
func (s *Store) purgeLoop() {
	defer s.bg.Done()
	t := time.NewTicker(s.opts.purgeInterval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			n, err := s.Purge(context.Background(), s.opts.now())
			switch {
			case err != nil && !s.closed.Load():
				s.opts.logger.Error("boltstore: background purge failed", "path", s.path, "deleted", n, "err", err)
			case n > 0:
				s.opts.logger.Debug("boltstore: background purge", "path", s.path, "deleted", n)
			}
		}
	}
}
