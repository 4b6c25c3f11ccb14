package redisstore

import (
	"context"
	"errors"
	"time"
)

var errEmptyID = errors.New("empty id")

// Consume records that the one-time value id is used until exp and reports whether this
// call was the first, with SET NX in one script, so that of every call with the same id,
// on every instance sharing the Redis, exactly one gets true. The key expires at exp,
// rounded up to the second, and is indexed by expiry for Purge. Consumed ids are not
// revocations: they are not published, and the revocation filters never hold one. An
// empty id is refused.
func (s *Store) Consume(ctx context.Context, id string, exp time.Time) (bool, error) {
	if s.closed.Load() {
		return false, closedError("Consume")
	}
	if id == "" {
		return false, failed("Consume", errEmptyID)
	}
	n, err := consumeScript.Run(ctx, s.rdb, []string{s.keys.consumed(id), s.keys.consumedIndex(shardOf(id))},
		id, encodeTime(exp)).Int()
	if err != nil {
		return false, s.fail("Consume", err)
	}
	return n == 1, nil
}
