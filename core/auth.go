package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Auth issues, verifies, refreshes and revokes tokens over a Store. It is safe for
// concurrent use. Build it with New.
type Auth struct {
	store      Store
	cfg        config
	loader     *keyLoader
	cache      *tokenCache // nil when off
	rot        rotator     // the keys in force, see keys
	refreshAud string
}

// Tokens is the token response of a sign-in or a refresh (RFC 6749 §5.1). Marshalled
// as JSON it is the body gatehouse answers with.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`

	// Session is the session the tokens belong to.
	Session SessionInfo `json:"-"`
	// AccessExpiresAt and RefreshExpiresAt are the exp claims of the two tokens.
	AccessExpiresAt  time.Time `json:"-"`
	RefreshExpiresAt time.Time `json:"-"`
}

// New returns an Auth over store. Configuration it refuses is an error matching
// ErrConfig; a store failure while loading the persisted key matches
// ErrStoreUnavailable.
func New(store Store, opts ...Option) (*Auth, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: nil store", ErrConfig)
	}
	cfg := defaults()
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.audience == "" {
		cfg.audience = cfg.issuer
	}
	a := &Auth{store: store, cfg: cfg, refreshAud: cfg.issuer + "#refresh"}
	if cfg.audience == a.refreshAud {
		return nil, fmt.Errorf("%w: audience %q is reserved for refresh tokens", ErrConfig, cfg.audience)
	}
	if cfg.idleTimeout != 0 && cfg.idleTimeout < cfg.accessTTL {
		return nil, fmt.Errorf("%w: idle timeout %v is shorter than the access TTL %v", ErrConfig, cfg.idleTimeout, cfg.accessTTL)
	}
	if len(cfg.keyChoice) > 1 {
		return nil, fmt.Errorf("%w: %s each choose the signing key: give one of them", ErrConfig, strings.Join(cfg.keyChoice, " and "))
	}
	if cfg.rotateEvery != 0 && cfg.signing != nil {
		return nil, fmt.Errorf("%w: WithKeyRotation rotates generated keys: it cannot be combined with WithSigningKey or WithHMACSecret", ErrConfig)
	}
	loader, err := newKeyLoader(store, cfg.kek)
	if err != nil {
		return nil, err
	}
	a.loader = loader
	if err := a.initWeb(); err != nil {
		return nil, err
	}
	ks, err := a.loadKeys(context.Background(), a.period(cfg.now()))
	if err != nil {
		return nil, err
	}
	a.rot.current.Store(ks)
	switch cfg.tokenCache {
	case -1:
	case 0:
		a.cache = newTokenCache(DefaultTokenCache)
	default:
		a.cache = newTokenCache(cfg.tokenCache)
	}
	return a, nil
}

// Issue starts a session for id, as after a successful sign-in, and returns its first
// access and refresh tokens. The client's user agent and address are kept with the
// session for the user's list of sessions; the zero Client records none.
func (a *Auth) Issue(ctx context.Context, id Identity, client Client) (*Tokens, error) {
	if id.Subject == "" {
		return nil, fmt.Errorf("%w: identity has no subject", ErrInvalidRequest)
	}
	extra, err := a.extraClaims(ctx, id)
	if err != nil {
		return nil, err
	}
	grants, err := a.grants(ctx, id)
	if err != nil {
		return nil, err
	}
	now := a.cfg.now()
	s := &Session{
		ID:         newID(),
		Identity:   id,
		CreatedAt:  now,
		LastUsedAt: now,
		ExpiresAt:  now.Add(a.cfg.refreshTTL),
		Current:    newID(),
	}
	s.IdleExpiresAt = s.ExpiresAt
	if a.cfg.idleTimeout > 0 && now.Add(a.cfg.idleTimeout).Before(s.ExpiresAt) {
		s.IdleExpiresAt = now.Add(a.cfg.idleTimeout)
	}
	s.UserAgent, s.IP = client.UserAgent, client.IP
	// Mint before storing: a token that cannot be minted leaves no session behind.
	at, accessExp, err := a.mintAccess(s, now, grants, extra)
	if err != nil {
		return nil, err
	}
	s.AccessExpiresAt = accessExp.Add(a.cfg.leeway)
	rt, err := a.mintRefresh(s, now)
	if err != nil {
		return nil, err
	}
	if err := a.store.CreateSession(ctx, s); err != nil {
		return nil, storeErr(err)
	}
	t := a.tokens(s, now, at, accessExp, rt)
	a.emit(ctx, Event{Type: EventLogin, Subject: id.Subject, SessionID: s.ID, Time: now, Provider: id.Provider})
	if err := a.evict(ctx, id.Subject, s.ID); err != nil {
		// The new session stands; the cap is enforced again at the next sign-in.
		a.cfg.logger.WarnContext(ctx, "gatehouse: ending sessions over the cap", "sub", id.Subject, "err", err)
	}
	return t, nil
}

