package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxBody is the largest request body the routes read.
const maxBody = 64 << 10

// webConfig holds the sign-in and HTTP route settings.
type webConfig struct {
	prefix         string
	publicURL      string // scheme://host[/path], no trailing slash; "" = from the request
	providers      []Provider
	defaultName    string
	allowedEmails  map[string]bool
	allowedDomains map[string]bool
	authorize      func(context.Context, *SignIn) error
	origins        map[string]bool // scheme://host[:port]
	timeout        time.Duration
	cookies        CookieOptions
	accessCookie   bool // cookie mode (WithAccessCookie)
	realm          string
	rateLimit      int               // requests a minute per client IP; 0 = DefaultRateLimit, -1 = off
	transport      http.RoundTripper // WithProviderTransport; nil = http.DefaultTransport

	// Set by initWeb.
	byName  map[string]*provider
	def     *provider
	limiter *limiter // nil when off
	routes  []Route
}

// initWeb checks the sign-in settings, fills in defaults and builds the route table. It
// makes no call to any provider: each provider's discovery runs at its first sign-in
// (see provider.endpoints). The keys of the state cookies come with the other keys
// (loadKeys).
func (a *Auth) initWeb() error {
	w := &a.cfg.web
	if w.prefix == "" {
		w.prefix = defaultPrefix
	}
	if w.timeout == 0 {
		w.timeout = defaultProviderTimeout
	}
	if w.realm == "" {
		w.realm = quoteSafe(a.cfg.issuer)
	}
	if w.cookies.RefreshName == "" {
		w.cookies.RefreshName = DefaultRefreshCookie
	}
	if w.cookies.StateName == "" {
		w.cookies.StateName = DefaultStateCookie
	}
	if w.cookies.AccessName == "" {
		w.cookies.AccessName = DefaultAccessCookie
	}
	if r, s, ac := unprefixed(w.cookies.RefreshName), unprefixed(w.cookies.StateName), unprefixed(w.cookies.AccessName); r == s || r == ac || s == ac {
		return fmt.Errorf("%w: the refresh, state and access cookies need different names", ErrConfig)
	}
	w.byName = map[string]*provider{}
	for i := range w.providers {
		p, err := newProvider(w.providers[i], w.timeout, a.cfg.now)
		if err != nil {
			return err
		}
		if w.transport != nil {
			p.client.Transport = limitTransport{w.transport}
		}
		if _, dup := w.byName[p.Name]; dup {
			return fmt.Errorf("%w: two providers named %q", ErrConfig, p.Name)
		}
		w.byName[p.Name] = p
		if w.def == nil {
			w.def = p
		}
	}
	if w.defaultName != "" {
		p, ok := w.byName[w.defaultName]
		if !ok {
			return fmt.Errorf("%w: default provider %q is not configured", ErrConfig, w.defaultName)
		}
		w.def = p
	}
	if w.def != nil {
		w.def.isDefault = true
	}
	switch w.rateLimit {
	case -1:
	case 0:
		w.limiter = newLimiter(DefaultRateLimit, a.cfg.now)
	default:
		w.limiter = newLimiter(w.rateLimit, a.cfg.now)
	}
	if err := a.initPasswords(); err != nil {
		return err
	}
	w.routes = a.buildRoutes()
	return nil
}

// Prefix is the path the routes are mounted under (default "/auth", see WithRoutePrefix).
// It never ends with a slash.
func (a *Auth) Prefix() string { return a.cfg.web.prefix }

// authenticateExchange authenticates the access token of a request (see
// Adapter.Authenticate) and reports it to the events hook.
func (a *Auth) authenticateExchange(ex Exchange) (*Claims, error) {
	now := a.cfg.now()
	c, err := a.authenticateRequest(ex, now)
	if a.cfg.events != nil {
		a.authenticated(ex.Context(), c, err, now)
	}
	return c, err
}

// authenticateRequest is authenticateExchange without the event. The refusal of a
// token that came from the access cookie is marked as such (cookieTokenError), for
// resume.
func (a *Auth) authenticateRequest(ex Exchange, now time.Time) (*Claims, error) {
	tok, fromCookie, err := a.requestToken(ex)
	if err != nil {
		return nil, err
	}
	_, transient := ex.(transientHeaders)
	c, err := a.authenticate(ex.Context(), tok, now, transient && !fromCookie)
	if err != nil && fromCookie {
		return nil, &cookieTokenError{err}
	}
	return c, err
}

