package core

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// MinKeyRotation is the shortest schedule WithKeyRotation accepts.
const MinKeyRotation = time.Hour

// WithKeyEncryptionKey seals the keys New generates and persists in the store (the
// signing key and the key of the sign-in state cookies) with AES-256-GCM under kek, 32
// bytes the app keeps apart from the store (an environment secret, a KMS). Whoever
// reads the store then learns nothing that signs a token. Sealed keys are kept under
// names of their own, derived from kek: turning the option on, or changing kek,
// generates new keys, so tokens signed before stop verifying and users sign in again.
// A sealed key that does not open with kek (tampered, or another kek under a colliding
// name) makes New fail.
func WithKeyEncryptionKey(kek []byte) Option {
	return func(c *config) error {
		if len(kek) != 32 {
			return fmt.Errorf("%w: a key-encryption key must be 32 bytes, got %d", ErrConfig, len(kek))
		}
		c.kek = append([]byte(nil), kek...)
		return nil
	}
}

// WithKeyRotation replaces the generated signing key, and the state cookies' key, every
// period d (at least MinKeyRotation), on a schedule of the clock every instance shares:
// period n runs from n·d to (n+1)·d after the Unix epoch. A new key signs from the start
// of its period; the keys of earlier periods verify until the last refresh token they
// can have signed has expired; the next period's key is created and trusted ahead, so
// instances whose clocks differ by seconds still accept each other's tokens. JWKS lists
// all of them. Every instance sharing the store agrees on each period's key without a
// restart (Store.LoadOrStoreKey). It applies to generated keys only: it cannot be
// combined with WithSigningKey or WithHMACSecret, whose rotation is the app's (see
// WithVerificationKeys).
func WithKeyRotation(d time.Duration) Option {
	return func(c *config) error {
		if d < MinKeyRotation {
			return fmt.Errorf("%w: key rotation every %v: want %v or more", ErrConfig, d, MinKeyRotation)
		}
		c.rotateEvery = d
		return nil
	}
}

// keyset is every key in use at one time: the token keyring and the keys of the state
// cookies, the first of which seals. Auth swaps it whole when a rotation period begins.
type keyset struct {
	ring   *keyring
	states []cipher.AEAD
	period int64 // the rotation period it was built for; 0 without rotation
}

// keyLoader loads the keys persisted in the store, sealed under the key-encryption key if
// there is one.
type keyLoader struct {
	store Store
	kek   cipher.AEAD // nil: stored as they are
	scope string      // name prefix of sealed keys, derived from the kek
}

func newKeyLoader(store Store, kek []byte) (*keyLoader, error) {
	l := &keyLoader{store: store}
	if kek == nil {
		return l, nil
	}
	aead, err := newGCM(kek)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("gatehouse key-encryption key id\x00"), kek...))
	l.kek, l.scope = aead, "sealed/"+b64.EncodeToString(sum[:9])+"/"
	return l, nil
}

// loadOrStore returns the key persisted under name, storing fresh if there is none.
func (l *keyLoader) loadOrStore(ctx context.Context, name string, fresh []byte) ([]byte, error) {
	name = l.scope + name
	value := fresh
	if l.kek != nil {
		nonce := make([]byte, l.kek.NonceSize(), l.kek.NonceSize()+len(fresh)+l.kek.Overhead())
		rand.Read(nonce)
		value = l.kek.Seal(nonce, nonce, fresh, []byte(name))
	}
	stored, err := l.store.LoadOrStoreKey(ctx, name, value)
	if err != nil {
		return nil, storeErr(err)
	}
	if l.kek == nil {
		return stored, nil
	}
	n := l.kek.NonceSize()
	if len(stored) < n+l.kek.Overhead() {
		return nil, fmt.Errorf("%w: persisted key %s is not sealed", ErrConfig, name)
	}
	plain, err := l.kek.Open(nil, stored[:n], stored[n:], []byte(name))
	if err != nil {
		return nil, fmt.Errorf("%w: persisted key %s does not open with the key-encryption key", ErrConfig, name)
	}
	return plain, nil
}

// signingKey returns the generated signing key of a period (period 0 and rotation off:
// the one key, under its name of before rotation existed).
func (a *Auth) signingKey(ctx context.Context, period int64) (*Key, error) {
	k, err := GenerateKey(a.cfg.alg)
	if err != nil {
		return nil, err
	}
	b, err := k.marshal()
	if err != nil {
		return nil, err
	}
	stored, err := a.loader.loadOrStore(ctx, a.periodName("signing/"+string(a.cfg.alg), period), b)
	if err != nil {
		return nil, err
	}
	return unmarshalKey(stored)
}

