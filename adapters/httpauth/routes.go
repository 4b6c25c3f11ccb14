package httpauth

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/core"
)

// A MountOption configures Mount and Handler.
type MountOption func(*options)

type options struct {
	middleware []func(http.Handler) http.Handler
}

// WithMiddleware wraps every auth route in mw, the first one outermost: rate limiting,
// logging, metrics.
func WithMiddleware(mw ...func(http.Handler) http.Handler) MountOption {
	return func(o *options) { o.middleware = append(o.middleware, mw...) }
}

// Mount registers every auth route of auth on mux under auth.Prefix(), each with its
// method ("POST /auth/refresh", "GET /auth/login/{provider}", …), so that mux answers
// 405 for a wrong method and the rest of mux is untouched.
//
// mux must be served at the root, as the sign-in's redirect URI is built from the
// prefix alone: behind http.StripPrefix("/v1", mux) the routes would answer at
// /v1/auth while the redirect URI says /auth/callback (build the Auth with
// core.WithRoutePrefix("/v1/auth") and Mount on the outer mux instead). Wrap the
// handlers that need a token in Require, not mux: Require around mux would also run
// for the auth routes and refuse their requests (see Require). Neither can be detected
// here.
func Mount(mux *http.ServeMux, auth *core.Auth, opts ...MountOption) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	for _, rt := range auth.Adapter().Routes() {
		mux.Handle(rt.Method+" "+auth.Prefix()+rt.Pattern, o.wrap(route(rt.Handle)))
	}
}

// Handler returns an http.Handler serving every auth route at its full path, prefix
// included, for routers other than http.ServeMux: mount it on the prefix without
// stripping it (chi: r.Mount("/auth", h); gorilla/mux: r.PathPrefix("/auth/").Handler(h)).
// Paths outside the routes are answered 404, wrong methods 405.
func Handler(auth *core.Auth, opts ...MountOption) http.Handler {
	mux := http.NewServeMux()
	Mount(mux, auth, opts...)
	return mux
}

// route adapts one core route handler.
func route(h func(core.Exchange)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(newExchange(w, r)) })
}

func (o *options) wrap(h http.Handler) http.Handler {
	for i := len(o.middleware) - 1; i >= 0; i-- {
		h = o.middleware[i](h)
	}
	return h
}
