package core

import (
	"context"
	"errors"
	"time"
)

// EventType names what happened.
type EventType string

// The events WithEvents reports.
const (
	EventLogin         EventType = "login"
	EventRefresh       EventType = "refresh"
	EventReuseDetected EventType = "reuse_detected"
	EventRevoke        EventType = "revoke"
	EventLogout        EventType = "logout"
	EventLogoutAll     EventType = "logout_all"
	// EventSessionEvicted is a session ended because its user started more than
	// WithMaxSessions allows: the oldest go.
	EventSessionEvicted EventType = "session_evicted"

	// EventAuthenticate is one decision on an access token: every call of
	// Auth.Authenticate and every request the adapters' middleware or the protected
	// routes authenticate, a request without a token included. Result says how it
	// ended (ResultOK, ResultNoToken, ResultInvalid, ResultExpired, ResultRevoked,
	// ResultForbidden, ResultStoreError); Subject and SessionID are set on success.
	// It is the one event per request: it is not logged, and without a hook it is not
	// even built.
	EventAuthenticate EventType = "authenticate"
	// EventSignIn is the end of a sign-in callback or of a password sign-in, successful
	// or not: Provider names the configured provider ("" when the callback names none
	// that is configured; "password" for a password sign-in), Result is ResultOK,
	// ResultDenied, ResultForbidden, ResultInvalid (a wrong username or password among
	// others), ResultProviderError or ResultStoreError. A successful one comes after the
	// EventLogin of the session it started.
	EventSignIn EventType = "signin"
	// EventRefreshRefused is a refresh that did not succeed for another reason than
	// reuse (which is EventReuseDetected): Result is ResultInvalid, ResultExpired or
	// ResultStoreError. Subject and SessionID are empty: a refused token says nothing
	// trustworthy.
	EventRefreshRefused EventType = "refresh_refused"
	// EventRateLimited is a request the per-IP rate limit refused with 429, or a
	// password sign-in refused by its failure throttle (Provider "password").
	EventRateLimited EventType = "rate_limited"
)

// The values of Event.Result. They are a closed set, safe for metric labels.
const (
	ResultOK = "ok"
	// ResultNoToken: the request carried no Bearer token.
	ResultNoToken = "no_token"
	// ResultInvalid: a token, grant, state or request that does not verify or is
	// malformed (anything refused that none of the others below names).
	ResultInvalid = "invalid"
	// ResultExpired: the token (or, for a refresh, the session) has expired.
	ResultExpired = "expired"
	// ResultRevoked: the token or its session is revoked.
	ResultRevoked = "revoked"
	// ResultForbidden: the user is known but not allowed (403).
	ResultForbidden = "forbidden"
	// ResultStoreError: the store failed; the request was answered 503.
	ResultStoreError = "store_error"
	// ResultReuse: a replaced refresh token was presented again; the session is ended.
	ResultReuse = "reuse"
	// ResultDenied: the identity provider refused the sign-in or the code.
	ResultDenied = "denied"
	// ResultProviderError: the identity provider failed or timed out.
	ResultProviderError = "provider_error"
)

// Event is one thing that happened, for audit logs and metrics.
type Event struct {
	Type      EventType
	Subject   string
	SessionID string // empty for EventLogoutAll
	Time      time.Time
	// Result is how an EventAuthenticate, EventSignIn, EventRefresh (ResultOK),
	// EventReuseDetected (ResultReuse) or EventRefreshRefused ended: one of the Result
	// constants. Empty for the other types.
	Result string
	// Provider is the provider's Name for EventSignIn, and for EventLogin the
	// Identity's Provider.
	Provider string
	// Err is the refusal of an EventAuthenticate, EventSignIn or EventRefreshRefused,
	// or ErrRateLimited; nil on success. Its text may carry what a client or a provider
	// sent: log it, never use it as a metric label.
	Err error
}

// Operation names what a WithTracing hook runs around.
type Operation string

// The operations WithTracing reports.
const (
	OpSignIn    Operation = "signin"     // a sign-in callback: state, code exchange, id_token, session
	OpRefresh   Operation = "refresh"    // Auth.Refresh
	OpLogout    Operation = "logout"     // Auth.Logout
	OpLogoutAll Operation = "logout_all" // Auth.LogoutAll
	OpRevoke    Operation = "revoke"     // Auth.Revoke
)

