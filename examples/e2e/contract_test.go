package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/examples/devidp"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore/redistest"
)

const ada = "ada@example.com"

// TestRoutes: the routes of the example-server contract, the same table on each server.
func TestRoutes(t *testing.T) {
	type routeCase struct {
		name   string
		method string
		path   string
		opts   func(tok string) []opt
		status int
		check  func(t *testing.T, s *server, r reply)
	}
	isJSON := func(t *testing.T, r reply) {
		t.Helper()
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
	}
	withToken := func(tok string) []opt { return []opt{bearer(tok)} }
	cases := []routeCase{
		{"page", "GET", "/", nil, 200, func(t *testing.T, s *server, r reply) {
			if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			csp := r.header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'sha256-", "connect-src 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %s", csp, want)
				}
			}
			if r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
			body := string(r.body)
			for _, want := range []string{"<title>gatehouse demo · " + nameOf(s.fw) + "</title>", `id="signin"`, `id="dev-banner"`, "localStorage"} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s", want)
				}
			}
			if m := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"(https?:)?//`).FindString(body); m != "" {
				t.Errorf("the page loads something from elsewhere: %s", m)
			}
		}},
		{"public API", "GET", "/api", nil, 200, func(t *testing.T, s *server, r reply) {
			isJSON(t, r)
			if m := r.json(t); m["framework"] != nameOf(s.fw) || m["message"] == nil {
				t.Errorf("body %s", r.body)
			}
		}},
		{"protected API without a token", "GET", "/api/protected", nil, 401, func(t *testing.T, s *server, r reply) {
			if got, want := r.header.Get("WWW-Authenticate"), `Bearer realm="`+s.url+`"`; got != want {
				t.Errorf("WWW-Authenticate %q, want %q", got, want)
			}
		}},
		{"protected API with garbage", "GET", "/api/protected", func(string) []opt { return []opt{bearer("garbage")} }, 401, func(t *testing.T, s *server, r reply) {
			if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
		}},
		{"protected API with the token", "GET", "/api/protected", withToken, 200, func(t *testing.T, s *server, r reply) {
			isJSON(t, r)
			if m := r.json(t); len(m) != 1 || m["email"] != ada {
				t.Errorf("body %s, want exactly {\"email\": %q}", r.body, ada)
			}
		}},
		{"token in the query string is ignored", "GET", "/api/protected?access_token={token}", nil, 401, nil},
		{"me", "GET", "/auth/me", withToken, 200, func(t *testing.T, s *server, r reply) {
			if m := r.json(t); m["email"] != ada || m["iss"] != s.url || m["aud"] != s.url {
				t.Errorf("claims %s", r.body)
			}
		}},
		{"sessions", "GET", "/auth/sessions", withToken, 200, func(t *testing.T, s *server, r reply) {
			if ss, _ := r.json(t)["sessions"].([]any); len(ss) != 1 {
				t.Errorf("sessions %s", r.body)
			}
		}},
		{"jwks (HS256: no public key)", "GET", "/auth/jwks.json", nil, 200, func(t *testing.T, s *server, r reply) {
			if ks, ok := r.json(t)["keys"].([]any); !ok || len(ks) != 0 {
				t.Errorf("jwks %s", r.body)
			}
		}},
		{"login", "GET", "/auth/login", nil, 302, func(t *testing.T, s *server, r reply) {
			loc, _ := url.Parse(r.header.Get("Location"))
			q := loc.Query()
			if !strings.HasPrefix(loc.String(), s.url+"/devidp/authorize?") || q.Get("redirect_uri") != s.url+"/auth/callback" ||
				q.Get("code_challenge_method") != "S256" || q.Get("nonce") == "" || q.Get("state") == "" {
				t.Errorf("Location %s", loc)
			}
		}},
		{"refresh without a token", "POST", "/auth/refresh", nil, 400, func(t *testing.T, s *server, r reply) {
			if r.json(t)["error"] != "invalid_request" {
				t.Errorf("body %s", r.body)
			}
		}},
		{"refresh page without a cookie", "GET", "/auth/refresh", nil, 302, func(t *testing.T, s *server, r reply) {
			if loc := r.header.Get("Location"); loc != "/" {
				t.Errorf("Location %q, want /", loc)
			}
		}},
		{"refresh with PUT", "PUT", "/auth/refresh", nil, 405, nil},
		{"public API with POST", "POST", "/api", nil, 405, nil},
		{"unknown path", "GET", "/nope", nil, 404, nil},
		{"dev provider discovery", "GET", "/devidp/.well-known/openid-configuration", nil, 200, func(t *testing.T, s *server, r reply) {
			m := r.json(t)
			if m["issuer"] != s.url+"/devidp" || m["authorization_endpoint"] != s.url+"/devidp/authorize" {
				t.Errorf("discovery %s", r.body)
			}
		}},
		{"dev provider keys", "GET", "/devidp/jwks.json", nil, 200, nil},
		{"dev provider refuses a bare request", "GET", "/devidp/authorize", nil, 400, func(t *testing.T, s *server, r reply) {
			if !strings.Contains(string(r.body), "Development identity provider") || r.header.Get("Location") != "" {
				t.Errorf("body %s", r.body)
			}
		}},
	}
	forEach(t, func(t *testing.T, fw, name string) {
		s := start(t, fw, map[string]string{"GATEHOUSE_STORE": "memory"})
		c := newClient(t, s.url)
		tok := c.signIn(ada, true)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var opts []opt
				if tc.opts != nil {
					opts = tc.opts(tok.access)
				}
				path := strings.ReplaceAll(tc.path, "{token}", tok.access)
				r := newClient(t, s.url).do(tc.method, path, opts...).want(t, tc.status)
				if tc.check != nil {
					tc.check(t, s, r)
				}
			})
		}
	})
}

