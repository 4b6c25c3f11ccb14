package otelgatehouse

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// The operation label of each store method.
const (
	opRevokeToken    = "revoke_token"
	opIsRevoked      = "is_revoked"
	opCreateSession  = "create_session"
	opSession        = "session"
	opSessions       = "sessions"
	opRotate         = "rotate"
	opEndSession     = "end_session"
	opEndSessions    = "end_sessions"
	opLoadOrStoreKey = "load_or_store_key"
	opConsume        = "consume"
	opCount          = "count"
	opPurge          = "purge"
	opExport         = "export"
	opImport         = "import"
)

var storeOps = []string{opRevokeToken, opIsRevoked, opCreateSession, opSession, opSessions, opRotate,
	opEndSession, opEndSessions, opLoadOrStoreKey, opConsume, opCount, opPurge, opExport, opImport}

// OperationKey is the store operation of a span gatehouse.store.<operation>.
const OperationKey = attribute.Key("gatehouse.store.operation")

// Store returns s measured: the latency of every call in gatehouse.store.operation.duration,
// its failures in gatehouse.store.errors, both by operation, and a span per call when
// the call's context carries one (a traced operation or request). IsRevoked, the
// check of every request, answered from memory, gets no span, and is timed only with
// WithRevocationCheckTiming. A store that is a
// core.Migrator stays one. Close is passed through unmeasured. What the store is given
// or returns (ids, sessions, keys) is never recorded.
func (in *Instrumentation) Store(s core.Store) core.Store {
	ms := &measuredStore{in: in, s: s}
	if m, ok := s.(core.Migrator); ok {
		return &measuredMigrator{measuredStore: ms, m: m}
	}
	return ms
}

type measuredStore struct {
	in *Instrumentation
	s  core.Store
}

// call is one measured store call.
type call struct {
	in    *Instrumentation
	op    string
	start time.Time
	span  trace.Span // nil without a parent span
}

func (m *measuredStore) begin(ctx context.Context, op string) (context.Context, call) {
	c := call{in: m.in, op: op, start: time.Now()}
	if trace.SpanContextFromContext(ctx).IsValid() {
		ctx, c.span = m.in.tracer.Start(ctx, "gatehouse.store."+op,
			trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(OperationKey.String(op)))
	}
	return ctx, c
}

// end records the call; ctx is the caller's, so that a canceled request still counts.
func (c call) end(ctx context.Context, err error) {
	l := c.in.opSets[c.op]
	c.in.storeDur.Record(ctx, time.Since(c.start).Seconds(), l.rec...)
	if err != nil {
		c.in.storeErrs.Add(ctx, 1, l.add...)
	}
	if c.span != nil {
		if err != nil {
			c.span.SetStatus(codes.Error, "store error")
		}
		c.span.End()
	}
}

func (m *measuredStore) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	sctx, c := m.begin(ctx, opRevokeToken)
	err := m.s.RevokeToken(sctx, jti, exp)
	c.end(ctx, err)
	return err
}

// IsRevoked gets no span: it runs on every authenticated request and answers from
// memory, and a span would cost more than the call. Its failures are counted; its
// latency only with WithRevocationCheckTiming, for the same reason.
func (m *measuredStore) IsRevoked(ctx context.Context, jti, sid string) (bool, error) {
	if m.in.timeRevoked {
		c := call{in: m.in, op: opIsRevoked, start: time.Now()}
		ok, err := m.s.IsRevoked(ctx, jti, sid)
		c.end(ctx, err)
		return ok, err
	}
	ok, err := m.s.IsRevoked(ctx, jti, sid)
	if err != nil {
		m.in.storeErrs.Add(ctx, 1, m.in.opSets[opIsRevoked].add...)
	}
	return ok, err
}

func (m *measuredStore) CreateSession(ctx context.Context, s *core.Session) error {
	sctx, c := m.begin(ctx, opCreateSession)
	err := m.s.CreateSession(sctx, s)
	c.end(ctx, err)
	return err
}

func (m *measuredStore) Session(ctx context.Context, sid string) (*core.Session, error) {
	sctx, c := m.begin(ctx, opSession)
	s, err := m.s.Session(sctx, sid)
	c.end(ctx, err)
	return s, err
}

func (m *measuredStore) Sessions(ctx context.Context, subject string) ([]*core.Session, error) {
	sctx, c := m.begin(ctx, opSessions)
	ss, err := m.s.Sessions(sctx, subject)
	c.end(ctx, err)
	return ss, err
}

// Rotate counts a refused rotation (reuse, an expired or unknown session) as an
// answer, not as a store failure.
func (m *measuredStore) Rotate(ctx context.Context, r core.Rotation) (*core.Session, error) {
	sctx, c := m.begin(ctx, opRotate)
	s, err := m.s.Rotate(sctx, r)
	c.end(ctx, storeFailure(err))
	return s, err
}

func (m *measuredStore) EndSession(ctx context.Context, sid string) (*core.Session, error) {
	sctx, c := m.begin(ctx, opEndSession)
	s, err := m.s.EndSession(sctx, sid)
	c.end(ctx, err)
	return s, err
}

func (m *measuredStore) EndSessions(ctx context.Context, subject string) ([]*core.Session, error) {
	sctx, c := m.begin(ctx, opEndSessions)
	ss, err := m.s.EndSessions(sctx, subject)
	c.end(ctx, err)
	return ss, err
}

func (m *measuredStore) LoadOrStoreKey(ctx context.Context, name string, value []byte) ([]byte, error) {
	sctx, c := m.begin(ctx, opLoadOrStoreKey)
	v, err := m.s.LoadOrStoreKey(sctx, name, value)
	c.end(ctx, err)
	return v, err
}

func (m *measuredStore) Consume(ctx context.Context, id string, exp time.Time) (bool, error) {
	sctx, c := m.begin(ctx, opConsume)
	first, err := m.s.Consume(sctx, id, exp)
	c.end(ctx, err)
	return first, err
}

func (m *measuredStore) Count(ctx context.Context, key string, add int, now time.Time, window time.Duration) (int, time.Time, error) {
	sctx, c := m.begin(ctx, opCount)
	n, end, err := m.s.Count(sctx, key, add, now, window)
	c.end(ctx, err)
	return n, end, err
}

func (m *measuredStore) Purge(ctx context.Context, now time.Time) (int, error) {
	sctx, c := m.begin(ctx, opPurge)
	n, err := m.s.Purge(sctx, now)
	c.end(ctx, err)
	return n, err
}

func (m *measuredStore) Close() error { return m.s.Close() }

// Unwrap returns the measured store, for code that needs its own methods (Stats,
// Compact, …).
func (m *measuredStore) Unwrap() core.Store { return m.s }

type measuredMigrator struct {
	*measuredStore
	m core.Migrator
}

func (m *measuredMigrator) Export(ctx context.Context, fn func(core.Entry) error) error {
	sctx, c := m.begin(ctx, opExport)
	err := m.m.Export(sctx, fn)
	c.end(ctx, err)
	return err
}

func (m *measuredMigrator) Import(ctx context.Context, entries []core.Entry) error {
	sctx, c := m.begin(ctx, opImport)
	err := m.m.Import(sctx, entries)
	c.end(ctx, err)
	return err
}

// storeFailure is err unless it is one of Rotate's documented refusals.
func storeFailure(err error) error {
	if errors.Is(err, core.ErrInvalidGrant) && !errors.Is(err, core.ErrStoreUnavailable) {
		return nil
	}
	return err
}
