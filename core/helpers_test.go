package core_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// base is the instant every test starts from, on a whole second so that token expiries
// (whole seconds) fall exactly where a test expects them.
var base = time.Date(2100, time.March, 4, 5, 6, 7, 0, time.UTC)

const (
	testIssuer   = "https://auth.example.com"
	testAudience = "api"
	accessTTL    = 15 * time.Minute
)

var (
	alice = core.Identity{Subject: "https://accounts.example.com|1001", Email: "alice@example.com", Name: "Alice"}
	bob   = core.Identity{Subject: "https://accounts.example.com|1002", Email: "bob@example.com", Name: "Bob"}
)

// hsSecret is the HS256 secret of the default signing key, kid "hs-1".
var hsSecret = []byte("0123456789abcdef0123456789abcdef")

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// clock is the injected clock; tests move it instead of sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: base} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// eventLog records what the WithEvents hook reports.
type eventLog struct {
	mu     sync.Mutex
	events []core.Event
}

func (l *eventLog) record(_ context.Context, e core.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

// types returns the types of the session events, in order: the ones an audit log
// keeps. The per-request and refusal events (authentications, sign-in callbacks,
// refused refreshes, rate limits) are left out; all has them.
func (l *eventLog) types() []core.EventType {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ts []core.EventType
	for _, e := range l.events {
		switch e.Type {
		case core.EventAuthenticate, core.EventSignIn, core.EventRefreshRefused, core.EventRateLimited:
			continue
		}
		ts = append(ts, e.Type)
	}
	return ts
}

func (l *eventLog) all() []core.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

// faultStore is the real memstore with failures injected into chosen methods.
type faultStore struct {
	core.Store
	mu    sync.Mutex
	fail  map[string]error
	calls map[string]int
}

func newFaultStore(s core.Store) *faultStore {
	return &faultStore{Store: s, fail: map[string]error{}, calls: map[string]int{}}
}

// failOn makes method return err until heal.
func (f *faultStore) failOn(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[method] = err
}

func (f *faultStore) heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.fail)
}

func (f *faultStore) count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

func (f *faultStore) check(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	return f.fail[method]
}

func (f *faultStore) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	if err := f.check("RevokeToken"); err != nil {
		return err
	}
	return f.Store.RevokeToken(ctx, jti, exp)
}

func (f *faultStore) IsRevoked(ctx context.Context, jti, sid string) (bool, error) {
	if err := f.check("IsRevoked"); err != nil {
		return false, err
	}
	return f.Store.IsRevoked(ctx, jti, sid)
}

func (f *faultStore) CreateSession(ctx context.Context, s *core.Session) error {
	if err := f.check("CreateSession"); err != nil {
		return err
	}
	return f.Store.CreateSession(ctx, s)
}

func (f *faultStore) Session(ctx context.Context, sid string) (*core.Session, error) {
	if err := f.check("Session"); err != nil {
		return nil, err
	}
	return f.Store.Session(ctx, sid)
}

func (f *faultStore) Sessions(ctx context.Context, subject string) ([]*core.Session, error) {
	if err := f.check("Sessions"); err != nil {
		return nil, err
	}
	return f.Store.Sessions(ctx, subject)
}

func (f *faultStore) Rotate(ctx context.Context, r core.Rotation) (*core.Session, error) {
	if err := f.check("Rotate"); err != nil {
		return nil, err
	}
	return f.Store.Rotate(ctx, r)
}

func (f *faultStore) EndSession(ctx context.Context, sid string) (*core.Session, error) {
	if err := f.check("EndSession"); err != nil {
		return nil, err
	}
	return f.Store.EndSession(ctx, sid)
}

func (f *faultStore) EndSessions(ctx context.Context, subject string) ([]*core.Session, error) {
	if err := f.check("EndSessions"); err != nil {
		return nil, err
	}
	return f.Store.EndSessions(ctx, subject)
}

func (f *faultStore) LoadOrStoreKey(ctx context.Context, name string, value []byte) ([]byte, error) {
	if err := f.check("LoadOrStoreKey"); err != nil {
		return nil, err
	}
	return f.Store.LoadOrStoreKey(ctx, name, value)
}

func (f *faultStore) Consume(ctx context.Context, id string, exp time.Time) (bool, error) {
	if err := f.check("Consume"); err != nil {
		return false, err
	}
	return f.Store.Consume(ctx, id, exp)
}

