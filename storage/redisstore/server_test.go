package redisstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore/redistest"
	"github.com/redis/go-redis/v9"
)

// The tests run against a real redis-server. GATEHOUSE_REDIS_ADDR names one to use;
// unset, TestMain starts its own on a free loopback port and sets the variable (the
// Example reads it). Tests that stop, restart or reconfigure Redis always start their
// own. Without redis-server each test skips, naming the reason, or fails when CI is
// set; the Examples, which cannot skip, are left out with -test.skip.

// sharedAddr is the address of the Redis most tests use, empty without redis-server;
// tests get it from shared.
var sharedAddr string

// shared returns the address of the Redis most tests use, or skips t (fails it when
// CI is set) if there is no redis-server.
func shared(t testing.TB) string {
	t.Helper()
	if sharedAddr == "" {
		redistest.SkipOrFail(t, missingServer)
	}
	return sharedAddr
}

const missingServer = redistest.Missing + ", or set GATEHOUSE_REDIS_ADDR to a Redis to test against"

// persistent is the configuration of the tests' servers: appendonly, fsync every
// second (the restart test asks for "appendfsync always", so that a SIGKILL loses
// nothing Redis acknowledged).
var persistent = []string{"appendonly yes", "appendfsync everysec"}

func TestMain(m *testing.M) {
	addr := os.Getenv("GATEHOUSE_REDIS_ADDR")
	var srv *redistest.Server
	if addr == "" {
		var err error
		srv, err = redistest.Launch(persistent...)
		switch {
		case errors.Is(err, redistest.ErrMissing):
			// Each test skips or fails through shared or ownServer. The Examples
			// cannot: without an address they would talk to a Redis on the default
			// port, if any, and fail on the output.
			skipExamples()
		case err != nil:
			fmt.Fprintln(os.Stderr, "FAIL: redisstore tests:", err)
			os.Exit(1)
		default:
			addr = srv.Addr
			os.Setenv("GATEHOUSE_REDIS_ADDR", addr)
		}
	} else {
		c := redis.NewClient(&redis.Options{Addr: addr})
		err := c.Ping(context.Background()).Err()
		c.Close()
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: redisstore tests: GATEHOUSE_REDIS_ADDR=%s: %v\n", addr, err)
			os.Exit(1)
		}
	}
	sharedAddr = addr
	// go-redis logs every failed dial; the tests that stop Redis make many.
	redis.SetLogger(quietLogger{})
	code := m.Run()
	if srv != nil {
		srv.Close()
	}
	closeSharedCluster()
	os.Exit(code)
}

// skipExamples adds the Examples to -test.skip, and says so on stdout, next to the
// tests' SKIP lines. A top-level "|" in a -test.skip pattern is an alternation.
func skipExamples() {
	flag.Parse()
	pattern := "^Example"
	if old := flag.Lookup("test.skip").Value.String(); old != "" {
		pattern = old + "|" + pattern
	}
	if err := flag.Set("test.skip", pattern); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: redisstore tests:", err)
		os.Exit(1)
	}
	fmt.Println("SKIP: the Examples:", missingServer)
}

// ownServer starts a server for t alone, with conf lines added to persistent, or skips
// t (fails it when CI is set) if there is no redis-server.
func ownServer(t *testing.T, conf ...string) *redistest.Server {
	t.Helper()
	return redistest.Start(t, slices.Concat(persistent, conf)...)
}

// newClient returns a client of addr that t closes when it ends.
func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

var prefixes atomic.Int64

// uniquePrefix returns a prefix no other store of this run uses, and deletes its keys
// when t ends, so that a shared Redis or cluster is left as it was found.
func uniquePrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	p := fmt.Sprintf("gh-test-%s-%d:", hex.EncodeToString(b), prefixes.Add(1))
	t.Cleanup(func() {
		ctx := context.Background()
		clear := func(ctx context.Context, node *redis.Client) error {
			iter := node.Scan(ctx, 0, p+"*", 1000).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val()) // through c: a cluster routes each key to its slot
			}
			return nil
		}
		if cc, ok := c.(*redis.ClusterClient); ok {
			_ = cc.ForEachMaster(ctx, clear)
		} else {
			_ = clear(ctx, c.(*redis.Client))
		}
	})
	return p
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

// testLogger logs to t, shown with -v or when t fails.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// newStore returns a store over c that t closes when it ends, logging to t.
func newStore(t testing.TB, c redis.UniversalClient, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	opts = append([]redisstore.Option{redisstore.WithLogger(testLogger(t))}, opts...)
	s, err := redisstore.New(context.Background(), c, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