// mintAccess signs an access token of s with a new jti, carrying g and the custom
// claims extra. Its exp is never after the session's own end. It depends only on what
// never changes in a session (id, identity, absolute end), so Refresh can mint it
// before the rotation commits.
func (a *Auth) mintAccess(s *Session, now time.Time, g Grants, extra map[string]any) (string, time.Time, error) {
	exp := now.Add(a.cfg.accessTTL)
	if exp.After(s.ExpiresAt) {
		exp = s.ExpiresAt
	}
	exp = exp.Truncate(time.Second)
	payload, err := marshalPayload(&wireClaims{
		Iss: a.cfg.issuer, Sub: s.Identity.Subject, Aud: audience{a.cfg.audience},
		Exp: exp.Unix(), Iat: now.Unix(), Jti: newID(), Sid: s.ID,
		Email: s.Identity.Email, Name: s.Identity.Name,
		Roles: g.Roles, Scope: strings.Join(g.Scopes, " "),
	}, extra)
	if err != nil {
		return "", time.Time{}, err
	}
	at, err := a.keys(now).ring.sign(accessToken, payload)
	if err != nil {
		return "", time.Time{}, err
	}
	if len(at) > MaxTokenSize {
		return "", time.Time{}, fmt.Errorf("%w: custom claims, roles and scopes make the access token %d bytes, over MaxTokenSize", ErrConfig, len(at))
	}
	return at, exp, nil
}

// mintRefresh signs the refresh token whose jti is s.Current.
func (a *Auth) mintRefresh(s *Session, now time.Time) (string, error) {
	payload, err := marshalPayload(&wireClaims{
		Iss: a.cfg.issuer, Sub: s.Identity.Subject, Aud: audience{a.refreshAud},
		Exp: s.ExpiresAt.Unix(), Iat: now.Unix(), Jti: s.Current, Sid: s.ID,
	}, nil)
	if err != nil {
		return "", err
	}
	return a.keys(now).ring.sign(refreshToken, payload)
}

func (a *Auth) tokens(s *Session, now time.Time, at string, accessExp time.Time, rt string) *Tokens {
	return &Tokens{
		AccessToken: at, TokenType: "Bearer", ExpiresIn: int(accessExp.Unix() - now.Unix()),
		RefreshToken: rt,
		Session:      s.Info(), AccessExpiresAt: accessExp, RefreshExpiresAt: time.Unix(s.ExpiresAt.Unix(), 0),
	}
}

// grants returns the roles and scopes of id's access tokens: the WithGrants hook's
// answer, or without a hook the identity's own, each name checked.
func (a *Auth) grants(ctx context.Context, id Identity) (Grants, error) {
	g := Grants{Roles: id.Roles, Scopes: id.Scopes}
	if a.cfg.grantsHook != nil {
		var err error
		if g, err = a.cfg.grantsHook(ctx, id); err != nil {
			return Grants{}, fmt.Errorf("gatehouse: grants hook: %w", err)
		}
	}
	if err := checkGrants(g); err != nil {
		return Grants{}, err
	}
	return g, nil
}

// extraClaims returns the custom claims of id's access tokens: the identity's, merged
// with the WithClaims hook's answer, each name checked.
func (a *Auth) extraClaims(ctx context.Context, id Identity) (map[string]any, error) {
	extra := id.Claims
	if a.cfg.claimsHook != nil {
		more, err := a.cfg.claimsHook(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("gatehouse: claims hook: %w", err)
		}
		if len(more) > 0 {
			merged := make(map[string]any, len(extra)+len(more))
			for k, v := range extra {
				merged[k] = v
			}
			for k, v := range more {
				merged[k] = v
			}
			extra = merged
		}
	}
	for name := range extra {
		if err := checkClaimName(name); err != nil {
			return nil, err
		}
	}
	return extra, nil
}