func (f *faultStore) Count(ctx context.Context, key string, add int, now time.Time, window time.Duration) (int, time.Time, error) {
	if err := f.check("Count"); err != nil {
		return 0, time.Time{}, err
	}
	return f.Store.Count(ctx, key, add, now, window)
}

func (f *faultStore) Purge(ctx context.Context, now time.Time) (int, error) {
	if err := f.check("Purge"); err != nil {
		return 0, err
	}
	return f.Store.Purge(ctx, now)
}

// env is one Auth over a fresh memstore (behind a faultStore that fails nothing until
// told to), with an injected clock and an event log.
type env struct {
	t      testing.TB
	auth   *core.Auth
	mem    *memstore.Store
	store  *faultStore
	clock  *clock
	events *eventLog
}

// newEnv returns an env whose Auth signs with HS256 key "hs-1", issuer testIssuer and
// audience testAudience; opts come after those and override them.
func newEnv(t testing.TB, opts ...core.Option) *env {
	t.Helper()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	e := &env{t: t, mem: mem, store: newFaultStore(mem), clock: newClock(), events: &eventLog{}}
	all := append([]core.Option{
		core.WithClock(e.clock.Now),
		core.WithIssuer(testIssuer),
		core.WithAudience(testAudience),
		core.WithSigningKey(hsKey(t)),
		core.WithEvents(e.events.record),
		core.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)
	a, err := core.New(e.store, all...)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	e.auth = a
	return e
}

func hsKey(t testing.TB) *core.Key {
	t.Helper()
	k, err := core.KeyFromSecret("hs-1", core.HS256, hsSecret)
	if err != nil {
		t.Fatalf("HMACKey: %v", err)
	}
	return k
}

func privKey(t testing.TB, id string, priv crypto.Signer) *core.Key {
	t.Helper()
	k, err := core.KeyFromSigner(id, priv)
	if err != nil {
		t.Fatalf("PrivateKey(%s): %v", id, err)
	}
	return k
}

func pubKey(t testing.TB, id string, pub crypto.PublicKey) *core.Key {
	t.Helper()
	k, err := core.KeyFromPublicKey(id, pub)
	if err != nil {
		t.Fatalf("PublicKey(%s): %v", id, err)
	}
	return k
}

// algKey is a signing key for alg, with kid "<alg>-k" (a length that leaves unused bits
// in the encoded header), and a signer of the same key for forging tokens.
type algKey struct {
	alg  core.Algorithm
	key  *core.Key
	sign signer
	// verify is the public key (or HMAC secret) golang-jwt verifies with.
	verify any
}

func algKeys(t testing.TB) []algKey {
	t.Helper()
	hs384 := bytes.Repeat([]byte{0x38}, 48)
	hs512 := bytes.Repeat([]byte{0x51}, 64)
	mk := func(alg core.Algorithm, secret []byte) *core.Key {
		k, err := core.KeyFromSecret(string(alg)+"-k", alg, secret)
		if err != nil {
			t.Fatalf("KeyFromSecret(%s): %v", alg, err)
		}
		return k
	}
	return []algKey{
		{core.HS256, mk(core.HS256, hsSecret), hmacSigner(sha256.New, hsSecret), hsSecret},
		{core.HS384, mk(core.HS384, hs384), hmacSigner(sha512.New384, hs384), hs384},
		{core.HS512, mk(core.HS512, hs512), hmacSigner(sha512.New, hs512), hs512},
		{core.RS256, privKey(t, "RS256-k", rsaPriv()), rsaSigner(rsaPriv()), &rsaPriv().PublicKey},
		{core.ES256, privKey(t, "ES256-k", ecPriv()), ecSigner(ecPriv()), &ecPriv().PublicKey},
		{core.EdDSA, privKey(t, "EdDSA-k", edPriv()), edSigner(edPriv()), edPriv().Public()},
	}
}

func (e *env) issue(id core.Identity) *core.Tokens {
	e.t.Helper()
	tok, err := e.auth.Issue(context.Background(), id, core.Client{})
	if err != nil {
		e.t.Fatalf("Issue(%s): %v", id.Subject, err)
	}
	return tok
}

func (e *env) mustAuth(token string) *core.Claims {
	e.t.Helper()
	c, err := e.auth.Authenticate(context.Background(), token)
	if err != nil {
		e.t.Fatalf("Authenticate: %v, want success", err)
	}
	return c
}

func (e *env) mustRefresh(token string) *core.Tokens {
	e.t.Helper()
	tok, err := e.auth.Refresh(context.Background(), token)
	if err != nil {
		e.t.Fatalf("Refresh: %v, want success", err)
	}
	return tok
}

// authErr authenticates token and returns the error.
func (e *env) authErr(token string) error {
	_, err := e.auth.Authenticate(context.Background(), token)
	return err
}

func (e *env) refreshErr(token string) error {
	_, err := e.auth.Refresh(context.Background(), token)
	return err
}

// wantIs fails unless err matches every target with errors.Is (and is not nil).
func wantIs(t testing.TB, what string, err error, targets ...error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: accepted, want an error matching %v", what, targets)
		return
	}
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Errorf("%s: error %q does not match %q", what, err, target)
		}
	}
}

