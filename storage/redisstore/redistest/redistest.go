// Package redistest starts throwaway redis-server processes for tests: each on a free
// loopback port, in protected mode, with its data in a temporary directory, and no
// persistence unless the test asks for it.
//
//	srv := redistest.Start(t) // killed when t ends
//	store, err := storeurl.Open(ctx, srv.URL(0))
//
//	srv := redistest.Start(t, "appendonly yes", "appendfsync always")
//	srv.Kill()           // SIGKILL, as a crash would
//	err := srv.Restart() // the same port and data directory
//
//	c := redistest.StartCluster(t, 3) // a Redis Cluster of 3 masters, joined by redis-cli
//	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
//
// Without a redis-server binary on PATH, Start skips the test, naming `make test`
// (which installs it), or fails it when the CI environment variable is set, so that a
// CI machine without Redis cannot pass by skipping. Launch is the same for a TestMain,
// which cannot skip: it returns ErrMissing, and each test that needs the server then
// calls SkipOrFail, so that `go test -v` lists every test that did not run. A cluster
// needs redis-cli too (Debian's redis-tools, which redis-server depends on): without
// it StartCluster skips or fails the same way, and LaunchCluster returns
// ErrMissingCLI.
//
// It only runs redis-server and redis-cli and imports nothing of gatehouse, so any module's tests
// can use it, redisstore's own included.
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
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Missing is the reason Start and Launch give when redis-server is not installed.
const Missing = "redis-server not found: `make test` installs it (scripts/redis-test-server.sh ensure)"

// ErrMissing is the error of Launch when redis-server is not installed.
var ErrMissing = errors.New(Missing)

// baseConf is the configuration of every server, before the lines the test adds (a
// later line of a directive overrides an earlier one).
var baseConf = []string{
	"bind 127.0.0.1",
	"protected-mode yes",
	"appendonly no",
	`save ""`,
	"maxmemory-policy noeviction", // the stores refuse any other
	"daemonize no",
	`logfile ""`,
}

// Server is a redis-server process of a test.
type Server struct {
	// Addr is the server's host:port, on 127.0.0.1.
	Addr string
	// Dir is its data directory.
	Dir string

	bin  string
	conf []string // lines added to baseConf
	bus  bool     // a cluster node: it needs a port for the cluster bus too
	out  lockedBuffer

	mu     sync.Mutex
	cmd    *exec.Cmd     // nil when not running
	exited chan struct{} // closed when cmd has exited
}

// Start starts a redis-server for t, in a directory of t.TempDir, and kills it when t
// ends. conf lines are added to its configuration (such as "appendonly yes" or
// "maxmemory-policy allkeys-lru").
func Start(t testing.TB, conf ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		SkipOrFail(t, Missing)
	}
	s, err := launch(bin, t.TempDir(), conf)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Kill)
	return s
}

// SkipOrFail skips t for reason, such as Missing, or fails it when the CI environment
// variable is set: a CI machine without Redis must not pass by skipping.
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// Launch starts a redis-server outside of a test, for a TestMain, in a new temporary
// directory; Close kills it and removes the directory. Without redis-server it returns
// ErrMissing: the tests that need the server then call SkipOrFail, as Start does.
func Launch(conf ...string) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrMissing
	}
	dir, err := os.MkdirTemp("", "gatehouse-redis-")
	if err != nil {
		return nil, err
	}
	s, err := launch(bin, dir, conf)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// launch starts redis-server on a free port, trying a few: a port found free can be
// taken before the server binds it.
func launch(bin, dir string, conf []string) (*Server, error) {
	return launchNode(bin, dir, conf, false)
}

// launchNode is launch, and for a cluster node (bus) picks a free port for the
// cluster bus too: Redis's default, the port plus 10000, can lie past 65535.
func launchNode(bin, dir string, conf []string, bus bool) (*Server, error) {
	s := &Server{Dir: dir, bin: bin, bus: bus}
	var err error
	for range 5 {
		if s.Addr, err = FreeAddr(); err != nil {
			return nil, err
		}
		s.conf = conf
		if bus {
			busAddr, err := FreeAddr()
			if err != nil {
				return nil, err
			}
			_, port, _ := net.SplitHostPort(busAddr)
			s.conf = append(slices.Clip(conf), "cluster-port "+port)
		}
		if err = s.start(); err == nil {
			return s, nil
		}
	}
	return nil, err
}

// FreeAddr returns a loopback host:port nothing listens on (for now: another process
// can take it).
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// URL returns the redis:// URL of database db of the server.
func (s *Server) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.Addr, db) }

// Kill stops the server with SIGKILL, as a crash would, and waits until it has exited.
// Killing a server that is not running does nothing.
func (s *Server) Kill() {
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

// Restart starts a killed server again, on the same port and data directory, and
// waits until it answers.
func (s *Server) Restart() error {
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		return fmt.Errorf("redis-server on %s is running: Kill it first", s.Addr)
	}
	return s.start()
}

// Close kills the server and removes its data directory.
func (s *Server) Close() {
	s.Kill()
	os.RemoveAll(s.Dir)
}

// start runs redis-server on s.Addr and s.Dir, and waits until it answers PING.
func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	conf := append([]string{"port " + port, fmt.Sprintf("dir %q", s.Dir)}, baseConf...)
	conf = append(conf, s.conf...)
	path := filepath.Join(s.Dir, "redis.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
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

	deadline := time.Now().Add(10 * time.Second)
	for {
		err := ping(s.Addr)
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			s.mu.Lock()
			if s.cmd == cmd {
				s.cmd = nil
			}
			s.mu.Unlock()
			return fmt.Errorf("redis-server on %s exited:\n%s", s.Addr, s.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Kill()
			return fmt.Errorf("redis-server on %s did not answer within 10s (%v):\n%s", s.Addr, err, s.out.String())
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
