package demo

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/storeurl"
)

// The defaults of the environment contract (examples/README.md, "Example servers").
const (
	DefaultAddr       = "127.0.0.1:7000"
	DefaultStore      = "bolt:gatehouse.db"
	DefaultAlg        = core.HS256
	DefaultAccessTTL  = 15 * time.Minute
	DefaultRefreshTTL = 720 * time.Hour
	// DefaultRateLimit and DefaultMaxSessions are the library's defaults.
	DefaultRateLimit   = core.DefaultRateLimit
	DefaultMaxSessions = core.DefaultMaxSessions
)

// KeyEncryptionKeySize is the length of GATEHOUSE_KEY_ENCRYPTION_KEY, once decoded: an
// AES-256 key.
const KeyEncryptionKeySize = 32

// InsecureDevIDPVar names the variable that lets the development identity provider
// run with a public URL or listen address other than loopback.
const InsecureDevIDPVar = "GATEHOUSE_INSECURE_DEV_IDP"

// Config is the configuration of an example server, from its environment.
type Config struct {
	// Addr is GATEHOUSE_ADDR, the listen address.
	Addr string
	// PublicURL is GATEHOUSE_PUBLIC_URL without a trailing slash; by default
	// "http://" + Addr (localhost for an address on all interfaces).
	PublicURL string
	// Store is GATEHOUSE_STORE, a store URL of storeurl: "bolt:PATH", "redis://…",
	// "rediss://…", "redis+cluster://…", "postgres://…" or "memory".
	Store string
	// SigningKey is GATEHOUSE_SIGNING_KEY, an HMAC secret; nil when unset.
	SigningKey []byte
	// Alg is GATEHOUSE_ALG.
	Alg core.Algorithm
	// AllowedEmails is GATEHOUSE_ALLOWED_EMAILS; empty lets any verified email in.
	AllowedEmails []string
	// UsersFile is GATEHOUSE_USERS_FILE, and Users the users it lists; with them the
	// password sign-in is mounted. Both are zero when the variable is unset.
	UsersFile string
	Users     *Users
	// Admins is GATEHOUSE_ADMINS: the emails given the role AdminRole (see Grants).
	Admins []string
	// AccessTTL and RefreshTTL are GATEHOUSE_ACCESS_TTL and GATEHOUSE_REFRESH_TTL.
	AccessTTL, RefreshTTL time.Duration
	// RateLimit is GATEHOUSE_RATE_LIMIT, requests a minute per client IP on the
	// sign-in, callback, refresh and password routes; 0 turns the limit off.
	RateLimit int
	// MaxSessions is GATEHOUSE_MAX_SESSIONS, sessions per user; 0 is no cap.
	MaxSessions int
	// KeyEncryptionKey is GATEHOUSE_KEY_ENCRYPTION_KEY, decoded: the key that seals the
	// signing and state keys kept in the store; nil when unset.
	KeyEncryptionKey []byte
	// Google is set by GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET.
	Google *Client
	// OIDC is set by OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET.
	OIDC *Client
	// InsecureDevIDP is GATEHOUSE_INSECURE_DEV_IDP: let the development identity
	// provider run off loopback.
	InsecureDevIDP bool

	publicURLSet bool // GATEHOUSE_PUBLIC_URL was given
}

// Client is an app's registration at an identity provider.
type Client struct {
	Issuer string // OpenID Connect only
	ID     string
	Secret string
}

// DevIDP reports whether the development identity provider is used: no other provider
// is configured.
func (c *Config) DevIDP() bool { return c.Google == nil && c.OIDC == nil }

// ConfigError is a configuration the server refuses at start: which variable, and why.
type ConfigError struct {
	Var string
	Msg string
}

func (e *ConfigError) Error() string { return e.Var + ": " + e.Msg }

