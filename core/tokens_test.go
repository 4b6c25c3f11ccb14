package core_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// hostile is a gatehouse that signs with HS256 key "hs-1" and also verifies RS256 "rs-1",
// ES256 "es-1" and EdDSA "ed-1" public keys, with one genuine sign-in to forge from.
type hostile struct {
	*env
	tok *core.Tokens
}

func newHostile(t *testing.T, opts ...core.Option) *hostile {
	t.Helper()
	opts = append([]core.Option{core.WithVerificationKeys(
		pubKey(t, "rs-1", &rsaPriv().PublicKey),
		pubKey(t, "es-1", &ecPriv().PublicKey),
		pubKey(t, "ed-1", edPriv().Public()),
	)}, opts...)
	e := newEnv(t, opts...)
	return &hostile{env: e, tok: e.issue(alice)}
}

// header is the genuine encoded header of an access token.
func (h *hostile) header() string {
	hd, _, _ := split(h.t, h.tok.AccessToken)
	return hd
}

// payload is the genuine encoded payload of the access token.
func (h *hostile) payload() string {
	_, p, _ := split(h.t, h.tok.AccessToken)
	return p
}

// claims is a fresh copy of the genuine access token's claims.
func (h *hostile) claims() map[string]any { return payloadOf(h.t, h.tok.AccessToken) }

// resign returns a token with the genuine header and claims, correctly signed with the
// signing key's secret: only what the claims say can make it fail.
func (h *hostile) resign(claims map[string]any) string {
	return forge(h.header(), seg(claims), hsSigner)
}

// with returns the genuine claims with name set to v (or removed when v is del).
func (h *hostile) with(name string, v any) map[string]any {
	c := h.claims()
	if v == del {
		delete(c, name)
	} else {
		c[name] = v
	}
	return c
}

type deleted struct{}

var del = deleted{}

func (h *hostile) unix(d time.Duration) int64 { return h.clock.Now().Add(d).Unix() }

// attackerEC is a P-256 key the attacker owns.
var attackerEC = func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) }()

func attackerJWK() map[string]any {
	b := must(attackerEC.PublicKey.Bytes())
	return map[string]any{"kty": "EC", "crv": "P-256", "x": rawURL.EncodeToString(b[1:33]), "y": rawURL.EncodeToString(b[33:])}
}

func attackerCert() string {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatehouse"},
		NotBefore: base.Add(-time.Hour), NotAfter: base.Add(time.Hour)}
	der := must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, &attackerEC.PublicKey, attackerEC))
	return base64.StdEncoding.EncodeToString(der)
}

func hdr(fields ...any) string {
	m := map[string]any{}
	for i := 0; i < len(fields); i += 2 {
		m[fields[i].(string)] = fields[i+1]
	}
	return seg(m)
}

