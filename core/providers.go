package core

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// ClientAuth is how gatehouse authenticates itself to a provider's token endpoint.
type ClientAuth int

// The ways of client authentication.
const (
	// ClientAuthAuto tries HTTP Basic first, then the request body, and remembers what
	// worked, as golang.org/x/oauth2 does by default.
	ClientAuthAuto ClientAuth = iota
	// ClientAuthBasic sends the client id and secret with HTTP Basic (client_secret_basic).
	ClientAuthBasic
	// ClientAuthPost sends them in the request body (client_secret_post).
	ClientAuthPost
)

// Provider is an identity provider users sign in with. Build one with Google, OIDC or
// GitHub, change its fields if needed, and pass it to WithProviders.
type Provider struct {
	// Name is the provider's segment in {prefix}/login/{Name} and
	// {prefix}/callback/{Name}: 1 to 32 lower-case letters, digits, '-' or '_'.
	Name string
	// ClientID and ClientSecret are the app's credentials at the provider. The secret
	// may be empty for a public client; PKCE protects the code either way.
	ClientID     string
	ClientSecret string
	// Issuer is the OpenID Connect issuer URL; its discovery document is fetched from
	// Issuer + "/.well-known/openid-configuration". It must be https, except on a
	// loopback host (for development and tests). Empty for GitHub.
	Issuer string
	// Scopes are requested at sign-in; OpenID Connect providers need "openid" and
	// "email".
	Scopes []string
	// RedirectURL is the callback URL registered at the provider. Empty: the public URL
	// (or the sign-in request's own origin) + prefix + "/callback" for the default
	// provider, and + "/callback/" + Name for the others.
	RedirectURL string
	// HostedDomain limits sign-in to one Google Workspace domain: the id_token's hd
	// claim must equal it, and it is sent as the hd hint. Empty: any account.
	HostedDomain string
	// ClientAuth is how the token endpoint is authenticated (default ClientAuthAuto).
	ClientAuth ClientAuth
	// AuthURL, TokenURL and APIURL are GitHub's endpoints (the defaults are github.com's;
	// change them for GitHub Enterprise Server). They are not used for OpenID Connect.
	AuthURL, TokenURL, APIURL string

	github bool
}

// Google returns Google as an OpenID Connect provider named "google"; set HostedDomain
// to limit it to a Google Workspace domain.
func Google(clientID, clientSecret string) Provider {
	return Provider{
		Name: "google", ClientID: clientID, ClientSecret: clientSecret,
		Issuer: "https://accounts.google.com", Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
		ClientAuth: ClientAuthPost,
	}
}

// OIDC returns any OpenID Connect provider, found by discovery from its issuer URL.
func OIDC(name, issuer, clientID, clientSecret string) Provider {
	return Provider{
		Name: name, ClientID: clientID, ClientSecret: clientSecret,
		Issuer: issuer, Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}
}

// GitHub returns GitHub as an OAuth2 provider named "github". GitHub has no id_token:
// the user is read from its API (/user), and the email is the user's primary one,
// which must be verified (/user/emails).
func GitHub(clientID, clientSecret string) Provider {
	return Provider{
		Name: "github", ClientID: clientID, ClientSecret: clientSecret,
		Scopes:  []string{"read:user", "user:email"},
		AuthURL: "https://github.com/login/oauth/authorize", TokenURL: "https://github.com/login/oauth/access_token",
		APIURL: "https://api.github.com", ClientAuth: ClientAuthPost, github: true,
	}
}

var providerNameRE = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

func (p *Provider) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: provider %q: %s", ErrConfig, p.Name, fmt.Sprintf(format, args...))
	}
	if !providerNameRE.MatchString(p.Name) {
		return bad("name must be 1-32 of a-z, 0-9, '-', '_'")
	}
	if p.ClientID == "" {
		return bad("no client id")
	}
	if p.ClientAuth < ClientAuthAuto || p.ClientAuth > ClientAuthPost {
		return bad("unknown client authentication %d", p.ClientAuth)
	}
	if p.RedirectURL != "" {
		if _, err := checkProviderURL(p.RedirectURL, true); err != nil {
			return bad("redirect URL: %v", err)
		}
	}
	if p.github {
		for _, u := range []string{p.AuthURL, p.TokenURL, p.APIURL} {
			if _, err := checkProviderURL(u, false); err != nil {
				return bad("%v", err)
			}
		}
		return nil
	}
	if p.Issuer == "" {
		return bad("no issuer URL (build providers with Google, OIDC or GitHub)")
	}
	u, err := checkProviderURL(p.Issuer, false)
	if err != nil {
		return bad("issuer: %v", err)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return bad("issuer %q has a query or fragment", p.Issuer)
	}
	return nil
}