func nameOf(fw string) string {
	for _, f := range frameworks {
		if f.dir == fw {
			return f.name
		}
	}
	return fw
}

// TestEnvContract: each variable of the contract, observed from outside the server.
func TestEnvContract(t *testing.T) {
	key := "an HMAC secret of more than 32 bytes"
	cases := []struct {
		name  string
		env   func(t *testing.T, dir, addr string) map[string]string
		check func(t *testing.T, s *server)
	}{
		{"defaults", nil, func(t *testing.T, s *server) {
			if s.url != "http://"+s.env["GATEHOUSE_ADDR"] {
				t.Errorf("public URL %q, want http:// + GATEHOUSE_ADDR", s.url)
			}
			tok := newClient(t, s.url).signIn(ada, true)
			at, rt := jwtPart(t, tok.access, 1), jwtPart(t, tok.refresh, 1)
			if h := jwtPart(t, tok.access, 0); h["alg"] != "HS256" {
				t.Errorf("alg %v, want HS256", h["alg"])
			}
			if d := at["exp"].(float64) - at["iat"].(float64); d != (15 * time.Minute).Seconds() {
				t.Errorf("access TTL %vs, want 15m", d)
			}
			if d := rt["exp"].(float64) - rt["iat"].(float64); d != (720 * time.Hour).Seconds() {
				t.Errorf("refresh TTL %vs, want 720h", d)
			}
			if at["iss"] != s.url {
				t.Errorf("iss %v, want the public URL", at["iss"])
			}
			if _, err := os.Stat(filepath.Join(s.dir, "gatehouse.db")); err != nil {
				t.Errorf("default store bolt:gatehouse.db: %v", err)
			}
			if !strings.Contains(s.stderr.String(), "DEVELOPMENT IDENTITY PROVIDER ENABLED") {
				t.Error("no warning about the development identity provider")
			}
		}},
		{"GATEHOUSE_STORE=memory", func(t *testing.T, dir, addr string) map[string]string {
			return map[string]string{"GATEHOUSE_STORE": "memory"}
		}, func(t *testing.T, s *server) {
			newClient(t, s.url).signIn(ada, true)
			if entries, _ := os.ReadDir(s.dir); len(entries) != 0 {
				t.Errorf("memory store left files: %v", entries)
			}
		}},
		{"GATEHOUSE_STORE=bolt:PATH", func(t *testing.T, dir, addr string) map[string]string {
			return map[string]string{"GATEHOUSE_STORE": "bolt:" + filepath.Join(dir, "sub.db")}
		}, func(t *testing.T, s *server) {
			newClient(t, s.url).signIn(ada, true)
			if _, err := os.Stat(filepath.Join(s.dir, "sub.db")); err != nil {
				t.Error(err)
			}
		}},
		{"GATEHOUSE_STORE=redis://", func(t *testing.T, dir, addr string) map[string]string {
			return map[string]string{"GATEHOUSE_STORE": redistest.Start(t).URL(0)}
		}, func(t *testing.T, s *server) {
			c := newClient(t, s.url)
			tok := c.signIn(ada, true)
			c.do("GET", "/api/protected", bearer(tok.access)).want(t, 200)
			c.do("POST", "/auth/logout", bearer(tok.access)).want(t, 200)
			c.do("GET", "/api/protected", bearer(tok.access)).want(t, 401)
		}},
		{"GATEHOUSE_PUBLIC_URL", func(t *testing.T, dir, addr string) map[string]string {
			return map[string]string{"GATEHOUSE_PUBLIC_URL": "http://localhost:" + portOf(addr) + "/"}
		}, func(t *testing.T, s *server) {
			if !strings.HasPrefix(s.url, "http://localhost:") {
				t.Fatalf("printed URL %q", s.url)
			}
			c := newClient(t, s.url)
			tok := c.signIn(ada, true) // checks the redirects go to localhost
			if iss := jwtPart(t, tok.access, 1)["iss"]; iss != s.url {
				t.Errorf("iss %v, want %s", iss, s.url)
			}
		}},
		{"GATEHOUSE_SIGNING_KEY", func(t *testing.T, dir, addr string) map[string]string {
			return map[string]string{"GATEHOUSE_SIGNING_KEY": key}
		}, func(t *testing.T, s *server) {
			tok := newClient(t, s.url).signIn(ada, true).access
			i := strings.LastIndexByte(tok, '.')
			mac := hmac.New(sha256.New, []byte(key))
			mac.Write([]byte(tok[:i]))
			if base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) != tok[i+1:] {
				t.Error("the access token is not signed HS256 with GATEHOUSE_SIGNING_KEY")
			}
		}},
		{"GATEHOUSE_ALG=ES256", algEnv("ES256"), algCheck("ES256", "EC")},
		{"GATEHOUSE_ALG=EdDSA", algEnv("EdDSA"), algCheck("EdDSA", "OKP")},
		{"GATEHOUSE_ALG=RS256", algEnv("RS256"), algCheck("RS256", "RSA")},
		{"GATEHOUSE_ALLOWED_EMAILS", func(t *testing.T, dir, addr string) map[string]string {
			return map[string]string{"GATEHOUSE_ALLOWED_EMAILS": "grace@example.com, " + ada}
		}, func(t *testing.T, s *server) {
			newClient(t, s.url).signIn(ada, true)
			c := newClient(t, s.url)
			_, f := c.openSignInPage()
			c.do("GET", c.submit(f, "eve@example.com", "signin"), header("Accept", "application/json")).wantError(t, 403, "access_denied")
		}},
		{"GATEHOUSE_ACCESS_TTL and GATEHOUSE_REFRESH_TTL", func(t *testing.T, dir, addr string) map[string]string {
			return map[string]string{"GATEHOUSE_ACCESS_TTL": "90s", "GATEHOUSE_REFRESH_TTL": "2h"}
		}, func(t *testing.T, s *server) {
			tok := newClient(t, s.url).signIn(ada, true)
			at, rt := jwtPart(t, tok.access, 1), jwtPart(t, tok.refresh, 1)
			if at["exp"].(float64)-at["iat"].(float64) != 90 || rt["exp"].(float64)-rt["iat"].(float64) != 7200 {
				t.Errorf("TTLs: access %v-%v, refresh %v-%v", at["exp"], at["iat"], rt["exp"], rt["iat"])
			}
		}},
		{"OIDC_*", func(t *testing.T, dir, addr string) map[string]string {
			issuer := externalIDP(t, "http://"+addr+"/auth/callback")
			return map[string]string{"OIDC_ISSUER": issuer, "OIDC_CLIENT_ID": "ext-client", "OIDC_CLIENT_SECRET": "ext-secret"}
		}, func(t *testing.T, s *server) {
			c := newClient(t, s.url)
			c.do("GET", "/devidp/.well-known/openid-configuration").want(t, 404)
			if strings.Contains(s.stderr.String(), "DEVELOPMENT IDENTITY PROVIDER") {
				t.Error("development identity provider warning with a real provider")
			}
			login := c.do("GET", "/auth/login").want(t, 302)
			issuer := s.env["OIDC_ISSUER"]
			loc := login.header.Get("Location")
			if !strings.HasPrefix(loc, issuer+"/authorize?") {
				t.Fatalf("login went to %q, want the OIDC_ISSUER's authorization endpoint", loc)
			}
			page := c.do("GET", loc).want(t, 200)
			f := url.Values{"email": {ada}, "action": {"signin"}}
			for _, m := range hiddenRE.FindAllStringSubmatch(string(page.body), -1) {
				f.Set(m[1], htmlUnescape(m[2]))
			}
			cb := c.do("POST", issuer+"/authorize", form(f)).want(t, 302).header.Get("Location")
			tok := c.do("GET", cb, header("Accept", "application/json")).want(t, 200).json(t)
			claims := jwtPart(t, tok["access_token"].(string), 1)
			if claims["sub"] != issuer+"#"+devidp.Subject(ada) || claims["email"] != ada {
				t.Errorf("claims %v", claims)
			}
		}},
		{"GOOGLE_*", func(t *testing.T, dir, addr string) map[string]string {
			return map[string]string{"GOOGLE_CLIENT_ID": "id.apps.googleusercontent.com", "GOOGLE_CLIENT_SECRET": "secret"}
		}, func(t *testing.T, s *server) {
			c := newClient(t, s.url)
			c.do("GET", "/devidp/.well-known/openid-configuration").want(t, 404)
			page := string(c.do("GET", "/").want(t, 200).body)
			if !strings.Contains(page, "Sign in with Google") || strings.Contains(page, "dev-banner") {
				t.Error("the page does not offer Google, or still shows the development banner")
			}
		}},
		{"GOOGLE_* and OIDC_*", func(t *testing.T, dir, addr string) map[string]string {
			return map[string]string{"GOOGLE_CLIENT_ID": "id", "GOOGLE_CLIENT_SECRET": "secret",
				"OIDC_ISSUER": "https://idp.example.com", "OIDC_CLIENT_ID": "id", "OIDC_CLIENT_SECRET": "secret"}
		}, func(t *testing.T, s *server) {
			page := string(newClient(t, s.url).do("GET", "/").want(t, 200).body)
			if !strings.Contains(page, `href="/auth/login?`) || !strings.Contains(page, `href="/auth/login/oidc?`) {
				t.Error("the page does not offer both providers")
			}
		}},
		{"GATEHOUSE_INSECURE_DEV_IDP", func(t *testing.T, dir, addr string) map[string]string {
			return map[string]string{"GATEHOUSE_INSECURE_DEV_IDP": "1", "GATEHOUSE_PUBLIC_URL": "https://demo.example.com"}
		}, func(t *testing.T, s *server) {
			c := newClient(t, "http://"+s.env["GATEHOUSE_ADDR"])
			d := c.do("GET", "/devidp/.well-known/openid-configuration").want(t, 200).json(t)
			if d["authorization_endpoint"] != "https://demo.example.com/devidp/authorize" || d["issuer"] != c.base+"/devidp" {
				t.Errorf("discovery %v: want the browser at the public URL, gatehouse on loopback", d)
			}
			if !strings.Contains(s.stderr.String(), "DEVELOPMENT IDENTITY PROVIDER ENABLED") {
				t.Error("no warning")
			}
		}},
	}
	forEach(t, func(t *testing.T, fw, name string) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				dir, addr := t.TempDir(), freeAddr(t)
				env := map[string]string{}
				if tc.env != nil {
					env = tc.env(t, dir, addr)
				}
				env["GATEHOUSE_ADDR"] = addr
				tc.check(t, startIn(t, fw, dir, env))
			})
		}
	})
}

