package storeurl_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore/redistest"
	"github.com/gatehouse-auth/gatehouse/storage/storeurl"
	"github.com/redis/go-redis/v9"
)

func TestParseRedisCluster(t *testing.T) {
	for _, tc := range []struct {
		url   string
		addrs []string
		tls   bool
	}{
		{"redis+cluster://10.0.0.1:6379", []string{"10.0.0.1:6379"}, false},
		{"redis+cluster://10.0.0.1:6379,10.0.0.2:6380,redis-3.internal:6379/", []string{"10.0.0.1:6379", "10.0.0.2:6380", "redis-3.internal:6379"}, false},
		{"rediss+cluster://app:s3cret@[2001:db8::1]:6379,[2001:db8::2]:6379?dial_timeout=1s&max_redirects=2",
			[]string{"[2001:db8::1]:6379", "[2001:db8::2]:6379"}, true},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got, err := storeurl.Parse(tc.url)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Kind != storeurl.Redis || !got.Cluster || !slices.Equal(got.Addrs, tc.addrs) || got.Addr != tc.addrs[0] ||
				got.TLS != tc.tls || got.DB != 0 {
				t.Errorf("Parse = %+v, want a cluster at %v, TLS %v", got, tc.addrs, tc.tls)
			}
			if got.String() != tc.url && !strings.Contains(tc.url, "s3cret") {
				t.Errorf("String() = %q, want the URL as written", got.String())
			}
		})
	}
	for _, tc := range []struct{ name, url, says string }{
		{"no host", "redis+cluster://", "names no host"},
		{"no port", "redis+cluster://10.0.0.1", `"10.0.0.1" is not a host:port`},
		{"empty address", "redis+cluster://10.0.0.1:6379,,10.0.0.2:6379", `"" is not a host:port`},
		{"a database", "redis+cluster://10.0.0.1:6379/2", "one database"},
		{"bad option", "redis+cluster://10.0.0.1:6379?dial_timeout=soon", "dial_timeout"},
		{"unknown option", "redis+cluster://10.0.0.1:6379?db=2", "unexpected option"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := storeurl.Parse(tc.url)
			if !errors.Is(err, core.ErrConfig) || !strings.Contains(err.Error(), tc.says) ||
				!strings.Contains(err.Error(), "such as redis+cluster://") {
				t.Errorf("Parse(%q) = %v, want core.ErrConfig saying %q and showing the form", tc.url, err, tc.says)
			}
		})
	}
	for _, raw := range []string{
		"redis+cluster://app:hunter2-secret@10.0.0.1:6379/3",
		"rediss+cluster://app:hunter2-secret@[::1]:1,[::1]:2/?dial_timeout=soon",
	} {
		if _, err := storeurl.Parse(raw); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q) = %v, want an error without the password", raw, err)
		}
	}
	loc, err := storeurl.Parse("redis+cluster://app:hunter2-secret@[::1]:1,[::1]:2")
	if err != nil {
		t.Fatal(err)
	}
	if s := loc.String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "app:xxxxx@") {
		t.Errorf("Location.String() = %q, want the password replaced", s)
	}
}

func TestOpenRedisCluster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	var got redis.ClusterOptions
	raw := "redis+cluster://" + strings.Join(cl.Addrs()[1:], ",") + "?pool_size=7" // two of the three nodes
	s, err := storeurl.Open(ctx, raw,
		storeurl.WithRedisOptions(redisstore.WithPrefix("app:")),
		storeurl.WithRedisClusterOptions(func(o *redis.ClusterOptions) { got = *o }))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(core.Migrator); !ok {
		t.Errorf("Open(redis+cluster://…) = %T, which is no core.Migrator", s)
	}
	if got.DialerRetries != 1 || got.MaxRetries != 1 || got.DialTimeout != storeurl.DefaultDialTimeout || got.PoolSize != 7 ||
		!slices.Equal(got.Addrs, cl.Addrs()[1:]) {
		t.Errorf("cluster options: Addrs %v, DialerRetries %d, MaxRetries %d, DialTimeout %v, PoolSize %d; "+
			"want the URL's addresses, 1, 1, %v and the URL's 7", got.Addrs, got.DialerRetries, got.MaxRetries, got.DialTimeout,
			got.PoolSize, storeurl.DefaultDialTimeout)
	}
	// Revocations on every master, and the signing key where the prefix says.
	exp := time.Now().Add(time.Hour)
	for _, jti := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		if err := s.RevokeToken(ctx, jti, exp); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.LoadOrStoreKey(ctx, "signing/HS256", []byte("v")); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs()})
	defer c.Close()
	if v, err := c.Get(ctx, "app:k:signing/HS256").Result(); err != nil || v != "v" {
		t.Errorf("GET app:k:signing/HS256 = %q, %v; want the key Open's store wrote", v, err)
	}
	if ok, err := s.IsRevoked(ctx, "h", ""); err != nil || !ok {
		t.Errorf("IsRevoked = %v, %v", ok, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); !errors.Is(err, core.ErrStoreClosed) {
		t.Errorf("second Close: %v, want core.ErrStoreClosed", err)
	}
}

func TestOpenRedisClusterUnreachable(t *testing.T) {
	redis.SetLogger(quiet{})
	raw := "redis+cluster://" + closedPort(t) + "," + closedPort(t)
	start := time.Now()
	_, err := storeurl.Open(ctx, raw)
	took := time.Since(start)
	if !errors.Is(err, core.ErrStoreUnavailable) || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), raw) {
		t.Errorf("Open: error = %v, want core.ErrStoreUnavailable naming the URL and saying the connection was refused", err)
	}
	if took > 2*time.Second {
		t.Errorf("Open of a cluster that is down took %v; it must fail fast", took)
	}
}