// checkProviderURL accepts an absolute https URL, or http on a loopback host; with
// anyHTTP, http on any host (a redirect URL during development).
func checkProviderURL(raw string, anyHTTP bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (anyHTTP || isLoopback(u.Hostname())):
	default:
		return nil, fmt.Errorf("%q must be https (http only on a loopback host)", raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// provider is a configured Provider with its HTTP client and, once discovered, its
// endpoints.
type provider struct {
	Provider
	isDefault bool
	client    *http.Client
	timeout   time.Duration
	now       func() time.Time

	mu     sync.Mutex
	ready  *endpoints // nil until discovered
	flight *flight    // the discovery in progress, if any
}

// endpoints is what discovery yields: where to send the user and the code, and how to
// verify the id_token (nil for GitHub).
type endpoints struct {
	oauth    oauth2.Endpoint
	verifier *oidc.IDTokenVerifier
}

type flight struct {
	done chan struct{}
	ep   *endpoints
	err  error
}

// maxProviderResponse bounds every response body read from a provider.
const maxProviderResponse = 1 << 20

func newProvider(p Provider, timeout time.Duration, now func() time.Time) (*provider, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	p.Scopes = append([]string(nil), p.Scopes...)
	pr := &provider{
		Provider: p,
		// x/oauth2 and go-oidc use this client (through the context) instead of
		// http.DefaultClient, which has no timeout.
		client:  &http.Client{Timeout: timeout, Transport: limitTransport{http.DefaultTransport}},
		timeout: timeout,
		now:     now,
	}
	if p.github {
		pr.ready = &endpoints{oauth: oauth2.Endpoint{AuthURL: p.AuthURL, TokenURL: p.TokenURL, AuthStyle: authStyle(p.ClientAuth)}}
	}
	return pr, nil
}

func authStyle(c ClientAuth) oauth2.AuthStyle {
	switch c {
	case ClientAuthBasic:
		return oauth2.AuthStyleInHeader
	case ClientAuthPost:
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleAutoDetect
}

// endpoints returns the provider's endpoints, discovering them on first use.
//
// Discovery is lazy so that New never fails, nor hangs, because a provider is down at
// start. A failed discovery is not remembered: the next sign-in tries again. Concurrent
// sign-ins share one discovery, which runs with its own timeout, apart from any one
// request, so a client that gives up does not spoil it for the others.
func (p *provider) endpoints(ctx context.Context) (*endpoints, error) {
	p.mu.Lock()
	if p.ready != nil {
		ep := p.ready
		p.mu.Unlock()
		return ep, nil
	}
	f := p.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		p.flight = f
		go p.discover(f)
	}
	p.mu.Unlock()
	select {
	case <-f.done:
		return f.ep, f.err
	case <-ctx.Done():
		return nil, providerErr("discovery", ctx.Err())
	}
}

func (p *provider) discover(f *flight) {
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), p.client), p.timeout)
	defer cancel()
	ep, err := p.fetchDiscovery(ctx)
	p.mu.Lock()
	f.ep, f.err = ep, err
	if err == nil {
		p.ready = ep
	}
	p.flight = nil
	p.mu.Unlock()
	close(f.done)
}

// idTokenAlgs are the id_token algorithms gatehouse accepts, whatever the provider
// advertises: asymmetric ones only (an HMAC id_token would be keyed with the client
// secret, and "none" is never acceptable).
var idTokenAlgs = map[string]bool{
	oidc.RS256: true, oidc.RS384: true, oidc.RS512: true, oidc.ES256: true, oidc.ES384: true,
	oidc.ES512: true, oidc.PS256: true, oidc.PS384: true, oidc.PS512: true, oidc.EdDSA: true,
}

func (p *provider) fetchDiscovery(ctx context.Context) (*endpoints, error) {
	op, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		return nil, providerErr("discovery", err)
	}
	var meta struct {
		JWKSURL string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, providerErr("discovery", err)
	}
	ep := op.Endpoint()
	for _, raw := range []string{ep.AuthURL, ep.TokenURL, meta.JWKSURL} {
		if _, err := checkProviderURL(raw, false); err != nil {
			return nil, providerErr("discovery", err)
		}
	}
	var algs []string
	for _, a := range meta.Algs {
		if idTokenAlgs[a] {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{oidc.RS256}
	}
	ep.AuthStyle = authStyle(p.ClientAuth)
	keys := &keySet{oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), p.client), meta.JWKSURL)}
	v := oidc.NewVerifier(p.Issuer, keys, &oidc.Config{ClientID: p.ClientID, SupportedSigningAlgs: algs, Now: p.now})
	return &endpoints{oauth: ep, verifier: v}, nil
}

// keySet is the provider's remote JWKS; it notes in the context when fetching the keys
// failed, which go-oidc reports only as text, so that an unreachable provider is told
// apart from a bad signature.
type keySet struct{ remote *oidc.RemoteKeySet }

type keyFetchNote struct{ err error }

type keyFetchKey struct{}

func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	if err != nil && strings.HasPrefix(err.Error(), "fetching keys") {
		if n, ok := ctx.Value(keyFetchKey{}).(*keyFetchNote); ok {
			n.err = err
		}
	}
	return payload, err
}

// providerErr classifies a failed exchange with a provider: a timeout is
// ErrProviderTimeout (504), anything else ErrProvider (502).
func providerErr(what string, err error) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %s: %w", ErrProviderTimeout, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrProvider, what, err)
}

// limitTransport refuses provider responses over maxProviderResponse, so that a
// provider sending garbage without end costs a bounded amount of memory.
type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = http.MaxBytesReader(nil, resp.Body, maxProviderResponse)
	return resp, nil
}
