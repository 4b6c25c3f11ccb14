package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/examples/devidp"
	"github.com/gatehouse-auth/gatehouse/storage/storeurl"
	"github.com/redis/go-redis/v9"
)

// DevIDPPath is where the development identity provider is mounted.
const DevIDPPath = "/devidp"

// routePrefix is where the auth routes are mounted, core's default, set explicitly
// because the development identity provider must know its redirect URI before the
// engine exists.
const routePrefix = "/auth"

// DevIDPClientID is the client id the example servers register at their development
// identity provider; the secret is new at every start.
const DevIDPClientID = "gatehouse-demo"

// Exit codes of a server that cannot start.
const (
	ExitConfig = 2 // misconfiguration: fix the environment
	ExitFailed = 1 // the environment is fine but something failed: port taken, store down
)

// shutdownTimeout bounds the graceful shutdown: in-flight requests get this long.
const shutdownTimeout = 10 * time.Second

// App is what an example server needs besides its framework: the gatehouse engine
// over the configured store, the development identity provider when no real one is
// configured, the demo page, and the listener it serves on.
type App struct {
	// Framework names the server's framework, shown on the page and by /api.
	Framework string
	// Auth is the gatehouse engine; mount its routes with the framework's adapter.
	Auth *core.Auth
	// DevIDP is the development identity provider, to be served below DevIDPPath, or
	// nil when Google or another OpenID Connect provider is configured.
	DevIDP http.Handler
	// Page is the demo page served at GET /.
	Page Page
	// URL is the public URL, without a trailing slash.
	URL string

	cfg   *Config
	ln    net.Listener
	store core.Store
	probe core.Store     // the store unmeasured, for /readyz (observe.go)
	obs   *observability // nil without GATEHOUSE_METRICS_ADDR
	log   *slog.Logger
	out   io.Writer
}

// Start reads the configuration from the environment, opens the listener and the store,
// and builds the engine. It does not return if the server cannot start: it prints one
// line to stderr and exits, with ExitConfig for a misconfiguration and ExitFailed
// otherwise.
func Start(framework string) *App {
	a, code, err := start(framework, os.Getenv, os.Stderr, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, oneLine(err))
		os.Exit(code)
	}
	return a
}

func start(framework string, getenv func(string) string, logTo, out io.Writer) (*App, int, error) {
	cfg, err := Load(getenv)
	if err != nil {
		return nil, ExitConfig, err
	}
	metricsAddr, err := loadMetricsAddr(getenv)
	if err != nil {
		return nil, ExitConfig, err
	}
	log := slog.New(logHandler{slog.NewTextHandler(logTo, nil)}) // adds request_id, see observe.go
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, ExitFailed, fmt.Errorf("GATEHOUSE_ADDR: %w", err)
	}
	a := &App{Framework: framework, URL: cfg.PublicURL, cfg: cfg, ln: ln, log: log, out: out}
	if _, port, _ := net.SplitHostPort(cfg.Addr); !cfg.publicURLSet && port == "0" {
		// A port the kernel chose: the default public URL names the real one.
		a.URL = "http://" + net.JoinHostPort(browserHost(hostOf(cfg.Addr)), portOf(ln.Addr()))
	}
	fail := func(code int, err error) (*App, int, error) {
		ln.Close()
		a.closeObservability(context.Background())
		if a.store != nil {
			a.store.Close()
		}
		return nil, code, err
	}
	if err := tightenStoreFile(cfg.Store, log); err != nil {
		return fail(ExitFailed, fmt.Errorf("GATEHOUSE_STORE: %w", err))
	}
	if a.store, err = openStore(cfg.Store, log); err != nil {
		code := ExitFailed
		if errors.Is(err, core.ErrConfig) {
			code = ExitConfig
		}
		return fail(code, fmt.Errorf("GATEHOUSE_STORE: %s", storeMessage(err)))
	}

	obsOpts, err := a.observe(metricsAddr)
	if err != nil {
		return fail(ExitFailed, err)
	}
	opts := []core.Option{
		core.WithIssuer(a.URL), core.WithPublicURL(a.URL), core.WithRoutePrefix(routePrefix), core.WithLogger(log),
		core.WithAccessTTL(cfg.AccessTTL), core.WithRefreshTTL(cfg.RefreshTTL),
		core.WithMaxSessions(cfg.MaxSessions),
	}
	if cfg.RateLimit == 0 {
		opts = append(opts, core.WithoutRateLimit())
	} else {
		opts = append(opts, core.WithRateLimit(cfg.RateLimit))
	}
	if cfg.SigningKey != nil {
		opts = append(opts, core.WithHMACSecret(cfg.SigningKey))
	} else {
		opts = append(opts, core.WithAlgorithm(cfg.Alg))
	}
	if cfg.KeyEncryptionKey != nil {
		opts = append(opts, core.WithKeyEncryptionKey(cfg.KeyEncryptionKey))
	}
	if len(cfg.AllowedEmails) > 0 {
		opts = append(opts, core.WithAllowedEmails(cfg.AllowedEmails...))
	}
	// Roles for everyone, whoever signed them in; cookie mode for GET /account; the
	// app's own users when GATEHOUSE_USERS_FILE names them.
	opts = append(opts, core.WithGrants(cfg.Grants), core.WithAccessCookie())
	if cfg.Users != nil {
		opts = append(opts, core.WithPasswords(cfg.Users.Lookup))
	}
	var providers []core.Provider
	if cfg.Google != nil {
		providers = append(providers, core.Google(cfg.Google.ID, cfg.Google.Secret))
	}
	if cfg.OIDC != nil {
		providers = append(providers, core.OIDC("oidc", cfg.OIDC.Issuer, cfg.OIDC.ID, cfg.OIDC.Secret))
	}
	if cfg.DevIDP() {
		p, err := a.newDevIDP()
		if err != nil {
			return fail(ExitFailed, err)
		}
		providers = append(providers, p)
	}
	opts = append(opts, core.WithProviders(providers...))
	opts = append(opts, obsOpts...)
	if a.Auth, err = core.New(a.store, opts...); err != nil {
		code := ExitFailed
		if errors.Is(err, core.ErrConfig) {
			code = ExitConfig
		}
		return fail(code, err)
	}
	names := make([]string, len(providers))
	for i, p := range providers {
		names[i] = p.Name
	}
	if a.Page, err = newPage(framework, names, a.DevIDP != nil, cfg.Users != nil); err != nil {
		return fail(ExitFailed, err)
	}
	return a, 0, nil
}

