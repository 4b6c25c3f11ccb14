package main_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
)

// The tests build the command once per test process and run it as a real process, as
// an operator does.

var binary string // the built command

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-command-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "gatehouse")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command(goTool(), append(args, ".")...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goTool is the go command that runs these tests, or the one on PATH.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// result is what one run of the command did.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

// gatehouse runs the command with args, in dir if it is not empty.
func gatehouse(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return gatehouseIn(t, dir, nil, args...)
}

// gatehouseIn runs the command with args and stdin (nil: empty), in dir if it is not
// empty.
func gatehouseIn(t *testing.T, dir string, stdin io.Reader, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	// A -race binary waits a second before it exits, by default; a race it finds
	// fails the run with exit status 66 and a report on stderr.
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0 "+os.Getenv("GORACE"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("gatehouse %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("gatehouse %s: exit %d, %v\nstdout:\n%sstderr:\n%s", strings.Join(args, " "), r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
	return r
}

// ok runs the command and fails t unless it succeeds without a word on stderr.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	r := gatehouse(t, "", args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("gatehouse %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// fails runs the command and fails t unless it exits with code, one line on stderr
// that starts with prefix and contains every one of says, and nothing on stdout.
func fails(t *testing.T, code int, prefix string, says []string, args ...string) result {
	t.Helper()
	return failsIn(t, nil, code, prefix, says, args...)
}

// failsIn is fails with stdin.
func failsIn(t *testing.T, stdin io.Reader, code int, prefix string, says []string, args ...string) result {
	t.Helper()
	r := gatehouseIn(t, "", stdin, args...)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	switch {
	case r.code != code:
		t.Errorf("exit code %d, want %d; stderr: %s", r.code, code, r.stderr)
	case len(lines) != 1 || !strings.HasSuffix(r.stderr, "\n"):
		t.Errorf("stderr has %d lines, want exactly one:\n%s", len(lines), r.stderr)
	case !strings.HasPrefix(lines[0], prefix):
		t.Errorf("stderr %q, want it to start with %q", lines[0], prefix)
	case r.stdout != "":
		t.Errorf("stdout %q, want nothing", r.stdout)
	}
	for _, s := range says {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr %q does not say %q", r.stderr, s)
		}
	}
	return r
}

var ctx = context.Background()

// boltAuth opens a bolt store at path and an Auth over it, with the key it generates
// and keeps in the store. The caller closes the store.
func boltAuth(t *testing.T, path string, opts ...core.Option) (*boltstore.Store, *core.Auth) {
	t.Helper()
	s, err := boltstore.Open(path, boltstore.WithPurgeInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	quiet := slog.New(slog.DiscardHandler) // Refresh warns of the reuse a test makes on purpose
	a, err := core.New(s, append([]core.Option{core.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s, a
}

// issue signs alice or another user in, from a browser.
func issue(t *testing.T, a *core.Auth, subject, userAgent, ip string) *core.Tokens {
	t.Helper()
	tok, err := a.Issue(ctx, core.Identity{Subject: subject, Email: "user@example.com", Name: "A User", Provider: "devidp"}, core.Client{UserAgent: userAgent, IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
