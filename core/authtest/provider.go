package authtest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/oauth2-proxy/mockoidc"
)

// shortTimeout is the provider timeout of the cases where the provider hangs.
const shortTimeout = 400 * time.Millisecond

// hang is an interceptor that never answers: it holds the request until the client
// gives up. It reads the body first: net/http notices a client that went away only
// once the body is consumed.
func hang(w http.ResponseWriter, r *http.Request, _ http.Handler) {
	io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// answer is an interceptor that answers status and body.
func answer(status int, contentType, body string) interceptor {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

// tamperIDToken lets mockoidc answer the token request, then replaces the id_token of
// its answer with edit(id_token) (dropping it when edit returns "").
func tamperIDToken(edit func(string) string) interceptor {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil || rec.Code != http.StatusOK {
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		if tok, _ := m["id_token"].(string); edit(tok) == "" {
			delete(m, "id_token")
		} else {
			m["id_token"] = edit(tok)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(m)
	}
}

// withinTimeout checks that a reply came back with the 504 of a hanging provider, in
// about the configured timeout.
func (r *reply) withinTimeout(t *testing.T) {
	t.Helper()
	r.wantError(t, http.StatusGatewayTimeout, "temporarily_unavailable").wantNoTokens(t, true)
	if r.elapsed < shortTimeout/2 || r.elapsed > shortTimeout+2*time.Second {
		t.Fatalf("answered after %v, want about the provider timeout %v", r.elapsed, shortTimeout)
	}
}

func testProviderFailure(t *testing.T, s *suite) {
	t.Run("NewDoesNotCallProvider", func(t *testing.T) {
		// A port nobody listens on: New must neither fail nor wait.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		start := time.Now()
		e := s.newEnvWith(t, nil, core.WithProviders(core.OIDC("down", "http://"+addr+"/oidc", "id", "secret")))
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("New and serve took %v with the provider down", d)
		}
		e.do("GET", prefix+"/login").wantError(t, http.StatusBadGateway, "server_error").wantNoTokens(t, false)
	})

	t.Run("DownAtStartThenUp", func(t *testing.T) {
		e := s.newEnv(t)
		e.idp.set(mockoidc.DiscoveryEndpoint, answer(http.StatusServiceUnavailable, "text/plain", "maintenance"))
		e.do("GET", prefix+"/login").wantError(t, http.StatusBadGateway, "server_error")
		e.idp.set(mockoidc.DiscoveryEndpoint, nil)
		e.signIn()
	})

	t.Run("DiscoveryHangs", func(t *testing.T) {
		e := s.newEnv(t, core.WithProviderTimeout(shortTimeout))
		e.idp.set(mockoidc.DiscoveryEndpoint, hang)
		e.do("GET", prefix+"/login").withinTimeout(t)
	})

	t.Run("DiscoveryGarbage", func(t *testing.T) {
		e := s.newEnv(t)
		e.idp.set(mockoidc.DiscoveryEndpoint, answer(http.StatusOK, "application/json", "<html>not json"))
		e.do("GET", prefix+"/login").wantError(t, http.StatusBadGateway, "server_error")
	})

	t.Run("DiscoveryWrongIssuer", func(t *testing.T) {
		e := s.newEnv(t)
		e.idp.set(mockoidc.DiscoveryEndpoint, answer(http.StatusOK, "application/json",
			`{"issuer":"https://evil.example","authorization_endpoint":"https://evil.example/a","token_endpoint":"https://evil.example/t","jwks_uri":"https://evil.example/k"}`))
		e.do("GET", prefix+"/login").wantError(t, http.StatusBadGateway, "server_error")
	})

	callbackCases := []struct {
		name   string
		path   string
		h      interceptor
		status int
		code   string
	}{
		{"TokenEndpointHangs", mockoidc.TokenEndpoint, hang, http.StatusGatewayTimeout, "temporarily_unavailable"},
		{"TokenEndpointFails", mockoidc.TokenEndpoint, answer(500, "text/html", "<h1>oops</h1>"), http.StatusBadGateway, "server_error"},
		{"TokenEndpointGarbage", mockoidc.TokenEndpoint, answer(200, "application/json", "{{{"), http.StatusBadGateway, "server_error"},
		{"TokenEndpointRefusesClient", mockoidc.TokenEndpoint, answer(401, "application/json", `{"error":"invalid_client"}`), http.StatusBadGateway, "server_error"},
		{"KeysHang", mockoidc.JWKSEndpoint, hang, http.StatusGatewayTimeout, "temporarily_unavailable"},
		{"KeysGarbage", mockoidc.JWKSEndpoint, answer(200, "application/json", "[1,2"), http.StatusBadGateway, "server_error"},
		{"KeysMissing", mockoidc.JWKSEndpoint, answer(404, "text/plain", "not found"), http.StatusBadGateway, "server_error"},
	}
	for _, tc := range callbackCases {
		t.Run(tc.name, func(t *testing.T) {
			e := s.newEnv(t, core.WithProviderTimeout(shortTimeout))
			b := e.browser()
			cb := b.authorize(b.startLogin(prefix + "/login"))
			e.idp.set(tc.path, tc.h)
			r := b.callback(cb, true)
			if tc.status == http.StatusGatewayTimeout {
				r.withinTimeout(t)
				return
			}
			r.wantError(t, tc.status, tc.code).wantNoTokens(t, true)
			if len(r.body) > 300 {
				t.Fatalf("error body of %d bytes: %s", len(r.body), r)
			}
		})
	}
}