// WithTracing sets a hook that runs around each sign-in callback, refresh, logout,
// logout everywhere and revocation, for tracing. start is called when the operation
// begins and returns the context it then runs with (a tracer puts its span there, so
// that the store's and the identity provider's calls made with it become the span's
// children, and events emitted during it carry it) and a function that is called once
// when it ends, with its error (nil on success). Authenticate is not traced: it runs
// on every request, inside the app's own server span. Package otelgatehouse (module
// observability/otelgatehouse) is this hook for OpenTelemetry; core imports none.
func WithTracing(start func(ctx context.Context, op Operation) (context.Context, func(error))) Option {
	return func(c *config) error {
		c.tracing = start
		return nil
	}
}

func (a *Auth) emit(ctx context.Context, e Event) {
	a.cfg.logger.DebugContext(ctx, "gatehouse: "+string(e.Type), "sub", e.Subject, "sid", e.SessionID)
	if a.cfg.events != nil {
		a.cfg.events(ctx, e)
	}
}

// notify reports e to the hook only, without the debug log: for the events that come
// once per request. Callers check a.cfg.events first, so that without a hook no Event
// is built.
func (a *Auth) notify(ctx context.Context, e Event) {
	a.cfg.events(ctx, e)
}

// noEnd is the end of an operation nobody traces.
func noEnd(error) {}

// startOp starts the operation op for the WithTracing hook, if any.
func (a *Auth) startOp(ctx context.Context, op Operation) (context.Context, func(error)) {
	if a.cfg.tracing == nil {
		return ctx, noEnd
	}
	return a.cfg.tracing(ctx, op)
}

// authenticated reports the outcome of an authentication (EventAuthenticate) that
// started at now: the clock is read once per request.
func (a *Auth) authenticated(ctx context.Context, c *Claims, err error, now time.Time) {
	e := Event{Type: EventAuthenticate, Result: authResult(err), Err: err, Time: now}
	if c != nil && err == nil {
		e.Subject, e.SessionID = c.Subject, c.SessionID
	}
	a.notify(ctx, e)
}

func authResult(err error) string {
	switch {
	case err == nil:
		return ResultOK
	case errors.Is(err, ErrStoreUnavailable):
		return ResultStoreError
	case errors.Is(err, ErrNoToken):
		return ResultNoToken
	case errors.Is(err, ErrTokenRevoked):
		return ResultRevoked
	case errors.Is(err, ErrTokenExpired):
		return ResultExpired
	case errors.Is(err, ErrForbidden):
		return ResultForbidden
	}
	return ResultInvalid
}

// refreshRefused reports a refresh that failed for another reason than reuse.
func (a *Auth) refreshRefused(ctx context.Context, err error) {
	if a.cfg.events == nil || errors.Is(err, ErrRefreshReused) {
		return
	}
	r := ResultInvalid
	switch {
	case errors.Is(err, ErrStoreUnavailable):
		r = ResultStoreError
	case errors.Is(err, ErrTokenExpired), errors.Is(err, ErrSessionExpired):
		r = ResultExpired
	}
	a.emit(ctx, Event{Type: EventRefreshRefused, Result: r, Err: err, Time: a.cfg.now()})
}

// signedIn reports the end of a sign-in callback (EventSignIn).
func (a *Auth) signedIn(ctx context.Context, provider string, t *Tokens, err error) {
	if a.cfg.events == nil {
		return
	}
	e := Event{Type: EventSignIn, Provider: provider, Err: err, Time: a.cfg.now()}
	switch {
	case err == nil:
		e.Result = ResultOK
		if t != nil {
			e.Subject, e.SessionID = t.Session.Subject, t.Session.ID
		}
	case errors.Is(err, ErrStoreUnavailable):
		e.Result = ResultStoreError
	case errors.Is(err, ErrLoginDenied):
		e.Result = ResultDenied
	case errors.Is(err, ErrForbidden):
		e.Result = ResultForbidden
	case errors.Is(err, ErrProvider), errors.Is(err, ErrProviderTimeout):
		e.Result = ResultProviderError
	default:
		e.Result = ResultInvalid
	}
	a.emit(ctx, e)
}
