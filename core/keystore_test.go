package core_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

var kek = bytes.Repeat([]byte{0x4b}, 32)

// newKeyAuth is an Auth over store with generated keys: no WithSigningKey.
func newKeyAuth(t *testing.T, store core.Store, c *clock, opts ...core.Option) *core.Auth {
	t.Helper()
	a, err := core.New(store, append([]core.Option{
		core.WithClock(c.Now), core.WithIssuer(testIssuer), core.WithAudience(testAudience),
		core.WithProviders(core.OIDC("idp", "https://idp.example", "id", "secret")), // so the state key exists too
	}, opts...)...)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	return a
}

func storedKeys(t *testing.T, store *memstore.Store) map[string][]byte {
	t.Helper()
	keys := map[string][]byte{}
	err := store.Export(context.Background(), func(e core.Entry) error {
		if e.Kind == core.EntryKey {
			keys[e.ID] = e.Value
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestKeyEncryptionKey: with a key-encryption key the persisted keys are sealed, under
// names of their own; instances with the same kek agree, others do not; a tampered
// sealed key stops New (SECURITY.md case 44).
func TestKeyEncryptionKey(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	store := memstore.New()
	a := newKeyAuth(t, store, c, core.WithKeyEncryptionKey(kek), core.WithAlgorithm(core.ES256))
	keys := storedKeys(t, store)
	if len(keys) != 2 {
		t.Fatalf("stored keys %v, want the signing key and the state key", keys)
	}
	for name, v := range keys {
		if !strings.HasPrefix(name, "sealed/") {
			t.Errorf("key %q is not under the sealed names", name)
		}
		if bytes.Contains(v, []byte("pkcs8")) || bytes.Contains(v, []byte(`"alg"`)) || len(v) == 32 {
			t.Errorf("key %q is stored in the clear: %q", name, v)
		}
	}
	tok := must(a.Issue(ctx, alice, core.Client{}))

	same := newKeyAuth(t, store, c, core.WithKeyEncryptionKey(kek), core.WithAlgorithm(core.ES256))
	if _, err := same.Authenticate(ctx, tok.AccessToken); err != nil {
		t.Errorf("another instance with the same kek refuses the token: %v", err)
	}
	for name, opts := range map[string][]core.Option{
		"other kek": {core.WithKeyEncryptionKey(bytes.Repeat([]byte{1}, 32)), core.WithAlgorithm(core.ES256)},
		"no kek":    {core.WithAlgorithm(core.ES256)},
	} {
		other := newKeyAuth(t, store, c, opts...)
		_, err := other.Authenticate(ctx, tok.AccessToken)
		wantIs(t, name, err, core.ErrInvalidToken)
	}

	// A sealed key changed in the store does not open: New refuses to start.
	for name, v := range keys {
		v = bytes.Clone(v)
		v[len(v)-1] ^= 1
		if err := store.Import(ctx, []core.Entry{{Kind: core.EntryKey, ID: name, Value: v}}); err != nil {
			t.Fatal(err)
		}
		_, err := core.New(store, core.WithClock(c.Now), core.WithKeyEncryptionKey(kek), core.WithAlgorithm(core.ES256),
			core.WithProviders(core.OIDC("idp", "https://idp.example", "id", "secret")))
		wantIs(t, "New with a tampered "+name, err, core.ErrConfig)
		break
	}

	for _, n := range []int{0, 16, 31, 33} {
		_, err := core.New(memstore.New(), core.WithKeyEncryptionKey(make([]byte, n)))
		wantIs(t, "WithKeyEncryptionKey of a short key", err, core.ErrConfig)
	}
}

// TestScheduledKeyRotation: generated keys rotate on schedule; a new key signs, the old ones
// verify until their last refresh token has expired, the next one is trusted ahead,
// JWKS lists them all, and instances sharing the store agree without a restart
// (SECURITY.md case 45).
func TestScheduledKeyRotation(t *testing.T) {
	ctx := context.Background()
	const every = 24 * time.Hour
	start := time.Unix(0, 0).Add(20_000 * every).Add(time.Hour) // an hour into a period
	ca, cb := newClock(), newClock()
	ca.Set(start)
	cb.Set(start)
	store := memstore.New()
	// Instances whose clocks differ need a leeway, rotation or not.
	opts := []core.Option{core.WithKeyRotation(every), core.WithAlgorithm(core.EdDSA),
		core.WithRefreshTTL(2*every - time.Minute), core.WithLeeway(5 * time.Second)}
	a := newKeyAuth(t, store, ca, opts...)
	b := newKeyAuth(t, store, cb, opts...)

	// Period p: this key, the next one and two past ones (refresh tokens live 2 periods).
	if n := len(a.JWKS().Keys); n != 4 {
		t.Errorf("JWKS lists %d keys, want 4 (this period, the next, two past)", n)
	}
	t1 := must(a.Issue(ctx, alice, core.Client{}))
	k1 := headerOf(t, t1.AccessToken)["kid"]
	if _, err := b.Authenticate(ctx, t1.AccessToken); err != nil {
		t.Fatalf("the other instance refuses the token: %v", err)
	}

	// A second before the next period on b, a second into it on a: a signs with the
	// new key, and b, still in the old period, already trusts it.
	ca.Set(start.Add(every - time.Hour + time.Second))
	cb.Set(start.Add(every - time.Hour - time.Second))
	t2 := must(a.Issue(ctx, bob, core.Client{}))
	k2 := headerOf(t, t2.AccessToken)["kid"]
	if k2 == k1 {
		t.Fatalf("the key did not change with the period: %v", k1)
	}
	if _, err := b.Authenticate(ctx, t2.AccessToken); err != nil {
		t.Errorf("an instance a second behind refuses the new period's token: %v", err)
	}
	// The old key still verifies what it signed: the refresh token of t1 refreshes, on
	// both instances, now with the new key.
	cb.Set(ca.Now())
	r := must(b.Refresh(ctx, t1.RefreshToken))
	if kid := headerOf(t, r.AccessToken)["kid"]; kid != k2 {
		t.Errorf("instance b signs with %v after the rotation, want %v like a", kid, k2)
	}
	if _, err := a.Authenticate(ctx, r.AccessToken); err != nil {
		t.Errorf("a refuses b's token of the new period: %v", err)
	}

	// Three periods on, t1's key is gone: its refresh token had expired anyway, and a
	// token signed with it no longer verifies, whatever it claims.
	ca.Set(start.Add(3 * every))
	if kids := jwksKids(a); kids[k1.(string)] || !kids[k2.(string)] {
		t.Errorf("JWKS after three periods %v: want %v gone and %v kept", kids, k1, k2)
	}
	_, err := a.Authenticate(ctx, t1.AccessToken)
	wantIs(t, "Authenticate with a retired key", err, core.ErrInvalidToken)

	for name, opts := range map[string][]core.Option{
		"too short":        {core.WithKeyRotation(time.Minute)},
		"with a given key": {core.WithKeyRotation(every), core.WithSigningKey(hsKey(t))},
		"with a secret":    {core.WithKeyRotation(every), core.WithHMACSecret(hsSecret)},
	} {
		_, err := core.New(memstore.New(), opts...)
		wantIs(t, name, err, core.ErrConfig)
	}
}

// TestScheduledKeyRotationStoreDown: when the store fails as a period begins, the keys of the
// ending period go on signing and verifying (its successor was trusted ahead), and
// the new period's keys are loaded once the store is back.
func TestScheduledKeyRotationStoreDown(t *testing.T) {
	ctx := context.Background()
	const every = 24 * time.Hour
	c := newClock()
	start := time.Unix(0, 0).Add(20_000 * every).Add(time.Hour)
	c.Set(start)
	store := newFaultStore(memstore.New())
	a := newKeyAuth(t, store, c, core.WithKeyRotation(every), core.WithLogger(slog.New(slog.DiscardHandler)))
	t1 := must(a.Issue(ctx, alice, core.Client{}))

	store.failOn("LoadOrStoreKey", errors.New("disk"))
	c.Set(start.Add(every))
	t2 := must(a.Issue(ctx, alice, core.Client{}))
	if headerOf(t, t2.AccessToken)["kid"] != headerOf(t, t1.AccessToken)["kid"] {
		t.Error("signed with another key while the store was down")
	}
	if _, err := a.Authenticate(ctx, t2.AccessToken); err != nil {
		t.Fatalf("Authenticate while the new period's keys cannot load: %v", err)
	}
	store.failOn("LoadOrStoreKey", nil)
	c.Add(10 * time.Second) // past the retry pause
	t3 := must(a.Issue(ctx, alice, core.Client{}))
	if headerOf(t, t3.AccessToken)["kid"] == headerOf(t, t1.AccessToken)["kid"] {
		t.Error("still the old key after the store came back")
	}
	if _, err := a.Authenticate(ctx, t2.AccessToken); err != nil {
		t.Errorf("a token of the old key refused after the rotation: %v", err)
	}
}

func jwksKids(a *core.Auth) map[string]bool {
	kids := map[string]bool{}
	for _, k := range a.JWKS().Keys {
		kids[k.Kid] = true
	}
	return kids
}
