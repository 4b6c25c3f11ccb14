package core

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// A Rule is an authorization requirement on verified claims: nil lets the request
// through, an error refuses it. Middleware refuses with 403 insufficient_scope (RFC 6750
// §3.1) whatever error a Rule returns, so a rule cannot turn a refusal into anything
// else. AnyRole, AllScopes and Allow build the common ones.
type Rule func(*Claims) error

// AnyRole requires one of roles in the token's roles claim (see Grants).
func AnyRole(roles ...string) Rule {
	roles = append([]string(nil), roles...)
	desc := "requires the role " + strings.Join(roles, " or ")
	return func(c *Claims) error {
		for _, r := range roles {
			if c.HasRole(r) {
				return nil
			}
		}
		return &scopeError{desc: desc}
	}
}

// AllScopes requires every one of scopes in the token's scope claim (see Grants). The
// refusal's challenge names them (scope="…", RFC 6750 §3).
func AllScopes(scopes ...string) Rule {
	scopes = append([]string(nil), scopes...)
	all := strings.Join(scopes, " ")
	return func(c *Claims) error {
		for _, s := range scopes {
			if !c.HasScope(s) {
				return &scopeError{desc: "requires the scope " + all, scope: all}
			}
		}
		return nil
	}
}

// Allow requires ok to report true for the claims: the app's own rule, such as "the
// user owns this tenant".
func Allow(ok func(*Claims) bool) Rule {
	return func(c *Claims) error {
		if ok(c) {
			return nil
		}
		return &scopeError{desc: "not allowed"}
	}
}

// scopeError is a refusal of a Rule: it matches ErrInsufficientScope and carries the
// scopes the challenge names.
type scopeError struct {
	desc  string
	scope string // space-separated; "" when the rule is not about scopes
}

func (e *scopeError) Error() string { return "gatehouse: insufficient scope: " + e.desc }
func (e *scopeError) Unwrap() error { return ErrInsufficientScope }

// Policy is what one middleware asks of a request; adapters build one from their
// options and call Adapter.Guard with it. The zero Policy is Require's: a valid access
// token, answered as WriteError does otherwise.
type Policy struct {
	// Optional lets a request that carries no token at all through, with nil claims and
	// its Rules unchecked. A token that is present must still be valid.
	Optional bool
	// Rules must each let the claims through; the first that refuses answers 403
	// insufficient_scope.
	Rules []Rule
	// LoginRedirect answers a GET or HEAD request that is refused for its token (none,
	// or one that is invalid, expired or revoked) with a redirect to the sign-in,
	// {prefix}/login?redirect_to=<the request's path and query>, as a page served to a
	// browser should. Other refusals (403, 503, other methods) are answered as usual.
	LoginRedirect bool
	// Refused, when set, answers the refusals instead of WriteError: the app's own error
	// pages. It gets the Exchange of the adapter and the error, which matches one of
	// core's categories (ErrorResponse maps it to the default answer).
	Refused func(Exchange, error)
}

// Guard is the whole decision of Require and Optional middleware. It authenticates the
// request, applies p, and returns its claims and true when the handler may run: with
// claims, or, when p.Optional, with nil claims for a request that carries no token at
// all. Otherwise it has answered the request and returns false: a page load whose
// access cookie holds an expired token is sent through the refresh route (see
// WithAccessCookie), then p.LoginRedirect and p.Refused apply, then WriteError. A token
// that is present must be valid even when optional: a bad one is never downgraded to
// anonymous.
func (ad Adapter) Guard(ex Exchange, p *Policy) (*Claims, bool) {
	now := ad.a.cfg.now()
	c, err := ad.a.authenticateRequest(ex, now)
	if err == nil {
		for _, rule := range p.Rules {
			if err = refusal(rule(c)); err != nil {
				break
			}
		}
	}
	if ad.a.cfg.events != nil {
		ad.a.authenticated(ex.Context(), c, err, now)
	}
	switch {
	case err == nil:
		return c, true
	case p.Optional && errors.Is(err, ErrNoToken):
		return nil, true
	case ad.a.resume(ex, err):
		return nil, false
	}
	switch {
	case p.LoginRedirect && isPageLoad(ex) && ErrorResponse(err).Status == http.StatusUnauthorized:
		ad.a.redirectToLogin(ex)
	case p.Refused != nil:
		p.Refused(ex, err)
	default:
		ad.a.writeError(ex, err)
	}
	return nil, false
}

// refusal makes the error of a Rule match ErrInsufficientScope, whatever the rule
// returned.
func refusal(err error) error {
	if err == nil || errors.Is(err, ErrInsufficientScope) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInsufficientScope, err)
}

// isPageLoad reports whether ex is a request a browser may be sent elsewhere for.
func isPageLoad(ex Exchange) bool {
	m := ex.Method()
	return m == http.MethodGet || m == http.MethodHead
}

// redirectToLogin sends the browser to the sign-in, to come back to the page it asked
// for.
func (a *Auth) redirectToLogin(ex Exchange) {
	noStore(ex)
	ex.SetHeader("Location", a.cfg.web.prefix+"/login?redirect_to="+redirectParam(ex.RequestURI()))
	ex.Write(http.StatusFound, nil)
}

// redirectParam is a path and query written as the value of a redirect_to parameter:
// escaped as a query value, except for its slashes, which a query may hold as they
// are (RFC 3986 §3.4), so that /account stays readable: redirect_to=/account.
func redirectParam(uri string) string {
	return strings.ReplaceAll(url.QueryEscape(uri), "%2F", "/")
}