// Load reads the configuration from getenv (os.Getenv) and checks it all, so that a
// misconfiguration stops the server before it touches anything.
func Load(getenv func(string) string) (*Config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	bad := func(name, format string, args ...any) error {
		return &ConfigError{Var: name, Msg: fmt.Sprintf(format, args...)}
	}
	c := &Config{
		Addr:  env("GATEHOUSE_ADDR", DefaultAddr),
		Store: env("GATEHOUSE_STORE", DefaultStore),
		Alg:   core.Algorithm(env("GATEHOUSE_ALG", string(DefaultAlg))),
	}

	host, port, err := net.SplitHostPort(c.Addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		return nil, bad("GATEHOUSE_ADDR", "%q is not host:port, such as 127.0.0.1:7000", c.Addr)
	}

	if raw := env("GATEHOUSE_PUBLIC_URL", ""); raw != "" {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return nil, bad("GATEHOUSE_PUBLIC_URL", "%q is not an http(s) URL without query or fragment, such as https://app.example.com", raw)
		}
		c.PublicURL, c.publicURLSet = strings.TrimRight(raw, "/"), true
	} else {
		c.PublicURL = "http://" + net.JoinHostPort(browserHost(host), port)
	}

	if _, err := storeurl.Parse(c.Store); err != nil {
		return nil, bad("GATEHOUSE_STORE", "%s", storeMessage(err))
	}

	switch c.Alg {
	case core.HS256, core.ES256, core.EdDSA, core.RS256:
	default:
		return nil, bad("GATEHOUSE_ALG", "unknown algorithm %q: want HS256, ES256, EdDSA or RS256", c.Alg)
	}
	if key := getenv("GATEHOUSE_SIGNING_KEY"); key != "" {
		if len(key) < 32 {
			return nil, bad("GATEHOUSE_SIGNING_KEY", "too short: an HMAC secret needs at least 32 bytes, got %d", len(key))
		}
		if c.Alg != core.HS256 {
			return nil, bad("GATEHOUSE_SIGNING_KEY", "is an HMAC secret, for GATEHOUSE_ALG=HS256, not %s (unset it to have an %s key generated and kept in the store)", c.Alg, c.Alg)
		}
		c.SigningKey = []byte(key)
	}

	for _, e := range strings.Split(getenv("GATEHOUSE_ALLOWED_EMAILS"), ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
			return nil, bad("GATEHOUSE_ALLOWED_EMAILS", "%q is not an email address", e)
		}
		c.AllowedEmails = append(c.AllowedEmails, e)
	}

	if c.UsersFile = env(UsersFileVar, ""); c.UsersFile != "" {
		if c.Users, err = LoadUsers(c.UsersFile); err != nil {
			return nil, err
		}
	}
	if c.Admins, err = parseAdmins(getenv(AdminsVar)); err != nil {
		return nil, err
	}

	for _, d := range []struct {
		name string
		def  time.Duration
		dst  *time.Duration
	}{{"GATEHOUSE_ACCESS_TTL", DefaultAccessTTL, &c.AccessTTL}, {"GATEHOUSE_REFRESH_TTL", DefaultRefreshTTL, &c.RefreshTTL}} {
		*d.dst = d.def
		if raw := env(d.name, ""); raw != "" {
			v, err := time.ParseDuration(raw)
			if err != nil || v < time.Second {
				return nil, bad(d.name, "%q is not a Go duration of at least 1s, such as 15m or 720h", raw)
			}
			*d.dst = v
		}
	}

	for _, n := range []struct {
		name string
		def  int
		dst  *int
		what string
	}{{"GATEHOUSE_RATE_LIMIT", DefaultRateLimit, &c.RateLimit, "requests per minute (0 turns the limit off)"},
		{"GATEHOUSE_MAX_SESSIONS", DefaultMaxSessions, &c.MaxSessions, "sessions per user (0 is no cap)"}} {
		*n.dst = n.def
		if raw := env(n.name, ""); raw != "" {
			v, err := strconv.Atoi(raw)
			if err != nil || v < 0 {
				return nil, bad(n.name, "%q is not a whole number of %s", raw, n.what)
			}
			*n.dst = v
		}
	}

	if raw := env("GATEHOUSE_KEY_ENCRYPTION_KEY", ""); raw != "" {
		// The value is a secret: the message says what is wrong with it, never what it is.
		if c.KeyEncryptionKey = decodeKey(raw); c.KeyEncryptionKey == nil {
			return nil, bad("GATEHOUSE_KEY_ENCRYPTION_KEY", "not %d bytes in base64 (standard or URL alphabet, padded or not), such as the output of openssl rand -base64 %d", KeyEncryptionKeySize, KeyEncryptionKeySize)
		}
	}

	if c.Google, err = pair(getenv, "", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET"); err != nil {
		return nil, err
	}
	if c.OIDC, err = pair(getenv, "OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"); err != nil {
		return nil, err
	}
	if c.OIDC != nil {
		u, err := url.Parse(c.OIDC.Issuer)
		if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" ||
			!(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
			return nil, bad("OIDC_ISSUER", "%q is not an https URL (http only on a loopback host)", c.OIDC.Issuer)
		}
	}

	switch v := strings.ToLower(getenv(InsecureDevIDPVar)); v {
	case "", "0", "false":
	case "1", "true":
		c.InsecureDevIDP = true
	default:
		return nil, bad(InsecureDevIDPVar, "%q is not 1 or 0", v)
	}
	if c.DevIDP() {
		if err := c.checkDevIDP(host); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// checkDevIDP keeps the development identity provider, which signs anyone in as
// anyone, on loopback unless the insecure variable says otherwise.
func (c *Config) checkDevIDP(listenHost string) error {
	u, _ := url.Parse(c.PublicURL)
	const why = "the development identity provider (used when neither GOOGLE_* nor OIDC_* is set) lets anyone sign in as anyone"
	if !c.InsecureDevIDP {
		if !isLoopback(u.Hostname()) {
			return &ConfigError{"GATEHOUSE_PUBLIC_URL", fmt.Sprintf("%q is not loopback: %s; configure a real provider, or set %s=1 to expose it anyway", c.PublicURL, why, InsecureDevIDPVar)}
		}
		if !isLoopback(listenHost) {
			return &ConfigError{"GATEHOUSE_ADDR", fmt.Sprintf("%q is not loopback: %s; configure a real provider, or set %s=1 to expose it anyway", c.Addr, why, InsecureDevIDPVar)}
		}
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return &ConfigError{"GATEHOUSE_PUBLIC_URL", fmt.Sprintf("%q: off loopback, the development identity provider needs an https public URL (gatehouse refuses plain-http provider endpoints there)", c.PublicURL)}
	}
	return nil
}

// decodeKey decodes a key-encryption key written in any of the four base64 encodings,
// strictly, or returns nil when raw is none of them or not KeyEncryptionKeySize bytes.
func decodeKey(raw string) []byte {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.Strict().DecodeString(raw); err == nil && len(k) == KeyEncryptionKeySize {
			return k
		}
	}
	return nil
}

