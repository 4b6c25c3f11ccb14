package boltstore_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
)

// The tests below run a second process: the test binary itself, re-executed to run
// TestHelperProcess only, with BOLTSTORE_HELPER naming what it does (the os/exec
// helper-process pattern). The helper reports on stdout, one line per step.

const helperEnv = "BOLTSTORE_HELPER"

func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process of the tests that run one")
	}
	path := os.Getenv("BOLTSTORE_PATH")
	fail := func(err error) {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	switch mode {
	case "revoke":
		// Revoke tokens one by one, reporting each once RevokeToken has returned, and
		// keep going until killed, so that the kill lands in the middle of writes.
		s, err := boltstore.Open(path, boltstore.WithPurgeInterval(0))
		if err != nil {
			fail(err)
		}
		for i := 0; ; i++ {
			jti := fmt.Sprintf("jti-%d", i)
			if err := s.RevokeToken(ctx, jti, base.Add(time.Hour)); err != nil {
				fail(err)
			}
			fmt.Printf("revoked %s\n", jti)
		}
	case "hold":
		// Hold the store open until killed.
		if _, err := boltstore.Open(path); err != nil {
			fail(err)
		}
		fmt.Println("opened")
		select {}
	case "fill":
		// Revoke under a file size limit until a write fails, and report the error.
		s, err := boltstore.Open(path, boltstore.WithPurgeInterval(0))
		if err != nil {
			fail(err)
		}
		info, err := os.Stat(path)
		if err != nil {
			fail(err)
		}
		signal.Ignore(syscall.SIGXFSZ) // writes past the limit then fail with EFBIG
		limit := uint64(info.Size())
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
			fail(err)
		}
		pad := strings.Repeat("p", 200)
		for i := 0; i < 1_000_000; i++ {
			jti := fmt.Sprintf("jti-%06d-%s", i, pad)
			err := s.RevokeToken(ctx, jti, base.Add(time.Hour))
			if err != nil {
				fmt.Printf("failed %d %v %v\n", i, errors.Is(err, core.ErrStoreUnavailable), err)
				revoked, rerr := s.IsRevoked(ctx, jti, "")
				fmt.Printf("after %v %v\n", revoked, rerr)
				if err := s.Close(); err != nil {
					fail(err)
				}
				fmt.Println("closed")
				os.Exit(0)
			}
		}
		fail(errors.New("no write failed"))
	default:
		fail(fmt.Errorf("unknown helper mode %q", mode))
	}
}

// helper starts the test binary as a helper process in mode on the store at path.
func helper(t *testing.T, mode, path string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	if runtime.GOOS == "windows" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("needs processes and signals")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, "BOLTSTORE_PATH="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewScanner(out)
}

// TestSIGKILLKeepsRevocations kills a process that is revoking tokens with SIGKILL, in
// the middle of its writes: every revocation it reported done survives, and the file
// passes bbolt's consistency check. [SECURITY 27]
func TestSIGKILLKeepsRevocations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	cmd, out := helper(t, "revoke", path)
	var done []string
	for out.Scan() {
		line := out.Text()
		jti, ok := strings.CutPrefix(line, "revoked ")
		if !ok {
			t.Fatalf("helper: %s", line)
		}
		done = append(done, jti)
		if len(done) == 300 {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Lines the helper wrote before it died are revocations it finished too.
	for _, line := range strings.Split(drain(out), "\n") {
		if jti, ok := strings.CutPrefix(line, "revoked "); ok {
			done = append(done, jti)
		}
	}
	err := cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v, want killed by SIGKILL", err)
	}

	s := openAt(t, path, boltstore.WithLockTimeout(5*time.Second))
	if err := s.Check(); err != nil {
		t.Fatalf("Check after SIGKILL: %v", err)
	}
	for _, jti := range done {
		mustRevoked(t, s, jti, "", true)
	}
	t.Logf("%d revocations reported before the kill, all kept", len(done))
}

func drain(s *bufio.Scanner) string {
	var b strings.Builder
	for s.Scan() {
		b.WriteString(s.Text())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestSecondProcessIsLocked opens a store another process holds: Open fails with
// ErrLocked after about the lock timeout, and succeeds once that process is gone.
// [SECURITY 28]
func TestSecondProcessIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	cmd, out := helper(t, "hold", path)
	if !out.Scan() || out.Text() != "opened" {
		t.Fatalf("helper: %q", out.Text())
	}
	const timeout = 300 * time.Millisecond
	start := time.Now()
	s, err := boltstore.Open(path, boltstore.WithLockTimeout(timeout))
	elapsed := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("Open of a file another process holds succeeded")
	}
	if !errors.Is(err, boltstore.ErrLocked) || !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("Open: error = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	if elapsed < timeout || elapsed > timeout+time.Second {
		t.Errorf("Open failed after %v, want about the lock timeout %v", elapsed, timeout)
	}
	t.Logf("Open: %v after %v", err, elapsed.Round(time.Millisecond))

	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	openAt(t, path, boltstore.WithLockTimeout(timeout))
}

// TestFailedCommitOnFullDisk makes the file system refuse to grow the file (a file
// size limit, which fails writes with EFBIG as a full disk fails them with ENOSPC): the
// write fails as a store failure, is not visible, and the file stays sound.
// [SECURITY 29]
func TestFailedCommitOnFullDisk(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RLIMIT_FSIZE semantics checked on Linux only")
	}
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	_, out := helper(t, "fill", path)
	var lines []string
	for out.Scan() {
		lines = append(lines, out.Text())
	}
	t.Logf("helper: %q", lines)
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "failed ") || lines[2] != "closed" {
		t.Fatalf("helper output %q, want a failed write, a lookup and a clean close", lines)
	}
	var n int
	var unavailable bool
	if _, err := fmt.Sscanf(lines[0], "failed %d %t", &n, &unavailable); err != nil || !unavailable {
		t.Errorf("failed write: %q, want an error matching core.ErrStoreUnavailable", lines[0])
	}
	if lines[1] != "after false <nil>" {
		t.Errorf("lookup of the failed revocation: %q, want not revoked and no error", lines[1])
	}
	s := openAt(t, path)
	if err := s.Check(); err != nil {
		t.Errorf("Check after the failed commit: %v", err)
	}
	pad := strings.Repeat("p", 200)
	for i := range n {
		if i%97 == 0 || i == n-1 {
			mustRevoked(t, s, fmt.Sprintf("jti-%06d-%s", i, pad), "", true)
		}
	}
	mustRevoked(t, s, fmt.Sprintf("jti-%06d-%s", n, pad), "", false)
}
