package core

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithm is a JWS algorithm (RFC 7518 §3.1), the alg header of every token a key
// signs.
type Algorithm string

// Algorithms gatehouse signs and verifies with. Nothing else is ever accepted.
const (
	HS256 Algorithm = "HS256"
	HS384 Algorithm = "HS384"
	HS512 Algorithm = "HS512"
	RS256 Algorithm = "RS256"
	ES256 Algorithm = "ES256"
	EdDSA Algorithm = "EdDSA"
)

const minRSABits = 2048

var b64 = base64.RawURLEncoding.Strict()

// Key is one signing or verification key with its algorithm and key id (kid). Build it
// with KeyFromSecret, KeyFromSigner, KeyFromPublicKey or GenerateKey; the zero Key is not usable.
type Key struct {
	id   string
	alg  Algorithm
	meth jwt.SigningMethod
	hmac *hmacKey
	priv crypto.Signer
	pub  crypto.PublicKey
}

type hmacKey struct {
	secret []byte
}

// KeyFromSecret returns a key for HS256, HS384 or HS512. The secret must be at least as long as
// the hash output (32, 48 or 64 bytes, RFC 7518 §3.2); a shorter one is refused. An empty
// id is replaced by one derived from the secret (which it does not reveal).
func KeyFromSecret(id string, alg Algorithm, secret []byte) (*Key, error) {
	size := hmacSize(alg)
	if size == 0 {
		return nil, fmt.Errorf("%w: %q is not an HMAC algorithm", ErrConfig, alg)
	}
	if len(secret) < size {
		return nil, fmt.Errorf("%w: an %s secret must be at least %d bytes, got %d", ErrConfig, alg, size, len(secret))
	}
	s := append([]byte(nil), secret...)
	if id == "" {
		sum := sha256.Sum256(append([]byte("gatehouse kid\x00"), s...))
		id = b64.EncodeToString(sum[:12])
	}
	k := &Key{id: id, alg: alg, hmac: &hmacKey{secret: s}}
	k.meth = k.method()
	if err := validID(k); err != nil {
		return nil, err
	}
	return k, nil
}

// hmacSize is the hash output size of an HMAC algorithm, and 0 for any other.
func hmacSize(alg Algorithm) int {
	switch alg {
	case HS256:
		return 32
	case HS384:
		return 48
	case HS512:
		return 64
	}
	return 0
}

// KeyFromSigner returns a signing key for an *ecdsa.PrivateKey on P-256 (ES256), an
// ed25519.PrivateKey (EdDSA) or an *rsa.PrivateKey of 2048 bits or more (RS256). An
// empty id is replaced by the key's RFC 7638 thumbprint.
func KeyFromSigner(id string, priv crypto.Signer) (*Key, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: nil private key", ErrConfig)
	}
	k, err := KeyFromPublicKey(id, priv.Public())
	if err != nil {
		return nil, err
	}
	k.priv = priv
	return k, nil
}

// KeyFromPublicKey returns a verification-only key for an *ecdsa.PublicKey on P-256, an
// ed25519.PublicKey or an *rsa.PublicKey of 2048 bits or more: for tokens signed
// elsewhere with the matching private key, such as by an instance that holds it.
func KeyFromPublicKey(id string, pub crypto.PublicKey) (*Key, error) {
	k := &Key{id: id, pub: pub}
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ECDSA keys must be on P-256 for ES256", ErrConfig)
		}
		k.alg = ES256
	case ed25519.PublicKey:
		if len(p) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: bad Ed25519 public key", ErrConfig)
		}
		k.alg = EdDSA
	case *rsa.PublicKey:
		if p.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("%w: RSA keys must have at least %d bits", ErrConfig, minRSABits)
		}
		k.alg = RS256
	default:
		return nil, fmt.Errorf("%w: unsupported public key type %T", ErrConfig, pub)
	}
	k.meth = k.method()
	if k.id == "" {
		k.id = thumbprint(k.jwk())
	}
	if err := validID(k); err != nil {
		return nil, err
	}
	return k, nil
}

// GenerateKey returns a new random key for alg.
func GenerateKey(alg Algorithm) (*Key, error) {
	switch alg {
	case HS256, HS384, HS512:
		secret := make([]byte, hmacSize(alg))
		rand.Read(secret)
		return KeyFromSecret("", alg, secret)
	case ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return KeyFromSigner("", priv)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return KeyFromSigner("", priv)
	case RS256:
		priv, err := rsa.GenerateKey(rand.Reader, minRSABits)
		if err != nil {
			return nil, err
		}
		return KeyFromSigner("", priv)
	}
	return nil, fmt.Errorf("%w: unsupported algorithm %q", ErrConfig, alg)
}