// Authenticate verifies an access token and returns its claims. It refuses, as an
// error matching ErrInvalidToken: a token over MaxTokenSize, a header that is not
// exactly one gatehouse writes for one of its keys (so alg none, another algorithm,
// an unknown kid and embedded keys are all refused, and the algorithm always comes from
// the key), a bad signature (checked before anything in the payload is read), a refresh
// token, a wrong or missing iss or aud, a missing or passed exp, nbf or iat in the
// future (each with the configured leeway), and a revoked token or session. A store
// failure is an error matching ErrStoreUnavailable, never a pass.
//
// A token verified once is remembered (WithTokenCache): until its exp, the same token
// again skips the signature and claims checks, never the exp and revocation checks.
//
// Each call is reported to the WithEvents hook as an EventAuthenticate.
func (a *Auth) Authenticate(ctx context.Context, token string) (*Claims, error) {
	now := a.cfg.now()
	c, err := a.authenticate(ctx, token, now, false)
	if a.cfg.events != nil {
		a.authenticated(ctx, c, err, now)
	}
	return c, err
}

// authenticate is Authenticate without the event. borrowed says that token lives in a
// framework's buffer, valid only for the request (see transientHeaders): the cache
// then keeps a copy.
func (a *Auth) authenticate(ctx context.Context, token string, now time.Time, borrowed bool) (*Claims, error) {
	ks := a.keys(now)
	c, h, hit := a.cache.get(token, ks, now)
	var e *cached // the entry for a token verified now, its claims and all in one
	if !hit {
		w, raw, err := a.parseWith(ks, now, token, accessToken, a.cfg.audience)
		if err != nil {
			return nil, err
		}
		e = &cached{claims: w.claims(raw), keys: ks}
		e.until = e.claims.ExpiresAt.Add(a.cfg.leeway)
		c = &e.claims
	}
	revoked, err := a.store.IsRevoked(ctx, c.ID, c.SessionID)
	if err != nil {
		return nil, storeErr(err)
	}
	if revoked {
		return nil, ErrTokenRevoked
	}
	if e != nil && a.cache != nil {
		a.cache.put(h, keep(token, borrowed), e)
	}
	// The caller gets its own copy: the cached claims must not change under others.
	own := *c
	return &own, nil
}

// keep returns token as the token cache may keep it: a copy when it is borrowed from a
// framework's buffer, which the next request overwrites.
func keep(token string, borrowed bool) string {
	if borrowed {
		return strings.Clone(token)
	}
	return token
}

// parse verifies a token of kind and its registered claims.
func (a *Auth) parse(token string, kind tokenKind, aud string) (wireClaims, string, error) {
	now := a.cfg.now()
	return a.parseWith(a.keys(now), now, token, kind, aud)
}

// parseWith is parse with the keys and the time already looked up.
func (a *Auth) parseWith(ks *keyset, now time.Time, token string, kind tokenKind, aud string) (w wireClaims, raw string, err error) {
	raw, err = ks.ring.verify(token, kind)
	if err != nil {
		return wireClaims{}, "", err
	}
	if err := decodeClaims(raw, &w); err != nil {
		return wireClaims{}, "", fmt.Errorf("%w: claims", ErrMalformedToken)
	}
	if err := w.validate(now, a.cfg.issuer, aud, a.cfg.leeway); err != nil {
		return wireClaims{}, "", err
	}
	return w, raw, nil
}

// JWKS returns the public keys tokens may be signed with, the signing key first, for /auth/jwks.json. HMAC
// keys are secret and never listed, so with HMAC only the set is empty.
func (a *Auth) JWKS() JWKS {
	set := JWKS{Keys: []JWK{}}
	for _, k := range a.keys(a.cfg.now()).ring.all {
		if k.hmac != nil {
			continue
		}
		j := k.jwk()
		j.Use, j.Alg, j.Kid = "sig", string(k.alg), k.id
		set.Keys = append(set.Keys, j)
	}
	return set
}

// storeErr makes a store failure match ErrStoreUnavailable, keeping the cause.
func storeErr(err error) error {
	if errors.Is(err, ErrStoreUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
}
