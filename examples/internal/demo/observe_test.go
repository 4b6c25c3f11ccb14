package demo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMetricsAddr: GATEHOUSE_METRICS_ADDR is off when unset, host:port otherwise, and
// anything else stops the server at start with exit code 2, naming the variable.
func TestMetricsAddr(t *testing.T) {
	for _, tc := range []struct{ in, want string }{{"", ""}, {" ", ""}, {"127.0.0.1:9464", "127.0.0.1:9464"}, {":0", ":0"}} {
		if got, err := loadMetricsAddr(getenv(map[string]string{MetricsAddrVar: tc.in})); err != nil || got != tc.want {
			t.Errorf("%q: %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"9464", "localhost", "127.0.0.1:99999", "127.0.0.1:x"} {
		_, code, err := start("Test", getenv(map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_STORE": "memory", MetricsAddrVar: bad}), io.Discard, io.Discard)
		var ce *ConfigError
		if code != ExitConfig || !errors.As(err, &ce) || ce.Var != MetricsAddrVar {
			t.Errorf("%q: exit %d, %v; want exit %d naming %s", bad, code, err, ExitConfig, MetricsAddrVar)
		}
	}
}

// TestMetricsServed: with the variable, /metrics answers in the Prometheus text format
// on its own listener, and the store is measured; without it, nothing is served.
func TestMetricsServed(t *testing.T) {
	a, code, err := start("Test", getenv(map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_STORE": "memory", MetricsAddrVar: "127.0.0.1:0"}), io.Discard, io.Discard)
	if err != nil {
		t.Fatalf("exit %d: %v", code, err)
	}
	defer a.store.Close()
	defer a.ln.Close()
	defer a.closeObservability(context.Background())
	if st, _ := a.Ready(context.Background()); st != http.StatusOK {
		t.Errorf("/readyz %d on a memory store", st)
	}
	if _, err := a.Auth.Authenticate(context.Background(), "garbage"); err == nil {
		t.Fatal("garbage authenticated")
	}
	resp, err := http.Get("http://" + a.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`gatehouse_authentications_total{result="invalid"} 1`, `gatehouse_store_operation_duration_seconds_count{operation="load_or_store_key"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("no %s in\n%s", want, body)
		}
	}

	b, _, err := start("Test", getenv(map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_STORE": "memory"}), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer b.store.Close()
	defer b.ln.Close()
	if b.MetricsAddr() != "" || b.probe != b.store {
		t.Errorf("metrics on %q without the variable", b.MetricsAddr())
	}
}

// TestRequestID: a plain client id is kept, anything else replaced; the id reaches
// every log line written with the request's context, and refused requests are logged
// without their query.
func TestRequestID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		keep bool
	}{{"abc-123", true}, {"a.b_c", true}, {"", false}, {strings.Repeat("a", 65), false}, {"a b", false}, {"x\ny", false}, {"eyJ.eyJ.sig=", false}} {
		if got := RequestID(tc.in); (got == tc.in) != tc.keep || got == "" {
			t.Errorf("RequestID(%q) = %q, keep %v", tc.in, got, tc.keep)
		}
	}
	var logs bytes.Buffer
	a := &App{log: slog.New(logHandler{slog.NewTextHandler(&logs, nil)})}
	h := a.HTTPMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.log.WarnContext(r.Context(), "inside")
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/protected?code=secret-code", nil)
	req.Header.Set(RequestIDHeader, "req-42")
	h.ServeHTTP(rec, req)
	if rec.Header().Get(RequestIDHeader) != "req-42" {
		t.Errorf("answer's X-Request-ID %q", rec.Header().Get(RequestIDHeader))
	}
	out := logs.String()
	if strings.Count(out, "request_id=req-42") != 2 || !strings.Contains(out, "msg=request method=GET path=/api/protected status=401") {
		t.Errorf("logs:\n%s", out)
	}
	if strings.Contains(out, "secret-code") {
		t.Errorf("the query is in the logs:\n%s", out)
	}
	logs.Reset()
	h = a.HTTPMiddleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api", nil))
	if logs.Len() != 0 {
		t.Errorf("a successful request logged:\n%s", logs.String())
	}
}
