package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/core/password"
)

// PasswordUser is a user of the app's own, as the WithPasswords lookup returns them.
type PasswordUser struct {
	// Identity is who the user is once signed in. Its Subject is the app's user id: it
	// must not be empty.
	Identity Identity
	// Hash is the user's password hash, an Argon2id PHC string as password.Hash makes
	// it. An empty Hash means the user has no password: they cannot sign in with one,
	// and are answered as an unknown user is.
	Hash string
}

// Defaults and limits of the password sign-in.
const (
	defaultPasswordPerUser = 5
	defaultPasswordPerIP   = 50
	defaultPasswordWindow  = 15 * time.Minute

	maxUsername = 256  // bytes
	maxPassword = 1024 // bytes

	// passwordProvider is Event.Provider and the default Identity.Provider of a
	// password sign-in.
	passwordProvider = "password"
)

// passwordConfig is the password sign-in: set by its options, completed by
// initPasswords.
type passwordConfig struct {
	lookup   func(ctx context.Context, username string) (*PasswordUser, error)
	verifier func(ctx context.Context, username, password string) (*Identity, error)
	perUser  int
	perIP    int
	window   time.Duration

	// Set by initPasswords.
	dummy  string        // the hash an unknown user's password is verified against
	slots  chan struct{} // bounds the checks in progress
	verify func(phc, password string) (bool, error)
}

// passwords is the password configuration, made at the first option that needs it.
func (c *config) passwords() *passwordConfig {
	if c.password == nil {
		c.password = &passwordConfig{}
	}
	return c.password
}

// WithPasswords turns on sign-in with a username and a password checked here: the
// route POST {prefix}/login/password (see Auth.Adapter's Routes). lookup finds the
// user by the username as the client sent it, without any normalization; it returns
// (nil, nil) when there is no such user, and an error only when it failed (one
// matching a category of errors.go is answered as that category, any other with 500).
// The password is verified against the user's Argon2id hash (package core/password):
// hash them with password.DefaultParams, the parameters of the hash an unknown user's
// password is verified against, so that both take the same time.
//
// Failed sign-ins are counted in the Store per username and per client IP, and
// refused for a while beyond a limit (WithPasswordLimits). At most GOMAXPROCS checks
// (at least 2) run at once; the others wait for their turn, or until their request's
// context ends. It cannot be combined with WithPasswordVerifier.
func WithPasswords(lookup func(ctx context.Context, username string) (*PasswordUser, error)) Option {
	return func(c *config) error {
		if lookup == nil {
			return fmt.Errorf("%w: nil password lookup", ErrConfig)
		}
		c.passwords().lookup = lookup
		return nil
	}
}

// WithPasswordVerifier turns on sign-in with a username and a password that the app
// checks itself, for passwords hashed some other way than Argon2id (bcrypt, an LDAP
// bind): the route POST {prefix}/login/password. verify returns the user's Identity
// (its Subject the app's user id) when the password is right, (nil, nil) for a wrong
// username or password, and an error only when it failed (one matching a category of
// errors.go is answered as that category, any other with 500). It must take the same
// time for an unknown user as for a wrong password: gatehouse cannot equalize what it
// does not run. Failures are counted and limited, and checks run a few at a time, as
// with WithPasswords, which it cannot be combined with.
func WithPasswordVerifier(verify func(ctx context.Context, username, password string) (*Identity, error)) Option {
	return func(c *config) error {
		if verify == nil {
			return fmt.Errorf("%w: nil password verifier", ErrConfig)
		}
		c.passwords().verifier = verify
		return nil
	}
}

// WithPasswordLimits sets how many failed password sign-ins are allowed per username
// (default 5) and per client IP (default 50) within window (default 15 minutes), a
// window that starts at the first failure. Beyond either limit every attempt with
// that username or from that IP is refused with 429 and Retry-After until the window
// ends, even one with the right password, so that guessing stops rather than slows.
// The counters are kept in the Store, so every instance sharing it counts together.
// Usernames are counted without regard to case or surrounding space. Whoever knows a
// username can keep its owner from signing in with a password this way: the price of
// stopping the guessing. It needs WithPasswords or WithPasswordVerifier.
func WithPasswordLimits(perUser, perIP int, window time.Duration) Option {
	return func(c *config) error {
		if perUser < 1 || perIP < 1 || window < time.Second {
			return fmt.Errorf("%w: password limits %d per user, %d per IP in %v: want 1 or more in 1s or more", ErrConfig, perUser, perIP, window)
		}
		p := c.passwords()
		p.perUser, p.perIP, p.window = perUser, perIP, window
		return nil
	}
}

