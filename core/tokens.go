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
// returns its decoded payload. A byte outside the base64url alphabet makes the token
// malformed before anything else is said of it; nothing of the payload is read before
// the signature is known to be good, so a tampered token is always reported as a bad
// signature.
func (kr *keyring) verify(token string, kind tokenKind) (string, error) {
	if len(token) > MaxTokenSize {
		return "", ErrTokenTooLarge
	}
	dot1 := strings.IndexByte(token, '.')
	if dot1 < 0 {
		return "", errNotJWS
	}
	dot2 := strings.IndexByte(token[dot1+1:], '.') + dot1 + 1
	if dot2 == dot1 || strings.IndexByte(token[dot2+1:], '.') >= 0 {
		return "", errNotJWS // two parts, or a fourth (JWE has five)
	}
	kh, known := kr.headers[token[:dot1]] // an exact match is of the alphabet
	if !known {
		if !base64url(token[:dot1]) || !base64url(token[dot1+1:dot2]) || !base64url(token[dot2+1:]) {
			return "", errNotJWS
		}
		return "", kr.explainHeader(token[:dot1])
	}
	// The signature goes to golang-jwt through an interface, so its buffer is on the
	// heap whatever it is: it is made of the exact size.
	sig := make([]byte, b64.DecodedLen(len(token)-dot2-1))
	sigDec := decodeB64(sig, token[dot2+1:])
	enc := token[dot1+1 : dot2]
	var buf [1024]byte
	payload := buf[:]
	if n := b64.DecodedLen(len(enc)); n <= len(buf) {
		payload = buf[:n]
	} else {
		payload = make([]byte, n)
	}
	payloadDec := decodeB64(payload, enc)
	switch {
	case sigDec == b64Alphabet || payloadDec == b64Alphabet:
		return "", errNotJWS
	case kh.kind != kind:
		return "", ErrWrongTokenType
	case sigDec != b64OK || !kh.key.verify(token[:dot2], sig):
		return "", ErrBadSignature
	case payloadDec != b64OK:
		// Signed by us yet not canonical base64: we never produce that.
		return "", fmt.Errorf("%w: payload encoding", ErrMalformedToken)
	}
	return string(payload), nil
}

// errNotJWS is every token verify finds not to be compact JWS in base64url.
var errNotJWS = fmt.Errorf("%w: not a compact JWS", ErrMalformedToken)

// What decodeB64 found.
const (
	b64OK       = iota
	b64Alphabet // a byte outside the base64url alphabet
	b64Strict   // a length that leaves one character over, or bits set beyond the data
)

// decodeB64 decodes src, unpadded base64url, into dst of exactly
// b64.DecodedLen(len(src)) bytes. It refuses what b64 (Strict) refuses, but also CR
// and LF, which Go's decoder skips and which would give one token several spellings;
// and it reads the token string without the copy that b64.Decode's []byte would take.
func decodeB64(dst []byte, src string) int {
	if len(dst) != len(src)*6/8 {
		return b64Strict
	}
	var bad byte // the high bit set if any byte is outside the alphabet
	i, j := 0, 0
	for ; i+4 <= len(src); i, j = i+4, j+3 {
		a, b, c, d := b64val[src[i]], b64val[src[i+1]], b64val[src[i+2]], b64val[src[i+3]]
		bad |= a | b | c | d
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst[j], dst[j+1], dst[j+2] = byte(v>>16), byte(v>>8), byte(v)
	}
	var rest uint32 // the bits of the last, partial group beyond the data
	switch len(src) - i {
	case 1:
		bad |= b64val[src[i]]
		rest = 1 // one character over: never valid
	case 2:
		a, b := b64val[src[i]], b64val[src[i+1]]
		bad |= a | b
		v := uint32(a)<<6 | uint32(b)
		dst[j], rest = byte(v>>4), v&0xf
	case 3:
		a, b, c := b64val[src[i]], b64val[src[i+1]], b64val[src[i+2]]
		bad |= a | b | c
		v := uint32(a)<<12 | uint32(b)<<6 | uint32(c)
		dst[j], dst[j+1], rest = byte(v>>10), byte(v>>2), v&0x3
	}
	switch {
	case bad&0x80 != 0:
		return b64Alphabet
	case rest != 0:
		return b64Strict
	}
	return b64OK
}

// base64url reports whether every byte of s is of the base64url alphabet.
func base64url(s string) bool {
	for i := 0; i < len(s); i++ {
		if b64val[s[i]]&0x80 != 0 {
			return false
		}
	}
	return true
}

const b64alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// b64val is what each byte is worth in base64url, 0xff for a byte outside it.
var b64val = func() (val [256]byte) {
	for i := range val {
		val[i] = 0xff
	}
	for i, c := range b64alphabet {
		val[c] = byte(i)
	}
	return val
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
