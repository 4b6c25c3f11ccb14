package httpauth

import (
	"net/http"
	"sync"

	"github.com/gatehouse-auth/gatehouse/core"
)

// Require returns middleware that lets a request through only with a valid access token
// in its Authorization header. Otherwise it answers as core does (401 with a
// WWW-Authenticate challenge, 503 with Retry-After when the store fails) and the
// handler does not run. The handler reads the claims with Claims.
func Require(auth *core.Auth) func(http.Handler) http.Handler { return guard(auth, false) }

// Optional returns middleware for handlers that serve anonymous and signed-in users
// alike: a request without a token goes through without claims. A token that is
// present must be valid: a bad, expired or revoked one is answered 401 as by Require,
// and a store failure 503, never a silent downgrade to anonymous.
func Optional(auth *core.Auth) func(http.Handler) http.Handler { return guard(auth, true) }

func guard(auth *core.Auth, optional bool) func(http.Handler) http.Handler {
	ad := auth.Adapter()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ex := exchanges.Get().(*exchange)
			ex.w, ex.r = w, r
			claims, ok := ad.Guard(ex, optional)
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

// Claims returns the claims Require or Optional verified for r, and false when there
// are none (no middleware, or Optional without a token). It is core.FromContext on the
// request's context.
func Claims(r *http.Request) (*core.Claims, bool) { return core.FromContext(r.Context()) }
