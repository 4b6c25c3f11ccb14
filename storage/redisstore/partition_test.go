package redisstore_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/redis/go-redis/v9"
)

// A quiet subscription is kept by its pings, not mistaken for a lost one.
func TestQuietSubscriptionStaysTrusted(t *testing.T) {
	c := newClient(t, shared(t))
	s := newStore(t, c, redisstore.WithPrefix(uniquePrefix(t, c)), redisstore.WithHealthCheck(time.Second))
	gen := redisstore.Generation(s)
	// Three health checks without a message. The pong must come within one check: with
	// checks of 100 ms, a 2-core machine running the whole suite under -race missed it.
	time.Sleep(3500 * time.Millisecond)
	if g := redisstore.Generation(s); g != gen || !redisstore.FilterTrusted(s) {
		t.Errorf("after three and a half quiet seconds: generation %d → %d, trusted %v; want unchanged and trusted",
			gen, g, redisstore.FilterTrusted(s))
	}
}

// A network partition that closes nothing: the instance learns of it when its ping
// goes unanswered, stops trusting its filters, fails while the partition lasts, and
// recovers after it.
func TestSilentPartition(t *testing.T) {
	ctx := context.Background()
	p := newBlackhole(t, shared(t))
	const check = 50 * time.Millisecond
	c := redis.NewClient(&redis.Options{Addr: p.addr(), ReadTimeout: 200 * time.Millisecond,
		WriteTimeout: 200 * time.Millisecond, DialTimeout: 200 * time.Millisecond, DialerRetries: 1, MaxRetries: 1})
	t.Cleanup(func() { c.Close() })
	s := newStore(t, c, redisstore.WithPrefix(uniquePrefix(t, newClient(t, shared(t)))), redisstore.WithHealthCheck(check))

	p.pause()
	start := time.Now()
	waitFor(t, 10*check, "the partition noticed", func() bool { return !redisstore.FilterTrusted(s) })
	t.Logf("partition noticed after %v (health check %v)", time.Since(start), check)
	if _, err := s.IsRevoked(ctx, "jti-never", ""); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Errorf("IsRevoked during the partition = %v, want %v", err, core.ErrStoreUnavailable)
	}

	p.resume()
	waitFor(t, 5*time.Second, "trusted again after the partition", func() bool { return redisstore.FilterTrusted(s) })
	if ok, err := s.IsRevoked(ctx, "jti-never", ""); err != nil || ok {
		t.Errorf("IsRevoked after the partition = %v, %v", ok, err)
	}
}

// blackhole is a TCP proxy to a Redis that can stop forwarding without closing
// anything, as a partition does.
type blackhole struct {
	l      net.Listener
	target string
	paused atomic.Bool

	mu    sync.Mutex
	conns []net.Conn
}

func newBlackhole(t *testing.T, target string) *blackhole {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &blackhole{l: l, target: target}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *blackhole) addr() string { return p.l.Addr().String() }
func (p *blackhole) pause()       { p.paused.Store(true) }
func (p *blackhole) resume()      { p.paused.Store(false) }

func (p *blackhole) serve() {
	for {
		in, err := p.l.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

// pipe copies src to dst, holding what it reads while the proxy is paused. A
// connection that was open during a pause is dropped after it, as a real partition
// outlasting TCP's patience would: what was held is not delivered late.
func (p *blackhole) pipe(src, dst net.Conn) {
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			held := false
			for p.paused.Load() {
				held = true
				time.Sleep(time.Millisecond)
			}
			if held {
				src.Close()
				dst.Close()
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				src.Close()
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				src.Close()
			}
			dst.Close()
			return
		}
	}
}

func (p *blackhole) close() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
