package test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/adapters/httpauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gatehouse-auth/gatehouse/observability/otelgatehouse"
	"github.com/oauth2-proxy/mockoidc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// email is mockoidc's default user's.
const email = "jane.doe@example.com"

// telemetry is an SDK that keeps everything exported in memory.
type telemetry struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	mp     *sdkmetric.MeterProvider
	tp     *sdktrace.TracerProvider
}

func newTelemetry(t testing.TB) *telemetry {
	tel := &telemetry{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	tel.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))
	t.Cleanup(func() {
		tel.mp.Shutdown(context.Background())
		tel.tp.Shutdown(context.Background())
	})
	return tel
}

func (tel *telemetry) collect(t testing.TB) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

// app is an app on net/http with gatehouse instrumented, its server spans from otelhttp
// (as an app's own instrumentation makes them), signing in with mockoidc.
type app struct {
	t      *testing.T
	url    string
	auth   *core.Auth
	secret []byte
	idp    *mockoidc.MockOIDC
	hc     *http.Client
}

func newApp(t *testing.T, tel *telemetry, entries int64) *app {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })

	in, err := otelgatehouse.New(otelgatehouse.WithMeterProvider(tel.mp), otelgatehouse.WithTracerProvider(tel.tp),
		otelgatehouse.WithRevocationEntries(func(context.Context) (int64, bool) { return entries, true }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })

	mux := http.NewServeMux()
	srv := httptest.NewServer(otelhttp.NewHandler(mux, "server", otelhttp.WithTracerProvider(tel.tp), otelhttp.WithMeterProvider(tel.mp)))
	t.Cleanup(srv.Close)
	a := &app{t: t, url: srv.URL, idp: m, secret: make([]byte, 32)}
	rand.Read(a.secret)
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	opts := append(in.Options(),
		core.WithHMACSecret(a.secret), core.WithIssuer(srv.URL), core.WithPublicURL(srv.URL),
		core.WithProviders(core.OIDC("mock", m.Issuer(), m.ClientID, m.ClientSecret)))
	if a.auth, err = core.New(in.Store(store), opts...); err != nil {
		t.Fatal(err)
	}
	httpauth.Mount(mux, a.auth)
	mux.Handle("GET /api/protected", httpauth.Require(a.auth)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := httpauth.Claims(r)
		fmt.Fprintf(w, `{"email":%q}`, c.Email)
	})))
	jar, _ := cookiejar.New(nil)
	a.hc = &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return a
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (a *app) do(method, target string, hdr map[string]string, form url.Values) reply {
	a.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = a.url + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, b}
}

func (r reply) want(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.body, status)
	}
	return r
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (r reply) tokens(t *testing.T) tokens {
	t.Helper()
	var tk tokens
	if err := json.Unmarshal(r.body, &tk); err != nil || tk.AccessToken == "" || tk.RefreshToken == "" {
		t.Fatalf("not a token response: %s", r.body)
	}
	return tk
}

