package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// Count adds add to the counter key and returns its count and the end of its window, as
// core.Store describes, in one script on the slot of key's shard, so that of concurrent
// adds on every instance sharing the Redis (or Redis Cluster) none is lost. Whether the
// window has ended is decided by now, the caller's clock; the key also expires at the
// end, rounded up to the second, so that counters nobody purges do not stay, and Redis
// may drop one early if its clock is ahead of the caller's. add 0 writes nothing.
// Counters are not revocations nor consumed ids: they are not published, never enter
// the filters, and are not exported. An empty key, add < 0 and window <= 0 are
// refused.
func (s *Store) Count(ctx context.Context, key string, add int, now time.Time, window time.Duration) (int, time.Time, error) {
	if s.closed.Load() {
		return 0, time.Time{}, closedError("Count")
	}
	if err := core.CheckCount(key, add, window); err != nil {
		return 0, time.Time{}, failed("Count", err)
	}
	r, err := countScript.Run(ctx, s.rdb, []string{s.keys.counter(key), s.keys.counterIndex(shardOf(key))},
		key, strconv.Itoa(add), encodeTime(now), encodeTime(now.Add(window))).Slice()
	if err != nil {
		return 0, time.Time{}, s.fail("Count", err)
	}
	var (
		n        int64
		v        string
		nOK, vOK bool
	)
	if len(r) == 2 {
		n, nOK = r[0].(int64)
		v, vOK = r[1].(string)
	}
	if !nOK || !vOK {
		return 0, time.Time{}, failed("Count", fmt.Errorf("unexpected reply %v", r))
	}
	if v == "" {
		return int(n), time.Time{}, nil
	}
	end, err := decodeTime(v)
	if err != nil {
		return 0, time.Time{}, failed("Count", err)
	}
	return int(n), end, nil
}
