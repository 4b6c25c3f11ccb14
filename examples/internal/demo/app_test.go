package demo

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartOnAnyPort: with port 0 the public URL names the port the kernel chose, and
// the development identity provider is registered with the matching redirect URI.
func TestStartOnAnyPort(t *testing.T) {
	var logs, out bytes.Buffer
	a, code, err := start("Test", getenv(map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_STORE": "memory"}), &logs, &out)
	if err != nil {
		t.Fatalf("exit %d: %v", code, err)
	}
	defer a.store.Close()
	defer a.ln.Close()
	if a.URL != "http://"+a.ln.Addr().String() || a.DevIDP == nil {
		t.Fatalf("URL %q, dev IdP %v", a.URL, a.DevIDP)
	}
	rec := httptest.NewRecorder()
	a.DevIDP.ServeHTTP(rec, httptest.NewRequest("GET", a.URL+"/devidp/authorize?client_id="+DevIDPClientID+
		"&redirect_uri="+a.URL+"/auth/callback&response_type=code&scope=openid&nonce=n&code_challenge_method=S256&code_challenge="+strings.Repeat("a", 43), nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("the provider refuses the app's own authorization request: %d %s", rec.Code, rec.Body)
	}
}

func TestStartRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		code int
	}{
		"misconfigured":      {map[string]string{"GATEHOUSE_ALG": "HS1"}, ExitConfig},
		"bad redis database": {map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_STORE": "redis://127.0.0.1:1/x"}, ExitConfig},
		"redis down":         {map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0", "GATEHOUSE_STORE": "redis://127.0.0.1:1/0"}, ExitFailed},
		"bolt in a missing directory": {map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:0",
			"GATEHOUSE_STORE": "bolt:" + filepath.Join(t.TempDir(), "missing", "x.db")}, ExitConfig},
	} {
		var logs bytes.Buffer
		if _, code, err := start("Test", getenv(tc.env), &logs, &logs); err == nil || code != tc.code {
			t.Errorf("%s: exit %d (%v), want %d", name, code, err, tc.code)
		}
	}
}