// signIn runs the authorization code flow through mockoidc, as a browser, and asks the
// callback for the JSON token response.
func (a *app) signIn() tokens {
	a.t.Helper()
	login := a.do("GET", "/auth/login", nil, nil).want(a.t, http.StatusFound)
	authz := a.do("GET", login.header.Get("Location"), nil, nil).want(a.t, http.StatusFound)
	cb := authz.header.Get("Location")
	if !strings.HasPrefix(cb, a.url+"/auth/callback?") {
		a.t.Fatalf("mockoidc sent the browser to %q", cb)
	}
	return a.do("GET", cb, map[string]string{"Accept": "application/json"}, nil).want(a.t, http.StatusOK).tokens(a.t)
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// TestExportedRun: a full sign-in, authenticated calls, a refused token, a refresh, a
// reuse, a revocation, a sign-in the provider denies and a logout, against the real
// SDK with in-memory readers. Each counter moved as it should, the spans nest as
// documented, and nothing exported carries a token, the email, the signing key or the
// client secret.
func TestExportedRun(t *testing.T) {
	tel := newTelemetry(t)
	a := newApp(t, tel, 7)

	first := a.signIn()
	if got := a.do("GET", "/api/protected", bearer(first.AccessToken), nil).want(t, 200); !strings.Contains(string(got.body), email) {
		t.Fatalf("protected: %s", got.body)
	}
	a.do("GET", "/api/protected", nil, nil).want(t, 401)
	a.do("GET", "/api/protected", bearer("garbage"), nil).want(t, 401)
	a.do("GET", "/api/protected", bearer(first.RefreshToken), nil).want(t, 401)
	second := a.do("POST", "/auth/refresh", nil, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}).want(t, 200).tokens(t)
	a.do("POST", "/auth/refresh", nil, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}).want(t, 400)
	a.do("GET", "/api/protected", bearer(second.AccessToken), nil).want(t, 401) // the reuse ended the session
	a.do("POST", "/auth/refresh", nil, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"garbage"}}).want(t, 400)

	third := a.signIn()
	fourth := a.signIn()
	a.do("POST", "/auth/revoke", nil, url.Values{"token": {third.AccessToken}}).want(t, 200)
	a.do("GET", "/api/protected", bearer(third.AccessToken), nil).want(t, 401)
	a.do("POST", "/auth/logout", bearer(fourth.AccessToken), nil).want(t, 200)

	// The user declines at the provider: it sends the browser back with the error.
	login := a.do("GET", "/auth/login", nil, nil).want(t, http.StatusFound)
	loc, err := url.Parse(login.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	a.do("GET", "/auth/callback?error=access_denied&state="+url.QueryEscape(loc.Query().Get("state")),
		map[string]string{"Accept": "application/json"}, nil).want(t, http.StatusUnauthorized)

	rm := tel.collect(t)
	sums := counters(rm)
	for _, w := range []struct {
		series string
		min    int64
	}{
		{`gatehouse.authentications{result=ok}`, 2},
		{`gatehouse.authentications{result=no_token}`, 1},
		{`gatehouse.authentications{result=invalid}`, 2},
		{`gatehouse.authentications{result=revoked}`, 2},
		{`gatehouse.signins{provider=mock,result=ok}`, 3},
		{`gatehouse.signins{provider=mock,result=denied}`, 1},
		{`gatehouse.refreshes{result=ok}`, 1},
		{`gatehouse.refreshes{result=reuse}`, 1},
		{`gatehouse.refreshes{result=invalid}`, 1},
		{`gatehouse.logouts{}`, 1},
		{`gatehouse.revocations{}`, 1},
		{`gatehouse.revocation_filter.entries{}`, 7},
	} {
		if got := sums[w.series]; got < w.min {
			t.Errorf("%s = %d, want at least %d (have %v)", w.series, got, w.min, keys(sums))
		}
	}
	if got := sums[`gatehouse.authentications{result=ok}`]; got != 2 {
		t.Errorf("authentications ok = %d, want 2", got)
	}
	ops := histogramOps(rm, "gatehouse.store.operation.duration")
	for _, op := range []string{"consume", "create_session", "session", "rotate", "end_session", "revoke_token", "load_or_store_key"} {
		if ops[op] == 0 {
			t.Errorf("no store latency for %s: %v", op, ops)
		}
	}
	if ops["is_revoked"] != 0 {
		t.Errorf("is_revoked timed without WithRevocationCheckTiming: %v", ops)
	}

	spans := tel.spans.Ended()
	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = append(byName[s.Name()], s)
	}
	signins := byName["gatehouse.signin"]
	if len(signins) != 4 {
		t.Fatalf("%d gatehouse.signin spans, want 4; spans: %v", len(signins), names(spans))
	}
	si := signins[0]
	if v := attr(si, otelgatehouse.ResultKey); v != core.ResultOK {
		t.Errorf("signin span result %q", v)
	}
	if v := attr(si, otelgatehouse.ProviderKey); v != "mock" {
		t.Errorf("signin span provider %q", v)
	}
	children := childrenOf(spans, si)
	if !slices.ContainsFunc(children, func(s sdktrace.ReadOnlySpan) bool {
		return s.SpanKind() == trace.SpanKindClient && strings.HasPrefix(s.Name(), "gatehouse.provider POST")
	}) {
		t.Errorf("no provider round trip under the signin span; children: %v", names(children))
	}
	for _, want := range []string{"gatehouse.store.consume", "gatehouse.store.create_session"} {
		if !slices.ContainsFunc(children, func(s sdktrace.ReadOnlySpan) bool { return s.Name() == want }) {
			t.Errorf("no %s under the signin span; children: %v", want, names(children))
		}
	}
	var results []string
	for _, s := range byName["gatehouse.refresh"] {
		results = append(results, attr(s, otelgatehouse.ResultKey))
	}
	slices.Sort(results)
	if want := []string{"invalid", "ok", "reuse"}; !slices.Equal(results, want) {
		t.Errorf("refresh spans' results %v, want %v", results, want)
	}
	for _, name := range []string{"gatehouse.logout", "gatehouse.revoke"} {
		if len(byName[name]) == 0 {
			t.Errorf("no %s span: %v", name, names(spans))
		}
	}
	var authResults []string
	for _, s := range spans {
		if s.SpanKind() != trace.SpanKindServer {
			continue
		}
		if v := attr(s, otelgatehouse.AuthResultKey); v != "" {
			authResults = append(authResults, v)
		}
	}
	for _, want := range []string{"ok", "no_token", "invalid", "revoked"} {
		if !slices.Contains(authResults, want) {
			t.Errorf("no server span with authentication result %s: %v", want, authResults)
		}
	}

	// Everything exported, as text, searched for the secrets in every encoding a
	// careless attribute might use.
	dump := dumpMetrics(rm) + dumpSpans(spans)
	secrets := map[string]string{
		"signing key (raw)":       string(a.secret),
		"signing key (base64)":    base64.StdEncoding.EncodeToString(a.secret),
		"signing key (base64url)": base64.RawURLEncoding.EncodeToString(a.secret),
		"signing key (hex)":       hex.EncodeToString(a.secret),
		"email":                   email,
		"email (escaped)":         url.QueryEscape(email),
		"client secret":           a.idp.ClientSecret,
	}
	for i, tk := range []tokens{first, second, third, fourth} {
		for kind, tok := range map[string]string{"access": tk.AccessToken, "refresh": tk.RefreshToken} {
			secrets[fmt.Sprintf("%s token %d", kind, i)] = tok
			// Each part alone too: a payload or a signature is enough to leak.
			for j, part := range strings.Split(tok, ".")[1:] {
				secrets[fmt.Sprintf("%s token %d part %d", kind, i, j+1)] = part
			}
		}
	}
	if len(dump) < 1000 {
		t.Fatalf("the dump is %d bytes: nothing was exported?", len(dump))
	}
	for what, s := range secrets {
		if s == "" {
			t.Fatalf("empty secret %s", what)
		}
		if strings.Contains(dump, s) {
			i := strings.Index(dump, s)
			t.Errorf("the %s is in what was exported: …%s…", what, dump[max(0, i-200):min(len(dump), i+len(s)+50)])
		}
	}
	if os.Getenv("DUMP") != "" {
		os.WriteFile(os.Getenv("DUMP"), []byte(dump), 0o600)
	}
	t.Logf("scanned %d bytes of metrics and %d spans for %d secrets", len(dump), len(spans), len(secrets))
}

