package httpauth

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/core"
)

// An Option changes what Require or Optional asks of a request, or how it answers a
// refusal. Options apply in order: the rules of Role, Scopes and Allow add up (each
// must pass), and of Skip and OnRefused the last one counts.
type Option func(*config)

// config is what the options of one middleware set; it is read once, when Require or
// Optional builds the middleware.
type config struct {
	policy  core.Policy
	skip    func(*http.Request) bool
	refused func(http.ResponseWriter, *http.Request, error)
}

// Role lets a request through only when its access token carries one of roles in its
// "roles" claim (see core.Grants); otherwise it is answered 403 insufficient_scope with
// a WWW-Authenticate challenge (RFC 6750 §3.1). Role with no roles lets no one through.
func Role(roles ...string) Option { return rule(core.AnyRole(roles...)) }

// Scopes lets a request through only when its access token carries every one of scopes
// in its "scope" claim; otherwise it is answered 403 insufficient_scope, with the
// challenge naming the scopes (scope="read write").
func Scopes(scopes ...string) Option { return rule(core.AllScopes(scopes...)) }

// Allow lets a request through only when ok reports true for its verified claims: the
// app's own rule, such as "the user belongs to this tenant". ok false is answered 403
// insufficient_scope. Allow panics if ok is nil.
func Allow(ok func(*core.Claims) bool) Option {
	if ok == nil {
		panic("httpauth: Allow(nil): Allow needs the function that decides")
	}
	return rule(core.Allow(ok))
}

func rule(r core.Rule) Option {
	return func(c *config) { c.policy.Rules = append(c.policy.Rules, r) }
}

// Skip lets a request for which skip reports true through without authentication: the
// handler runs and Claims finds nothing the middleware put there (gofiber's
// contrib/jwt calls it Filter). nil skips nothing.
func Skip(skip func(*http.Request) bool) Option {
	return func(c *config) { c.skip = skip }
}

// OnRefused answers refused requests with the app's own answer instead of core's RFC
// 6750 JSON: refused gets the response writer, the request and the error, which matches
// one of core's categories (errors.Is(err, core.ErrInsufficientScope),
// core.ErrNoToken, …; core.ErrorResponse gives the default status). The handler does
// not run. It does not see the redirects of RedirectToLogin, nor those core sends in
// cookie mode to renew an expired access cookie. nil keeps the default answer.
func OnRefused(refused func(http.ResponseWriter, *http.Request, error)) Option {
	return func(c *config) { c.refused = refused }
}

// RedirectToLogin answers a GET or HEAD request that is refused for its token (none, or
// an invalid, expired or revoked one) with a 302 to the sign-in,
// {prefix}/login?redirect_to=<the request's path and query>, as pages served to a
// browser should. Other refusals (403, 503, and any other method) are answered as
// usual, so a form POST or an API call still gets its status.
func RedirectToLogin() Option {
	return func(c *config) { c.policy.LoginRedirect = true }
}