func algEnv(alg string) func(t *testing.T, dir, addr string) map[string]string {
	return func(t *testing.T, dir, addr string) map[string]string {
		return map[string]string{"GATEHOUSE_ALG": alg}
	}
}

func algCheck(alg, kty string) func(t *testing.T, s *server) {
	return func(t *testing.T, s *server) {
		c := newClient(t, s.url)
		h := jwtPart(t, c.signIn(ada, true).access, 0)
		keys, _ := c.do("GET", "/auth/jwks.json").want(t, 200).json(t)["keys"].([]any)
		if h["alg"] != alg || len(keys) != 1 {
			t.Fatalf("token header %v, %d keys", h, len(keys))
		}
		if k := keys[0].(map[string]any); k["kty"] != kty || k["alg"] != alg || k["kid"] != h["kid"] {
			t.Errorf("jwks key %v for a token with header %v", k, h)
		}
	}
}

func portOf(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+", "&#x2F;", "/").Replace(s)
}

// externalIDP serves a development identity provider of the test's own, as an
// "any OpenID Connect provider" the server is pointed at with OIDC_*.
func externalIDP(t *testing.T, redirect string) string {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p, err := devidp.New(devidp.Config{
		Issuer:  srv.URL + "/ext",
		Clients: []devidp.Client{{ID: "ext-client", Secret: "ext-secret", RedirectURIs: []string{redirect}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/ext/", p)
	return p.Issuer()
}

// TestMisconfiguration: a server that cannot start says why in one line on stderr,
// naming the variable, and exits 2 for a misconfiguration, 1 when the configuration
// is fine but the port or the store is not.
func TestMisconfiguration(t *testing.T) {
	cases := []struct {
		name  string
		env   func(t *testing.T, dir string) map[string]string
		code  int
		line  string // the line starts with "gatehouse demo: " + line
		again string // and contains this
	}{
		{"short signing key", envOf("GATEHOUSE_SIGNING_KEY", "too-short"), 2, "GATEHOUSE_SIGNING_KEY:", "at least 32 bytes"},
		{"signing key with ES256", envOf("GATEHOUSE_SIGNING_KEY", strings.Repeat("k", 40), "GATEHOUSE_ALG", "ES256"), 2, "GATEHOUSE_SIGNING_KEY:", "HS256"},
		{"unknown store", envOf("GATEHOUSE_STORE", "mysql://db/gatehouse"), 2, "GATEHOUSE_STORE:", "unknown store"},
		{"bolt without a path", envOf("GATEHOUSE_STORE", "bolt:"), 2, "GATEHOUSE_STORE:", "path"},
		{"redis without a host", envOf("GATEHOUSE_STORE", "redis://"), 2, "GATEHOUSE_STORE:", "Redis URL"},
		{"redis URL with a bad database", envOf("GATEHOUSE_STORE", "redis://127.0.0.1:1/zero"), 2, "GATEHOUSE_STORE:", "redis"},
		{"redis down", envOf("GATEHOUSE_STORE", "redis://127.0.0.1:1/0"), 1, "GATEHOUSE_STORE:", "refused"},
		{"half of the Google pair (id)", envOf("GOOGLE_CLIENT_ID", "id"), 2, "GOOGLE_CLIENT_SECRET:", "go together"},
		{"half of the Google pair (secret)", envOf("GOOGLE_CLIENT_SECRET", "s"), 2, "GOOGLE_CLIENT_ID:", "go together"},
		{"OIDC without a secret", envOf("OIDC_ISSUER", "https://idp.example.com", "OIDC_CLIENT_ID", "id"), 2, "OIDC_CLIENT_SECRET:", "go together"},
		{"OIDC without an issuer", envOf("OIDC_CLIENT_ID", "id", "OIDC_CLIENT_SECRET", "s"), 2, "OIDC_ISSUER:", "go together"},
		{"OIDC over plain http", envOf("OIDC_ISSUER", "http://idp.example.com", "OIDC_CLIENT_ID", "id", "OIDC_CLIENT_SECRET", "s"), 2, "OIDC_ISSUER:", "https"},
		{"access TTL without a unit", envOf("GATEHOUSE_ACCESS_TTL", "15"), 2, "GATEHOUSE_ACCESS_TTL:", "duration"},
		{"negative refresh TTL", envOf("GATEHOUSE_REFRESH_TTL", "-1h"), 2, "GATEHOUSE_REFRESH_TTL:", "duration"},
		{"unknown algorithm", envOf("GATEHOUSE_ALG", "none"), 2, "GATEHOUSE_ALG:", "unknown algorithm"},
		{"algorithm outside the contract", envOf("GATEHOUSE_ALG", "HS512"), 2, "GATEHOUSE_ALG:", "unknown algorithm"},
		{"public URL not a URL", envOf("GATEHOUSE_PUBLIC_URL", "ftp://example.com"), 2, "GATEHOUSE_PUBLIC_URL:", "http(s)"},
		{"dev provider on a public URL", envOf("GATEHOUSE_PUBLIC_URL", "http://demo.example.com"), 2, "GATEHOUSE_PUBLIC_URL:", "GATEHOUSE_INSECURE_DEV_IDP=1"},
		{"dev provider on all interfaces", envOf("GATEHOUSE_ADDR", "0.0.0.0:0"), 2, "GATEHOUSE_ADDR:", "loopback"},
		{"insecure dev provider over http", envOf("GATEHOUSE_PUBLIC_URL", "http://demo.example.com", "GATEHOUSE_INSECURE_DEV_IDP", "1"), 2, "GATEHOUSE_PUBLIC_URL:", "https"},
		{"insecure flag not a flag", envOf("GATEHOUSE_INSECURE_DEV_IDP", "please"), 2, "GATEHOUSE_INSECURE_DEV_IDP:", ""},
		{"address without a port", envOf("GATEHOUSE_ADDR", "localhost"), 2, "GATEHOUSE_ADDR:", "host:port"},
		{"not an email", envOf("GATEHOUSE_ALLOWED_EMAILS", "ada@example.com,bob"), 2, "GATEHOUSE_ALLOWED_EMAILS:", `"bob"`},
		{"an admin not an email", envOf("GATEHOUSE_ADMINS", "ada@example.com,root"), 2, "GATEHOUSE_ADMINS:", `"root"`},
		{"rate limit not a number", envOf("GATEHOUSE_RATE_LIMIT", "fast"), 2, "GATEHOUSE_RATE_LIMIT:", "whole number"},
		{"negative session cap", envOf("GATEHOUSE_MAX_SESSIONS", "-1"), 2, "GATEHOUSE_MAX_SESSIONS:", "whole number"},
		{"key-encryption key not 32 bytes", envOf("GATEHOUSE_KEY_ENCRYPTION_KEY", strings.Repeat("k", 32)), 2, "GATEHOUSE_KEY_ENCRYPTION_KEY:", "32 bytes in base64"},
		{"port taken", func(t *testing.T, dir string) map[string]string {
			ln := listen(t)
			return map[string]string{"GATEHOUSE_ADDR": ln}
		}, 1, "GATEHOUSE_ADDR:", "address already in use"},
		{"bolt file locked by another process", func(t *testing.T, dir string) map[string]string {
			path := filepath.Join(dir, "locked.db")
			st, err := boltstore.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return map[string]string{"GATEHOUSE_STORE": "bolt:" + path}
		}, 1, "GATEHOUSE_STORE:", "locked"},
		{"damaged bolt file", func(t *testing.T, dir string) map[string]string {
			path := filepath.Join(dir, "garbage.db")
			os.WriteFile(path, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600)
			return map[string]string{"GATEHOUSE_STORE": "bolt:" + path}
		}, 1, "GATEHOUSE_STORE:", "damaged"},
	}
	forEach(t, func(t *testing.T, fw, name string) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				dir := t.TempDir()
				env := tc.env(t, dir)
				if env["GATEHOUSE_ADDR"] == "" {
					env["GATEHOUSE_ADDR"] = "127.0.0.1:0"
				}
				code, stdout, stderr := run(t, fw, dir, env)
				lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
				switch {
				case code != tc.code:
					t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr)
				case len(lines) != 1 || !strings.HasSuffix(stderr, "\n"):
					t.Errorf("stderr has %d lines, want exactly one:\n%s", len(lines), stderr)
				case !strings.HasPrefix(lines[0], "gatehouse demo: "+tc.line) || !strings.Contains(lines[0], tc.again):
					t.Errorf("stderr %q, want it to start with %q and mention %q", lines[0], "gatehouse demo: "+tc.line, tc.again)
				case stdout != "":
					t.Errorf("stdout %q, want nothing", stdout)
				}
				if tc.line == "GATEHOUSE_STORE:" && tc.code == 2 {
					if entries, _ := os.ReadDir(dir); len(entries) != 0 {
						t.Errorf("a refused configuration left files: %v", entries)
					}
				}
			})
		}
	})
}

