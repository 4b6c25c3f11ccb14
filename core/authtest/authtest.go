package authtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/oauth2-proxy/mockoidc"
)

// Server starts the adapter's test app for a, as the package documentation describes,
// and returns its base URL.
type Server func(t *testing.T, a *core.Auth) (baseURL string)

// Run runs the conformance suite against the adapter whose test app serve starts.
func Run(t *testing.T, serve Server) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &suite{serve: serve, idpKey: key}
	groups := []struct {
		name string
		run  func(*testing.T, *suite)
	}{
		{"SignIn", testSignIn},
		{"State", testState},
		{"Redirect", testRedirect},
		{"Provider", testProvider},
		{"ProviderFailure", testProviderFailure},
		{"GitHub", testGitHub},
		{"Refresh", testRefresh},
		{"Logout", testLogout},
		{"Revoke", testRevoke},
		{"Sessions", testSessions},
		{"Protected", testProtected},
		{"StoreFailure", testStoreFailure},
		{"Hardening", testHardening},
		{"RateLimit", testRateLimit},
		{"Interop", testInterop},
		{"Authorization", testAuthorization},
		{"Refusal", testRefusal},
		{"Password", testPassword},
		{"CookieMode", testCookieMode},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, s) })
	}
}

// suite is what every case shares: the adapter, the identity provider's key (an RSA
// key takes a while to generate) and the password users (Argon2id hashes take a while
// too).
type suite struct {
	serve  Server
	idpKey *rsa.PrivateKey

	pwOnce  sync.Once
	pwUsers map[string]*core.PasswordUser
}

// Constants of the Auth the suite builds.
const (
	issuer    = "https://issuer.authtest.example"
	realm     = "authtest"
	prefix    = "/auth"
	janeEmail = "jane.doe@example.com" // mockoidc's default user
	janeSub   = "1234567890"
)

// env is one app under test: its store, clock, identity provider and server.
type env struct {
	t     *testing.T
	auth  *core.Auth
	base  string
	store *failStore
	clock *clock
	idp   *idp
}

// newEnv starts an identity provider and an app whose default provider it is; opts
// come after the suite's own options and so override them.
func (s *suite) newEnv(t *testing.T, opts ...core.Option) *env {
	t.Helper()
	p := s.newIDP(t)
	return s.newEnvWith(t, p, append([]core.Option{core.WithProviders(p.provider("mock"))}, opts...)...)
}

// newEnvWith starts an app with opts and no provider of its own; p may be nil.
func (s *suite) newEnvWith(t *testing.T, p *idp, opts ...core.Option) *env {
	t.Helper()
	e := &env{t: t, store: &failStore{Store: memstore.New()}, clock: &clock{}, idp: p}
	all := append([]core.Option{
		core.WithIssuer(issuer), core.WithRealm(realm), core.WithClock(e.clock.Now),
		core.WithProviderTimeout(5 * time.Second), core.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)
	a, err := core.New(e.store, all...)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	e.auth = a
	e.base = s.serve(t, a)
	return e
}

// clock is the app's clock: the real time plus an offset tests move forward.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// idp is a running mockoidc server. mockoidc keeps its sessions in a map without a lock,
// so every request to it is serialized. Tests change its behaviour per path with
// intercept: access_denied, hangs, garbage, tampered answers.
type idp struct {
	m      *mockoidc.MockOIDC
	serial sync.Mutex // held while mockoidc handles a request

	mu        sync.Mutex
	intercept map[string]interceptor
}

// interceptor answers a request to the identity provider in its place; next is
// mockoidc itself.
type interceptor func(w http.ResponseWriter, r *http.Request, next http.Handler)

func (s *suite) newIDP(t *testing.T) *idp {
	t.Helper()
	m, err := mockoidc.NewServer(s.idpKey)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{m: m, intercept: map[string]interceptor{}}
	m.AddMiddleware(func(next http.Handler) http.Handler {
		serialized := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.serial.Lock()
			defer p.serial.Unlock()
			next.ServeHTTP(w, r)
		})
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			h := p.intercept[r.URL.Path]
			p.mu.Unlock()
			if h != nil {
				h(w, r, serialized)
				return
			}
			serialized.ServeHTTP(w, r)
		})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Server.Shutdown(ctx)
	})
	return p
}