// series names a data point: metric{k=v,…}, keys sorted.
func series(name string, set attribute.Set) string {
	var kv []string
	for it := set.Iter(); it.Next(); {
		a := it.Attribute()
		kv = append(kv, string(a.Key)+"="+a.Value.Emit())
	}
	return name + "{" + strings.Join(kv, ",") + "}"
}

// counters returns the value of every int64 sum and gauge data point by series.
func counters(rm metricdata.ResourceMetrics) map[string]int64 {
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[series(m.Name, p.Attributes)] += p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[series(m.Name, p.Attributes)] = p.Value
				}
			}
		}
	}
	return out
}

// histogramOps returns the count of each operation of a histogram.
func histogramOps(rm metricdata.ResourceMetrics, name string) map[string]uint64 {
	out := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == name {
				for _, p := range h.DataPoints {
					op, _ := p.Attributes.Value("operation")
					out[op.AsString()] += p.Count
				}
			}
		}
	}
	return out
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func attr(s sdktrace.ReadOnlySpan, key attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var ns []string
	for _, s := range spans {
		ns = append(ns, s.Name())
	}
	return ns
}

// childrenOf returns the spans below parent, at any depth.
func childrenOf(spans []sdktrace.ReadOnlySpan, parent sdktrace.ReadOnlySpan) []sdktrace.ReadOnlySpan {
	below := map[trace.SpanID]bool{parent.SpanContext().SpanID(): true}
	var out []sdktrace.ReadOnlySpan
	for changed := true; changed; {
		changed = false
		for _, s := range spans {
			if !below[s.SpanContext().SpanID()] && below[s.Parent().SpanID()] && s.Parent().TraceID() == parent.SpanContext().TraceID() {
				below[s.SpanContext().SpanID()] = true
				out = append(out, s)
				changed = true
			}
		}
	}
	return out
}