// requestToken finds the access token of a request and reports whether it came from
// the access cookie: the Bearer token of the Authorization header, or else, in cookie
// mode, the access cookie; both at once is refused. An Authorization header of another scheme (the Basic
// credentials a browser sends to a site behind a password prompt) is not a token, so
// the cookie is still read. The Bearer path allocates nothing.
func (a *Auth) requestToken(ex Exchange) (tok string, fromCookie bool, err error) {
	tok, err = bearerToken(ex)
	switch {
	case !a.cfg.web.accessCookie:
		return tok, false, err
	case errors.Is(err, ErrNoToken):
		return a.accessCookieToken(ex)
	case slices.ContainsFunc(ex.Cookies(a.cookieName(ex, a.cfg.web.cookies.AccessName, accessPath)), nonEmpty):
		// One method per request (RFC 6750 §2): which of the two tokens counts would be
		// a guess, and a page that sends both is confused about who it is.
		return "", false, errTokenTwice
	}
	return tok, false, err
}

func nonEmpty(s string) bool { return s != "" }

// errTokenTwice is a request that carries an access token both in the Authorization
// header and in the access cookie.
var errTokenTwice = fmt.Errorf("%w: access token both in the Authorization header and in a cookie", ErrInvalidRequest)

// bearerToken is the token of the request's Authorization header (Bearer scheme), read
// without a copy when the Exchange offers that (see Exchange): it is only verified or
// looked up, and the token cache copies it when it keeps it.
func bearerToken(ex Exchange) (string, error) {
	var h string
	if t, ok := ex.(transientHeaders); ok {
		h = t.TransientHeader("Authorization")
	} else {
		h = ex.Header("Authorization")
	}
	if h == "" {
		return "", ErrNoToken
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", ErrNoToken
	}
	tok = strings.TrimLeft(tok, " ")
	if tok == "" {
		return "", fmt.Errorf("%w: empty bearer token", ErrMalformedToken)
	}
	return tok, nil
}

// unprefixed is a cookie name without the __Host- or __Secure- prefix cookieName adds.
func unprefixed(name string) string {
	return strings.TrimPrefix(strings.TrimPrefix(name, "__Host-"), "__Secure-")
}

// writeError answers a request with err (see Adapter.WriteError).
func (a *Auth) writeError(ex Exchange, err error) {
	r := ErrorResponse(err)
	if r.Status == 401 || r.Code == "insufficient_scope" {
		challenge := `Bearer realm="` + a.cfg.web.realm + `"`
		if r.Code == "invalid_token" || r.Code == "invalid_request" || r.Code == "insufficient_scope" {
			challenge += `, error="` + r.Code + `", error_description="` + quoteSafe(r.Description) + `"`
		}
		var se *scopeError
		if errors.As(err, &se) && se.scope != "" {
			challenge += `, scope="` + quoteSafe(se.scope) + `"`
		}
		ex.SetHeader("WWW-Authenticate", challenge)
	}
	if r.RetryAfter > 0 {
		ex.SetHeader("Retry-After", fmt.Sprint(r.RetryAfter))
	}
	if r.Status >= 500 && !errors.Is(err, ErrStoreUnavailable) {
		a.cfg.logger.WarnContext(ex.Context(), "gatehouse: request failed", "status", r.Status, "err", err)
	} else if errors.Is(err, ErrStoreUnavailable) {
		a.cfg.logger.ErrorContext(ex.Context(), "gatehouse: store unavailable", "err", err)
	}
	noStore(ex)
	writeJSON(ex, r.Status, errorBody{Error: r.Code, Description: r.Description})
}

type errorBody struct {
	Error       string `json:"error,omitempty"`
	Description string `json:"error_description,omitempty"`
}

// quoteSafe drops the characters a quoted-string of an HTTP header cannot carry as they
// are (RFC 9110 §5.6.4): quotes, backslashes and controls.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
