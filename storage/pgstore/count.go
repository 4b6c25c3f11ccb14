package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/jackc/pgx/v5"
)

// Count adds add to the counter key and returns its count and the end of its window, as
// core.Store describes. An add is one INSERT … ON CONFLICT DO UPDATE: concurrent adds
// of one key, on any number of instances, wait for each other's row lock and none is
// lost. add 0 is one SELECT and writes nothing. Whether a window has ended is decided
// by now, the caller's clock. Counters are not revocations nor consumed ids: they are
// not announced, never enter the filters, and are not exported. An empty key, add < 0
// and window <= 0 are refused.
func (s *Store) Count(ctx context.Context, key string, add int, now time.Time, window time.Duration) (int, time.Time, error) {
	if s.closed.Load() {
		return 0, time.Time{}, closedError("Count")
	}
	if err := core.CheckCount(key, add, window); err != nil {
		return 0, time.Time{}, fmt.Errorf("pgstore: Count: %w", err)
	}
	var (
		n   int64
		end int64
		err error
	)
	if add == 0 {
		err = s.pool.QueryRow(ctx, s.q.readCount, bin(key), encodeTime(now)).Scan(&n, &end)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, time.Time{}, nil
		}
	} else {
		err = s.pool.QueryRow(ctx, s.q.count, bin(key), int64(add), encodeTime(now), encodeTime(now.Add(window))).Scan(&n, &end)
	}
	if err != nil {
		return 0, time.Time{}, s.fail("Count", err)
	}
	return int(n), decodeTime(end), nil
}