// pair reads a provider's variables, which go together: all set or none.
func pair(getenv func(string) string, issuerVar, idVar, secretVar string) (*Client, error) {
	names := []string{idVar, secretVar}
	if issuerVar != "" {
		names = append([]string{issuerVar}, names...)
	}
	var set, unset []string
	for _, n := range names {
		if strings.TrimSpace(getenv(n)) != "" {
			set = append(set, n)
		} else {
			unset = append(unset, n)
		}
	}
	switch {
	case len(set) == 0:
		return nil, nil
	case len(unset) > 0:
		return nil, &ConfigError{unset[0], fmt.Sprintf("missing while %s is set: %s go together", joinAnd(set), joinAnd(names))}
	}
	c := &Client{ID: strings.TrimSpace(getenv(idVar)), Secret: strings.TrimSpace(getenv(secretVar))}
	if issuerVar != "" {
		c.Issuer = strings.TrimRight(strings.TrimSpace(getenv(issuerVar)), "/")
	}
	return c, nil
}

func joinAnd(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// browserHost is the host to put in a URL for a listen host: localhost for all
// interfaces.
func browserHost(host string) string {
	if host == "" || host == "0.0.0.0" || host == "::" {
		return "localhost"
	}
	return host
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// storeMessage is err, an error of storeurl, without the prefixes of the
// configuration category and of the package: the line names the variable already.
func storeMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), core.ErrConfig.Error()+": ")
	return strings.TrimPrefix(msg, "storeurl: ")
}
