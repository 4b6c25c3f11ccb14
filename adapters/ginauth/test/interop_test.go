package test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// interopDir is the node project of the interoperability tests, at the repository root.
var interopDir = filepath.Join("..", "..", "..", "interop")

// requireNode returns the node binary, skipping the test when node or the interop
// packages are missing, or failing it when the environment variable CI is set: CI must
// run the interop tests.
func requireNode(t *testing.T) string {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("interop test cannot run in CI: %s; `make test` runs `npm ci` in interop/, and node must be installed", what)
		}
		t.Skipf("%s; run `make test` (it runs `npm ci` in interop/) to run the jose interop test", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(interopDir, "node_modules", "jose", "package.json")); err != nil {
		missing("interop/node_modules/jose is missing")
	}
	return node
}

// joseVerify runs interop/verify.mjs, which verifies token with the npm jose library
// (createRemoteJWKSet + jwtVerify) against the JWKS at jwksURL. It returns the payload
// jose verified, or jose's refusal as an error text.
func joseVerify(t *testing.T, node, jwksURL, token, iss, aud string) (payload map[string]any, refusal string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(interopDir, "verify.mjs"), jwksURL, token, iss, aud)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
		return nil, strings.TrimSpace(stderr.String())
	}
	if err != nil {
		t.Fatalf("node verify.mjs: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), &payload); err != nil {
		t.Fatalf("verify.mjs printed %q: %v", stdout.String(), err)
	}
	return payload, ""
}

// TestJoseInterop has the npm jose library, which nobody here wrote, verify gatehouse's
// ES256 and EdDSA access tokens against the JWKS the Gin server publishes, checking
// issuer, audience and typ, and refuse tampered and misdirected ones.
func TestJoseInterop(t *testing.T) {
	node := requireNode(t)
	const iss, aud = "https://app.example", "https://api.example"
	for _, alg := range []core.Algorithm{core.ES256, core.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			auth, err := core.New(memstore.New(), core.WithAlgorithm(alg), core.WithIssuer(iss), core.WithAudience(aud))
			if err != nil {
				t.Fatal(err)
			}
			jwks := serve(t, auth) + auth.Prefix() + "/jwks.json"
			tok, err := auth.Issue(context.Background(), core.Identity{Subject: "google|1234", Email: "ada@example.com", Name: "Ada"}, core.Client{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := auth.Authenticate(context.Background(), tok.AccessToken)
			if err != nil {
				t.Fatal(err)
			}

			payload, refusal := joseVerify(t, node, jwks, tok.AccessToken, iss, aud)
			if refusal != "" {
				t.Fatalf("jose refused a valid %s token: %s", alg, refusal)
			}
			for claim, v := range map[string]string{"iss": iss, "aud": aud, "sub": want.Subject,
				"email": want.Email, "name": want.Name, "jti": want.ID, "sid": want.SessionID} {
				if payload[claim] != v {
					t.Errorf("jose payload %s = %v, want %q", claim, payload[claim], v)
				}
			}
			if exp, _ := payload["exp"].(float64); int64(exp) != want.ExpiresAt.Unix() {
				t.Errorf("jose payload exp = %v, want %d", payload["exp"], want.ExpiresAt.Unix())
			}

			const badSig, badClaim = "ERR_JWS_SIGNATURE_VERIFICATION_FAILED", "ERR_JWT_CLAIM_VALIDATION_FAILED"
			refused := []struct{ name, token, iss, aud, want string }{
				{"payload with another sub", withClaim(t, tok.AccessToken, "sub", "admin"), iss, aud, badSig},
				{"flipped signature character", flipSignature(t, tok.AccessToken), iss, aud, badSig},
				{"other audience", tok.AccessToken, iss, "https://other.example", badClaim},
				{"other issuer", tok.AccessToken, "https://evil.example", aud, badClaim},
				{"refresh token (typ)", tok.RefreshToken, iss, aud, badClaim},
			}
			for _, tc := range refused {
				p, refusal := joseVerify(t, node, jwks, tc.token, tc.iss, tc.aud)
				switch {
				case refusal == "":
					t.Errorf("%s: jose accepted it: %v", tc.name, p)
				case !strings.HasPrefix(refusal, tc.want):
					t.Errorf("%s: jose refused it with %q, want %s", tc.name, refusal, tc.want)
				}
			}
		})
	}
}

// withClaim returns token with one claim of its payload changed and the signature
// left as it was.
func withClaim(t *testing.T, token, claim string, value any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m[claim] = value
	if raw, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// flipSignature changes one character in the middle of the signature, keeping it
// valid base64url of the same length.
func flipSignature(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	b := []byte(parts[2])
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	parts[2] = string(b)
	return strings.Join(parts, ".")
}
