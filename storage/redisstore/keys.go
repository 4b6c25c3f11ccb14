package redisstore

import (
	"context"
	"fmt"
)

// LoadOrStoreKey returns the value stored under name, storing value first if there is
// none, in one script, so that every caller on every instance gets the same value.
// Keys have no expiry: they are the only keys of the store without one.
func (s *Store) LoadOrStoreKey(ctx context.Context, name string, value []byte) ([]byte, error) {
	if s.closed.Load() {
		return nil, closedError("LoadOrStoreKey")
	}
	v, err := loadOrStoreScript.Run(ctx, s.rdb, []string{s.keys.key(name)}, value).Result()
	if err != nil {
		return nil, s.fail("LoadOrStoreKey", err)
	}
	str, ok := v.(string)
	if !ok {
		return nil, failed("LoadOrStoreKey", fmt.Errorf("unexpected reply %T", v))
	}
	return []byte(str), nil
}
