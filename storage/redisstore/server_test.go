package redisstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/redis/go-redis/v9"
)

// The tests run against a real redis-server. GATEHOUSE_REDIS_ADDR names one to use;
// unset, TestMain starts its own on a free loopback port and sets the variable (the
// Example reads it). Tests that stop, restart or reconfigure Redis always start their
// own. Without redis-server the package is skipped, or fails when CI is set.

// sharedAddr is the address of the Redis most tests use.
var sharedAddr string

const missingServer = "redis-server not found: `make test` installs it (scripts/redis-test-server.sh ensure), " +
	"or set GATEHOUSE_REDIS_ADDR to a Redis to test against"

func TestMain(m *testing.M) {
	addr := os.Getenv("GATEHOUSE_REDIS_ADDR")
	var srv *server
	if addr == "" {
		if _, err := exec.LookPath("redis-server"); err != nil {
			if os.Getenv("CI") != "" {
				fmt.Fprintln(os.Stderr, "FAIL: redisstore tests:", missingServer)
				os.Exit(1)
			}
			fmt.Println("SKIP: redisstore tests:", missingServer)
			os.Exit(0)
		}
		var err error
		if srv, err = startServer(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: redisstore tests:", err)
			os.Exit(1)
		}
		addr = srv.addr
		os.Setenv("GATEHOUSE_REDIS_ADDR", addr)
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
		srv.close()
	}
	os.Exit(code)
}

// server is a redis-server process of the tests: loopback only, protected mode, its
// data in a temporary directory, appendonly (fsync every second; the restart test asks
// for "appendfsync always", so that a SIGKILL loses nothing Redis acknowledged).
type server struct {
	bin, dir, addr string
	extra          []string // more redis.conf lines

	out lockedBuffer

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
}

func startServer(extra ...string) (*server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New(missingServer)
	}
	dir, err := os.MkdirTemp("", "gatehouse-redis-")
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, dir: dir, extra: extra}
	// A free port can be taken between looking and binding: try a few.
	for range 5 {
		if s.addr, err = freePort(); err != nil {
			break
		}
		if err = s.start(); err == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

// ownServer starts a server for t alone, or skips t (fails it when CI is set) if
// there is no redis-server.
func ownServer(t *testing.T, extra ...string) *server {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(missingServer)
		}
		t.Skip(missingServer)
	}
	s, err := startServer(extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs redis-server on s.addr and s.dir, and waits until it answers.
func (s *server) start() error {
	_, port, _ := net.SplitHostPort(s.addr)
	conf := strings.Join(append([]string{
		"port " + port,
		"bind 127.0.0.1",
		"protected-mode yes",
		fmt.Sprintf("dir %q", s.dir),
		"appendonly yes",
		"appendfsync everysec",
		`save ""`,
		"daemonize no",
		`logfile ""`,
	}, s.extra...), "\n") + "\n"
	path := filepath.Join(s.dir, "redis.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(s.bin, path)
	cmd.Stdout, cmd.Stderr = &s.out, &s.out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	c := redis.NewClient(&redis.Options{Addr: s.addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited:\n%s", s.addr, s.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server on %s did not answer within 10s:\n%s", s.addr, s.out.String())
		}
	}
	return nil
}

// kill stops the server with SIGKILL, as a crash would, and waits until it is gone.
func (s *server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

func (s *server) close() {
	s.kill()
	os.RemoveAll(s.dir)
}

// lockedBuffer is the server's output, written by os/exec's copying goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
// when t ends, so that a shared Redis is left as it was found.
func uniquePrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	p := fmt.Sprintf("gh-test-%s-%d:", hex.EncodeToString(b), prefixes.Add(1))
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, p+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
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
func newStore(t testing.TB, c *redis.Client, opts ...redisstore.Option) *redisstore.Store {
	t.Helper()
	opts = append([]redisstore.Option{redisstore.WithLogger(testLogger(t))}, opts...)
	s, err := redisstore.New(context.Background(), c, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls cond every millisecond until it holds, failing t after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(time.Millisecond)
	}
}
