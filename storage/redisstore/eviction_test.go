package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/redis/go-redis/v9"
)

func TestEvictionPolicy(t *testing.T) {
	ctx := context.Background()
	srv := ownServer(t)
	admin := newClient(t, srv.Addr)
	setPolicy := func(t *testing.T, policy string) {
		t.Helper()
		must(t, admin.ConfigSet(ctx, "maxmemory-policy", policy).Err())
	}

	for _, policy := range []string{
		"allkeys-lru", "allkeys-lfu", "allkeys-random",
		"volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
	} {
		t.Run(policy, func(t *testing.T) {
			setPolicy(t, policy)
			c := newClient(t, srv.Addr)
			s, err := redisstore.New(ctx, c)
			if !errors.Is(err, redisstore.ErrEvictionPolicy) || !errors.Is(err, core.ErrConfig) {
				t.Fatalf("New with %s = %v, want %v", policy, err, redisstore.ErrEvictionPolicy)
			}
			if s != nil || !strings.Contains(err.Error(), policy) || !strings.Contains(err.Error(), "InsecureAllowEviction") {
				t.Errorf("New with %s: error %q should name the policy and the way out", policy, err)
			}
			newStore(t, c, redisstore.InsecureAllowEviction()).Close()
		})
	}

	t.Run("noeviction", func(t *testing.T) {
		setPolicy(t, "noeviction")
		newStore(t, newClient(t, srv.Addr)).Close()
	})

	t.Run("CONFIG not allowed", func(t *testing.T) {
		// A managed Redis that disables CONFIG, as an ACL user without it.
		setPolicy(t, "noeviction")
		must(t, admin.Do(ctx, "ACL", "SETUSER", "app", "on", ">app-password", "~*", "&*", "+@all", "-config").Err())
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "app", Password: "app-password"})
		t.Cleanup(func() { c.Close() })
		_, err := redisstore.New(ctx, c)
		if !errors.Is(err, redisstore.ErrEvictionPolicy) || !strings.Contains(err.Error(), "InsecureSkipEvictionCheck") {
			t.Fatalf("New without CONFIG = %v, want %v naming InsecureSkipEvictionCheck", err, redisstore.ErrEvictionPolicy)
		}
		s := newStore(t, c, redisstore.InsecureSkipEvictionCheck())
		must(t, s.RevokeToken(ctx, "jti-1", future))
		if ok, err := s.IsRevoked(ctx, "jti-1", ""); err != nil || !ok {
			t.Errorf("IsRevoked as the restricted user = %v, %v", ok, err)
		}
	})
}
