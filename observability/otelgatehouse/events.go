package otelgatehouse

import (
	"context"
	"errors"

	"github.com/gatehouse-auth/gatehouse/core"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys set on spans.
const (
	// ResultKey is the outcome of the operation a span stands for (a core.Result*
	// value).
	ResultKey = attribute.Key("gatehouse.result")
	// AuthResultKey is set on the request's span by an authentication.
	AuthResultKey = attribute.Key("gatehouse.authentication.result")
	// ProviderKey is the provider of a sign-in.
	ProviderKey = attribute.Key("gatehouse.provider")
	// ErrorKey is the OAuth error code (or "store_unavailable", "rate_limited") of a
	// failed operation.
	ErrorKey = attribute.Key("gatehouse.error")
)

// Events is the hook for core.WithEvents: it counts each event and notes its result on
// the span of the context it comes with. It reads only the event's type, result and
// provider: never its subject, session id or error text.
func (in *Instrumentation) Events(ctx context.Context, e core.Event) {
	switch e.Type {
	case core.EventAuthenticate:
		in.auths.Add(ctx, 1, labelsOf(in.authSets, e.Result).add...)
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			span.SetAttributes(AuthResultKey.String(known(in.authSets, e.Result)))
		}
		return
	case core.EventSignIn:
		provider := e.Provider
		if provider == "" {
			provider = "unknown"
		}
		result := e.Result
		if result == "" {
			result = "unknown"
		}
		// Provider names are the app's configuration (1-32 of a-z, 0-9, '-', '_'),
		// result a closed set: the label set stays small.
		in.signins.Add(ctx, 1, metric.WithAttributes(attribute.String("provider", provider), attribute.String("result", result)))
		in.note(ctx, ResultKey.String(result), ProviderKey.String(provider))
	case core.EventRefresh, core.EventReuseDetected, core.EventRefreshRefused:
		in.refreshes.Add(ctx, 1, labelsOf(in.refreshSets, e.Result).add...)
		in.note(ctx, ResultKey.String(known(in.refreshSets, e.Result)))
	case core.EventLogout, core.EventLogoutAll:
		in.logouts.Add(ctx, 1)
	case core.EventRevoke:
		in.revokes.Add(ctx, 1)
	case core.EventSessionEvicted:
		in.evicted.Add(ctx, 1)
	case core.EventRateLimited:
		in.limited.Add(ctx, 1)
	}
}

func (in *Instrumentation) note(ctx context.Context, kv ...attribute.KeyValue) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(kv...)
	}
}

// labelsOf is the labels of result, or of "invalid" for a result sets does not know:
// labels stay a closed set whatever a future core reports.
func labelsOf(sets map[string]labels, result string) labels {
	if l, ok := sets[result]; ok {
		return l
	}
	return sets[core.ResultInvalid]
}

// known is result when sets has it, else "invalid".
func known(sets map[string]labels, result string) string {
	if _, ok := sets[result]; ok {
		return result
	}
	return core.ResultInvalid
}

// Tracing is the hook for core.WithTracing: a span gatehouse.<operation> around each
// sign-in callback, refresh, logout, logout everywhere and revocation.
func (in *Instrumentation) Tracing(ctx context.Context, op core.Operation) (context.Context, func(error)) {
	ctx, span := in.tracer.Start(ctx, "gatehouse."+string(op), trace.WithSpanKind(trace.SpanKindInternal))
	return ctx, func(err error) {
		if err != nil {
			code := errorCode(err)
			span.SetAttributes(ErrorKey.String(code))
			span.SetStatus(codes.Error, code)
		}
		span.End()
	}
}

// errorCode names err without its text: the OAuth error code of its HTTP answer, or
// its category where the answer has none.
func errorCode(err error) string {
	switch {
	case errors.Is(err, core.ErrStoreUnavailable):
		return "store_unavailable"
	case errors.Is(err, core.ErrNoToken):
		return "no_token"
	}
	if c := core.ErrorResponse(err).Code; c != "" {
		return c
	}
	return "server_error"
}