func envOf(kv ...string) func(*testing.T, string) map[string]string {
	return func(*testing.T, string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
}

// listen holds a loopback port for the test's life and returns its address.
func listen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// TestDevSignIn: the sign-in flow through the development identity provider, over
// HTTP as a browser drives it, and its failures.
func TestDevSignIn(t *testing.T) {
	forEach(t, func(t *testing.T, fw, name string) {
		s := start(t, fw, map[string]string{"GATEHOUSE_STORE": "memory"})

		t.Run("browser", func(t *testing.T) {
			c := newClient(t, s.url)
			page, f := c.openSignInPage()
			if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("sign-in page CSP %q", csp)
			}
			if f.Get("client_id") != "gatehouse-demo" || f.Get("redirect_uri") != s.url+"/auth/callback" {
				t.Errorf("sign-in form %v", f)
			}
			cb := c.submit(f, ada, "signin")
			r := c.do("GET", cb).want(t, 302)
			ck := r.cookie("gatehouse_refresh")
			if ck == nil || !ck.HttpOnly || ck.Path != "/auth" || ck.SameSite != http.SameSiteLaxMode {
				t.Fatalf("refresh cookie %v: want HttpOnly, Path=/auth, SameSite=Lax", ck)
			}
			// The page's first access token, then a refresh, as the page does them.
			first := c.do("POST", "/auth/refresh", header("Origin", s.url), header("Sec-Fetch-Site", "same-origin")).want(t, 200).json(t)
			if first["refresh_token"] != nil {
				t.Error("a cookie refresh put the refresh token in the body")
			}
			at := c.do("POST", "/auth/refresh", header("Sec-Fetch-Site", "same-origin")).want(t, 200).json(t)["access_token"].(string)
			// The token in the header (of a client without the cookies: one credential
			// per request), or the access cookie alone (cookie mode).
			newClient(t, s.url).do("GET", "/api/protected", bearer(at)).want(t, 200)
			c.do("GET", "/api/protected").want(t, 200)
			c.do("POST", "/auth/refresh", header("Origin", "https://evil.example"), header("Sec-Fetch-Site", "cross-site")).wantError(t, 403, "access_denied")
			// Log out with the cookie, as the page does: the session ends, the cookie goes.
			out := c.do("POST", "/auth/logout", header("Sec-Fetch-Site", "same-origin")).want(t, 200)
			if ck := out.cookie("gatehouse_refresh"); ck == nil || ck.MaxAge >= 0 {
				t.Errorf("logout did not clear the cookie: %v", ck)
			}
			wantCleared(t, out, "gatehouse_access")
			newClient(t, s.url).do("GET", "/api/protected", bearer(at)).wantError(t, 401, "invalid_token")
			c.do("GET", "/api/protected").want(t, 401)
			c.do("POST", "/auth/refresh").wantError(t, 400, "invalid_request")
		})

		t.Run("cancel", func(t *testing.T) {
			c := newClient(t, s.url)
			_, f := c.openSignInPage()
			c.do("GET", c.submit(f, "", "cancel"), header("Accept", "application/json")).wantError(t, 401, "access_denied")
		})

		t.Run("replayed callback", func(t *testing.T) {
			c := newClient(t, s.url)
			_, f := c.openSignInPage()
			cb := c.submit(f, ada, "signin")
			c.do("GET", cb, header("Accept", "application/json")).want(t, 200)
			c.do("GET", cb, header("Accept", "application/json")).want(t, 400)
		})

		t.Run("callback in another browser", func(t *testing.T) {
			c := newClient(t, s.url)
			_, f := c.openSignInPage()
			cb := c.submit(f, ada, "signin")
			newClient(t, s.url).do("GET", cb, header("Accept", "application/json")).wantError(t, 400, "invalid_request")
		})

		t.Run("same email, same user; another email, another user", func(t *testing.T) {
			a1 := jwtPart(t, newClient(t, s.url).signIn("Grace@Example.com", true).access, 1)
			a2 := jwtPart(t, newClient(t, s.url).signIn("grace@example.com", true).access, 1)
			b := jwtPart(t, newClient(t, s.url).signIn("linus@example.com", true).access, 1)
			if a1["sub"] != a2["sub"] || a1["sub"] == b["sub"] || a1["sid"] == a2["sid"] {
				t.Errorf("subjects %v %v %v", a1["sub"], a2["sub"], b["sub"])
			}
			if !strings.HasPrefix(a1["sub"].(string), s.url+"/devidp#dev-") {
				t.Errorf("sub %v: want issuer#subject", a1["sub"])
			}
		})

		t.Run("log out everywhere", func(t *testing.T) {
			t1 := newClient(t, s.url).signIn("hedy@example.com", true)
			c := newClient(t, s.url)
			t2 := c.signIn("hedy@example.com", false)
			api := newClient(t, s.url) // the token alone, without the browser's cookies
			r := api.do("POST", "/auth/logout/all", bearer(t2.access)).want(t, 200).json(t)
			if r["sessions"] != float64(2) {
				t.Errorf("logout/all %v, want 2 sessions ended", r)
			}
			api.do("GET", "/api/protected", bearer(t1.access)).want(t, 401)
			c.do("GET", "/api/protected").want(t, 401) // the browser's access cookie
			api.do("POST", "/auth/refresh", form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {t1.refresh}})).wantError(t, 400, "invalid_grant")
		})
	})
}
