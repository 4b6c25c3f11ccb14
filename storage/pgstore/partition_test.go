package pgstore_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
)

// A network partition that closes nothing: the instance learns of it when its ping
// goes unanswered, stops trusting its filters, fails while the partition lasts (within
// the caller's deadline: a query waits as long as its context lets it), and recovers
// after it, having missed nothing.
func TestSilentPartition(t *testing.T) {
	ctx := context.Background()
	p := newBlackhole(t, hostPort(t, shared(t)))
	const check = 50 * time.Millisecond
	viaProxy := strings.Replace(shared(t), hostPort(t, shared(t)), p.addr(), 1)
	if strings.Contains(viaProxy, "?") {
		viaProxy += "&connect_timeout=1"
	} else {
		viaProxy += "?connect_timeout=1"
	}
	schema := pgstore.WithSchema(uniqueSchema(t, shared(t)))
	s := newStore(t, newPool(t, viaProxy), schema, pgstore.WithHealthCheck(check))
	other := newStore(t, newPool(t, shared(t)), schema) // an instance on the right side

	p.pause()
	start := time.Now()
	waitFor(t, 10*check, "the partition noticed", func() bool { return !pgstore.FilterTrusted(s) })
	t.Logf("partition noticed after %v (health check %v)", time.Since(start), check)
	must(t, other.RevokeToken(ctx, "jti-during", future)) // announced to no one on s's side
	qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err := s.IsRevoked(qctx, "jti-never", "")
	cancel()
	if !errors.Is(err, core.ErrStoreUnavailable) {
		t.Errorf("IsRevoked during the partition = %v, want %v", err, core.ErrStoreUnavailable)
	}

	p.resume()
	waitFor(t, 5*time.Second, "trusted again after the partition", func() bool { return pgstore.FilterTrusted(s) })
	if ok, err := s.IsRevoked(ctx, "jti-never", ""); err != nil || ok {
		t.Errorf("IsRevoked after the partition = %v, %v", ok, err)
	}
	if ok, err := s.IsRevoked(ctx, "jti-during", ""); err != nil || !ok {
		t.Errorf("IsRevoked of the revocation made during the partition = %v, %v; want true", ok, err)
	}
}

// hostPort returns the host:port of a postgres:// URL.
func hostPort(t *testing.T, url string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(url, "postgres://")
	if !ok {
		t.Skip("not a postgres:// URL: " + url)
	}
	if _, after, ok := strings.Cut(rest, "@"); ok {
		rest = after
	}
	hp, _, _ := strings.Cut(rest, "/")
	return hp
}

// blackhole is a TCP proxy that can stop forwarding without closing anything, as a
// partition does.
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