func validID(k *Key) error {
	if len(k.id) > 128 {
		return fmt.Errorf("%w: key id longer than 128 bytes", ErrConfig)
	}
	return nil
}

// ID returns the key id, the kid header of every token the key signs.
func (k *Key) ID() string { return k.id }

// Algorithm returns the JWS algorithm of the key.
func (k *Key) Algorithm() Algorithm { return k.alg }

func (k *Key) canSign() bool { return k.hmac != nil || k.priv != nil }

// method is the golang-jwt signing method of the key's algorithm: gatehouse decides
// which header and key a token may have (keyring), golang-jwt makes and checks the
// signature.
func (k *Key) method() jwt.SigningMethod {
	switch k.alg {
	case HS256:
		return jwt.SigningMethodHS256
	case HS384:
		return jwt.SigningMethodHS384
	case HS512:
		return jwt.SigningMethodHS512
	case RS256:
		return jwt.SigningMethodRS256
	case ES256:
		return jwt.SigningMethodES256
	case EdDSA:
		return jwt.SigningMethodEdDSA
	}
	return nil
}

func (k *Key) sign(input string) ([]byte, error) {
	if k.hmac != nil {
		return k.meth.Sign(input, k.hmac.secret)
	}
	if k.priv == nil {
		return nil, errors.New("gatehouse: key cannot sign")
	}
	return k.meth.Sign(input, k.priv)
}

// verify reports whether sig is a valid signature of input under k.
func (k *Key) verify(input string, sig []byte) bool {
	if k.hmac != nil {
		return k.meth.Verify(input, sig, k.hmac.secret) == nil
	}
	return k.meth.Verify(input, sig, k.pub) == nil
}

// JWK is one public key of a JSON Web Key Set (RFC 7517).
type JWK struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Alg string `json:"alg,omitempty"`
	Kid string `json:"kid,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// JWKS is a JSON Web Key Set, as served at /auth/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// jwk returns the public JWK of an asymmetric key, without use, alg and kid.
func (k *Key) jwk() JWK {
	switch pub := k.pub.(type) {
	case *ecdsa.PublicKey:
		b, _ := pub.Bytes() // uncompressed point: 0x04 ‖ X ‖ Y
		return JWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(b[1:33]), Y: b64.EncodeToString(b[33:])}
	case ed25519.PublicKey:
		return JWK{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(pub)}
	case *rsa.PublicKey:
		return JWK{Kty: "RSA", N: b64.EncodeToString(pub.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}
	}
	return JWK{}
}

// thumbprint is the RFC 7638 JWK thumbprint: SHA-256 of the required members in
// lexical order, base64url.
func thumbprint(j JWK) string {
	var s string
	switch j.Kty {
	case "EC":
		s = `{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	case "OKP":
		s = `{"crv":"` + j.Crv + `","kty":"OKP","x":"` + j.X + `"}`
	case "RSA":
		s = `{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`
	}
	sum := sha256.Sum256([]byte(s))
	return b64.EncodeToString(sum[:])
}

// storedKey is how a generated key is persisted with Store.LoadOrStoreKey.
type storedKey struct {
	Alg    Algorithm `json:"alg"`
	Kid    string    `json:"kid"`
	Secret []byte    `json:"secret,omitempty"` // HMAC
	PKCS8  []byte    `json:"pkcs8,omitempty"`  // asymmetric
}

func (k *Key) marshal() ([]byte, error) {
	sk := storedKey{Alg: k.alg, Kid: k.id}
	if k.hmac != nil {
		sk.Secret = k.hmac.secret
	} else {
		der, err := x509.MarshalPKCS8PrivateKey(k.priv)
		if err != nil {
			return nil, err
		}
		sk.PKCS8 = der
	}
	return json.Marshal(sk)
}

func unmarshalKey(b []byte) (*Key, error) {
	var sk storedKey
	if err := json.Unmarshal(b, &sk); err != nil {
		return nil, fmt.Errorf("gatehouse: stored key: %w", err)
	}
	if sk.Secret != nil {
		return KeyFromSecret(sk.Kid, sk.Alg, sk.Secret)
	}
	priv, err := x509.ParsePKCS8PrivateKey(sk.PKCS8)
	if err != nil {
		return nil, fmt.Errorf("gatehouse: stored key: %w", err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("gatehouse: stored key: %T cannot sign", priv)
	}
	k, err := KeyFromSigner(sk.Kid, signer)
	if err != nil {
		return nil, err
	}
	if k.alg != sk.Alg {
		return nil, fmt.Errorf("gatehouse: stored key: algorithm %s does not match key type %s", sk.Alg, k.alg)
	}
	return k, nil
}
