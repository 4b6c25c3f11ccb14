// Package pgtest starts throwaway PostgreSQL servers for tests: each initdb'd into a
// new temporary directory and listening on a free loopback port, with its unix socket
// in that directory, fsync off (a crash of the server loses nothing committed, a crash
// of the machine may), and trust authentication for the superuser postgres
// on 127.0.0.1 only.
//
//	srv := pgtest.Start(t) // stopped and removed when t ends
//	store, err := pgstore.Open(ctx, srv.URL("postgres"))
//
//	srv.Stop()           // immediate shutdown, as a crash of the server would be
//	err := srv.Restart() // the same port and data directory, after crash recovery
//
// PostgreSQL refuses to run as root. When the test process is root, the server runs
// as the user postgres (Debian's package creates it), or nobody where there is none,
// in a directory it owns.
//
// The binaries (initdb, postgres) are looked up on PATH, then in the directory
// pg_config --bindir names, then in /usr/lib/postgresql/*/bin, newest version first.
// Without them Start skips the test, naming `make test` (which installs Debian's
// postgresql), or fails it when the CI environment variable is set, so that a CI
// machine without PostgreSQL cannot pass by skipping. Launch is the same for a
// TestMain, which cannot skip: it returns ErrMissing, and each test that needs the
// server then calls SkipOrFail, so that `go test -v` lists every test that did not run.
//
// It imports nothing of gatehouse and no driver: any module's tests can use it.
package pgtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Missing is the reason Start and Launch give when PostgreSQL is not installed.
const Missing = "PostgreSQL (initdb, postgres) not found: `make test` installs it (make deps-postgres: apt-get install postgresql)"

// ErrMissing is the error of Launch when PostgreSQL is not installed.
var ErrMissing = errors.New(Missing)

// startTimeout bounds the wait for a server to accept connections, crash recovery
// included.
const startTimeout = 30 * time.Second

// Server is a PostgreSQL server of a test.
type Server struct {
	// Addr is the server's host:port, on 127.0.0.1.
	Addr string
	// Dir holds the data directory (Dir/data) and the unix socket.
	Dir string

	bin  string              // directory of initdb and postgres
	cred *syscall.Credential // nil: run as the current user
	out  lockedBuffer

	mu     sync.Mutex
	cmd    *exec.Cmd     // nil when not running
	exited chan struct{} // closed when cmd has exited
}

// Start starts a server for t and stops it and removes its directory when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Launch()
	if errors.Is(err, ErrMissing) {
		SkipOrFail(t, Missing)
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// SkipOrFail skips t for reason, such as Missing, or fails it when the CI environment
// variable is set: a CI machine without PostgreSQL must not pass by skipping.
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// Launch starts a server outside of a test, for a TestMain; Close stops it and
// removes its directory. Without PostgreSQL it returns ErrMissing: the tests that need
// the server then call SkipOrFail, as Start does.
func Launch() (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	// Not t.TempDir: its parents are private to the test's user, and the server may
	// run as another.
	dir, err := os.MkdirTemp("", "gatehouse-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, bin: bin, cred: cred}
	if err := s.initdb(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for range 5 { // a port found free can be taken before the server binds it
		if s.Addr, err = FreeAddr(); err != nil {
			break
		}
		if err = s.start(); err == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

// BinDir returns the directory of the PostgreSQL server binaries, or ErrMissing.
func BinDir() (string, error) {
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "postgres"} {
			if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.IsDir() {
				return false
			}
		}
		return true
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		// Through symbolic links: a link on PATH may stand alone in its directory.
		if real, err := filepath.EvalSymlinks(p); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	return "", ErrMissing
}

// version reads the major version out of /usr/lib/postgresql/<v>/bin.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

// credential returns whom the server runs as: nil (the current user) unless that is
// root, which PostgreSQL refuses.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, errors.New("pgtest: running as root, and there is no user postgres or nobody to run PostgreSQL as")
}

// command returns the binary name of the server's installation, run as the server's
// user, its output collected in s.out.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	cmd.Stdout, cmd.Stderr = &s.out, &s.out
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd
}

// initdb makes the data directory, owned by the server's user.
func (s *Server) initdb() error {
	if s.cred != nil {
		if err := os.Chown(s.Dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return err
		}
	}
	if err := os.Chmod(s.Dir, 0o700); err != nil {
		return err
	}
	cmd := s.command("initdb", "-D", s.dataDir(), "-U", "postgres", "--auth=trust",
		"--no-sync", "--no-instructions", "-E", "UTF8", "--locale=C")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgtest: initdb: %v:\n%s", err, s.out.String())
	}
	return nil
}

func (s *Server) dataDir() string { return filepath.Join(s.Dir, "data") }

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

// URL returns the URL of database db on the server, as the superuser postgres. The
// database postgres always exists.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", s.Addr, db)
}

