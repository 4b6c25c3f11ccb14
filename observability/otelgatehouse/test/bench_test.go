package test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gatehouse-auth/gatehouse/observability/otelgatehouse"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkAuthenticate is what the OpenTelemetry instrumentation adds to a request
// with a reused token, against the real SDK: none (no hook, a bare store), otel (the
// events hook and the measured store: a counter and a histogram), and otel+span (the
// same inside a recording request span, as under otelhttp: the request span gets an
// attribute), and otel+timing (otel with WithRevocationCheckTiming: the revocation
// check timed too).
func BenchmarkAuthenticate(b *testing.B) {
	for _, mode := range []string{"none", "otel", "otel+span", "otel+timing"} {
		b.Run(mode, func(b *testing.B) {
			tel := newTelemetry(b)
			tel.tp = sdktrace.NewTracerProvider() // spans recorded, then dropped: no recorder growing
			defer tel.tp.Shutdown(context.Background())
			var store core.Store = memstore.New()
			defer store.Close()
			opts := []core.Option{core.WithHMACSecret([]byte("0123456789abcdef0123456789abcdef")), core.WithLogger(slog.New(slog.DiscardHandler))}
			if mode != "none" {
				oo := []otelgatehouse.Option{otelgatehouse.WithMeterProvider(tel.mp), otelgatehouse.WithTracerProvider(tel.tp)}
				if mode == "otel+timing" {
					oo = append(oo, otelgatehouse.WithRevocationCheckTiming())
				}
				in, err := otelgatehouse.New(oo...)
				if err != nil {
					b.Fatal(err)
				}
				store = in.Store(store)
				opts = append(opts, in.Options()...)
			}
			a, err := core.New(store, opts...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			tk, err := a.Issue(ctx, core.Identity{Subject: "s1"}, core.Client{})
			if err != nil {
				b.Fatal(err)
			}
			if mode == "otel+span" {
				c, s := tel.tp.Tracer("bench").Start(ctx, "request")
				defer s.End()
				ctx = c
			}
			if _, err := a.Authenticate(ctx, tk.AccessToken); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(ctx, tk.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