// newDevIDP builds the development identity provider and returns it as gatehouse's
// provider, a plain core.OIDC one. gatehouse reaches it on loopback (discovery, code
// exchange, keys: its issuer is the listener's loopback address), the browser at the
// public URL (the authorization endpoint). gatehouse discovers it at the first sign-in,
// once the server listens.
func (a *App) newDevIDP() (core.Provider, error) {
	secret := make([]byte, 24)
	rand.Read(secret)
	p, err := devidp.New(devidp.Config{
		Issuer:     "http://" + loopbackAddr(a.ln.Addr()) + DevIDPPath,
		BrowserURL: a.URL + DevIDPPath,
		Clients: []devidp.Client{{
			ID: DevIDPClientID, Secret: hex.EncodeToString(secret),
			RedirectURIs: []string{a.URL + routePrefix + "/callback"},
		}},
	})
	if err != nil {
		return core.Provider{}, err
	}
	a.DevIDP = p
	return core.OIDC("devidp", p.Issuer(), DevIDPClientID, hex.EncodeToString(secret)), nil
}

// openStore opens the store cfg.Store names, which Load checked.
func openStore(spec string, log *slog.Logger) (core.Store, error) {
	if loc, err := storeurl.Parse(spec); err == nil && loc.Kind == storeurl.Redis {
		// go-redis prints to stderr by itself (every failed dial of its pool): its
		// messages go to the server's log instead, at debug level, so that a Redis that
		// is down at start is one line, and its reconnects later are not noise.
		redis.SetLogger(redisLogger{log})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return storeurl.Open(ctx, spec, storeurl.WithLogger(log))
}

// redisLogger is go-redis's logger over slog.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// Public is the body of GET /api, the public API: no token needed.
func (a *App) Public() map[string]any {
	return map[string]any{
		"message":   "This is the public API: anyone may call it, with or without a token.",
		"framework": a.Framework,
		"time":      time.Now().UTC().Format(time.RFC3339),
	}
}

// Serve runs the server on the app's listener with serve (http.Server.Serve,
// fiber.App.Listener, …) until SIGINT or SIGTERM, then shuts it down gracefully with
// shutdown, letting requests in flight finish, and closes the store. If serve fails,
// Serve prints one line and exits with ExitFailed.
func (a *App) Serve(serve func(net.Listener) error, shutdown func(context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- serve(a.ln) }()

	a.log.Info("gatehouse demo listening", "framework", a.Framework, "addr", a.ln.Addr().String(),
		"public_url", a.URL, "store", storeName(a.cfg.Store), "alg", a.alg(),
		"rate_limit", a.cfg.RateLimit, "max_sessions", a.cfg.MaxSessions, "keys_sealed", a.cfg.KeyEncryptionKey != nil,
		"password_users", a.cfg.Users.Len(), "admins", len(a.cfg.Admins))
	if a.DevIDP != nil {
		a.log.Warn("DEVELOPMENT IDENTITY PROVIDER ENABLED: anyone can sign in as anyone; never use it in production",
			"url", a.URL+DevIDPPath)
	}
	fmt.Fprintf(a.out, "gatehouse demo (%s): open %s/ in a browser\n", a.Framework, a.URL)

	select {
	case err := <-errc:
		a.store.Close()
		fmt.Fprintln(os.Stderr, oneLine(fmt.Errorf("serve: %w", err)))
		os.Exit(ExitFailed)
	case <-ctx.Done():
	}
	stop()
	a.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		a.log.Error("shutdown", "err", err)
	}
	a.closeObservability(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.log.Error("serve", "err", err)
	}
	if err := a.store.Close(); err != nil {
		a.log.Error("closing the store", "err", err)
		os.Exit(ExitFailed)
	}
	a.log.Info("stopped; store closed")
}

// storeName is the store URL for the log, its password replaced.
func storeName(spec string) string {
	loc, err := storeurl.Parse(spec)
	if err != nil {
		return "(unparsable)" // Load refused it: not reached
	}
	return loc.String()
}

func (a *App) alg() string {
	if a.cfg.SigningKey != nil {
		return string(core.HS256) + " (GATEHOUSE_SIGNING_KEY)"
	}
	return string(a.cfg.Alg)
}

// loopbackAddr is host:port to reach a listener from the same machine.
func loopbackAddr(addr net.Addr) string {
	t, ok := addr.(*net.TCPAddr)
	if !ok || t.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", portOf(addr))
	}
	return t.String()
}

func portOf(addr net.Addr) string {
	_, port, _ := net.SplitHostPort(addr.String())
	return port
}

func hostOf(hostport string) string {
	host, _, _ := net.SplitHostPort(hostport)
	return host
}

// oneLine is the line a server that cannot start prints: err on one line, whatever
// the causes it wraps say, without core's "gatehouse: " prefix after ours.
func oneLine(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	msg = strings.Replace(strings.TrimPrefix(msg, "gatehouse: "), ": gatehouse: ", ": ", 1)
	return "gatehouse demo: " + msg
}
