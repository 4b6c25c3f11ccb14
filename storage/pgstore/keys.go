package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// storeKeyAttempts bounds LoadOrStoreKey's statements: each but the first follows a
// writer that committed the same key while the previous one ran, and the next sees it.
const storeKeyAttempts = 5

// LoadOrStoreKey returns the value stored under name, storing value first if there is
// none; of concurrent callers, on any number of instances, all get the same value.
// Keys never expire and are never purged.
func (s *Store) LoadOrStoreKey(ctx context.Context, name string, value []byte) ([]byte, error) {
	if s.closed.Load() {
		return nil, closedError("LoadOrStoreKey")
	}
	if value == nil {
		value = []byte{} // bytea NOT NULL: an empty key, not none
	}
	for range storeKeyAttempts {
		var got []byte
		err := s.pool.QueryRow(ctx, s.q.storeKey, bin(name), value).Scan(&got)
		switch {
		case err == nil:
			if got == nil {
				got = []byte{}
			}
			return got, nil
		case !errors.Is(err, pgx.ErrNoRows):
			return nil, s.fail("LoadOrStoreKey", err)
		}
	}
	return nil, s.fail("LoadOrStoreKey", fmt.Errorf("key %q: no value after %d attempts", name, storeKeyAttempts))
}

// Consume records that the one-time value id is used until exp and reports whether
// this call was the first to use it: one INSERT, which of concurrent ones on any
// number of instances only the first commits; the others wait for it and change
// nothing. Consumed ids are not revocations: they are not announced, never enter the
// filters, and are not exported.
func (s *Store) Consume(ctx context.Context, id string, exp time.Time) (bool, error) {
	if s.closed.Load() {
		return false, closedError("Consume")
	}
	if id == "" {
		return false, errors.New("pgstore: Consume of an empty id")
	}
	tag, err := s.pool.Exec(ctx, s.q.consume, bin(id), encodeTime(exp))
	if err != nil {
		return false, s.fail("Consume", err)
	}
	return tag.RowsAffected() == 1, nil
}
