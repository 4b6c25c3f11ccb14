package core

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"sync"
)

// Algorithms gatehouse signs and verifies with. Nothing else is ever accepted.
const (
	HS256 = "HS256"
	HS384 = "HS384"
	HS512 = "HS512"
	RS256 = "RS256"
	ES256 = "ES256"
	EdDSA = "EdDSA"
)

const minRSABits = 2048

var b64 = base64.RawURLEncoding.Strict()

// Key is one signing or verification key with its algorithm and key id (kid). Build it
// with HMACKey, PrivateKey, PublicKey or GenerateKey; the zero Key is not usable.
type Key struct {
	id   string
	alg  string
	hmac *hmacKey
	priv crypto.Signer
	pub  crypto.PublicKey
}

type hmacKey struct {
	secret []byte
	pool   sync.Pool // of hash.Hash keyed with secret
}

// HMACKey returns a key for HS256, HS384 or HS512. The secret must be at least as long as
// the hash output (32, 48 or 64 bytes, RFC 7518 §3.2); a shorter one is refused. An empty
// id is replaced by one derived from the secret (which it does not reveal).
func HMACKey(id, alg string, secret []byte) (*Key, error) {
	newHash, size := hmacHash(alg)
	if newHash == nil {
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
	k.hmac.pool.New = func() any { return hmac.New(newHash, s) }
	if err := validID(k); err != nil {
		return nil, err
	}
	return k, nil
}

func hmacHash(alg string) (func() hash.Hash, int) {
	switch alg {
	case HS256:
		return sha256.New, 32
	case HS384:
		return sha512.New384, 48
	case HS512:
		return sha512.New, 64
	}
	return nil, 0
}

// PrivateKey returns a signing key for an *ecdsa.PrivateKey on P-256 (ES256), an
// ed25519.PrivateKey (EdDSA) or an *rsa.PrivateKey of 2048 bits or more (RS256). An
// empty id is replaced by the key's RFC 7638 thumbprint.
func PrivateKey(id string, priv crypto.Signer) (*Key, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: nil private key", ErrConfig)
	}
	k, err := PublicKey(id, priv.Public())
	if err != nil {
		return nil, err
	}
	k.priv = priv
	return k, nil
}

// PublicKey returns a verification-only key for an *ecdsa.PublicKey on P-256, an
// ed25519.PublicKey or an *rsa.PublicKey of 2048 bits or more: for tokens signed
// elsewhere with the matching private key, such as by an instance that holds it.
func PublicKey(id string, pub crypto.PublicKey) (*Key, error) {
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
	if k.id == "" {
		k.id = thumbprint(k.jwk())
	}
	if err := validID(k); err != nil {
		return nil, err
	}
	return k, nil
}

// GenerateKey returns a new random key for alg.
func GenerateKey(alg string) (*Key, error) {
	switch alg {
	case HS256, HS384, HS512:
		_, size := hmacHash(alg)
		secret := make([]byte, size)
		rand.Read(secret)
		return HMACKey("", alg, secret)
	case ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return PrivateKey("", priv)
	case EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return PrivateKey("", priv)
	case RS256:
		priv, err := rsa.GenerateKey(rand.Reader, minRSABits)
		if err != nil {
			return nil, err
		}
		return PrivateKey("", priv)
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
func (k *Key) Algorithm() string { return k.alg }

func (k *Key) canSign() bool { return k.hmac != nil || k.priv != nil }

func (k *Key) sign(input []byte) ([]byte, error) {
	if k.hmac != nil {
		return k.mac(input, nil), nil
	}
	switch k.alg {
	case EdDSA:
		return k.priv.Sign(rand.Reader, input, crypto.Hash(0))
	case ES256:
		sum := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, k.priv.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			return nil, err
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	case RS256:
		sum := sha256.Sum256(input)
		return rsa.SignPKCS1v15(rand.Reader, k.priv.(*rsa.PrivateKey), crypto.SHA256, sum[:])
	}
	return nil, errors.New("gatehouse: key cannot sign")
}

func (k *Key) mac(input, dst []byte) []byte {
	h := k.hmac.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(input)
	dst = h.Sum(dst)
	k.hmac.pool.Put(h)
	return dst
}

// verify reports whether sig is a valid signature of input under k.
func (k *Key) verify(input, sig []byte) bool {
	if k.hmac != nil {
		var buf [64]byte
		return hmac.Equal(k.mac(input, buf[:0]), sig)
	}
	switch pub := k.pub.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(pub, input, sig)
	case *ecdsa.PublicKey:
		if len(sig) != 64 {
			return false
		}
		sum := sha256.Sum256(input)
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		return ecdsa.Verify(pub, sum[:], r, s)
	case *rsa.PublicKey:
		sum := sha256.Sum256(input)
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
	}
	return false
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
	Alg    string `json:"alg"`
	Kid    string `json:"kid"`
	Secret []byte `json:"secret,omitempty"` // HMAC
	PKCS8  []byte `json:"pkcs8,omitempty"`  // asymmetric
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
		return HMACKey(sk.Kid, sk.Alg, sk.Secret)
	}
	priv, err := x509.ParsePKCS8PrivateKey(sk.PKCS8)
	if err != nil {
		return nil, fmt.Errorf("gatehouse: stored key: %w", err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("gatehouse: stored key: %T cannot sign", priv)
	}
	k, err := PrivateKey(sk.Kid, signer)
	if err != nil {
		return nil, err
	}
	if k.alg != sk.Alg {
		return nil, fmt.Errorf("gatehouse: stored key: algorithm %s does not match key type %s", sk.Alg, k.alg)
	}
	return k, nil
}