// wantNotIs fails if err matches any of targets.
func wantNotIs(t testing.TB, what string, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if errors.Is(err, target) {
			t.Errorf("%s: error %q matches %q, must not", what, err, target)
		}
	}
}

// --- forging tokens ---------------------------------------------------------------------

var rawURL = base64.RawURLEncoding

type signer func(input []byte) []byte

func hmacSigner(h func() hash.Hash, secret []byte) signer {
	return func(input []byte) []byte {
		m := hmac.New(h, secret)
		m.Write(input)
		return m.Sum(nil)
	}
}

func rsaSigner(priv *rsa.PrivateKey) signer {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		return must(rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, sum[:]))
	}
}

func ecSigner(priv *ecdsa.PrivateKey) signer {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, priv, sum[:])
		if err != nil {
			panic(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	}
}

func edSigner(priv ed25519.PrivateKey) signer {
	return func(input []byte) []byte { return ed25519.Sign(priv, input) }
}

var (
	sha256New = sha256.New
	sha512New = sha512.New
)

// hsSigner signs with the default key's secret.
var hsSigner = hmacSigner(sha256.New, hsSecret)

// split returns the three segments of a compact JWS.
func split(t testing.TB, token string) (h, p, s string) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	return parts[0], parts[1], parts[2]
}

// seg encodes v as a JWS segment: JSON for anything but a string, which is taken as the
// raw JSON text.
func seg(v any) string {
	if s, ok := v.(string); ok {
		return rawURL.EncodeToString([]byte(s))
	}
	return rawURL.EncodeToString(must(json.Marshal(v)))
}

// forge returns header.payload.signature with the signature sign makes over the first
// two encoded segments (an empty signature when sign is nil).
func forge(header, payload string, sign signer) string {
	input := header + "." + payload
	if sign == nil {
		return input + "."
	}
	return input + "." + rawURL.EncodeToString(sign([]byte(input)))
}

// payloadOf decodes the payload of token into a map, numbers kept exact.
func payloadOf(t testing.TB, token string) map[string]any {
	t.Helper()
	_, p, _ := split(t, token)
	raw, err := rawURL.DecodeString(p)
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("payload: %v", err)
	}
	return m
}

// headerOf decodes the header of token.
func headerOf(t testing.TB, token string) map[string]any {
	t.Helper()
	h, _, _ := split(t, token)
	var m map[string]any
	if err := json.Unmarshal(must(rawURL.DecodeString(h)), &m); err != nil {
		t.Fatalf("header: %v", err)
	}
	return m
}

// flipUnusedBits changes the last character of a raw base64url segment so that only
// the bits the encoding leaves unused differ: a lenient decoder reads the same bytes.
func flipUnusedBits(t testing.TB, s string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(s)%4 == 0 {
		t.Fatalf("segment of length %d has no unused bits", len(s))
	}
	i := strings.IndexByte(alphabet, s[len(s)-1])
	flipped := s[:len(s)-1] + string(alphabet[i^1])
	a, err1 := rawURL.DecodeString(s)
	b, err2 := rawURL.DecodeString(flipped)
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		t.Fatalf("flipUnusedBits changed the decoded bytes")
	}
	if _, err := rawURL.Strict().DecodeString(flipped); err == nil {
		t.Fatalf("flipUnusedBits: strict decoding still accepts the flipped segment")
	}
	return flipped
}

// pad adds the '=' padding a raw segment omits (at least one '=').
func pad(s string) string {
	switch len(s) % 4 {
	case 2:
		return s + "=="
	case 3:
		return s + "="
	}
	return s + "===="
}
