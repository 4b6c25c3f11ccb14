package core

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Exchange is one HTTP request and its response as core's routes and middleware see
// them; adapters implement it (see Adapter). Each adapter implements it for its
// framework in a few lines and holds no auth logic of its own; core/authtest runs the
// same cases through every adapter.
//
// Everything an Exchange returns must stay valid after the handler returns (fasthttp
// reuses its buffers: an adapter for it copies). Such an adapter may also give the
// method TransientHeader(name string) string, Header without the copy, valid only until
// the handler returns: core then reads the Bearer token through it, sparing a copy of
// the token on every request, and copies the token when it keeps it.
type Exchange interface {
	// Context is the request's context.
	Context() context.Context
	// Method is the request method.
	Method() string
	// Header returns the first value of a request header, or "".
	Header(name string) string
	// Query returns the first value of a URL query parameter, or "".
	Query(name string) string
	// PathValue returns a {name} segment of the route pattern, or "".
	PathValue(name string) string
	// Cookies returns the value of every request cookie called name, in the order the
	// request lists them, and nil when it has none. Core refuses a request that carries
	// one of its cookies twice (cookie tossing from a sibling subdomain), so an adapter
	// must not drop repeats.
	Cookies(name string) []string
	// Body returns the request body, reading at most limit bytes; a longer body is an
	// error.
	Body(limit int64) ([]byte, error)
	// RemoteIP is the client address as the framework determines it (its trusted-proxy
	// settings apply), without the port.
	RemoteIP() string
	// TLS reports whether the request came over HTTPS, directly or as the framework's
	// trusted-proxy settings say.
	TLS() bool
	// Host is the request's host, as in the Host header.
	Host() string
	// RequestURI is the request's path and query as the client sent them, such as
	// "/account?tab=keys": where a page that needs a sign-in sends the user back to.
	RequestURI() string

	// SetHeader sets a response header.
	SetHeader(name, value string)
	// SetCookie adds a Set-Cookie header.
	SetCookie(c *http.Cookie)
	// Write sends the status and body; headers set after it are lost. It is called at
	// most once per exchange.
	Write(status int, body []byte)
}

// transientHeaders is what an Exchange over a framework that reuses request memory
// (Fiber) may also have: TransientHeader is Header without the copy, its value valid
// only until the request's handler returns. Core reads the Bearer token through it on
// every authenticated request, and copies what it keeps.
type transientHeaders interface {
	TransientHeader(name string) string
}

// Route is one auth route: its method, its path below the mount prefix with {name}
// segments, and the handler an adapter calls with the request's Exchange.
type Route struct {
	Method  string
	Pattern string
	Handle  func(Exchange)
}

// ColonPattern is the route's pattern with each {name} segment written :name, as Gin,
// Fiber and most other routers write path parameters.
func (r Route) ColonPattern() string {
	segs := strings.Split(r.Pattern, "/")
	for i, s := range segs {
		if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' {
			segs[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(segs, "/")
}

// Adapter is what framework adapters (ginauth, fiberauth, httpauth, or one of an app's
// own) build on: the route table, the middleware's decision, and error answers, each
// over an Exchange. Apps that use an adapter do not need it.
type Adapter struct{ a *Auth }

// Adapter returns the surface adapters build on.
func (a *Auth) Adapter() Adapter { return Adapter{a} }

// Routes returns the auth routes, to be mounted under Auth.Prefix: the sign-in routes
// (only when a provider is configured), refresh (POST, and GET in cookie mode, see
// WithAccessCookie), logout, logout/all, revoke, sessions, me and jwks.json. Patterns
// are relative to the prefix and name their variable segments {provider} and {sid}.
func (ad Adapter) Routes() []Route {
	return append([]Route(nil), ad.a.cfg.web.routes...)
}

// Authenticate authenticates the access token of a request. The token is read from the
// Authorization header ("Bearer" scheme, any case) and, in cookie mode only
// (WithAccessCookie), from the access cookie when there is no such header; never from
// the query string (RFC 6750 §2.3 advises against it). A request without a token is
// ErrNoToken; the other errors are Auth.Authenticate's.
func (ad Adapter) Authenticate(ex Exchange) (*Claims, error) {
	return ad.a.authenticateExchange(ex)
}

// WriteError answers a request with err as ErrorResponse maps it: the status, a JSON
// body {"error": code, "error_description": text} (RFC 6749 §5.2; "error" is left out
// when the answer has no code, as for a request without a token), Cache-Control:
// no-store, Retry-After on 503, and on 401 a WWW-Authenticate challenge (RFC 6750 §3):
// Bearer realm="…", plus error="invalid_token" and error_description when a token was
// presented and refused.
func (ad Adapter) WriteError(ex Exchange, err error) { ad.a.writeError(ex, err) }

// RelativePrefix is where, relative to a router group at base (a path such as "/api";
// "" or "/" for the root), the routes must be registered for them to be at Auth.Prefix,
// where the sign-in's redirect URI and every link core builds say they are. A prefix
// that does not lie under base cannot be reached from the group: the error says to build
// the Auth with WithRoutePrefix(base + prefix); an adapter adds how to mount at the root.
func (ad Adapter) RelativePrefix(base string) (string, error) {
	prefix := ad.a.cfg.web.prefix
	b := strings.TrimRight(base, "/")
	if b != "" && b[0] != '/' {
		b = "/" + b
	}
	switch {
	case b == "":
		return prefix, nil
	case prefix == b || strings.HasPrefix(prefix, b+"/"):
		return prefix[len(b):], nil
	}
	return "", fmt.Errorf("%w: a group at %s would serve the auth routes under %s, "+
		"but the sign-in's redirect URI and every link core builds say %s: "+
		"build the Auth with core.WithRoutePrefix(%q) to keep them in the group", ErrConfig, base, b+prefix, prefix, b+prefix)
}
