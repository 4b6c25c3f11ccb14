package devidp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Lifetimes and limits.
const (
	// CodeTTL is how long an authorization code may wait for its exchange.
	CodeTTL = time.Minute
	// TokenTTL is the lifetime of the id_token and of the access token.
	TokenTTL = 5 * time.Minute
	// maxPending bounds the codes and access tokens kept in memory.
	maxPending = 10000
)

// Client is an application allowed to sign users in through the provider.
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client secret; empty for a public client, which then authenticates
	// with PKCE alone (token_endpoint_auth_method "none").
	Secret string
	// RedirectURIs are the callback URLs the client may name, compared exactly.
	RedirectURIs []string
}

// Config configures New.
type Config struct {
	// Issuer is the provider's issuer URL, such as "http://127.0.0.1:7000/devidp": the
	// iss of its id_tokens and the base of its discovery document, token endpoint and
	// keys. The handler serves every endpoint below the issuer's path.
	Issuer string
	// BrowserURL is the base URL of the authorization endpoint, which the browser
	// visits, when it differs from Issuer (the app's public URL plus the same path,
	// while the server reaches the provider on loopback). Default: Issuer.
	BrowserURL string
	// Clients are the applications that may use the provider; at least one.
	Clients []Client
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Provider is the development OpenID Connect provider, an http.Handler. Make one with
// New; it is safe for concurrent use.
type Provider struct {
	issuer  string
	browser string
	path    string // the issuer's path, without a trailing slash
	clients map[string]Client
	now     func() time.Time
	key     *ecdsa.PrivateKey
	kid     string
	pageCSP string

	mu     sync.Mutex
	codes  map[string]*grant
	tokens map[string]*grant // access token → the grant it was issued for
}

// grant is one completed sign-in: what the authorization request asked for and who
// signed in. It backs an authorization code, then the access token issued for it.
type grant struct {
	clientID    string
	redirectURI string
	challenge   string
	nonce       string
	email       string
	authTime    time.Time
	expires     time.Time
	used        bool   // the code was presented
	accessToken string // issued for the code, revoked if the code is replayed
}

// New returns a provider with a fresh ES256 signing key.
func New(cfg Config) (*Provider, error) {
	iss, err := baseURL(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("devidp: issuer: %w", err)
	}
	browser := iss
	if cfg.BrowserURL != "" {
		if browser, err = baseURL(cfg.BrowserURL); err != nil {
			return nil, fmt.Errorf("devidp: browser URL: %w", err)
		}
	}
	if len(cfg.Clients) == 0 {
		return nil, errors.New("devidp: no client")
	}
	clients := map[string]Client{}
	for _, c := range cfg.Clients {
		if c.ID == "" || len(c.RedirectURIs) == 0 {
			return nil, errors.New("devidp: a client needs an id and at least one redirect URI")
		}
		for _, u := range c.RedirectURIs {
			if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Fragment != "" {
				return nil, fmt.Errorf("devidp: client %q: redirect URI %q is not an absolute http(s) URL", c.ID, u)
			}
		}
		if _, dup := clients[c.ID]; dup {
			return nil, fmt.Errorf("devidp: two clients with id %q", c.ID)
		}
		c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
		clients[c.ID] = c
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	u, _ := url.Parse(iss)
	return &Provider{
		issuer: iss, browser: browser, path: u.EscapedPath(), clients: clients, now: now,
		key: key, kid: thumbprint(&key.PublicKey), pageCSP: pageCSP(),
		codes: map[string]*grant{}, tokens: map[string]*grant{},
	}, nil
}

// baseURL checks an absolute http(s) URL without user, query or fragment, and drops a
// trailing slash.
func baseURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an http(s) URL without query or fragment", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// Issuer returns the issuer URL, as the iss of the id_tokens.
func (p *Provider) Issuer() string { return p.issuer }

// ServeHTTP serves the provider's endpoints below the issuer's path.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, p.path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch rest {
	case "/.well-known/openid-configuration":
		if allow(w, r, http.MethodGet) {
			p.discovery(w)
		}
	case "/jwks.json":
		if allow(w, r, http.MethodGet) {
			p.jwks(w)
		}
	case "/authorize":
		if allow(w, r, http.MethodGet, http.MethodPost) {
			p.authorize(w, r)
		}
	case "/token":
		if allow(w, r, http.MethodPost) {
			p.token(w, r)
		}
	case "/userinfo":
		if allow(w, r, http.MethodGet, http.MethodPost) {
			p.userinfo(w, r)
		}
	default:
		http.NotFound(w, r)
	}
}

// allow answers 405 unless r's method is one of methods (GET allows HEAD).
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

func (p *Provider) discovery(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         p.issuer,
		"authorization_endpoint":                         p.browser + "/authorize",
		"token_endpoint":                                 p.issuer + "/token",
		"userinfo_endpoint":                              p.issuer + "/userinfo",
		"jwks_uri":                                       p.issuer + "/jwks.json",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"ES256"},
		"scopes_supported":                               []string{"openid", "email", "profile"},
		"claims_supported":                               []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "email", "email_verified", "name"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":               []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
	})
}

func (p *Provider) jwks(w http.ResponseWriter) {
	j := publicJWK(&p.key.PublicKey)
	j["use"], j["alg"], j["kid"] = "sig", "ES256", p.kid
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{j}})
}

// remember stores g under key in m, after dropping expired entries when m is large; it
// fails when m is full of live ones.
func (p *Provider) remember(m map[string]*grant, key string, g *grant) error {
	if len(m) >= maxPending/2 {
		now := p.now()
		for k, v := range m {
			if !now.Before(v.expires) {
				delete(m, k)
			}
		}
	}
	if len(m) >= maxPending {
		return errors.New("too many pending sign-ins")
	}
	m[key] = g
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// newSecret returns 32 random bytes, base64url: codes and access tokens.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return b64.EncodeToString(b)
}
