package core

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
)

// MaxTokenSize is the longest token gatehouse reads; longer ones are refused before any
// decoding.
const MaxTokenSize = 8 << 10

// Token types, the typ header. An access token is never accepted where a refresh token
// belongs, nor the reverse: they differ in typ, in aud and in the endpoint that takes
// them.
const (
	typAccess  = "at+jwt" // RFC 9068
	typRefresh = "rt+jwt"
)

type tokenKind uint8

const (
	accessToken tokenKind = iota
	refreshToken
)

// header is the decoded JOSE header, looked at only to explain a refusal.
type header struct {
	Alg Algorithm `json:"alg"`
	Kid string    `json:"kid"`
	Typ string    `json:"typ"`
}

// keyHeader is what the encoded header of a token identifies.
type keyHeader struct {
	key  *Key
	kind tokenKind
}

// keyring holds the signing key and every verification key, and the encoded header of
// each (key, token type). A token is accepted only if its header segment is byte for
// byte one of these: the alg comes from our key, never from the token; kid is looked up
// in memory; jku, x5u, jwk, x5c, crit or any other member make the header unknown.
type keyring struct {
	signing *Key
	headers map[string]keyHeader // encoded header → key and type
	encoded map[*Key][2]string   // key → encoded header per tokenKind
	byID    map[string]*Key
	all     []*Key // signing key first, then the verification keys in the order given
}

func newKeyring(signing *Key, verify []*Key) (*keyring, error) {
	kr := &keyring{signing: signing, headers: map[string]keyHeader{}, encoded: map[*Key][2]string{}, byID: map[string]*Key{}}
	for _, k := range append([]*Key{signing}, verify...) {
		if k == nil || k.alg == "" {
			return nil, fmt.Errorf("%w: nil or zero key", ErrConfig)
		}
		if other, dup := kr.byID[k.id]; dup {
			if other == k {
				continue
			}
			return nil, fmt.Errorf("%w: two keys with kid %q", ErrConfig, k.id)
		}
		kr.byID[k.id] = k
		kr.all = append(kr.all, k)
		var enc [2]string
		for kind, typ := range [2]string{typAccess, typRefresh} {
			h, err := json.Marshal(header{Alg: k.alg, Kid: k.id, Typ: typ})
			if err != nil {
				return nil, err
			}
			enc[kind] = b64.EncodeToString(h)
			kr.headers[enc[kind]] = keyHeader{key: k, kind: tokenKind(kind)}
		}
		kr.encoded[k] = enc
	}
	return kr, nil
}

// sign returns a compact JWS of payload with the signing key and the header of kind.
func (kr *keyring) sign(kind tokenKind, payload []byte) (string, error) {
	h := kr.encoded[kr.signing][kind]
	var sb strings.Builder
	sb.Grow(len(h) + 1 + b64.EncodedLen(len(payload)) + 1 + 350)
	sb.WriteString(h)
	sb.WriteByte('.')
	p := make([]byte, b64.EncodedLen(len(payload)))
	b64.Encode(p, payload)
	sb.Write(p)
	sig, err := kr.signing.sign(sb.String())
	if err != nil {
		return "", fmt.Errorf("gatehouse: signing: %w", err)
	}
	sb.WriteByte('.')
	s := make([]byte, b64.EncodedLen(len(sig)))
	b64.Encode(s, sig)
	sb.Write(s)
	return sb.String(), nil
}

// verify checks the structure and the signature of token and that it is of kind, and
// returns its decoded payload. Nothing of the payload is read before the signature is
// known to be good, so a tampered token is always reported as a bad signature.
func (kr *keyring) verify(token string, kind tokenKind) ([]byte, error) {
	if len(token) > MaxTokenSize {
		return nil, ErrTokenTooLarge
	}
	dot1, dot2, ok := split(token)
	if !ok {
		return nil, fmt.Errorf("%w: not a compact JWS", ErrMalformedToken)
	}
	kh, known := kr.headers[token[:dot1]]
	if !known {
		return nil, kr.explainHeader(token[:dot1])
	}
	if kh.kind != kind {
		return nil, ErrWrongTokenType
	}
	var sigBuf [512]byte
	sig := sigBuf[:]
	if n := b64.DecodedLen(len(token) - dot2 - 1); n > len(sig) {
		sig = make([]byte, n)
	}
	n, err := b64.Decode(sig, []byte(token[dot2+1:]))
	if err != nil || !kh.key.verify(token[:dot2], sig[:n]) {
		return nil, ErrBadSignature
	}
	payload := make([]byte, b64.DecodedLen(dot2-dot1-1))
	n, err = b64.Decode(payload, []byte(token[dot1+1:dot2]))
	if err != nil {
		// Signed by us yet not canonical base64: we never produce that.
		return nil, fmt.Errorf("%w: payload encoding", ErrMalformedToken)
	}
	return payload[:n], nil
}

// split finds the two dots of a compact JWS and checks that every other byte is of the
// base64url alphabet: Go's decoder skips CR and LF, which would give one token several
// spellings, and a fifth part (JWE) or a third dot is refused here too.
func split(token string) (dot1, dot2 int, ok bool) {
	dot1, dot2 = -1, -1
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case c == '.':
			switch {
			case dot1 < 0:
				dot1 = i
			case dot2 < 0:
				dot2 = i
			default:
				return 0, 0, false
			}
		case !b64url[c]:
			return 0, 0, false
		}
	}
	return dot1, dot2, dot2 > 0
}

var b64url = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = true
	}
	return t
}()

// explainHeader says why an encoded header is not one of ours.
func (kr *keyring) explainHeader(enc string) error {
	raw, err := b64.DecodeString(enc)
	if err != nil {
		return fmt.Errorf("%w: header encoding", ErrMalformedToken)
	}
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("%w: header", ErrMalformedToken)
	}
	k, ok := kr.byID[h.Kid]
	switch {
	case !allowedAlg(h.Alg):
		return fmt.Errorf("%w: algorithm not allowed", ErrMalformedToken)
	case !ok:
		return ErrUnknownKey
	case k.alg != h.Alg:
		return fmt.Errorf("%w: algorithm does not match the key", ErrMalformedToken)
	case h.Typ != typAccess && h.Typ != typRefresh:
		return ErrWrongTokenType
	}
	return fmt.Errorf("%w: unexpected header members", ErrMalformedToken)
}

func allowedAlg(alg Algorithm) bool {
	switch alg {
	case HS256, HS384, HS512, RS256, ES256, EdDSA:
		return true
	}
	return false
}

// newID returns 128 random bits, base64url: every jti and sid.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	return b64.EncodeToString(b[:])
}
