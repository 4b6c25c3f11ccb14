package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	bolt "go.etcd.io/bbolt"
)

// Count adds add to the counter key and returns its count and the end of its window, as
// core.Store describes. An add is one transaction of the writer, durable when Count
// returns, and the file's lock admits one process at a time, so no add is lost; add 0
// is a read transaction and writes nothing. Counters are kept in a bucket of their own,
// apart from revocations and consumed ids, and indexed by the end of their window for
// Purge. An empty or oversized key is refused with ErrInvalidID, add < 0, window <= 0
// and an add that would overflow the count with an error of their own; every refusal
// matches core.ErrStoreUnavailable, as ErrInvalidID does.
func (s *Store) Count(ctx context.Context, key string, add int, now time.Time, window time.Duration) (int, time.Time, error) {
	if s.closed.Load() {
		return 0, time.Time{}, closedError("count")
	}
	if !validID(key) {
		return 0, time.Time{}, failed("count", ErrInvalidID)
	}
	if err := core.CheckCount(key, add, window); err != nil {
		return 0, time.Time{}, failed("count", err)
	}
	var (
		n   int
		end time.Time
	)
	if add == 0 {
		err := s.view(ctx, "count", func(tx *bolt.Tx) error {
			n, end = 0, time.Time{}
			c, ok, err := getCounter(tx, key)
			if ok && err == nil && c.end.After(now) {
				n, end = c.n, c.end
			}
			return err
		})
		if err != nil {
			return 0, time.Time{}, err
		}
		return n, end, nil
	}
	err := s.update(ctx, "count", func(tx *bolt.Tx) error {
		n, end = 0, time.Time{} // fn may run again after a rollback
		c, ok, err := getCounter(tx, key)
		if err != nil {
			return err
		}
		if ok && c.end.After(now) {
			if c.n > math.MaxInt-add {
				return fmt.Errorf("counter %.40q: count %d + %d overflows", key, c.n, add)
			}
			c.n += add
			n, end = c.n, c.end
			return putCounter(tx, key, c)
		}
		idx := tx.Bucket(bucketExpiry)
		if ok {
			// It ended: its index entry goes with it, and the new one is filed below.
			if err := idx.Delete(expiryKey(timeKey(c.end), kindCounter, key)); err != nil {
				return err
			}
		}
		c = counter{n: add, end: now.Add(window)}
		if err := putCounter(tx, key, c); err != nil {
			return err
		}
		if err := idx.Put(expiryKey(timeKey(c.end), kindCounter, key), nil); err != nil {
			return err
		}
		n, end = add, c.end
		return nil
	}, nil)
	if err != nil {
		return 0, time.Time{}, err
	}
	return n, end, nil
}

// counter is a record of bucketCounters: timeKey(end) ‖ n as 8 bytes big-endian.
type counter struct {
	n   int
	end time.Time
}

// getCounter reads the counter key; ok is false when there is none.
func getCounter(tx *bolt.Tx, key string) (c counter, ok bool, err error) {
	v := tx.Bucket(bucketCounters).Get([]byte(key))
	if v == nil {
		return counter{}, false, nil
	}
	if len(v) != 16 {
		return counter{}, false, fmt.Errorf("%w: counter record of %d bytes", ErrCorrupt, len(v))
	}
	n := binary.BigEndian.Uint64(v[8:])
	if n > math.MaxInt {
		return counter{}, false, fmt.Errorf("%w: counter record of count %d", ErrCorrupt, n)
	}
	return counter{n: int(n), end: timeFromKey(v[:8])}, true, nil
}

func putCounter(tx *bolt.Tx, key string, c counter) error {
	v := binary.BigEndian.AppendUint64(timeKey(c.end), uint64(c.n))
	return tx.Bucket(bucketCounters).Put([]byte(key), v)
}