// provider is the idp as a gatehouse provider named name.
func (p *idp) provider(name string) core.Provider {
	return core.OIDC(name, p.m.Issuer(), p.m.ClientID, p.m.ClientSecret)
}

// locked runs f while mockoidc handles no request, to change its settings.
func (p *idp) locked(f func(m *mockoidc.MockOIDC)) {
	p.serial.Lock()
	defer p.serial.Unlock()
	f(p.m)
}

// set makes h answer requests for path (mockoidc.AuthorizationEndpoint, …) in place of
// mockoidc; a nil h restores mockoidc.
func (p *idp) set(path string, h interceptor) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h == nil {
		delete(p.intercept, path)
		return
	}
	p.intercept[path] = h
}

// failStore is a core.Store that works like the store it wraps until fail is set, and
// then fails every call, as a store whose disk or network is gone. It counts the calls
// that write.
type failStore struct {
	core.Store
	down   atomic.Bool
	writes atomic.Int64
}

var errDown = errors.New("authtest: store is down")

func (s *failStore) fail(down bool) { s.down.Store(down) }

func (s *failStore) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	s.writes.Add(1)
	if s.down.Load() {
		return errDown
	}
	return s.Store.RevokeToken(ctx, jti, exp)
}

func (s *failStore) IsRevoked(ctx context.Context, jti, sid string) (bool, error) {
	if s.down.Load() {
		return false, errDown
	}
	return s.Store.IsRevoked(ctx, jti, sid)
}

func (s *failStore) CreateSession(ctx context.Context, sess *core.Session) error {
	s.writes.Add(1)
	if s.down.Load() {
		return errDown
	}
	return s.Store.CreateSession(ctx, sess)
}

func (s *failStore) Session(ctx context.Context, sid string) (*core.Session, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.Session(ctx, sid)
}

func (s *failStore) Sessions(ctx context.Context, subject string) ([]*core.Session, error) {
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.Sessions(ctx, subject)
}

func (s *failStore) Rotate(ctx context.Context, r core.Rotation) (*core.Session, error) {
	s.writes.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.Rotate(ctx, r)
}

func (s *failStore) EndSession(ctx context.Context, sid string) (*core.Session, error) {
	s.writes.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.EndSession(ctx, sid)
}

func (s *failStore) EndSessions(ctx context.Context, subject string) ([]*core.Session, error) {
	s.writes.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.EndSessions(ctx, subject)
}

func (s *failStore) LoadOrStoreKey(ctx context.Context, name string, value []byte) ([]byte, error) {
	s.writes.Add(1)
	if s.down.Load() {
		return nil, errDown
	}
	return s.Store.LoadOrStoreKey(ctx, name, value)
}

func (s *failStore) Consume(ctx context.Context, id string, exp time.Time) (bool, error) {
	s.writes.Add(1)
	if s.down.Load() {
		return false, errDown
	}
	return s.Store.Consume(ctx, id, exp)
}

// Count counts as a write when it adds; add 0 only reads.
func (s *failStore) Count(ctx context.Context, key string, add int, now time.Time, window time.Duration) (int, time.Time, error) {
	if add > 0 {
		s.writes.Add(1)
	}
	if s.down.Load() {
		return 0, time.Time{}, errDown
	}
	return s.Store.Count(ctx, key, add, now, window)
}

func (s *failStore) Purge(ctx context.Context, now time.Time) (int, error) {
	if s.down.Load() {
		return 0, errDown
	}
	return s.Store.Purge(ctx, now)
}