// Stop shuts the server down at once (SIGQUIT, PostgreSQL's immediate shutdown): every
// connection is cut and nothing is checkpointed, as in a crash of the server; Restart
// then runs crash recovery. It waits until the server has exited. Stopping a server
// that is not running does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Restart starts a stopped server again, on the same port and data directory, and
// waits until it accepts connections.
func (s *Server) Restart() error {
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		return fmt.Errorf("pgtest: postgres on %s is running: Stop it first", s.Addr)
	}
	return s.start()
}

// Close stops the server and removes its directory.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.Dir)
}

// Output returns what the server and initdb have written so far, for a failing test
// to show.
func (s *Server) Output() string { return s.out.String() }

// start runs postgres on s.Addr and waits until it accepts connections.
func (s *Server) start() error {
	_, port, _ := net.SplitHostPort(s.Addr)
	cmd := s.command("postgres", "-D", s.dataDir(),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+port,
		"-c", "unix_socket_directories="+s.Dir,
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB",
		"-c", "max_connections=200",
		"-c", "dynamic_shared_memory_type=mmap",
		"-c", "log_min_messages=warning",
		"-c", "log_min_error_statement=panic",
	)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		err := ready(s.Addr)
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
			return fmt.Errorf("pgtest: postgres on %s exited:\n%s", s.Addr, s.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return fmt.Errorf("pgtest: postgres on %s did not accept connections within %v (%v):\n%s",
				s.Addr, startTimeout, err, s.out.String())
		}
	}
}

// ready sends a startup message for user postgres, database postgres, and waits for
// ReadyForQuery: the server accepts connections (not "starting up" nor in recovery).
func ready(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	var body []byte
	body = append(body, 0, 3, 0, 0) // protocol 3.0
	for _, kv := range []string{"user", "postgres", "database", "postgres"} {
		body = append(body, kv...)
		body = append(body, 0)
	}
	body = append(body, 0)
	msg := make([]byte, 4, 4+len(body))
	n := len(body) + 4
	msg[0], msg[1], msg[2], msg[3] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	if _, err := c.Write(append(msg, body...)); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	for {
		typ, err := r.ReadByte()
		if err != nil {
			return err
		}
		var lb [4]byte
		if _, err := io.ReadFull(r, lb[:]); err != nil {
			return err
		}
		l := int(lb[0])<<24 | int(lb[1])<<16 | int(lb[2])<<8 | int(lb[3])
		if l < 4 || l > 1<<20 {
			return fmt.Errorf("bad message length %d", l)
		}
		payload := make([]byte, l-4)
		if _, err := io.ReadFull(r, payload); err != nil {
			return err
		}
		switch typ {
		case 'Z':
			_, _ = c.Write([]byte{'X', 0, 0, 0, 4}) // Terminate
			return nil
		case 'E':
			return fmt.Errorf("server says: %s", errorMessage(payload))
		}
	}
}

// errorMessage picks the message field (M) out of an ErrorResponse.
func errorMessage(p []byte) string {
	for len(p) > 1 {
		code := p[0]
		end := bytes.IndexByte(p[1:], 0)
		if end < 0 {
			break
		}
		if code == 'M' {
			return string(p[1 : 1+end])
		}
		p = p[2+end:]
	}
	return "an error"
}

// lockedBuffer is the servers' output, written by os/exec's copying goroutines.
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
