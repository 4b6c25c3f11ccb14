package devidp

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

var b64 = base64.RawURLEncoding

// publicJWK is the JWK of a P-256 public key (RFC 7518 §6.2), without use, alg and kid.
func publicJWK(pub *ecdsa.PublicKey) map[string]any {
	b, _ := pub.Bytes() // 0x04 ‖ X ‖ Y
	return map[string]any{"kty": "EC", "crv": "P-256", "x": b64.EncodeToString(b[1:33]), "y": b64.EncodeToString(b[33:])}
}

// thumbprint is the RFC 7638 thumbprint of a P-256 public key, the key's kid.
func thumbprint(pub *ecdsa.PublicKey) string {
	j := publicJWK(pub)
	s := `{"crv":"P-256","kty":"EC","x":"` + j["x"].(string) + `","y":"` + j["y"].(string) + `"}`
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

// sign returns the compact JWS (RFC 7515) of claims, signed ES256 with the provider's
// key.
func (p *Provider) sign(claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "ES256", "typ": "JWT", "kid": p.kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, p.key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64) // r ‖ s, each 32 bytes big-endian (RFC 7518 §3.4)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig), nil
}
