package otelgatehouse

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/core"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/gatehouse-auth/gatehouse/observability/otelgatehouse"

// Option configures New.
type Option func(*config)

type config struct {
	mp          metric.MeterProvider
	tp          trace.TracerProvider
	entries     func(context.Context) (int64, bool)
	timeRevoked bool
}

// WithMeterProvider sets where the metrics go (default: otel.GetMeterProvider()).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithTracerProvider sets where the spans go (default: otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithRevocationEntries adds the gauge gatehouse.revocation_filter.entries, read from
// entries at each collection; entries reports false when it has nothing to say (the
// store is closed, say). core.Store has no method for it: pass what the app's store
// reports, such as boltstore's Stats().RevokedTokens + RevokedSessions.
func WithRevocationEntries(entries func(context.Context) (int64, bool)) Option {
	return func(c *config) { c.entries = entries }
}

// WithRevocationCheckTiming also times Store.IsRevoked, the revocation check of every
// authenticated request, in gatehouse.store.operation.duration{operation="is_revoked"}.
// It is off by default: the check answers from memory in tens of nanoseconds, and
// timing it (two clock reads and a histogram update) costs more than the call, about
// 0.3-0.5 µs per request on a small VM. Its failures are counted either way.
func WithRevocationCheckTiming() Option {
	return func(c *config) { c.timeRevoked = true }
}

// Instrumentation turns one core.Auth's events, operations, store calls and provider
// round trips into metrics and spans. Build it with New; it is safe for concurrent use.
type Instrumentation struct {
	tracer trace.Tracer
	tp     trace.TracerProvider
	mp     metric.MeterProvider

	auths     metric.Int64Counter
	signins   metric.Int64Counter
	refreshes metric.Int64Counter
	logouts   metric.Int64Counter
	revokes   metric.Int64Counter
	evicted   metric.Int64Counter
	limited   metric.Int64Counter
	storeDur  metric.Float64Histogram
	storeErrs metric.Int64Counter
	reg       metric.Registration // the gauge's callback, nil without one

	timeRevoked bool // WithRevocationCheckTiming

	// The attribute sets of the closed label values, built once, as the option
	// slices the instruments take: the hooks run on the request path and allocate
	// nothing for them.
	authSets    map[string]labels
	refreshSets map[string]labels
	opSets      map[string]labels
}

// labels is one attribute set, as the options of Add and of Record.
type labels struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

// storeBuckets are the bounds of the store latency histogram, in seconds: from 50 µs
// (an answer from memory) to 10 s (a store about to time out).
var storeBuckets = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// New returns an Instrumentation over the given or the global providers.
func New(opts ...Option) (*Instrumentation, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	in := &Instrumentation{tp: c.tp, mp: c.mp, tracer: c.tp.Tracer(ScopeName), timeRevoked: c.timeRevoked}
	m := c.mp.Meter(ScopeName)
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		ctr, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return ctr
	}
	in.auths = counter("gatehouse.authentications", "{authentication}", "Authentications of access tokens, by result.")
	in.signins = counter("gatehouse.signins", "{signin}", "Sign-in callbacks, by provider and result.")
	in.refreshes = counter("gatehouse.refreshes", "{refresh}", "Refresh requests, by result; reuse is a replayed refresh token, its session ended.")
	in.logouts = counter("gatehouse.logouts", "{logout}", "Sessions ended by logout, and logouts everywhere.")
	in.revokes = counter("gatehouse.revocations", "{revocation}", "Access tokens revoked alone (RFC 7009).")
	in.evicted = counter("gatehouse.sessions.evicted", "{session}", "Sessions ended because their user started more than the cap allows.")
	in.limited = counter("gatehouse.rate_limited", "{request}", "Requests refused by the per-IP rate limit (429).")
	in.storeErrs = counter("gatehouse.store.errors", "{error}", "Store calls that failed, by operation.")
	var err error
	in.storeDur, err = m.Float64Histogram("gatehouse.store.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("Latency of store calls, by operation."), metric.WithExplicitBucketBoundaries(storeBuckets...))
	errs = append(errs, err)
	if c.entries != nil {
		g, err := m.Int64ObservableGauge("gatehouse.revocation_filter.entries", metric.WithUnit("{entry}"),
			metric.WithDescription("Revocations held by the store's in-memory filter."))
		errs = append(errs, err)
		if err == nil {
			in.reg, err = m.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
				if n, ok := c.entries(ctx); ok {
					o.ObserveInt64(g, n)
				}
				return nil
			}, g)
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("otelgatehouse: %w", err)
	}
	in.authSets = sets("result", core.ResultOK, core.ResultNoToken, core.ResultInvalid, core.ResultExpired,
		core.ResultRevoked, core.ResultForbidden, core.ResultStoreError)
	in.refreshSets = sets("result", core.ResultOK, core.ResultReuse, core.ResultInvalid, core.ResultExpired, core.ResultStoreError)
	in.opSets = sets("operation", storeOps...)
	return in, nil
}

func sets(key string, values ...string) map[string]labels {
	m := make(map[string]labels, len(values))
	for _, v := range values {
		o := metric.WithAttributeSet(attribute.NewSet(attribute.String(key, v)))
		m[v] = labels{add: []metric.AddOption{o}, rec: []metric.RecordOption{o}}
	}
	return m
}

// Options returns the core options that feed the Instrumentation: WithEvents with
// Events, WithTracing with Tracing, and WithProviderTransport with Transport(nil). Pass
// them after any WithEvents of the app's own, which they would replace (or call Events
// from the app's hook).
func (in *Instrumentation) Options() []core.Option {
	return []core.Option{
		core.WithEvents(in.Events),
		core.WithTracing(in.Tracing),
		core.WithProviderTransport(in.Transport(nil)),
	}
}

// Close stops the gauge's callback. The counters need nothing.
func (in *Instrumentation) Close() error {
	if in.reg == nil {
		return nil
	}
	return in.reg.Unregister()
}

// Transport returns otelhttp's transport over base (nil: http.DefaultTransport), with
// the Instrumentation's providers, for core.WithProviderTransport: each round trip to
// an identity provider becomes a client span, a child of the sign-in's span.
func (in *Instrumentation) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(in.tp),
		otelhttp.WithMeterProvider(in.mp),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return "gatehouse.provider " + r.Method
		}),
	)
}
