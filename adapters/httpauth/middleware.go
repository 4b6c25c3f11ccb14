package httpauth

import (
	"net/http"
	"sync"

	"github.com/gatehouse-auth/gatehouse/core"
)

// Require returns middleware that lets a request through only with a valid access
// token that passes the rules of opts (Role, Scopes, Allow). Otherwise it answers as
// core does (401 with a WWW-Authenticate challenge, 403, or 503 with Retry-After when
// the store fails), or as OnRefused or RedirectToLogin say, and the handler does not
// run. The handler reads the claims with Claims.
//
// Wrap handlers, or a mux that holds no auth route, not the mux Mount registered on:
// Require around that mux would also run for the auth routes and refuse their requests
// (a sign-in or a refresh comes without a valid access token). To wrap it whole anyway,
// skip the auth routes: Skip(func(r *http.Request) bool { return
// strings.HasPrefix(r.URL.Path, auth.Prefix()+"/") }).
func Require(auth *core.Auth, opts ...Option) func(http.Handler) http.Handler {
	return newGuard(auth, false, opts)
}

// Optional returns middleware for handlers that serve anonymous and signed-in users
// alike: a request without a token goes through without claims, and the rules of opts
// are not checked for it. A token that is present must be valid and pass the rules: a
// bad, expired or revoked one is answered 401 as by Require, and a store failure 503,
// never a silent downgrade to anonymous.
func Optional(auth *core.Auth, opts ...Option) func(http.Handler) http.Handler {
	return newGuard(auth, true, opts)
}

func newGuard(auth *core.Auth, optional bool, opts []Option) func(http.Handler) http.Handler {
	var cfg config
	for _, opt := range opts {
		opt(&cfg)
	}
	p := cfg.policy
	p.Optional = optional
	if refused := cfg.refused; refused != nil {
		// Guard hands back the exchange it was given: the writer and request are inside.
		p.Refused = func(ex core.Exchange, err error) {
			e := ex.(*exchange)
			refused(e.w, e.r, err)
		}
	}
	ad, skip := auth.Adapter(), cfg.skip
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if skip != nil && skip(r) {
				next.ServeHTTP(w, r)
				return
			}
			ex := exchanges.Get().(*exchange)
			ex.w, ex.r = w, r
			claims, ok := ad.Guard(ex, &p)
			*ex = exchange{}
			exchanges.Put(ex)
			switch {
			case !ok:
			case claims == nil:
				next.ServeHTTP(w, r)
			default:
				next.ServeHTTP(w, r.WithContext(core.NewContext(r.Context(), claims)))
			}
		})
	}
}

// exchanges recycles the middleware's exchanges. Guard uses its exchange only while it
// runs (it answers a refused request before returning), and a new one for every
// request would be the only allocation of the adapter's own: the request's copy with
// the claims in its context is net/http's way and cannot be avoided.
var exchanges = sync.Pool{New: func() any { return new(exchange) }}

// Claims returns the claims Require or Optional verified for r, or that the app's own
// middleware put in its context with core.NewContext, and false when there are none (no
// middleware, Optional without a token, or Skip). It is core.FromContext on the
// request's context.
func Claims(r *http.Request) (*core.Claims, bool) { return core.FromContext(r.Context()) }
