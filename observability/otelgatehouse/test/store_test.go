package test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/observability/otelgatehouse"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// TestStoreConformance: the measured store is still a store, by the whole contract.
func TestStoreConformance(t *testing.T) {
	tel := newTelemetry(t)
	in, err := otelgatehouse.New(otelgatehouse.WithMeterProvider(tel.mp), otelgatehouse.WithTracerProvider(tel.tp))
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(t *testing.T) core.Store { return in.Store(memstore.New()) })
}

// downStore fails every call while down is set.
type downStore struct {
	core.Store
	down atomic.Bool
}

var errDisk = errors.New("disk on fire")

func (s *downStore) IsRevoked(ctx context.Context, jti, sid string) (bool, error) {
	if s.down.Load() {
		return false, errDisk
	}
	return s.Store.IsRevoked(ctx, jti, sid)
}

// TestStoreMeasures: each call is timed by operation (IsRevoked with
// WithRevocationCheckTiming); failures are counted, a refused rotation (reuse) is not a
// failure; Migrator survives the wrapping.
func TestStoreMeasures(t *testing.T) {
	tel := newTelemetry(t)
	in, err := otelgatehouse.New(otelgatehouse.WithMeterProvider(tel.mp), otelgatehouse.WithTracerProvider(tel.tp),
		otelgatehouse.WithRevocationCheckTiming())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := in.Store(memstore.New()).(core.Migrator); !ok {
		t.Error("a Migrator is no longer one once measured")
	}
	if _, ok := in.Store(&downStore{Store: memstore.New()}).(core.Migrator); ok {
		t.Error("a store that is no Migrator became one")
	}
	ds := &downStore{Store: memstore.New()}
	a, err := core.New(in.Store(ds), append(in.Options(),
		core.WithHMACSecret([]byte("0123456789abcdef0123456789abcdef")), core.WithLogger(slog.New(slog.DiscardHandler)))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tk, err := a.Issue(ctx, core.Identity{Subject: "s1"}, core.Client{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Refresh(ctx, tk.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Refresh(ctx, tk.RefreshToken); !errors.Is(err, core.ErrRefreshReused) {
		t.Fatalf("reuse: %v", err)
	}
	ds.down.Store(true)
	if _, err := a.Authenticate(ctx, tk.AccessToken); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("store down: %v", err)
	}
	rm := tel.collect(t)
	sums := counters(rm)
	if got := sums["gatehouse.store.errors{operation=is_revoked}"]; got != 1 {
		t.Errorf("is_revoked errors = %d, want 1 (%v)", got, keys(sums))
	}
	if got := sums["gatehouse.store.errors{operation=rotate}"]; got != 0 {
		t.Errorf("rotate errors = %d: a reuse is no store failure", got)
	}
	if got := sums["gatehouse.authentications{result=store_error}"]; got != 1 {
		t.Errorf("authentications store_error = %d, want 1", got)
	}
	ops := histogramOps(rm, "gatehouse.store.operation.duration")
	if ops["rotate"] != 2 || ops["is_revoked"] != 1 || ops["create_session"] != 1 {
		t.Errorf("store latencies by operation %v", ops)
	}
	// The two refreshes and their store calls; Issue and Authenticate run outside any
	// span, and their store calls get none of their own.
	want := []string{"gatehouse.store.session", "gatehouse.store.rotate", "gatehouse.refresh",
		"gatehouse.store.session", "gatehouse.store.rotate", "gatehouse.store.end_session", "gatehouse.refresh"}
	if got := names(tel.spans.Ended()); !slices.Equal(got, want) {
		t.Errorf("spans %v, want %v", got, want)
	}
}

// TestPrometheusNames: through the OpenTelemetry Prometheus exporter, as the example
// servers and the README set it up, the names are the ones examples/README.md promises.
func TestPrometheusNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo(),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes))
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	defer mp.Shutdown(context.Background())
	in, err := otelgatehouse.New(otelgatehouse.WithMeterProvider(mp),
		otelgatehouse.WithRevocationEntries(func(context.Context) (int64, bool) { return 5, true }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, e := range []core.Event{
		{Type: core.EventAuthenticate, Result: core.ResultOK},
		{Type: core.EventAuthenticate, Result: core.ResultNoToken},
		{Type: core.EventSignIn, Provider: "google", Result: core.ResultOK},
		{Type: core.EventRefresh, Result: core.ResultOK},
		{Type: core.EventReuseDetected, Result: core.ResultReuse},
		{Type: core.EventLogout},
		{Type: core.EventRevoke},
		{Type: core.EventRateLimited},
		{Type: core.EventSessionEvicted},
	} {
		in.Events(ctx, e)
	}
	st := in.Store(memstore.New())
	st.Session(ctx, "a")
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	text := b.String()
	for _, want := range []string{
		`gatehouse_authentications_total{result="ok"} 1`,
		`gatehouse_authentications_total{result="no_token"} 1`,
		`gatehouse_signins_total{provider="google",result="ok"} 1`,
		`gatehouse_refreshes_total{result="ok"} 1`,
		`gatehouse_refreshes_total{result="reuse"} 1`,
		`gatehouse_logouts_total 1`,
		`gatehouse_revocations_total 1`,
		`gatehouse_rate_limited_total 1`,
		`gatehouse_sessions_evicted_total 1`,
		`gatehouse_revocation_filter_entries 5`,
		`gatehouse_store_operation_duration_seconds_bucket{operation="session",le="5e-05"}`,
		`gatehouse_store_operation_duration_seconds_count{operation="session"} 1`,
		"# TYPE gatehouse_store_operation_duration_seconds histogram",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in the scrape:\n%s", want, text)
		}
	}
	for _, unwanted := range []string{"otel_scope", "target_info"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("%s in the scrape", unwanted)
		}
	}
}
