package core

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Limits on what the options accept.
const (
	MaxLeeway = 60 * time.Second
	MaxGrace  = 60 * time.Second
)

// Option configures New.
type Option func(*config) error

type config struct {
	issuer      string
	audience    string
	accessTTL   time.Duration
	refreshTTL  time.Duration
	idleTimeout time.Duration
	grace       time.Duration
	leeway      time.Duration
	now         func() time.Time
	signing     *Key
	verify      []*Key
	alg         Algorithm
	keyChoice   []string // the different options that chose the signing key, see New
	maxSessions int      // 0: no cap
	kek         []byte   // WithKeyEncryptionKey
	rotateEvery time.Duration
	tokenCache  int // verified access tokens remembered; 0 = DefaultTokenCache, -1 = off
	claimsHook  func(context.Context, Identity) (map[string]any, error)
	grantsHook  func(context.Context, Identity) (Grants, error)
	events      func(context.Context, Event)
	tracing     func(context.Context, Operation) (context.Context, func(error)) // WithTracing
	logger      *slog.Logger
	web         webConfig // sign-in and routes, see web.go
	password    *passwordConfig
}

func defaults() config {
	return config{
		issuer:      "gatehouse",
		accessTTL:   15 * time.Minute,
		refreshTTL:  30 * 24 * time.Hour,
		now:         time.Now,
		alg:         HS256,
		maxSessions: DefaultMaxSessions,
		logger:      slog.Default(),
	}
}

// WithIssuer sets the iss claim of every token and the issuer tokens must name
// (default "gatehouse"). Use the app's public URL.
func WithIssuer(iss string) Option {
	return func(c *config) error {
		if iss == "" {
			return fmt.Errorf("%w: empty issuer", ErrConfig)
		}
		c.issuer = iss
		return nil
	}
}

// WithAudience sets the aud claim of access tokens and the audience they must name
// (default: the issuer).
func WithAudience(aud string) Option {
	return func(c *config) error {
		if aud == "" {
			return fmt.Errorf("%w: empty audience", ErrConfig)
		}
		c.audience = aud
		return nil
	}
}

// WithAccessTTL sets how long an access token lives (default 15 minutes).
func WithAccessTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("%w: access TTL %v is too short", ErrConfig, d)
		}
		c.accessTTL = d
		return nil
	}
}

// WithRefreshTTL sets the absolute lifetime of a session and so of every refresh token
// of it (default 30 days). Refreshing never extends it.
func WithRefreshTTL(d time.Duration) Option {
	return func(c *config) error {
		if d < time.Second {
			return fmt.Errorf("%w: refresh TTL %v is too short", ErrConfig, d)
		}
		c.refreshTTL = d
		return nil
	}
}

// WithIdleTimeout ends a session that has not been refreshed for d (default: no idle
// timeout, only the absolute lifetime).
func WithIdleTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: negative idle timeout", ErrConfig)
		}
		c.idleTimeout = d
		return nil
	}
}

// WithRefreshGrace lets the refresh token just replaced by a rotation be presented again
// for d without counting as reuse, for clients such as several browser tabs that race to
// refresh. It is off by default and capped at MaxGrace: within it, whoever holds the
// replaced token also gets a valid one. An expired token is never tolerated.
func WithRefreshGrace(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > MaxGrace {
			return fmt.Errorf("%w: refresh grace must be between 0 and %v", ErrConfig, MaxGrace)
		}
		c.grace = d
		return nil
	}
}

// WithLeeway tolerates clock skew between servers when checking exp, nbf and iat
// (default 0, at most MaxLeeway).
func WithLeeway(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > MaxLeeway {
			return fmt.Errorf("%w: leeway must be between 0 and %v", ErrConfig, MaxLeeway)
		}
		c.leeway = d
		return nil
	}
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrConfig)
		}
		c.now = now
		return nil
	}
}

// WithSigningKey sets the key every new token is signed with. Without it, New loads the
// key persisted in the store, or generates one with WithAlgorithm's algorithm and
// persists it, so tokens survive restarts and every instance sharing the store agrees.
// It cannot be combined with WithHMACSecret or WithAlgorithm.
func WithSigningKey(k *Key) Option {
	return func(c *config) error {
		if k == nil || !k.canSign() {
			return fmt.Errorf("%w: signing key cannot sign", ErrConfig)
		}
		c.signing = k
		c.chooseKey("WithSigningKey")
		return nil
	}
}