// TestAuthenticateRefusesHostileTokens tries to get in with one crafted token per case;
// each must be refused with its specific error and the ErrInvalidToken category.
func TestAuthenticateRefusesHostileTokens(t *testing.T) {
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaPriv().PublicKey))})
	rsaPKCS1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaPriv().PublicKey)})
	rsaDER := must(x509.MarshalPKIXPublicKey(&rsaPriv().PublicKey))
	ecPub := must(ecPriv().PublicKey.Bytes())
	edPub := []byte(edPriv().Public().(ed25519.PublicKey))
	attackerSecret := []byte("attacker-chosen-secret-of-32-bytes!!")

	cases := []struct {
		name    string
		token   func(h *hostile) string
		want    []error // nil: the token must be accepted
		notWant []error
	}{
		// Control: the genuine token gets in, so every refusal below is the case's doing.
		{"genuine token", func(h *hostile) string { return h.tok.AccessToken }, nil, nil},

		// Algorithm: alg none, outside the allow-list, key confusion (CVE-2015-9235).
		{"alg none, empty signature", func(h *hostile) string {
			return forge(hdr("alg", "none", "kid", "hs-1", "typ", "at+jwt"), h.payload(), nil)
		}, []error{core.ErrMalformedToken}, nil},
		{"alg none, no kid", func(h *hostile) string {
			return forge(hdr("alg", "none", "typ", "at+jwt"), h.payload(), nil)
		}, []error{core.ErrMalformedToken}, nil},
		{"alg None", func(h *hostile) string {
			return forge(hdr("alg", "None", "kid", "hs-1", "typ", "at+jwt"), h.payload(), nil)
		}, []error{core.ErrMalformedToken}, nil},
		{"alg NONE with an HMAC signature", func(h *hostile) string {
			return forge(hdr("alg", "NONE", "kid", "hs-1", "typ", "at+jwt"), h.payload(), hsSigner)
		}, []error{core.ErrMalformedToken}, nil},
		{"alg empty", func(h *hostile) string {
			return forge(hdr("alg", "", "kid", "hs-1", "typ", "at+jwt"), h.payload(), hsSigner)
		}, []error{core.ErrMalformedToken}, nil},
		{"alg missing", func(h *hostile) string {
			return forge(hdr("kid", "hs-1", "typ", "at+jwt"), h.payload(), hsSigner)
		}, []error{core.ErrMalformedToken}, nil},
		{"alg RS384, outside the allow-list", func(h *hostile) string {
			return forge(hdr("alg", "RS384", "kid", "rs-1", "typ", "at+jwt"), h.payload(), hsSigner)
		}, []error{core.ErrMalformedToken}, nil},
		{"alg PS256, outside the allow-list", func(h *hostile) string {
			return forge(hdr("alg", "PS256", "kid", "rs-1", "typ", "at+jwt"), h.payload(), rsaSigner(rsaPriv()))
		}, []error{core.ErrMalformedToken}, nil},
		{"alg ES384, outside the allow-list", func(h *hostile) string {
			return forge(hdr("alg", "ES384", "kid", "es-1", "typ", "at+jwt"), h.payload(), ecSigner(ecPriv()))
		}, []error{core.ErrMalformedToken}, nil},
		{"alg HS512 with the HS256 key's secret", func(h *hostile) string {
			return forge(hdr("alg", "HS512", "kid", "hs-1", "typ", "at+jwt"), h.payload(), hmacSigner(sha512New, hsSecret))
		}, []error{core.ErrMalformedToken}, nil},
		{"key confusion: HS256 with the RS256 key's PEM public key", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "rs-1", "typ", "at+jwt"), h.payload(), hmacSigner(sha256New, rsaPEM))
		}, []error{core.ErrMalformedToken}, nil},
		{"key confusion: HS256 with the RS256 key's PKCS#1 PEM", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "rs-1", "typ", "at+jwt"), h.payload(), hmacSigner(sha256New, rsaPKCS1PEM))
		}, []error{core.ErrMalformedToken}, nil},
		{"key confusion: HS256 with the RS256 key's DER", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "rs-1", "typ", "at+jwt"), h.payload(), hmacSigner(sha256New, rsaDER))
		}, []error{core.ErrMalformedToken}, nil},
		{"key confusion: the RS256 key's own header, HMAC-signed with its PEM", func(h *hostile) string {
			return forge(hdr("alg", "RS256", "kid", "rs-1", "typ", "at+jwt"), h.payload(), hmacSigner(sha256New, rsaPEM))
		}, []error{core.ErrBadSignature}, nil},
		{"key confusion: HS256 without kid, HMAC-signed with the RSA PEM", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "typ", "at+jwt"), h.payload(), hmacSigner(sha256New, rsaPEM))
		}, []error{core.ErrUnknownKey}, nil},
		{"key confusion: HS256 with the ES256 public key", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "es-1", "typ", "at+jwt"), h.payload(), hmacSigner(sha256New, ecPub))
		}, []error{core.ErrMalformedToken}, nil},
		{"key confusion: HS256 with the EdDSA public key", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "ed-1", "typ", "at+jwt"), h.payload(), hmacSigner(sha256New, edPub))
		}, []error{core.ErrMalformedToken}, nil},
		{"ES256 header on the EdDSA key", func(h *hostile) string {
			return forge(hdr("alg", "ES256", "kid", "ed-1", "typ", "at+jwt"), h.payload(), edSigner(edPriv()))
		}, []error{core.ErrMalformedToken}, nil},

		// Required claims.
		{"missing exp", func(h *hostile) string { return h.resign(h.with("exp", del)) }, []error{core.ErrMalformedToken}, nil},
		{"exp null", func(h *hostile) string { return h.resign(h.with("exp", nil)) }, []error{core.ErrMalformedToken}, nil},
		{"exp a string", func(h *hostile) string { return h.resign(h.with("exp", "4102444800")) }, []error{core.ErrMalformedToken}, nil},
		{"exp 1e300", func(h *hostile) string { return h.resign(h.with("exp", json.Number("1e300"))) }, []error{core.ErrMalformedToken}, nil},
		{"missing iss", func(h *hostile) string { return h.resign(h.with("iss", del)) }, []error{core.ErrMalformedToken}, nil},
		{"missing iat", func(h *hostile) string { return h.resign(h.with("iat", del)) }, []error{core.ErrMalformedToken}, nil},
		{"missing sub", func(h *hostile) string { return h.resign(h.with("sub", del)) }, []error{core.ErrMalformedToken}, nil},
		{"missing jti", func(h *hostile) string { return h.resign(h.with("jti", del)) }, []error{core.ErrMalformedToken}, nil},
		{"missing sid", func(h *hostile) string { return h.resign(h.with("sid", del)) }, []error{core.ErrMalformedToken}, nil},
		{"payload not a JSON object", func(h *hostile) string { return forge(h.header(), seg("[1,2]"), hsSigner) }, []error{core.ErrMalformedToken}, nil},
		{"payload not JSON", func(h *hostile) string { return forge(h.header(), seg("exp=1"), hsSigner) }, []error{core.ErrMalformedToken}, nil},

		// Issuer.
		{"wrong iss", func(h *hostile) string { return h.resign(h.with("iss", "https://evil.example.com")) }, []error{core.ErrMalformedToken}, nil},
		{"iss with a trailing slash", func(h *hostile) string { return h.resign(h.with("iss", testIssuer+"/")) }, []error{core.ErrMalformedToken}, nil},
		{"iss in upper case", func(h *hostile) string { return h.resign(h.with("iss", strings.ToUpper(testIssuer))) }, []error{core.ErrMalformedToken}, nil},
		{"iss an array", func(h *hostile) string { return h.resign(h.with("iss", []string{testIssuer})) }, []error{core.ErrMalformedToken}, nil},

		// Audience (CVE-2020-26160).
		{"aud wrong", func(h *hostile) string { return h.resign(h.with("aud", "other")) }, []error{core.ErrMalformedToken}, nil},
		{"aud missing", func(h *hostile) string { return h.resign(h.with("aud", del)) }, []error{core.ErrMalformedToken}, nil},
		{"aud []", func(h *hostile) string { return h.resign(h.with("aud", []string{})) }, []error{core.ErrMalformedToken}, nil},
		{`aud ["other"]`, func(h *hostile) string { return h.resign(h.with("aud", []string{"other"})) }, []error{core.ErrMalformedToken}, nil},
		{"aud null", func(h *hostile) string { return h.resign(h.with("aud", nil)) }, []error{core.ErrMalformedToken}, nil},
		{`aud ""`, func(h *hostile) string { return h.resign(h.with("aud", "")) }, []error{core.ErrMalformedToken}, nil},
		{"aud in upper case", func(h *hostile) string { return h.resign(h.with("aud", "API")) }, []error{core.ErrMalformedToken}, nil},
		{"aud a number", func(h *hostile) string { return h.resign(h.with("aud", 1)) }, []error{core.ErrMalformedToken}, nil},
		{"aud of refresh tokens", func(h *hostile) string { return h.resign(h.with("aud", testIssuer+"#refresh")) }, []error{core.ErrMalformedToken}, nil},
		{`aud ["x","api"] is accepted`, func(h *hostile) string { return h.resign(h.with("aud", []string{"x", testAudience})) }, nil, nil},
		{`aud ["api"] is accepted`, func(h *hostile) string { return h.resign(h.with("aud", []string{testAudience})) }, nil, nil},

		// Time.
		{"exp a second ago", func(h *hostile) string { return h.resign(h.with("exp", h.unix(-time.Second))) }, []error{core.ErrTokenExpired}, nil},
		{"exp now", func(h *hostile) string { return h.resign(h.with("exp", h.unix(0))) }, []error{core.ErrTokenExpired}, nil},
		{"exp negative", func(h *hostile) string { return h.resign(h.with("exp", -1)) }, []error{core.ErrTokenExpired}, nil},
		{"nbf a second ahead", func(h *hostile) string { return h.resign(h.with("nbf", h.unix(time.Second))) }, []error{core.ErrMalformedToken}, nil},
		{"nbf now is accepted", func(h *hostile) string { return h.resign(h.with("nbf", h.unix(0))) }, nil, nil},
		{"iat a second ahead", func(h *hostile) string { return h.resign(h.with("iat", h.unix(time.Second))) }, []error{core.ErrMalformedToken}, nil},

		// Tampering: the signature is checked before anything in the payload.
		{"tampered payload", func(h *hostile) string {
			hd, _, sig := split(h.t, h.tok.AccessToken)
			return hd + "." + seg(h.with("sub", "admin")) + "." + sig
		}, []error{core.ErrBadSignature}, nil},
		{"tampered and expired (CVE-2024-51744)", func(h *hostile) string {
			hd, _, sig := split(h.t, h.tok.AccessToken)
			return hd + "." + seg(h.with("exp", h.unix(-time.Hour))) + "." + sig
		}, []error{core.ErrBadSignature}, []error{core.ErrTokenExpired}},
		{"tampered with a missing exp", func(h *hostile) string {
			hd, _, sig := split(h.t, h.tok.AccessToken)
			return hd + "." + seg(h.with("exp", del)) + "." + sig
		}, []error{core.ErrBadSignature}, nil},
		{"signature of another token", func(h *hostile) string {
			other := h.issue(bob)
			hd, p, _ := split(h.t, h.tok.AccessToken)
			_, _, sig := split(h.t, other.AccessToken)
			return hd + "." + p + "." + sig
		}, []error{core.ErrBadSignature}, nil},
		{"signature stripped", func(h *hostile) string { return forge(h.header(), h.payload(), nil) }, []error{core.ErrBadSignature}, nil},
		{"signature truncated", func(h *hostile) string { return h.tok.AccessToken[:len(h.tok.AccessToken)-4] }, []error{core.ErrBadSignature}, nil},
		{"signature of a different secret", func(h *hostile) string {
			return forge(h.header(), h.payload(), hmacSigner(sha256New, attackerSecret))
		}, []error{core.ErrBadSignature}, nil},

		// Structure.
		{"empty", func(h *hostile) string { return "" }, []error{core.ErrMalformedToken}, nil},
		{"no dots", func(h *hostile) string { return "garbage" }, []error{core.ErrMalformedToken}, nil},
		{"two segments", func(h *hostile) string { return h.header() + "." + h.payload() }, []error{core.ErrMalformedToken}, nil},
		{"only dots", func(h *hostile) string { return ".." }, []error{core.ErrMalformedToken}, nil},
		{"four segments", func(h *hostile) string { return h.tok.AccessToken + ".x" }, []error{core.ErrMalformedToken}, nil},
		{"JWE, five segments", func(h *hostile) string {
			return hdr("alg", "dir", "enc", "A256GCM", "kid", "hs-1", "typ", "at+jwt") + "..aXY.Y2lwaGVy.dGFn"
		}, []error{core.ErrMalformedToken}, nil},
		{"JWE built from the genuine token", func(h *hostile) string { return h.tok.AccessToken + ".x.y" }, []error{core.ErrMalformedToken}, nil},
		{"header not base64", func(h *hostile) string { return "!!!." + h.payload() + ".x" }, []error{core.ErrMalformedToken}, nil},
		{"header not JSON", func(h *hostile) string { return forge(seg("alg=HS256"), h.payload(), hsSigner) }, []error{core.ErrMalformedToken}, nil},

		// kid: looked up in memory, never as a path or a URL.
		{"unknown kid", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "hs-2", "typ", "at+jwt"), h.payload(), hsSigner)
		}, []error{core.ErrUnknownKey}, nil},
		{"kid with ../", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "../../../../../dev/null", "typ", "at+jwt"), h.payload(), hmacSigner(sha256New, nil))
		}, []error{core.ErrUnknownKey}, nil},
		{"kid with quotes", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", `hs-1"`, "typ", "at+jwt"), h.payload(), hsSigner)
		}, []error{core.ErrUnknownKey}, nil},
		{"kid with quotes that close the string", func(h *hostile) string {
			return forge(seg(`{"alg":"HS256","kid":"hs-1\", \"alg\": \"none","typ":"at+jwt"}`), h.payload(), hsSigner)
		}, []error{core.ErrUnknownKey}, nil},
		{"kid SQL", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "' OR '1'='1", "typ", "at+jwt"), h.payload(), hsSigner)
		}, []error{core.ErrUnknownKey}, nil},
		{"kid empty", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "", "typ", "at+jwt"), h.payload(), hsSigner)
		}, []error{core.ErrUnknownKey}, nil},
		{"kid a number", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", 1, "typ", "at+jwt"), h.payload(), hsSigner)
		}, []error{core.ErrMalformedToken}, nil},

		// Keys carried by the token (CVE-2018-0114): signed by the key it carries.
		{"jwk header with our kid", func(h *hostile) string {
			return forge(hdr("alg", "ES256", "kid", "es-1", "typ", "at+jwt", "jwk", attackerJWK()), h.payload(), ecSigner(attackerEC))
		}, []error{core.ErrMalformedToken}, nil},
		{"jwk header without kid", func(h *hostile) string {
			return forge(hdr("alg", "ES256", "typ", "at+jwt", "jwk", attackerJWK()), h.payload(), ecSigner(attackerEC))
		}, []error{core.ErrUnknownKey}, nil},
		{"jwk header with the attacker's kid", func(h *hostile) string {
			return forge(hdr("alg", "ES256", "kid", "attacker", "typ", "at+jwt", "jwk", attackerJWK()), h.payload(), ecSigner(attackerEC))
		}, []error{core.ErrUnknownKey}, nil},
		{"jwk header with an HMAC secret", func(h *hostile) string {
			jwk := map[string]any{"kty": "oct", "k": rawURL.EncodeToString(attackerSecret)}
			return forge(hdr("alg", "HS256", "kid", "hs-1", "typ", "at+jwt", "jwk", jwk), h.payload(), hmacSigner(sha256New, attackerSecret))
		}, []error{core.ErrMalformedToken}, nil},
		{"jku header", func(h *hostile) string {
			return forge(hdr("alg", "ES256", "kid", "es-1", "typ", "at+jwt", "jku", "https://evil.example.com/jwks.json"), h.payload(), ecSigner(attackerEC))
		}, []error{core.ErrMalformedToken}, nil},
		{"x5u header", func(h *hostile) string {
			return forge(hdr("alg", "ES256", "kid", "es-1", "typ", "at+jwt", "x5u", "https://evil.example.com/cert.pem"), h.payload(), ecSigner(attackerEC))
		}, []error{core.ErrMalformedToken}, nil},
		{"x5c header", func(h *hostile) string {
			return forge(hdr("alg", "ES256", "kid", "es-1", "typ", "at+jwt", "x5c", []string{attackerCert()}), h.payload(), ecSigner(attackerEC))
		}, []error{core.ErrMalformedToken}, nil},
		{"x5c header without kid", func(h *hostile) string {
			return forge(hdr("alg", "ES256", "typ", "at+jwt", "x5c", []string{attackerCert()}), h.payload(), ecSigner(attackerEC))
		}, []error{core.ErrUnknownKey}, nil},
		{"crit header", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "hs-1", "typ", "at+jwt", "crit", []string{"exp"}, "exp", 1), h.payload(), hsSigner)
		}, []error{core.ErrMalformedToken}, nil},

		// Token types (RFC 9068, RFC 8725 §3.11).
		{"refresh token as an access token", func(h *hostile) string { return h.tok.RefreshToken }, []error{core.ErrWrongTokenType}, nil},
		{"id_token with typ JWT, right key, right claims", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "hs-1", "typ", "JWT"), seg(h.with("nonce", "n-0S6_WzA2Mj")), hsSigner)
		}, []error{core.ErrWrongTokenType}, nil},
		{"id_token without typ, right key, right claims", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "hs-1"), seg(h.with("nonce", "n-0S6_WzA2Mj")), hsSigner)
		}, []error{core.ErrWrongTokenType}, nil},
		{"typ application/at+jwt", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "hs-1", "typ", "application/at+jwt"), h.payload(), hsSigner)
		}, []error{core.ErrWrongTokenType}, nil},
		{"refresh header on access claims", func(h *hostile) string {
			rh, _, _ := split(h.t, h.tok.RefreshToken)
			return forge(rh, h.payload(), hsSigner)
		}, []error{core.ErrWrongTokenType}, nil},
		{"access header on refresh claims", func(h *hostile) string {
			_, rp, _ := split(h.t, h.tok.RefreshToken)
			return forge(h.header(), rp, hsSigner)
		}, []error{core.ErrMalformedToken}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostile(t)
			token := tc.token(h)
			c, err := h.auth.Authenticate(context.Background(), token)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused with %v, want accepted", err)
				}
				if c.Subject != alice.Subject {
					t.Fatalf("subject %q, want %q", c.Subject, alice.Subject)
				}
				return
			}
			if c != nil {
				t.Errorf("returned claims %+v with the error", c)
			}
			wantIs(t, "Authenticate", err, append([]error{core.ErrInvalidToken}, tc.want...)...)
			wantNotIs(t, "Authenticate", err, tc.notWant...)
			wantNotIs(t, "Authenticate", err, core.ErrStoreUnavailable, core.ErrInvalidGrant)
			if r := core.ErrorResponse(err); r.Status != 401 || r.Code != "invalid_token" {
				t.Errorf("ErrorResponse = %d %q, want 401 invalid_token", r.Status, r.Code)
			}
		})
	}
}

// TestAuthenticateExpiry moves the clock over a genuine token's exp, without leeway.
func TestAuthenticateExpiry(t *testing.T) {
	cases := []struct {
		name string
		at   time.Duration // after sign-in
		want error
	}{
		{"just issued", 0, nil},
		{"a second before exp", accessTTL - time.Second, nil},
		{"a nanosecond before exp", accessTTL - time.Nanosecond, nil},
		{"exactly at exp", accessTTL, core.ErrTokenExpired},
		{"exp a second ago", accessTTL + time.Second, core.ErrTokenExpired},
		{"a day later", 24 * time.Hour, core.ErrTokenExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tok := e.issue(alice)
			if !tok.AccessExpiresAt.Equal(base.Add(accessTTL)) {
				t.Fatalf("AccessExpiresAt = %v, want %v", tok.AccessExpiresAt, base.Add(accessTTL))
			}
			e.clock.Set(base.Add(tc.at))
			err := e.authErr(tok.AccessToken)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused with %v, want accepted", err)
				}
				return
			}
			wantIs(t, "Authenticate", err, tc.want, core.ErrInvalidToken)
		})
	}
}

// TestAuthenticateLeeway checks exp, nbf and iat against a 30 s leeway.
func TestAuthenticateLeeway(t *testing.T) {
	const leeway = 30 * time.Second
	cases := []struct {
		name   string
		claims func(h *hostile) map[string]any
		at     time.Duration // clock after sign-in
		want   error
	}{
		{"exp 29 s ago, inside the leeway", nil, accessTTL + 29*time.Second, nil},
		{"exp 30 s ago, at the leeway's end", nil, accessTTL + leeway, core.ErrTokenExpired},
		{"exp 31 s ago, outside the leeway", nil, accessTTL + 31*time.Second, core.ErrTokenExpired},
		{"nbf 30 s ahead, inside the leeway", func(h *hostile) map[string]any { return h.with("nbf", h.unix(leeway)) }, 0, nil},
		{"nbf 31 s ahead, outside the leeway", func(h *hostile) map[string]any { return h.with("nbf", h.unix(31*time.Second)) }, 0, core.ErrMalformedToken},
		{"iat 30 s ahead, inside the leeway", func(h *hostile) map[string]any { return h.with("iat", h.unix(leeway)) }, 0, nil},
		{"iat 31 s ahead, outside the leeway", func(h *hostile) map[string]any { return h.with("iat", h.unix(31*time.Second)) }, 0, core.ErrMalformedToken},
		{"iat an hour ahead", func(h *hostile) map[string]any { return h.with("iat", h.unix(time.Hour)) }, 0, core.ErrMalformedToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostile(t, core.WithLeeway(leeway))
			token := h.tok.AccessToken
			if tc.claims != nil {
				token = h.resign(tc.claims(h))
			}
			h.clock.Set(base.Add(tc.at))
			err := h.authErr(token)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused with %v, want accepted", err)
				}
				return
			}
			wantIs(t, "Authenticate", err, tc.want, core.ErrInvalidToken)
		})
	}
	if _, err := core.New(memstore.New(), core.WithLeeway(core.MaxLeeway+time.Second)); err == nil {
		t.Errorf("New with a leeway over MaxLeeway succeeded")
	}

	// At MaxLeeway, the most New accepts (60 s), a token that expired 59 s ago is still
	// accepted and one that expired 60 s ago is not.
	t.Run("MaxLeeway", func(t *testing.T) {
		e := newEnv(t, core.WithLeeway(core.MaxLeeway))
		tok := e.issue(alice)
		e.clock.Set(base.Add(accessTTL + core.MaxLeeway - time.Second))
		e.mustAuth(tok.AccessToken)
		e.clock.Set(base.Add(accessTTL + core.MaxLeeway))
		wantIs(t, "Authenticate at exp + MaxLeeway", e.authErr(tok.AccessToken), core.ErrTokenExpired, core.ErrInvalidToken)
	})
}

// TestAuthenticateEncodingMalleability flips unused base64 bits, adds '=' padding and
// inserts line breaks in each segment, for every algorithm: a token is accepted only in
// the one encoding gatehouse writes (RFC 7515 §2, golang-jwt's WithStrictDecoding). A
// byte outside the base64url alphabet makes the token malformed before any decoding.
func TestAuthenticateEncodingMalleability(t *testing.T) {
	for _, k := range algKeys(t) {
		t.Run(string(k.alg), func(t *testing.T) {
			type tcase struct {
				name  string
				token func(t *testing.T, tok string) string
				want  error
			}
			cases := []tcase{
				{"header: unused bits flipped", func(t *testing.T, tok string) string {
					h, p, s := split(t, tok)
					return flipUnusedBits(t, h) + "." + p + "." + s
				}, core.ErrMalformedToken},
				{"header: padded", func(t *testing.T, tok string) string {
					h, p, s := split(t, tok)
					return pad(h) + "." + p + "." + s
				}, core.ErrMalformedToken},
				{"payload: unused bits flipped", func(t *testing.T, tok string) string {
					h, p, s := split(t, tok)
					return h + "." + flipUnusedBits(t, padClaims(t, p)) + "." + s
				}, core.ErrBadSignature},
				{"payload: unused bits flipped, then signed", func(t *testing.T, tok string) string {
					h, p, _ := split(t, tok)
					return forge(h, flipUnusedBits(t, padClaims(t, p)), k.sign)
				}, core.ErrMalformedToken},
				{"payload: padded", func(t *testing.T, tok string) string {
					h, p, s := split(t, tok)
					return h + "." + pad(p) + "." + s
				}, core.ErrMalformedToken},
				{"payload: padded, then signed", func(t *testing.T, tok string) string {
					h, p, _ := split(t, tok)
					return forge(h, pad(p), k.sign)
				}, core.ErrMalformedToken},
				{"payload: line break, then signed", func(t *testing.T, tok string) string {
					h, p, _ := split(t, tok)
					return forge(h, p[:8]+"\n"+p[8:], k.sign)
				}, core.ErrMalformedToken},
				{"header: line break", func(t *testing.T, tok string) string {
					h, p, s := split(t, tok)
					return h[:8] + "\n" + h[8:] + "." + p + "." + s
				}, core.ErrMalformedToken},
				{"signature: unused bits flipped", func(t *testing.T, tok string) string {
					h, p, s := split(t, tok)
					if len(s)%4 == 0 {
						t.Skipf("a %s signature leaves no unused bits", k.alg)
					}
					return h + "." + p + "." + flipUnusedBits(t, s)
				}, core.ErrBadSignature},
				{"signature: padded", func(t *testing.T, tok string) string {
					h, p, s := split(t, tok)
					return h + "." + p + "." + pad(s)
				}, core.ErrMalformedToken},
				{"signature: standard base64 alphabet", func(t *testing.T, tok string) string {
					h, p, s := split(t, tok)
					return h + "." + p + "." + "+/" + s[2:]
				}, core.ErrMalformedToken},
				{"signature: line feed inside", func(t *testing.T, tok string) string {
					h, p, s := split(t, tok)
					return h + "." + p + "." + s[:10] + "\n" + s[10:]
				}, core.ErrMalformedToken},
				{"signature: CR LF at the end", func(t *testing.T, tok string) string { return tok + "\r\n" }, core.ErrMalformedToken},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					e := newEnv(t, core.WithSigningKey(k.key))
					tok := e.issue(alice).AccessToken
					// Control: the genuine token, and the same claims re-signed as the
					// test signs them, are accepted.
					e.mustAuth(tok)
					h, p, _ := split(t, tok)
					e.mustAuth(forge(h, padClaims(t, p), k.sign))

					err := e.authErr(tc.token(t, tok))
					wantIs(t, "Authenticate", err, core.ErrInvalidToken, tc.want)
				})
			}
		})
	}
}

// padClaims re-encodes the payload p with trailing spaces so that its encoding has
// unused bits in its last character.
func padClaims(t testing.TB, p string) string {
	t.Helper()
	raw := must(rawURL.DecodeString(p))
	for len(raw)%3 != 1 {
		raw = append(raw, ' ')
	}
	return rawURL.EncodeToString(raw)
}

// TestUnknownKeysStayInMemory: a token naming a key gatehouse does not hold is refused
// from the keyring in memory, however many arrive: thousands of random kids, kids that
// look like paths, quotes or URLs, jku, x5u and jwk headers pointing elsewhere. None of
// them reaches the store or any other lookup, at Authenticate, Refresh or Revoke, and
// the genuine token still works afterwards (SECURITY 6, 39).
func TestUnknownKeysStayInMemory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok := e.issue(alice)
	_, ap, _ := split(t, tok.AccessToken)
	_, rp, _ := split(t, tok.RefreshToken)
	methods := []string{"RevokeToken", "IsRevoked", "CreateSession", "Session", "Sessions", "Rotate",
		"EndSession", "LoadOrStoreKey", "Consume", "Purge"}
	calls := func() int {
		n := 0
		for _, m := range methods {
			n += e.store.count(m)
		}
		return n
	}
	kids := []string{"../../../../etc/passwd", `hs-1"`, "' OR '1'='1", "https://evil.example/jwks.json", "file:///dev/zero"}
	for range 2000 {
		var b [16]byte
		rand.Read(b[:])
		kids = append(kids, rawURL.EncodeToString(b[:]))
	}
	before := calls()
	for i, kid := range kids {
		extra := [][]any{nil,
			{"jku", "https://evil.example/" + kid},
			{"x5u", "https://evil.example/" + kid + ".pem"},
			{"jwk", attackerJWK()}}[i%4]
		access := forge(hdr(append([]any{"alg", "HS256", "kid", kid, "typ", "at+jwt"}, extra...)...), ap, hsSigner)
		refresh := forge(hdr(append([]any{"alg", "HS256", "kid", kid, "typ", "rt+jwt"}, extra...)...), rp, hsSigner)
		wantIs(t, "Authenticate(kid "+kid+")", e.authErr(access), core.ErrInvalidToken, core.ErrUnknownKey)
		wantIs(t, "Refresh(kid "+kid+")", e.refreshErr(refresh), core.ErrInvalidGrant, core.ErrUnknownKey)
		if err := e.auth.Revoke(ctx, access); err != nil {
			t.Errorf("Revoke(kid %s): %v", kid, err)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	if n := calls() - before; n != 0 {
		t.Errorf("%d tokens of unknown keys made %d store calls, want none", 3*len(kids), n)
	}
	e.mustAuth(tok.AccessToken)
	if n := calls() - before; n != 1 || e.store.count("IsRevoked") == 0 {
		t.Errorf("the genuine token made %d store calls, want its one IsRevoked", n)
	}
}

// TestDependencyFloors: core's go.mod requires the JOSE and OAuth libraries at or past
// the releases that fixed their known parsing flaws (SECURITY 37): golang-jwt v5.2.2
// (CVE-2025-30204), x/oauth2 v0.27.0 (CVE-2025-22868) and go-jose v4.0.5
// (CVE-2025-27144), each memory exhaustion by a crafted token. Minimal version
// selection never picks less than a go.mod requires, so every module that imports core,
// in this repository or an app's, builds with these versions or later.
func TestDependencyFloors(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	floors := map[string][3]int{
		"github.com/golang-jwt/jwt/v5":  {5, 2, 2},
		"golang.org/x/oauth2":           {0, 27, 0},
		"github.com/go-jose/go-jose/v4": {4, 0, 5},
	}
	for path, floor := range floors {
		m := regexp.MustCompile(`(?m)^(?:require)?\s*` + regexp.QuoteMeta(path) + `\s+v(\d+)\.(\d+)\.(\d+)\S*`).FindSubmatch(mod)
		if m == nil {
			t.Errorf("core/go.mod does not require %s", path)
			continue
		}
		var v [3]int
		for i := range v {
			v[i], _ = strconv.Atoi(string(m[i+1]))
		}
		if slices.Compare(v[:], floor[:]) < 0 {
			t.Errorf("core/go.mod requires %s v%d.%d.%d, older than v%d.%d.%d", path, v[0], v[1], v[2], floor[0], floor[1], floor[2])
		}
		if regexp.MustCompile(`(?m)^\s*(?:replace\s+)?` + regexp.QuoteMeta(path) + `(?:\s+v\S+)?\s+=>`).Match(mod) {
			t.Errorf("core/go.mod replaces %s", path)
		}
	}
}

// TestAuthenticateTokenTooLarge: an oversized token is refused before any parsing, fast.
func TestAuthenticateTokenTooLarge(t *testing.T) {
	e := newEnv(t)
	tok := e.issue(alice).AccessToken
	cases := []struct {
		name  string
		token string
	}{
		{"1 MiB of dots", strings.Repeat(".", 1<<20)},
		{"1 MiB of base64", strings.Repeat("A", 1<<20)},
		{"genuine token padded past MaxTokenSize", tok + strings.Repeat("A", core.MaxTokenSize)},
		{"MaxTokenSize + 1 bytes", strings.Repeat("a.", core.MaxTokenSize/2) + "a"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := e.authErr(tc.token)
			elapsed := time.Since(start)
			wantIs(t, "Authenticate", err, core.ErrTokenTooLarge, core.ErrInvalidToken)
			if elapsed > 50*time.Millisecond {
				t.Errorf("refusing took %v", elapsed)
			}
		})
	}
	// At MaxTokenSize the size is no reason to refuse: what is refused is the structure.
	err := e.authErr(strings.Repeat(".", core.MaxTokenSize))
	wantIs(t, "Authenticate at MaxTokenSize", err, core.ErrMalformedToken, core.ErrInvalidToken)
	wantNotIs(t, "Authenticate at MaxTokenSize", err, core.ErrTokenTooLarge)
}

// TestIssue checks what a sign-in returns: the token response and both tokens' shape.
func TestIssue(t *testing.T) {
	e := newEnv(t)
	tok, err := e.auth.Issue(context.Background(), alice, core.Client{UserAgent: "Firefox/140", IP: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Errorf("token response %+v", tok)
	}
	var body map[string]any
	if err := json.Unmarshal(must(json.Marshal(tok)), &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"access_token", "token_type", "expires_in", "refresh_token"} {
		if _, ok := body[k]; !ok {
			t.Errorf("token response JSON lacks %q: %v", k, body)
		}
	}
	if len(body) != 4 {
		t.Errorf("token response JSON has extra members: %v", body)
	}

	ah, rh := headerOf(t, tok.AccessToken), headerOf(t, tok.RefreshToken)
	if ah["typ"] != "at+jwt" || ah["alg"] != "HS256" || ah["kid"] != "hs-1" || len(ah) != 3 {
		t.Errorf("access token header %v", ah)
	}
	if rh["typ"] == "at+jwt" || rh["typ"] == "" || rh["kid"] != "hs-1" {
		t.Errorf("refresh token header %v", rh)
	}
	ap, rp := payloadOf(t, tok.AccessToken), payloadOf(t, tok.RefreshToken)
	for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "sid", "email", "name"} {
		if _, ok := ap[k]; !ok {
			t.Errorf("access token lacks %q: %v", k, ap)
		}
	}
	if ap["aud"] == rp["aud"] {
		t.Errorf("access and refresh tokens share the audience %v", ap["aud"])
	}
	if ap["jti"] == rp["jti"] || rp["jti"] == nil {
		t.Errorf("refresh jti %v, access jti %v", rp["jti"], ap["jti"])
	}
	if ap["sid"] != rp["sid"] || ap["sid"] != tok.Session.ID {
		t.Errorf("sid: access %v, refresh %v, session %v", ap["sid"], rp["sid"], tok.Session.ID)
	}

	c := e.mustAuth(tok.AccessToken)
	if c.Subject != alice.Subject || c.Email != alice.Email || c.Name != alice.Name || c.Issuer != testIssuer ||
		len(c.Audience) != 1 || c.Audience[0] != testAudience || c.SessionID != tok.Session.ID ||
		!c.ExpiresAt.Equal(base.Add(accessTTL)) || !c.IssuedAt.Equal(base) || !c.NotBefore.IsZero() || c.ID == "" {
		t.Errorf("claims %+v", c)
	}
	ss, err := e.auth.Sessions(context.Background(), alice.Subject)
	if err != nil || len(ss) != 1 {
		t.Fatalf("Sessions = %v, %v", ss, err)
	}
	if s := ss[0]; s.UserAgent != "Firefox/140" || s.IP != "192.0.2.7" || !s.CreatedAt.Equal(base) || s.Email != alice.Email {
		t.Errorf("session %+v", s)
	}

	_, err = e.auth.Issue(context.Background(), core.Identity{Email: "nobody@example.com"}, core.Client{})
	wantIs(t, "Issue without subject", err, core.ErrInvalidRequest)
}

// TestAccessTokenNeverOutlivesSession: with a refresh TTL shorter than the access TTL,
// the access token ends with the session.
func TestAccessTokenNeverOutlivesSession(t *testing.T) {
	e := newEnv(t, core.WithRefreshTTL(5*time.Minute))
	tok := e.issue(alice)
	if c := e.mustAuth(tok.AccessToken); !c.ExpiresAt.Equal(base.Add(5 * time.Minute)) {
		t.Errorf("access exp %v, want the session's end %v", c.ExpiresAt, base.Add(5*time.Minute))
	}
	if tok.ExpiresIn != 300 {
		t.Errorf("expires_in %d, want 300", tok.ExpiresIn)
	}
}
