package storetest

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
)

// PartitionOptions are what RunSilentPartition needs to know of a store and of the
// network between it and its backend.
type PartitionOptions struct {
	// S is an instance whose every connection to the backend goes through what Cut
	// cuts; Other is an instance of the same store on the same data whose connections
	// Cut leaves alone. Neither holds the token ids jti-never and jti-during.
	S, Other core.Store

	// Trusted reports whether s answers a miss of IsRevoked from its in-memory
	// filters, without asking the backend.
	Trusted func(s core.Store) bool

	// Cut stops the traffic between S and the backend without closing anything, as
	// a partition does; Heal lets it through again.
	Cut, Heal func()

	// HealthCheck is the interval at which S checks its connection to the backend.
	HealthCheck time.Duration

	// CallTimeout, if not 0, is the deadline of the context of the call made on S
	// during the partition, for a store whose calls wait as long as their context lets
	// them. With 0 the call has no deadline: the store's own timeouts must end it.
	CallTimeout time.Duration
}

// RunSilentPartition checks that an instance of a store, S, notices a network
// partition that closes nothing, fails while it lasts and recovers after it, having
// missed nothing:
//
//   - After Cut, S stops trusting its filters within 10 health checks.
//   - A revocation made on Other during the partition is announced to no one on S's
//     side; IsRevoked on S fails with an error matching core.ErrStoreUnavailable
//     (within CallTimeout, if set).
//   - After Heal, S trusts its filters again within 5 s; then IsRevoked on S answers
//     false for an id never revoked and true for the one revoked during the
//     partition, without error.
func RunSilentPartition(t *testing.T, o PartitionOptions) {
	t.Helper()
	ctx := context.Background()
	s := o.S

	o.Cut()
	start := time.Now()
	WaitFor(t, 10*o.HealthCheck, "the partition noticed", func() bool { return !o.Trusted(s) })
	t.Logf("partition noticed after %v (health check %v)", time.Since(start), o.HealthCheck)
	revoke(t, o.Other, "jti-during", time.Now().Add(time.Hour))
	qctx, cancel := ctx, context.CancelFunc(func() {})
	if o.CallTimeout > 0 {
		qctx, cancel = context.WithTimeout(ctx, o.CallTimeout)
	}
	_, err := s.IsRevoked(qctx, "jti-never", "")
	cancel()
	if !errors.Is(err, core.ErrStoreUnavailable) {
		t.Errorf("IsRevoked during the partition = %v, want %v", err, core.ErrStoreUnavailable)
	}

	o.Heal()
	WaitFor(t, 5*time.Second, "trusted again after the partition", func() bool { return o.Trusted(s) })
	if ok, err := s.IsRevoked(ctx, "jti-never", ""); err != nil || ok {
		t.Errorf("IsRevoked after the partition = %v, %v", ok, err)
	}
	if ok, err := s.IsRevoked(ctx, "jti-during", ""); err != nil || !ok {
		t.Errorf("IsRevoked of the revocation made during the partition = %v, %v; want true", ok, err)
	}
}

// Blackhole is a TCP proxy that can stop forwarding without closing anything, as a
// partition does. Its zero value is not usable: NewBlackhole makes one.
type Blackhole struct {
	l      net.Listener
	target string
	paused atomic.Bool

	mu    sync.Mutex
	conns []net.Conn
}

// NewBlackhole returns a proxy to the TCP address target, listening on a loopback
// port of its own, that t closes, with every connection through it, when it ends.
func NewBlackhole(t testing.TB, target string) *Blackhole {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Blackhole{l: l, target: target}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Addr is the host:port the proxy listens on.
func (p *Blackhole) Addr() string { return p.l.Addr().String() }

// Pause stops forwarding: what either side sends is held, and nothing is closed.
func (p *Blackhole) Pause() { p.paused.Store(true) }

// Resume forwards again. A connection that held data during the pause is closed
// instead of delivering it late, as a partition that outlasts TCP's patience ends it.
func (p *Blackhole) Resume() { p.paused.Store(false) }

func (p *Blackhole) serve() {
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
func (p *Blackhole) pipe(src, dst net.Conn) {
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

func (p *Blackhole) close() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}
