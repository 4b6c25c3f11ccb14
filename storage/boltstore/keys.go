package boltstore

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"
)

// LoadOrStoreKey returns the value stored under name, or stores value and returns it
// if there is none. The check and the store are one transaction, and the file's lock
// admits one process at a time, so every caller gets the first value stored. Values are
// copied in and out. An empty or oversized name is refused with ErrInvalidID.
func (s *Store) LoadOrStoreKey(ctx context.Context, name string, value []byte) ([]byte, error) {
	if s.closed.Load() {
		return nil, closedError("load or store key")
	}
	if !validID(name) {
		return nil, failed("load or store key", ErrInvalidID)
	}
	var got []byte
	err := s.view(ctx, "load key", func(tx *bolt.Tx) error {
		got = bytes.Clone(tx.Bucket(bucketKeys).Get([]byte(name)))
		return nil
	})
	if err != nil || got != nil {
		return got, err
	}
	in := bytes.Clone(value)
	if in == nil {
		in = []byte{} // bbolt stores nil as empty; Get then returns a non-nil empty slice
	}
	err = s.update(ctx, "store key", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		if v := b.Get([]byte(name)); v != nil {
			got = bytes.Clone(v)
			return nil
		}
		got = bytes.Clone(in)
		return b.Put([]byte(name), in)
	}, nil)
	if err != nil {
		return nil, err
	}
	return got, nil
}
