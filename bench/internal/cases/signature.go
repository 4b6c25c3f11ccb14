package cases

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
	"github.com/gatehouse-auth/gatehouse/bench/internal/measure"
	"github.com/golang-jwt/jwt/v5"
)

// Signatures are the two ways of checking a token's signature that the cost of going
// through golang-jwt is measured with: its SigningMethod.Verify, as core calls it, and
// the standard library directly; for HS256 with keyed hashes reused from a pool, which
// golang-jwt's Verify cannot do (it keys a new HMAC for every call).
var Signatures = []string{"golang-jwt", "stdlib"}

// Signature measures one signature check of alg's reused token by impl.
func Signature(impl string, alg *fixture.Alg) (func(b *testing.B), error) {
	tok := alg.Reused()
	dot := strings.LastIndexByte(tok, '.')
	input := tok[:dot]
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		return nil, err
	}
	var verify func() bool
	switch {
	case impl == "golang-jwt":
		m := jwt.GetSigningMethod(alg.Name)
		key := alg.PeerKey
		verify = func() bool { return m.Verify(input, sig, key) == nil }
	case impl == "stdlib" && alg.Name == "HS256":
		secret := alg.PeerKey.([]byte)
		pool := sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }}
		var sum [sha256.Size]byte
		verify = func() bool {
			h := pool.Get().(hash.Hash)
			h.Reset()
			h.Write([]byte(input))
			ok := hmac.Equal(h.Sum(sum[:0]), sig)
			pool.Put(h)
			return ok
		}
	case impl == "stdlib" && alg.Name == "EdDSA":
		pub := alg.PeerKey.(ed25519.PublicKey)
		verify = func() bool { return ed25519.Verify(pub, []byte(input), sig) }
	default:
		return nil, fmt.Errorf("no signature check %q for %s", impl, alg.Name)
	}
	if !verify() {
		return nil, fmt.Errorf("%s refuses the signature of %s", impl, alg.Name)
	}
	return func(b *testing.B) {
		b.ReportAllocs()
		ok := true
		measure.Loop(b, func() { ok = verify() && ok })
		if !ok {
			b.Fatal(errors.New("signature refused"))
		}
	}, nil
}
