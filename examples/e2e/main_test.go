package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// frameworks are the example servers, by folder, with the name each one reports.
var frameworks = []struct{ dir, name string }{
	{"gin", "Gin"},
	{"fiber", "Fiber"},
	{"nethttp", "net/http"},
}

const modulePath = "github.com/gatehouse-auth/gatehouse/examples/"

var (
	binDir    string
	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-examples-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary returns the path of an example server, building all three the first time,
// in one go build (with -race when this test binary has it).
func binary(t *testing.T, fw string) string {
	t.Helper()
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		args := []string{"build", "-o", binDir + string(filepath.Separator)}
		if raceEnabled {
			args = append(args, "-race")
		}
		for _, f := range frameworks {
			args = append(args, modulePath+f.dir)
		}
		start := time.Now()
		out, err := exec.Command(goBin, args...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		fmt.Fprintf(os.Stderr, "e2e: built the example servers (race=%v) in %v\n", raceEnabled, time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, fw)
}

// forEach runs fn for each framework, in parallel subtests.
func forEach(t *testing.T, fn func(t *testing.T, fw, name string)) {
	for _, f := range frameworks {
		t.Run(f.dir, func(t *testing.T) {
			t.Parallel()
			fn(t, f.dir, f.name)
		})
	}
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lockedBuffer is an io.Writer safe for the process's output copier and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// server is an example server process.
type server struct {
	t      *testing.T
	fw     string
	url    string // the public URL, from the line the server prints
	dir    string
	env    map[string]string
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	ready  chan string // the URL printed
	done   chan struct{}
	exit   int
}

// serverEnv is the environment of a server: this process's, without any variable of
// the contract, plus env.
func serverEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GATEHOUSE_") || strings.HasPrefix(k, "GOOGLE_CLIENT_") || strings.HasPrefix(k, "OIDC_") {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// launch starts a server in dir with env and does not wait for it.
func launch(t *testing.T, fw, dir string, env map[string]string) *server {
	t.Helper()
	s := &server{t: t, fw: fw, dir: dir, env: env, stdout: &lockedBuffer{}, stderr: &lockedBuffer{},
		ready: make(chan string, 1), done: make(chan struct{})}
	s.cmd = exec.Command(binary(t, fw))
	s.cmd.Dir = dir
	s.cmd.Env = serverEnv(env)
	s.cmd.Stderr = s.stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			s.stdout.Write([]byte(line + "\n"))
			if _, after, ok := strings.Cut(line, ": open "); ok {
				select {
				case s.ready <- strings.TrimSuffix(strings.TrimSuffix(after, " in a browser"), "/"):
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
		err := s.cmd.Wait()
		s.exit = s.cmd.ProcessState.ExitCode()
		if ee, ok := err.(*exec.ExitError); ok && !ee.Exited() {
			s.exit = -1 // killed by a signal
		}
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			s.cmd.Process.Kill()
			<-s.done
		}
		if strings.Contains(s.stderr.String(), "DATA RACE") {
			t.Errorf("%s: the server reported a data race:\n%s", fw, s.stderr)
		} else if t.Failed() {
			t.Logf("%s server stderr:\n%s", fw, s.stderr)
		}
	})
	return s
}

// start launches a server with env in a new temporary directory (its working
// directory, where the default store file lands) on a free loopback port unless env
// names GATEHOUSE_ADDR, and waits until it serves.
func start(t *testing.T, fw string, env map[string]string) *server {
	t.Helper()
	return startIn(t, fw, t.TempDir(), env)
}

func startIn(t *testing.T, fw, dir string, env map[string]string) *server {
	t.Helper()
	e := map[string]string{}
	for k, v := range env {
		e[k] = v
	}
	if e["GATEHOUSE_ADDR"] == "" {
		e["GATEHOUSE_ADDR"] = freeAddr(t)
	}
	s := launch(t, fw, dir, e)
	s.await()
	return s
}

// await waits until a launched server serves, and sets its URL.
func (s *server) await() {
	s.t.Helper()
	select {
	case s.url = <-s.ready:
	case <-s.done:
		s.t.Fatalf("%s exited with %d before serving:\n%s", s.fw, s.exit, s.stderr)
	case <-time.After(60 * time.Second):
		s.t.Fatalf("%s did not start within 60s:\n%s", s.fw, s.stderr)
	}
}

// stop sends SIGTERM and returns the exit code once the server has stopped.
func (s *server) stop() int {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		s.t.Fatalf("%s did not stop within 20s of SIGTERM:\n%s", s.fw, s.stderr)
	}
	return s.exit
}

// kill sends SIGKILL and waits for the process to be gone.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

// run starts a server that is expected to exit at once, and returns its exit code and
// output.
func run(t *testing.T, fw, dir string, env map[string]string) (code int, stdout, stderr string) {
	t.Helper()
	bin := binary(t, fw) // built before the clock starts
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Dir = dir
	cmd.Env = serverEnv(env)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not exit within 30s; stderr:\n%s", fw, errb.String())
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// repoRoot is the repository's root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
