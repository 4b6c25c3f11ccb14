// Package redistest starts throwaway redis-server processes for tests, the way the
// redisstore tests do: each on a free loopback port, in protected mode, with its data in
// the test's temporary directory, stopped when the test ends.
//
//	srv := redistest.Start(t)
//	store, err := storeurl.Open(ctx, srv.URL(0))
//
// Without a redis-server binary on PATH, Start skips the test, naming `make test`
// (which installs it), or fails it when the CI environment variable is set, so that a
// CI machine without Redis cannot pass by skipping.
package redistest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Missing is the reason Start gives when redis-server is not installed.
const Missing = "redis-server not found: `make test` installs it (scripts/redis-test-server.sh ensure)"

// Server is a redis-server process of a test.
type Server struct {
	// Addr is the server's host:port, on 127.0.0.1.
	Addr string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	out  lockedBuffer
	once sync.Once
}

// Start starts a redis-server for t and stops it when t ends. conf lines are added
// to its configuration (such as "maxmemory-policy allkeys-lru").
func Start(t testing.TB, conf ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(Missing)
		}
		t.Skip(Missing)
	}
	dir := t.TempDir()
	// A free port can be taken between looking and binding: try a few.
	for range 5 {
		var addr string
		if addr, err = freePort(); err != nil {
			break
		}
		var s *Server
		if s, err = start(bin, dir, addr, conf); err == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("redistest: %v", err)
	return nil
}

// URL returns the redis:// URL of database db of the server.
func (s *Server) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.Addr, db) }

// Stop stops the server with SIGKILL and waits until it has exited. Start arranges for
// it to run when the test ends; calling it before is fine.
func (s *Server) Stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
	})
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func start(bin, dir, addr string, extra []string) (*Server, error) {
	_, port, _ := net.SplitHostPort(addr)
	conf := strings.Join(append([]string{
		"port " + port,
		"bind 127.0.0.1",
		"protected-mode yes",
		fmt.Sprintf("dir %q", dir),
		"appendonly no",
		`save ""`,
		"daemonize no",
		`logfile ""`,
	}, extra...), "\n") + "\n"
	path := filepath.Join(dir, "redis-"+port+".conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	s := &Server{Addr: addr, cmd: exec.Command(bin, path), done: make(chan struct{})}
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ping(addr)
		if err == nil {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("redis-server on %s exited:\n%s", addr, s.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("redis-server on %s did not answer within 10s (%v):\n%s", addr, err, s.out.String())
		}
	}
}

// ping sends PING in the Redis protocol and waits for +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return errors.New("answered " + strings.TrimSpace(line))
	}
	return nil
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
