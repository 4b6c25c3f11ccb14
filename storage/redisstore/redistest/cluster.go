package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MissingCLI is the reason StartCluster and LaunchCluster give when redis-cli, which
// joins the nodes into a cluster, is not installed.
const MissingCLI = "redis-cli not found: `make test` checks for it (Debian package redis-tools, " +
	"which redis-server depends on)"

// ErrMissingCLI is the error of LaunchCluster when redis-cli is not installed.
var ErrMissingCLI = errors.New(MissingCLI)

// clusterConf is the configuration every node of a cluster adds to baseConf. A node
// that stops answering is marked failed after cluster-node-timeout; the nodes of a
// test have no replicas, so the cluster then refuses every command until it is back.
var clusterConf = []string{
	"cluster-enabled yes",
	"cluster-config-file nodes.conf", // in the node's own directory
	"cluster-node-timeout 5000",
}

// Cluster is a Redis Cluster of a test: masters without replicas, each a Server with
// its own port, cluster bus port and directory.
//
//	c := redistest.StartCluster(t, 3) // killed when t ends
//	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
//
//	c.Servers[1].Kill()      // one master crashes: its slots fail
//	c.Servers[1].Restart()   // back with its nodes.conf (and data, if persistent)
//	err := c.WaitOK(ctx)     // every node says cluster_state:ok again
type Cluster struct {
	// Servers are the masters, in the order of their slot ranges: the first holds
	// slot 0.
	Servers []*Server
}

// StartCluster starts a cluster of n masters for t, each in a directory of t.TempDir,
// joins them with redis-cli --cluster create, waits until every node says
// cluster_state:ok, and kills them when t ends. conf lines are added to the
// configuration of every node. Without redis-server or redis-cli it skips t (fails it
// when CI is set), as Start does.
func StartCluster(t testing.TB, n int, conf ...string) *Cluster {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		SkipOrFail(t, Missing)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		SkipOrFail(t, MissingCLI)
	}
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = t.TempDir()
	}
	c, err := launchCluster(bin, cli, dirs, conf)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(c.Kill)
	return c
}

// LaunchCluster is StartCluster outside of a test, for a TestMain, in new temporary
// directories; Close kills the nodes and removes the directories. Without
// redis-server it returns ErrMissing, without redis-cli ErrMissingCLI.
func LaunchCluster(n int, conf ...string) (*Cluster, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrMissing
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, ErrMissingCLI
	}
	dirs := make([]string, n)
	for i := range dirs {
		if dirs[i], err = os.MkdirTemp("", "gatehouse-redis-cluster-"); err != nil {
			for _, d := range dirs[:i] {
				os.RemoveAll(d)
			}
			return nil, err
		}
	}
	c, err := launchCluster(bin, cli, dirs, conf)
	if err != nil {
		for _, d := range dirs {
			os.RemoveAll(d)
		}
		return nil, err
	}
	return c, nil
}

func launchCluster(bin, cli string, dirs, conf []string) (*Cluster, error) {
	if len(dirs) < 3 {
		return nil, fmt.Errorf("a Redis Cluster needs 3 masters at least, not %d", len(dirs))
	}
	c := &Cluster{}
	conf = slices.Concat(clusterConf, conf)
	for _, dir := range dirs {
		s, err := launchNode(bin, dir, conf, true)
		if err != nil {
			c.Kill()
			return nil, err
		}
		c.Servers = append(c.Servers, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		c.Kill()
		return nil, fmt.Errorf("redis-cli --cluster create: %v:\n%s", err, out)
	}
	if err := c.WaitOK(ctx); err != nil {
		c.Kill()
		return nil, fmt.Errorf("%v\nredis-cli --cluster create said:\n%s", err, out)
	}
	return c, nil
}

// Addrs returns the host:port of every master, in the order of Servers.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		addrs[i] = s.Addr
	}
	return addrs
}

// WaitOK waits until every node that runs says cluster_state:ok, knows every other
// node and sees every slot served, or ctx ends.
func (c *Cluster) WaitOK(ctx context.Context) error {
	want := map[string]string{
		"cluster_state":          "ok",
		"cluster_slots_ok":       "16384",
		"cluster_known_nodes":    strconv.Itoa(len(c.Servers)),
		"cluster_slots_assigned": "16384",
	}
	var last error
	for {
		last = nil
		for _, s := range c.Servers {
			if !s.running() {
				continue
			}
			info, err := command(s.Addr, "CLUSTER", "INFO")
			if err != nil {
				last = fmt.Errorf("%s: CLUSTER INFO: %w", s.Addr, err)
				break
			}
			fields := map[string]string{}
			for _, line := range strings.Split(info, "\n") {
				if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
					fields[k] = v
				}
			}
			for k, v := range want {
				if fields[k] != v {
					last = fmt.Errorf("%s: %s is %q, want %q", s.Addr, k, fields[k], v)
					break
				}
			}
			if last != nil {
				break
			}
		}
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the cluster is not ok: %w", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill kills every node.
func (c *Cluster) Kill() {
	for _, s := range c.Servers {
		s.Kill()
	}
}

// Close kills every node and removes their directories.
func (c *Cluster) Close() {
	for _, s := range c.Servers {
		s.Close()
	}
}

// running reports whether the server's process runs.
func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// command sends one command in the Redis protocol and returns its reply: a status,
// an integer or a bulk string, as text.
func command(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("unexpected reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}
