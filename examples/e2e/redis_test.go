package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/storage/storeurl/redistest"
)

// redisServer starts a redis-server of the test's own on a free loopback port, without
// persistence, and returns its address.
func redisServer(t *testing.T) string {
	t.Helper()
	return startRedis(t, "appendonly no").addr
}

// redisProc is a redis-server process of a test: loopback only, protected mode, its
// data in a temporary directory, noeviction. kill and start stop it as a crash would
// and bring it back on the same port and data directory.
type redisProc struct {
	bin, dir, addr string
	conf           []string
	cmd            *exec.Cmd
	done           chan struct{} // closed when cmd has exited
	out            lockedBuffer
}

// startRedis starts a redis-server for t, with conf lines added to its configuration
// (such as "appendonly yes"), and kills it when t ends. Without redis-server the test
// is skipped, naming `make test`, or fails when CI is set.
func startRedis(t *testing.T, conf ...string) *redisProc {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(redistest.Missing)
		}
		t.Skip(redistest.Missing)
	}
	r := &redisProc{bin: bin, dir: t.TempDir(), conf: conf}
	t.Cleanup(r.kill)
	// A free port can be taken between looking and binding: try a few.
	for range 5 {
		r.addr = freeAddr(t)
		if err = r.start(); err == nil {
			return r
		}
	}
	t.Fatal(err)
	return nil
}

// url is the redis:// URL of database 0.
func (r *redisProc) url() string { return "redis://" + r.addr + "/0" }

// start runs redis-server on r's port and data directory and waits until it answers
// PING.
func (r *redisProc) start() error {
	_, port, _ := net.SplitHostPort(r.addr)
	conf := strings.Join(append([]string{
		"port " + port,
		"bind 127.0.0.1",
		"protected-mode yes",
		fmt.Sprintf("dir %q", r.dir),
		`save ""`,
		"maxmemory-policy noeviction",
		"daemonize no",
		`logfile ""`,
	}, r.conf...), "\n") + "\n"
	path := filepath.Join(r.dir, "redis.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return err
	}
	r.cmd = exec.Command(r.bin, path)
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func(cmd *exec.Cmd) { cmd.Wait(); close(done) }(r.cmd)
	r.done = done
	for deadline := time.Now().Add(10 * time.Second); ; {
		err := pingRedis(r.addr)
		if err == nil {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server on %s exited:\n%s", r.addr, r.out.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.kill()
			return fmt.Errorf("redis-server on %s did not answer within 10s (%v):\n%s", r.addr, err, r.out.String())
		}
	}
}

// kill stops the server with SIGKILL, as a crash would, and waits until it is gone.
func (r *redisProc) kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// pingRedis sends PING in the Redis protocol and waits for +PONG.
func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
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
