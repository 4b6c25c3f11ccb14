package ginauth

import (
	"reflect"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gin-gonic/gin"
)

// Require returns middleware that lets a request through only with a valid access
// token that passes the rules of opts (Role, Scopes, Allow). Otherwise it answers as
// core does (401 with a WWW-Authenticate challenge, 403, or 503 when the store fails),
// or as OnRefused or RedirectToLogin say, and aborts the chain. The claims are then
// available through Claims and core.FromContext(c.Request.Context()).
func Require(auth *core.Auth, opts ...Option) gin.HandlerFunc { return newGuard(auth, false, opts) }

// Optional returns middleware for routes that serve anonymous and signed-in users
// alike: a request without a token goes through without claims, and the rules of opts
// are not checked for it. A token that is present must be valid and pass the rules: a
// bad, expired or revoked one is answered 401 as by Require, and a store failure 503,
// never a silent downgrade to anonymous.
func Optional(auth *core.Auth, opts ...Option) gin.HandlerFunc { return newGuard(auth, true, opts) }

// guard is one Require or Optional middleware, its policy built once.
type guard struct {
	ad     core.Adapter
	policy *core.Policy
	skip   func(*gin.Context) bool
}

func newGuard(auth *core.Auth, optional bool, opts []Option) gin.HandlerFunc {
	var cfg config
	for _, opt := range opts {
		opt(&cfg)
	}
	p := cfg.policy
	p.Optional = optional
	if refused := cfg.refused; refused != nil {
		// Guard hands back the exchange it was given: the Gin context is inside.
		p.Refused = func(ex core.Exchange, err error) { refused(ex.(exchange).c, err) }
	}
	g := &guard{ad: auth.Adapter(), policy: &p, skip: cfg.skip}
	return g.handle
}

func (g *guard) handle(c *gin.Context) {
	if g.skip != nil && g.skip(c) {
		return
	}
	claims, ok := g.ad.Guard(exchange{c}, g.policy)
	if !ok {
		c.Abort()
		return
	}
	if claims != nil {
		store(c, claims)
	}
}

// guardCode is the code pointer every middleware of Require and Optional shares (the
// method value's wrapper), by which Mount finds them in a router's handlers.
var guardCode = reflect.ValueOf((*guard)(nil).handle).Pointer()

func isGuard(h gin.HandlerFunc) bool { return reflect.ValueOf(h).Pointer() == guardCode }

// store puts the claims where Claims and core.FromContext find them: in the request's
// context only. c.Set as well would cost a map of Keys per request, for nothing.
func store(c *gin.Context, claims *core.Claims) {
	c.Request = c.Request.WithContext(core.NewContext(c.Request.Context(), claims))
}

// Claims returns the claims Require or Optional verified for this request. They are
// kept in the request's context (core.FromContext(c.Request.Context()) finds them too),
// so Claims also finds those the app's own middleware put there with core.NewContext
// (c.Request = c.Request.WithContext(core.NewContext(…))). It reports false when there
// are none (no middleware, Optional without a token, or Skip).
func Claims(c *gin.Context) (*core.Claims, bool) {
	if c.Request == nil {
		return nil, false
	}
	return core.FromContext(c.Request.Context())
}