// initPasswords checks the password options, fills in the defaults and hashes the
// dummy password. It is called by initWeb.
func (a *Auth) initPasswords() error {
	p := a.cfg.password
	if p == nil {
		return nil
	}
	switch {
	case p.lookup != nil && p.verifier != nil:
		return fmt.Errorf("%w: WithPasswords and WithPasswordVerifier cannot be combined", ErrConfig)
	case p.lookup == nil && p.verifier == nil:
		return fmt.Errorf("%w: WithPasswordLimits needs WithPasswords or WithPasswordVerifier", ErrConfig)
	}
	if p.window == 0 {
		p.perUser, p.perIP, p.window = defaultPasswordPerUser, defaultPasswordPerIP, defaultPasswordWindow
	}
	// Each check holds a slot from the throttle's read to the count of its failure, so
	// that concurrent guesses at one username go past the limit by at most the number
	// of slots per instance; one Argon2id verification at DefaultParams takes 19 MiB.
	p.slots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	p.verify = password.Verify
	if p.lookup != nil {
		// Verified for a username that has no user, so that it costs what a wrong
		// password costs. Its password is random and thrown away.
		dummy, err := password.Hash(newID(), password.DefaultParams)
		if err != nil {
			return err
		}
		p.dummy = dummy
	}
	return nil
}

// passwordRoutes is the route of the password sign-in, or nil without one.
func (a *Auth) passwordRoutes() []Route {
	if a.cfg.password == nil {
		return nil
	}
	return []Route{{http.MethodPost, "/login/password", a.limited(a.handlePassword)}}
}

// errBadCredentials is the one answer to a wrong username and to a wrong password:
// 400 invalid_grant (RFC 6749 §5.2), byte for byte the same.
var errBadCredentials = wrapCategory("gatehouse: wrong username or password", ErrInvalidGrant)

// errPasswordThrottled refuses an attempt beyond WithPasswordLimits.
var errPasswordThrottled = wrapCategory("gatehouse: too many failed sign-ins", ErrRateLimited)

// handlePassword serves POST {prefix}/login/password: a username and a password, form
// or JSON, and redirect_to (body or query, checked as the login route checks it,
// default "/"). A JSON client (Accept: application/json) gets the token response; a
// browser gets the refresh cookie (and the access cookie in cookie mode) and a
// redirect to redirect_to. A cross-site POST is refused: signing a browser into the
// attacker's account (login CSRF) is an attack.
func (a *Auth) handlePassword(ex Exchange) {
	ctx, end := a.startOp(ex.Context(), OpSignIn)
	t, err := a.passwordSignIn(ctx, ex)
	if a.cfg.events != nil && errors.Is(err, errPasswordThrottled) {
		a.notify(ctx, Event{Type: EventRateLimited, Provider: passwordProvider, Err: err, Time: a.cfg.now()})
	} else {
		a.signedIn(ctx, passwordProvider, t, err)
	}
	end(err)
}