// stateKey returns the AES-256-GCM key of a period that seals sign-in state cookies.
func (a *Auth) stateKey(ctx context.Context, period int64) (cipher.AEAD, error) {
	fresh := make([]byte, 32)
	rand.Read(fresh)
	key, err := a.loader.loadOrStore(ctx, a.periodName("web/state-aes256gcm", period), fresh)
	if err != nil {
		return nil, err
	}
	return newGCM(key)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("gatehouse: persisted key has %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// periodName is the store name of a rotating key: the schedule is part of it, so
// changing WithKeyRotation's period starts a fresh series.
func (a *Auth) periodName(base string, period int64) string {
	if a.cfg.rotateEvery == 0 {
		return base
	}
	return base + "/every-" + strconv.FormatInt(int64(a.cfg.rotateEvery/time.Second), 10) + "s/" + strconv.FormatInt(period, 10)
}

// period is the rotation period of t; 0 when keys do not rotate.
func (a *Auth) period(t time.Time) int64 {
	if a.cfg.rotateEvery == 0 {
		return 0
	}
	return t.Unix() / int64(a.cfg.rotateEvery/time.Second)
}

// pastPeriods is how many earlier periods' signing keys still verify: enough that the
// last refresh token signed in the latest of them has expired.
func (a *Auth) pastPeriods() int64 {
	life := max(a.cfg.refreshTTL, a.cfg.accessTTL) + a.cfg.leeway
	return int64(math.Ceil(float64(life) / float64(a.cfg.rotateEvery)))
}

// loadKeys builds the keyset of period: the app's keys, or the generated ones of the
// period, the next (trusted ahead) and the past ones that may still have live tokens.
func (a *Auth) loadKeys(ctx context.Context, period int64) (*keyset, error) {
	ks := &keyset{period: period}
	signing, verify := a.cfg.signing, a.cfg.verify
	if signing == nil {
		var err error
		if signing, err = a.signingKey(ctx, period); err != nil {
			return nil, err
		}
		if a.cfg.rotateEvery != 0 {
			verify = nil
			for p := period + 1; p >= period-a.pastPeriods(); p-- {
				if p == period {
					continue
				}
				k, err := a.signingKey(ctx, p)
				if err != nil {
					return nil, err
				}
				verify = append(verify, k)
			}
			verify = append(verify, a.cfg.verify...)
		}
	}
	ring, err := newKeyring(signing, verify)
	if err != nil {
		return nil, err
	}
	ks.ring = ring
	if a.cfg.web.def == nil {
		return ks, nil // no sign-in routes, no state cookies
	}
	periods := []int64{period}
	if a.cfg.rotateEvery != 0 {
		periods = append(periods, period-1, period+1) // states live minutes
	}
	for _, p := range periods {
		k, err := a.stateKey(ctx, p)
		if err != nil {
			return nil, err
		}
		ks.states = append(ks.states, k)
	}
	return ks, nil
}

// rotator swaps an Auth's keyset when a rotation period begins.
type rotator struct {
	mu      sync.Mutex
	current atomic.Pointer[keyset]
	retryAt atomic.Int64 // Unix nanoseconds before which a failed load is not retried
}

// errRotation is logged, not returned: the keys of the ending period still sign and
// verify (the next period's key was trusted ahead) until the load succeeds.
var errRotation = errors.New("gatehouse: loading the keys of a new rotation period")

// keys returns the keyset in force at now, loading the new period's keys first when a
// period has begun. Without rotation it is one atomic load.
func (a *Auth) keys(now time.Time) *keyset {
	ks := a.rot.current.Load()
	if a.cfg.rotateEvery == 0 {
		return ks
	}
	p := a.period(now)
	if p == ks.period || now.UnixNano() < a.rot.retryAt.Load() {
		return ks
	}
	a.rot.mu.Lock()
	defer a.rot.mu.Unlock()
	if ks = a.rot.current.Load(); ks.period == p {
		return ks
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	next, err := a.loadKeys(ctx, p)
	if err != nil {
		a.rot.retryAt.Store(now.Add(5 * time.Second).UnixNano())
		a.cfg.logger.Error(errRotation.Error(), "period", p, "err", err)
		return ks
	}
	a.rot.current.Store(next)
	return next
}
