package boltstore

import (
	"context"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Consume records that the one-time value id is used until exp and reports whether
// this call was the first. The check and the write are one transaction of the writer,
// durable when Consume returns, and the file's lock admits one process at a time, so of
// every call with the same id exactly one gets true. Consumed ids are kept in a bucket
// of their own, apart from revocations and their filters, and indexed by expiry for
// Purge. An empty or oversized id is refused with ErrInvalidID.
func (s *Store) Consume(ctx context.Context, id string, exp time.Time) (bool, error) {
	if !validID(id) {
		if s.closed.Load() {
			return false, closedError("consume")
		}
		return false, failed("consume", ErrInvalidID)
	}
	var first bool
	err := s.update(ctx, "consume", func(tx *bolt.Tx) error {
		first = false // fn may run again after a rollback
		b := tx.Bucket(bucketConsumed)
		if b.Get([]byte(id)) != nil {
			return nil
		}
		at := timeKey(exp)
		if err := b.Put([]byte(id), at); err != nil {
			return err
		}
		if err := tx.Bucket(bucketExpiry).Put(expiryKey(at, kindConsumed, id), nil); err != nil {
			return err
		}
		first = true
		return nil
	}, nil)
	if err != nil {
		return false, err
	}
	return first, nil
}