// passwordSignIn is handlePassword with ctx, the request's traced context; it answers
// the request and returns the tokens or the error, for the events.
func (a *Auth) passwordSignIn(ctx context.Context, ex Exchange) (*Tokens, error) {
	fail := func(err error) (*Tokens, error) {
		a.writeError(ex, err)
		return nil, err
	}
	if a.crossSite(ex) {
		return fail(ErrCrossSite)
	}
	p, err := readParams(ex)
	if err != nil {
		return fail(err)
	}
	username, pw := p.values["username"], p.values["password"]
	switch {
	case username == "" || pw == "":
		return fail(fmt.Errorf("%w: username and password are required", ErrInvalidRequest))
	case len(username) > maxUsername:
		return fail(fmt.Errorf("%w: username over %d bytes", ErrInvalidRequest, maxUsername))
	case len(pw) > maxPassword:
		return fail(fmt.Errorf("%w: password over %d bytes", ErrInvalidRequest, maxPassword))
	}
	redirectTo, q := p.values["redirect_to"], ex.Query("redirect_to")
	if redirectTo != "" && q != "" && redirectTo != q {
		return fail(fmt.Errorf("%w: redirect_to both in the body and in the query", ErrInvalidRequest))
	}
	if redirectTo == "" {
		redirectTo = q
	}
	if redirectTo, err = checkRedirect(redirectTo, a.cfg.web.origins, a.ownOrigin(ex)); err != nil {
		return fail(err)
	}
	id, err := a.checkPassword(ctx, ex.RemoteIP(), username, pw)
	if err != nil {
		return fail(err)
	}
	t, err := a.Issue(ctx, *id, clientOf(ex))
	if err != nil {
		return fail(err)
	}
	if wantsJSON(ex) {
		writeTokens(ex, t)
		return t, nil
	}
	a.setRefreshCookie(ex, t)
	a.setAccessCookie(ex, t)
	noStore(ex)
	ex.SetHeader("Location", redirectTo)
	ex.Write(http.StatusFound, nil)
	return t, nil
}

// checkPassword decides a sign-in: the throttle first, then the password, then, for a
// wrong one, the count of the failure under the username and the IP. It returns the
// identity to start the session for.
func (a *Auth) checkPassword(ctx context.Context, ip, username, pw string) (*Identity, error) {
	p := a.cfg.password
	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	case <-ctx.Done():
		return nil, fmt.Errorf("gatehouse: password sign-in: %w", ctx.Err())
	}
	now := a.cfg.now()
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(username))))
	keys := []struct {
		key   string
		limit int
	}{{"pw:u:" + hex.EncodeToString(sum[:]), p.perUser}, {"pw:ip:" + ip, p.perIP}}
	var until time.Time
	for _, k := range keys {
		n, end, err := a.store.Count(ctx, k.key, 0, now, p.window)
		if err != nil {
			return nil, storeErr(err)
		}
		if n >= k.limit && end.After(until) {
			until = end
		}
	}
	if !until.IsZero() {
		return nil, &retryError{err: errPasswordThrottled, after: until.Sub(now)}
	}
	id, err := a.passwordIdentity(ctx, username, pw)
	if err != nil || id != nil {
		return id, err
	}
	for _, k := range keys {
		if _, _, err := a.store.Count(ctx, k.key, 1, now, p.window); err != nil {
			return nil, storeErr(err)
		}
	}
	return nil, errBadCredentials
}

// passwordIdentity checks the password with the app's verifier, or against the user's
// hash (the dummy one for a username without a user). It returns nil, nil for a wrong
// username or password.
func (a *Auth) passwordIdentity(ctx context.Context, username, pw string) (*Identity, error) {
	p := a.cfg.password
	var id Identity
	if p.verifier != nil {
		v, err := p.verifier(ctx, username, pw)
		if err != nil {
			return nil, passwordAppErr("password verifier", err)
		}
		if v == nil {
			return nil, nil
		}
		id = *v
	} else {
		u, err := p.lookup(ctx, username)
		if err != nil {
			return nil, passwordAppErr("password lookup", err)
		}
		known := u != nil && u.Hash != ""
		hash := p.dummy
		if known {
			hash = u.Hash
		}
		ok, err := p.verify(hash, pw)
		if err != nil {
			// The app's data is wrong: its store of hashes, not the client, has to change.
			return nil, fmt.Errorf("gatehouse: password hash of a user: %w", err)
		}
		if !ok || !known {
			return nil, nil
		}
		id = u.Identity
	}
	if id.Subject == "" {
		return nil, fmt.Errorf("gatehouse: password sign-in of a user without a subject")
	}
	if id.Provider == "" {
		id.Provider = passwordProvider
	}
	return &id, nil
}

// passwordAppErr is an error of the app's own code: one that matches a category is
// answered as that category, any other is a failure (500).
func passwordAppErr(what string, err error) error {
	for _, c := range categories {
		if errors.Is(err, c) {
			return err
		}
	}
	return fmt.Errorf("gatehouse: %s: %w", what, err)
}
