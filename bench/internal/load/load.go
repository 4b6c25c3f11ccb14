// Package load measures requests per second over loopback: a server in a child
// process, pinned to one CPU with GOMAXPROCS=1, and a client in this process on
// another CPU keeping 32 keep-alive connections busy, one request at a time on each.
package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stacks are the servers compared: each framework bare and with gatehouse's Require,
// in pairs (see Compare).
var Stacks = []string{"gin", "gin+gatehouse", "fiber", "fiber+gatehouse"}

// envServe names the stack a child process serves (see MaybeServe).
const envServe = "GATEHOUSE_BENCH_SERVE"

// Conns is how many keep-alive connections the client keeps busy.
const Conns = 32

// Pinning reports whether servers and client can be put on CPUs of their own.
func Pinning() bool {
	_, err := exec.LookPath("taskset")
	return err == nil && runtime.NumCPU() >= 2
}

// Server is a running child server.
type Server struct {
	Stack string
	Addr  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// Start runs the stack in a child process (this executable, which must call
// MaybeServe first thing in main) with GOMAXPROCS=1, on CPU 0 when Pinning.
func Start(stack string) (*Server, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var cmd *exec.Cmd
	if Pinning() {
		cmd = exec.Command("taskset", "-c", "0", exe)
	} else {
		cmd = exec.Command(exe)
	}
	cmd.Env = append(os.Environ(), envServe+"="+stack, "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Stack: stack, cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("server %s did not start: %w", stack, err)
	}
	s.Addr = strings.TrimSpace(line)
	go io.Copy(io.Discard, stdout) //nolint:errcheck // drained until the child exits
	return s, nil
}

// Stop ends the child: it exits when its stdin closes; it is killed if it has not
// within a few seconds.
func (s *Server) Stop() error {
	s.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		return <-done
	}
}

// CPU is the CPU time the server has used, summed over its threads, from Linux's
// /proc/PID/task/*/schedstat (nanoseconds on a CPU); 0 elsewhere. Under taskset the
// server is a child of taskset's exec, the same process.
func (s *Server) CPU() time.Duration {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/schedstat", s.cmd.Process.Pid, t.Name()))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			continue
		}
		ns, _ := strconv.ParseInt(f[0], 10, 64)
		total += time.Duration(ns)
	}
	return total
}

// PinClient puts every thread of this process on the CPUs given as taskset's list
// (say "1", or "0-1" to undo), for the client side of a measurement. Threads started
// later inherit the mask.
func PinClient(cpus string) error {
	out, err := exec.Command("taskset", "-a", "-p", "-c", cpus, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset: %v: %s", err, out)
	}
	return nil
}

// Result is one load run.
type Result struct {
	Requests int
	Elapsed  time.Duration
	// ServerCPU is the CPU time the server used meanwhile, all its threads (0 where
	// unknown).
	ServerCPU time.Duration
}

// PerSecond is the throughput.
func (r Result) PerSecond() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// PerCPUSecond is the requests served per second of the server's CPU time: what one
// CPU would serve fully busy, whether or not the client kept it busy, and whatever
// else ran on the machine.
func (r Result) PerCPUSecond() float64 {
	if r.ServerCPU == 0 {
		return 0
	}
	return float64(r.Requests) / r.ServerCPU.Seconds()
}

// Busy is the share of the wall-clock time the server was on a CPU.
func (r Result) Busy() float64 { return r.ServerCPU.Seconds() / r.Elapsed.Seconds() }

// Drive keeps conns keep-alive connections to addr busy with GET / carrying the
// Authorization header, one request at a time on each, for warm then d, and counts
// the 200 answers of the last d. Any other answer is an error.
func Drive(addr, authorization string, conns int, warm, d time.Duration, serverCPU func() time.Duration) (Result, error) {
	if serverCPU == nil {
		serverCPU = func() time.Duration { return 0 }
	}
	req := []byte("GET / HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: gatehouse-bench-load\r\nAccept: */*\r\n" +
		"Authorization: " + authorization + "\r\n\r\n")
	var (
		count  atomic.Int64
		stop   atomic.Bool
		failed atomic.Value
		wg     sync.WaitGroup
	)
	cs := make([]net.Conn, 0, conns)
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			for _, c := range cs {
				c.Close()
			}
			return Result{}, err
		}
		cs = append(cs, c)
	}
	for _, c := range cs {
		wg.Go(func() {
			br := bufio.NewReaderSize(c, 4096)
			for !stop.Load() {
				if _, err := c.Write(req); err != nil {
					if !stop.Load() {
						failed.Store(err)
					}
					return
				}
				if err := readResponse(br); err != nil {
					if !stop.Load() {
						failed.Store(err)
					}
					return
				}
				count.Add(1)
			}
		})
	}
	time.Sleep(warm)
	start, n0, cpu0 := time.Now(), count.Load(), serverCPU()
	time.Sleep(d)
	r := Result{Requests: int(count.Load() - n0), Elapsed: time.Since(start)}
	r.ServerCPU = serverCPU() - cpu0
	stop.Store(true)
	for _, c := range cs {
		c.Close()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return r, err
	}
	return r, nil
}

var errStatus = errors.New("answer is not 200")

// readResponse reads one response, which must be a 200 with a Content-Length.
func readResponse(br *bufio.Reader) error {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("%w: %q", errStatus, bytes.TrimSpace(line))
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) <= 2 {
			break
		}
		if len(line) > 15 && bytes.EqualFold(line[:15], []byte("content-length:")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(line[15:]))); err != nil {
				return err
			}
		}
	}
	if length < 0 {
		return errors.New("answer without Content-Length")
	}
	_, err = br.Discard(length)
	return err
}