// dumpMetrics is everything the reader collected, as text: names, descriptions,
// units, every attribute of every data point and exemplar, the resource and scopes.
func dumpMetrics(rm metricdata.ResourceMetrics) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%+v\n", rm)
	set := func(s attribute.Set) {
		for it := s.Iter(); it.Next(); {
			a := it.Attribute()
			fmt.Fprintf(&b, " %s=%s", a.Key, a.Value.Emit())
		}
	}
	kvs := func(kv []attribute.KeyValue) {
		for _, a := range kv {
			fmt.Fprintf(&b, " %s=%s", a.Key, a.Value.Emit())
		}
	}
	set(*rm.Resource.Set())
	for _, sm := range rm.ScopeMetrics {
		fmt.Fprintf(&b, "\nscope %s %s", sm.Scope.Name, sm.Scope.Version)
		for _, m := range sm.Metrics {
			fmt.Fprintf(&b, "\n%s %q %s:", m.Name, m.Description, m.Unit)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					set(p.Attributes)
					for _, e := range p.Exemplars {
						kvs(e.FilteredAttributes)
					}
				}
			case metricdata.Sum[float64]:
				for _, p := range d.DataPoints {
					set(p.Attributes)
					for _, e := range p.Exemplars {
						kvs(e.FilteredAttributes)
					}
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					set(p.Attributes)
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					set(p.Attributes)
					for _, e := range p.Exemplars {
						kvs(e.FilteredAttributes)
					}
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					set(p.Attributes)
					for _, e := range p.Exemplars {
						kvs(e.FilteredAttributes)
					}
				}
			}
		}
	}
	return b.String()
}

// dumpSpans is every span as text: name, attributes, events, links, status, resource.
func dumpSpans(spans []sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	kvs := func(kv []attribute.KeyValue) {
		for _, a := range kv {
			fmt.Fprintf(&b, " %s=%s", a.Key, a.Value.Emit())
		}
	}
	for _, s := range spans {
		fmt.Fprintf(&b, "\nspan %s kind=%v status=%v %q:", s.Name(), s.SpanKind(), s.Status().Code, s.Status().Description)
		kvs(s.Attributes())
		for _, e := range s.Events() {
			fmt.Fprintf(&b, " event %s", e.Name)
			kvs(e.Attributes)
		}
		for _, l := range s.Links() {
			kvs(l.Attributes)
		}
		kvs(s.Resource().Attributes())
	}
	return b.String()
}
