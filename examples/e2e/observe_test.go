package e2e

import (
	"encoding/base64"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/storage/redisstore/redistest"
)

// The secrets of the observed servers, which no log line may carry.
const (
	obsSigningKey = "e2e-observability-signing-key-0123456789"
)

var obsKEK = base64.StdEncoding.EncodeToString([]byte("e2e-observability-kek-32-bytes!!"))

// scrape fetches /metrics from addr and returns each sample line's value by series,
// as Prometheus writes it: name{label="value",…}.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape: bad line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetrics: with GATEHOUSE_METRICS_ADDR, /metrics counts a sign-in, a refused
// token, a refresh, a reuse and a logout under the names examples/README.md gives, the store's
// latency is measured, /healthz and /readyz answer 200, and the logs carry the request
// id and none of the tokens, the email, the signing key or the key-encryption key.
func TestMetrics(t *testing.T) {
	forEach(t, func(t *testing.T, fw, name string) {
		metrics := freeAddr(t)
		s := start(t, fw, map[string]string{
			"GATEHOUSE_METRICS_ADDR": metrics, "GATEHOUSE_SIGNING_KEY": obsSigningKey,
			"GATEHOUSE_KEY_ENCRYPTION_KEY": obsKEK,
		})
		c := newClient(t, s.url)
		before := scrape(t, metrics)

		first := c.signIn(ada, true)
		c.do("GET", "/api/protected", bearer(first.access)).want(t, 200)
		c.do("GET", "/api/protected", bearer("garbage"), header("X-Request-ID", "e2e-refused-1")).wantError(t, 401, "invalid_token")
		c.do("GET", "/api/protected").want(t, 401)
		next := c.do("POST", "/auth/refresh", refreshForm(first.refresh)).want(t, 200).json(t)
		c.do("POST", "/auth/refresh", refreshForm(first.refresh)).wantError(t, 400, "invalid_grant") // reuse
		c.do("GET", "/api/protected", bearer(next["access_token"].(string))).wantError(t, 401, "invalid_token")
		second := newClient(t, s.url).signIn(ada, false) // the browser's way: cookies
		c.do("POST", "/auth/logout", bearer(second.access)).want(t, 200)

		after := scrape(t, metrics)
		moved := func(series string, by float64) {
			t.Helper()
			if d := after[series] - before[series]; d < by {
				t.Errorf("%s moved by %v, want at least %v", series, d, by)
			}
		}
		moved(`gatehouse_authentications_total{result="ok"}`, 2)
		moved(`gatehouse_authentications_total{result="invalid"}`, 1)
		moved(`gatehouse_authentications_total{result="no_token"}`, 1)
		moved(`gatehouse_authentications_total{result="revoked"}`, 1)
		moved(`gatehouse_signins_total{provider="devidp",result="ok"}`, 2)
		moved(`gatehouse_refreshes_total{result="ok"}`, 2) // the API refresh and the browser's first
		moved(`gatehouse_refreshes_total{result="reuse"}`, 1)
		moved(`gatehouse_logouts_total`, 1)
		moved(`gatehouse_store_operation_duration_seconds_count{operation="rotate"}`, 2)
		moved(`gatehouse_store_operation_duration_seconds_count{operation="consume"}`, 2) // the sign-ins' states
		if _, ok := after[`gatehouse_revocation_filter_entries`]; !ok {
			t.Error("no gatehouse_revocation_filter_entries on a bbolt store")
		}
		for series := range after {
			if strings.Contains(series, ada) || strings.Contains(series, obsSigningKey) {
				t.Errorf("a secret in a metric: %s", series)
			}
		}

		c.do("GET", "/healthz").want(t, 200)
		c.do("GET", "/readyz").want(t, 200)

		logs := s.stderr.String() + s.stdout.String()
		if !regexp.MustCompile(`msg=request .*path=/api/protected status=401 .*request_id=e2e-refused-1`).MatchString(logs) {
			t.Errorf("no log line of the refused request with its request id:\n%s", logs)
		}
		noSecrets(t, logs, map[string]string{
			"signing key": obsSigningKey, "key-encryption key": obsKEK, "email": ada,
			"access token": first.access, "refresh token": first.refresh,
			"rotated access token": next["access_token"].(string), "rotated refresh token": next["refresh_token"].(string),
			"cookie sign-in's access token": second.access,
		})
	})
}

// noSecrets fails t for each secret found in logs, each token also by its payload and
// its signature alone.
func noSecrets(t *testing.T, logs string, secrets map[string]string) {
	t.Helper()
	for what, s := range secrets {
		needles := []string{s}
		if parts := strings.Split(s, "."); len(parts) == 3 {
			needles = append(needles, parts[1], parts[2])
		}
		for _, n := range needles {
			if i := strings.Index(logs, n); n != "" && i >= 0 {
				t.Errorf("the %s is in the logs: …%s…", what, logs[max(0, i-100):min(len(logs), i+len(n)+20)])
			}
		}
	}
}

// TestReadyz: /readyz follows a Redis store going down and coming back, while
// /healthz stays 200; a protected call meanwhile is 503, counted as a store error and
// logged with its request id.
func TestReadyz(t *testing.T) {
	forEach(t, func(t *testing.T, fw, name string) {
		r := redistest.Start(t)
		metrics := freeAddr(t)
		s := start(t, fw, map[string]string{"GATEHOUSE_STORE": r.URL(0), "GATEHOUSE_METRICS_ADDR": metrics})
		c := newClient(t, s.url)
		tok := c.signIn(ada, true)
		c.do("GET", "/readyz").want(t, 200)

		await := func(status int, within time.Duration) time.Duration {
			t.Helper()
			start := time.Now()
			for {
				r := c.do("GET", "/readyz")
				if r.status == status {
					return time.Since(start)
				}
				if time.Since(start) > within {
					t.Fatalf("/readyz still %d %s after %v, want %d", r.status, r.body, within, status)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		r.Kill()
		down := await(503, 5*time.Second)
		c.do("GET", "/healthz").want(t, 200)
		// Once the store is known down, protected calls are 503 too (they may be
		// answered from memory for a moment before: redisstore's documented window).
		deadline := time.Now().Add(5 * time.Second)
		for {
			res := c.do("GET", "/api/protected", bearer(tok.access), header("X-Request-ID", "e2e-down-1"))
			if res.status == 503 {
				break
			}
			if res.status != 200 || time.Now().After(deadline) {
				t.Fatalf("a protected call while Redis is down: %v, want 503", res)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := r.Restart(); err != nil {
			t.Fatalf("restarting redis-server: %v", err)
		}
		up := await(200, 10*time.Second)
		t.Logf("%s: /readyz 503 %v after Redis was killed, 200 again %v after it restarted", name, down.Round(time.Millisecond), up.Round(time.Millisecond))

		m := scrape(t, metrics)
		if m[`gatehouse_authentications_total{result="store_error"}`] < 1 {
			t.Error("the 503 is not counted as gatehouse_authentications_total{result=\"store_error\"}")
		}
		if m[`gatehouse_store_errors_total{operation="is_revoked"}`] < 1 {
			t.Error("no gatehouse_store_errors_total{operation=\"is_revoked\"}")
		}
		logs := s.stderr.String()
		if !regexp.MustCompile(`store unavailable.*request_id=e2e-down-1`).MatchString(logs) {
			t.Errorf("no store-unavailable log line with the request id:\n%s", logs)
		}
		noSecrets(t, logs, map[string]string{"email": ada, "access token": tok.access, "refresh token": tok.refresh})
	})
}