// chooseKey records that option chose the signing key: two different such options
// contradict each other, and New refuses them rather than let the last one win.
func (c *config) chooseKey(option string) {
	if !slices.Contains(c.keyChoice, option) {
		c.keyChoice = append(c.keyChoice, option)
	}
}

// WithHMACSecret is WithSigningKey(KeyFromSecret("", HS256, secret)): the secret must be at
// least 32 bytes. It cannot be combined with WithSigningKey or WithAlgorithm.
func WithHMACSecret(secret []byte) Option {
	return func(c *config) error {
		k, err := KeyFromSecret("", HS256, secret)
		if err != nil {
			return err
		}
		c.signing = k
		c.chooseKey("WithHMACSecret")
		return nil
	}
}

// WithVerificationKeys adds keys that tokens may be signed with besides the signing
// key. To rotate without downtime: sign with the new key and keep the old one here
// until the tokens it signed have expired.
func WithVerificationKeys(keys ...*Key) Option {
	return func(c *config) error {
		c.verify = append(c.verify, keys...)
		return nil
	}
}

// WithAlgorithm chooses the algorithm of the key New generates and persists when no
// signing key is given (default HS256). It cannot be combined with WithSigningKey or
// WithHMACSecret, which bring their own algorithm.
func WithAlgorithm(alg Algorithm) Option {
	return func(c *config) error {
		if !allowedAlg(alg) {
			return fmt.Errorf("%w: unsupported algorithm %q", ErrConfig, alg)
		}
		c.alg = alg
		c.chooseKey("WithAlgorithm")
		return nil
	}
}

// DefaultMaxSessions is how many sessions one subject may have unless WithMaxSessions
// says otherwise.
const DefaultMaxSessions = 50

// WithMaxSessions caps the sessions one subject may have at n (default
// DefaultMaxSessions): a sign-in beyond it ends the subject's oldest sessions, each
// reported as EventSessionEvicted. 0 means no cap. Without a cap, whoever can sign in
// as a user can grow that user's session list, and the cost of logging out everywhere,
// without bound.
func WithMaxSessions(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: max sessions %d: want 0 (no cap) or more", ErrConfig, n)
		}
		c.maxSessions = n
		return nil
	}
}

// WithClaims sets a hook that returns extra claims for the access tokens of an
// identity; it runs at sign-in and at every refresh. It may not set registered or
// gatehouse claims (iss, sub, aud, exp, iat, nbf, jti, sid, email, name, roles,
// scope, …): such a claim is an error. Roles and scopes come from WithGrants.
func WithClaims(hook func(ctx context.Context, id Identity) (map[string]any, error)) Option {
	return func(c *config) error {
		c.claimsHook = hook
		return nil
	}
}

// Grants are the roles and scopes written into an access token, as its "roles" and
// "scope" claims.
type Grants struct {
	Roles  []string
	Scopes []string
}

// WithGrants sets a hook that decides the roles and scopes of an identity's access
// tokens; it runs at sign-in and at every refresh, with the Identity stored with the
// session, so a user whose roles the app takes away loses them at the next refresh.
// Its result replaces the Identity's Roles and Scopes in the token, not in the stored
// session. An error fails the sign-in or the refresh: one matching a category of
// errors.go is answered as that category, any other with 500. Without the hook, tokens
// carry the Identity's own Roles and Scopes.
//
// A role or scope name is 1 to 128 bytes of printable ASCII other than space, '"' and
// '\' (NQCHAR, RFC 6749 §3.3); any other name fails the sign-in or refresh with an
// error matching ErrConfig.
func WithGrants(hook func(ctx context.Context, id Identity) (Grants, error)) Option {
	return func(c *config) error {
		c.grantsHook = hook
		return nil
	}
}

// WithEvents sets a hook called after each login, refresh, detected reuse, revocation
// and logout, for audit logs and metrics, and with every authentication, sign-in
// callback, refused refresh and rate-limited request (see EventType). It runs
// synchronously, on the request's goroutine: keep it fast. Without it, no Event is
// built on the per-request path.
func WithEvents(hook func(context.Context, Event)) Option {
	return func(c *config) error {
		c.events = hook
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrConfig)
		}
		c.logger = l
		return nil
	}
}
