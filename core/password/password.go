package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the cost parameters of an Argon2id hash.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism (p).
	Threads uint8
	// SaltLen is the length of the random salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the hash in bytes.
	KeyLen uint32
}

// DefaultParams are OWASP's first Argon2id configuration: 19 MiB, 2 passes, 1 thread,
// with a 16-byte salt and a 32-byte hash.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// The floor and the ceiling of the parameters (see the package documentation).
const (
	minMemory     = 7168  // KiB
	minMemoryTime = 36864 // Memory*Time, KiB
	minSaltLen    = 8
	minKeyLen     = 16

	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 16
	maxThreads = 16
	maxSaltLen = 64
	maxKeyLen  = 128
)

// Errors of Hash, Verify and Check.
var (
	// ErrMalformedHash means a string is not an Argon2id PHC string this package reads.
	ErrMalformedHash = errors.New("password: malformed argon2id hash")
	// ErrWeakHash means parameters are below the floor.
	ErrWeakHash = errors.New("password: argon2id parameters below the floor")
	// ErrCostlyHash means parameters are above the ceiling.
	ErrCostlyHash = errors.New("password: argon2id parameters above the ceiling")
)

// b64 is the encoding of the salt and the hash: standard alphabet, no padding, and the
// unused bits of the last character zero, so each byte string has one spelling.
var b64 = base64.RawStdEncoding.Strict()

// check returns the error that p's parameters deserve: ErrWeakHash below the floor,
// ErrCostlyHash above the ceiling, nil between them.
func (p Params) check() error {
	switch {
	case p.Memory < minMemory || uint64(p.Memory)*uint64(p.Time) < minMemoryTime ||
		p.Threads < 1 || p.SaltLen < minSaltLen || p.KeyLen < minKeyLen:
		return fmt.Errorf("%w: m=%d,t=%d,p=%d, salt %d bytes, hash %d bytes", ErrWeakHash, p.Memory, p.Time, p.Threads, p.SaltLen, p.KeyLen)
	case p.Memory > maxMemory || p.Time > maxTime || p.Threads > maxThreads ||
		p.SaltLen > maxSaltLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("%w: m=%d,t=%d,p=%d, salt %d bytes, hash %d bytes", ErrCostlyHash, p.Memory, p.Time, p.Threads, p.SaltLen, p.KeyLen)
	}
	return nil
}

// Hash hashes password with a fresh random salt and returns the PHC string. Parameters
// outside the floor and the ceiling are refused (ErrWeakHash, ErrCostlyHash).
func Hash(password string, p Params) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password is the one phc was made from. The hash is recomputed
// with phc's own parameters and compared in constant time. A phc that is malformed,
// below the floor or above the ceiling is an error (ErrMalformedHash, ErrWeakHash,
// ErrCostlyHash) and costs nothing to refuse: no hashing is done.
func Verify(phc, password string) (bool, error) {
	h, err := parse(phc)
	if err != nil {
		return false, err
	}
	p := h.params
	key := argon2.IDKey([]byte(password), h.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// Check parses phc and returns its parameters, with SaltLen and KeyLen the lengths of
// its salt and hash; it refuses what Verify refuses, with the same errors.
func Check(phc string) (Params, error) {
	h, err := parse(phc)
	if err != nil {
		return Params{}, err
	}
	return h.params, nil
}

// hash is a parsed PHC string.
type hash struct {
	params    Params
	salt, key []byte
}

// parse reads $argon2id$v=19$m=M,t=T,p=P$salt$hash exactly and checks the parameters.
func parse(phc string) (*hash, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" {
		return nil, fmt.Errorf("%w: want $argon2id$v=19$m=…,t=…,p=…$salt$hash", ErrMalformedHash)
	}
	if parts[1] != "argon2id" {
		return nil, fmt.Errorf("%w: algorithm %.16q, want argon2id", ErrMalformedHash, parts[1])
	}
	if parts[2] != "v=19" {
		return nil, fmt.Errorf("%w: version %.16q, want v=19", ErrMalformedHash, parts[2])
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return nil, fmt.Errorf("%w: want the parameters m, t and p", ErrMalformedHash)
	}
	var n [3]uint32
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(kv[i], name)
		if !ok {
			return nil, fmt.Errorf("%w: want the parameters m, t and p in that order", ErrMalformedHash)
		}
		if n[i], ok = number(v); !ok {
			return nil, fmt.Errorf("%w: parameter %s%.12q is not a decimal number", ErrMalformedHash, name, v)
		}
	}
	salt, ok := decode(parts[4])
	if !ok {
		return nil, fmt.Errorf("%w: salt is not unpadded canonical base64", ErrMalformedHash)
	}
	key, ok := decode(parts[5])
	if !ok {
		return nil, fmt.Errorf("%w: hash is not unpadded canonical base64", ErrMalformedHash)
	}
	if n[2] > maxThreads {
		return nil, fmt.Errorf("%w: p=%d", ErrCostlyHash, n[2])
	}
	p := Params{Memory: n[0], Time: n[1], Threads: uint8(n[2]), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.check(); err != nil {
		return nil, err
	}
	return &hash{params: p, salt: salt, key: key}, nil
}

// decode reads non-empty unpadded canonical base64. encoding/base64 skips \r and \n
// anywhere, even in Strict mode, so the alphabet is checked first: one byte string,
// one spelling.
func decode(s string) ([]byte, bool) {
	if s == "" {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, false
		}
	}
	b, err := b64.DecodeString(s)
	return b, err == nil
}

// number reads a uint32 written in canonical decimal: digits only, no leading zero.
func number(s string) (uint32, bool) {
	if s == "" || len(s) > 10 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}
