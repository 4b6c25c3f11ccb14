package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/observability/otelgatehouse"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// MetricsAddrVar names the variable of the address /metrics is served on.
const MetricsAddrVar = "GATEHOUSE_METRICS_ADDR"

// ReadyTimeout bounds the store call of GET /readyz: a store slower than this is not
// ready.
const ReadyTimeout = 2 * time.Second

// loadMetricsAddr reads GATEHOUSE_METRICS_ADDR: "" (off) or host:port.
func loadMetricsAddr(getenv func(string) string) (string, error) {
	addr := strings.TrimSpace(getenv(MetricsAddrVar))
	if addr == "" {
		return "", nil
	}
	_, port, err := net.SplitHostPort(addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return "", &ConfigError{Var: MetricsAddrVar, Msg: fmt.Sprintf("%q is not host:port, such as 127.0.0.1:9464", addr)}
	}
	return addr, nil
}

// observability is what serves /metrics: the OpenTelemetry SDK's meter provider over
// the Prometheus exporter, gatehouse's instrumentation, and their listener.
type observability struct {
	mp  *sdkmetric.MeterProvider
	in  *otelgatehouse.Instrumentation
	ln  net.Listener
	srv *http.Server
}

// observe sets up /metrics when GATEHOUSE_METRICS_ADDR is set: it opens its listener,
// measures a.store (the unmeasured one stays a.probe, for /readyz) and returns the core
// options that report to the instrumentation. Without the variable it returns none.
func (a *App) observe(addr string) ([]core.Option, error) {
	a.probe = a.store
	if addr == "" {
		return nil, nil
	}
	reg := prometheus.NewRegistry()
	// The names examples/README.md promises (gatehouse_authentications_total, …_seconds):
	// Prometheus-style translation, explicitly, whatever the default of the day; no
	// scope labels or target_info on every scrape.
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo(),
		otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes))
	if err != nil {
		return nil, err
	}
	o := &observability{mp: sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))}
	opts := []otelgatehouse.Option{otelgatehouse.WithMeterProvider(o.mp)}
	if bs, ok := a.store.(*boltstore.Store); ok {
		opts = append(opts, otelgatehouse.WithRevocationEntries(func(context.Context) (int64, bool) {
			st := bs.Stats()
			return int64(st.RevokedTokens + st.RevokedSessions), true
		}))
	}
	if o.in, err = otelgatehouse.New(opts...); err != nil {
		o.mp.Shutdown(context.Background())
		return nil, err
	}
	if o.ln, err = net.Listen("tcp", addr); err != nil {
		o.mp.Shutdown(context.Background())
		return nil, fmt.Errorf("%s: %w", MetricsAddrVar, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	o.srv = &http.Server{Handler: mux, ReadHeaderTimeout: HeaderTimeout, ReadTimeout: ReadTimeout,
		WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout, MaxHeaderBytes: MaxHeaderBytes - netHTTPSlack}
	go func() {
		if err := o.srv.Serve(o.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics server", "err", err)
		}
	}()
	a.obs = o
	a.store = o.in.Store(a.store)
	return o.in.Options(), nil
}

// MetricsAddr is the address /metrics is served on, "" when it is not.
func (a *App) MetricsAddr() string {
	if a.obs == nil {
		return ""
	}
	return a.obs.ln.Addr().String()
}

// closeObservability stops serving /metrics.
func (a *App) closeObservability(ctx context.Context) {
	if a.obs == nil {
		return
	}
	a.obs.srv.Shutdown(ctx)
	a.obs.in.Close()
	a.obs.mp.Shutdown(ctx)
}

// Healthy is the answer of GET /healthz: 200 while the process serves.
func (a *App) Healthy() (int, map[string]any) {
	return http.StatusOK, map[string]any{"status": "ok"}
}

// Ready is the answer of GET /readyz: 200 when the store answers a read within
// ReadyTimeout, 503 with Retry-After when it does not. The read is a session look-up
// by an id no session has: one round trip to Redis or PostgreSQL, one read
// transaction on bbolt.
func (a *App) Ready(ctx context.Context) (int, map[string]any) {
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	if _, err := a.probe.Session(ctx, "readyz-probe"); err != nil {
		a.log.WarnContext(ctx, "not ready: the store does not answer", "err", err)
		return http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "store": "down"}
	}
	return http.StatusOK, map[string]any{"status": "ok", "store": "up"}
}

// RequestIDHeader is the header that carries a request's id, in and out.
const RequestIDHeader = "X-Request-ID"

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// NewRequestID returns a random request id.
func NewRequestID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// RequestID returns the client's request id if it is a plain one (1 to 64 letters,
// digits, '.', '_', '-'), else a new one: what goes into the logs is never raw input.
func RequestID(fromClient string) string {
	if requestIDRE.MatchString(fromClient) {
		return fromClient
	}
	return NewRequestID()
}

type requestIDKey struct{}

// BeginRequest returns ctx carrying the request's id, from the client's X-Request-ID
// (see RequestID), and the id, for the answer's X-Request-ID.
func BeginRequest(ctx context.Context, fromClient string) (context.Context, string) {
	id := RequestID(fromClient)
	return WithRequestID(ctx, id), id
}

// WithRequestID returns ctx carrying the request's id, which every log line written
// with ctx (gatehouse's included) then shows as request_id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// LogRequest writes the log line of a finished request that was refused or failed
// (status 400 and up; 5xx at level WARN): method, path (never the query, which
// carries codes and states), status, duration and request id. Successful requests and
// the health probes, polled every few seconds, write none: the metrics count them.
func (a *App) LogRequest(ctx context.Context, method, path string, status int, took time.Duration) {
	if status < 400 || path == "/healthz" || path == "/readyz" {
		return
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	a.log.Log(ctx, level, "request", "method", method, "path", path, "status", status,
		"duration_ms", float64(took.Microseconds())/1000)
}

// HTTPMiddleware gives each request of a net/http server its request id (the
// client's X-Request-ID if plain, else a new one, echoed in the answer) and, when it
// is refused or fails, its log line (LogRequest).
func (a *App) HTTPMiddleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, id := BeginRequest(r.Context(), r.Header.Get(RequestIDHeader))
		w.Header().Set(RequestIDHeader, id)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		a.LogRequest(ctx, r.Method, r.URL.Path, sw.status, time.Since(start))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logHandler adds the request id of the record's context to every line.
type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(as)}
}
func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }
