package fiberauth

import (
	"reflect"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gofiber/fiber/v2"
)

// claimsKey is the c.Locals key of the claims; unexported so that no other code can set
// it.
type claimsKey struct{}

// refusalKey is the c.Locals key of the error an OnRefused handler returned, which the
// middleware returns in turn.
type refusalKey struct{}

// Require returns middleware that lets a request through only with a valid access
// token that passes the rules of opts (Role, Scopes, Allow). Otherwise it answers as
// core does (401 with a WWW-Authenticate challenge, 403, or 503 when the store fails),
// or as OnRefused or RedirectToLogin say, and does not call the next handler. The
// claims are then available through Claims and core.FromContext(c.UserContext()).
func Require(auth *core.Auth, opts ...Option) fiber.Handler { return newGuard(auth, false, opts) }

// Optional returns middleware for routes that serve anonymous and signed-in users
// alike: a request without a token goes through without claims, and the rules of opts
// are not checked for it. A token that is present must be valid and pass the rules: a
// bad, expired or revoked one is answered 401 as by Require, and a store failure 503,
// never a silent downgrade to anonymous.
func Optional(auth *core.Auth, opts ...Option) fiber.Handler { return newGuard(auth, true, opts) }

// guard is one Require or Optional middleware, its policy built once.
type guard struct {
	ad       core.Adapter
	policy   *core.Policy
	skip     func(*fiber.Ctx) bool
	answered bool // an OnRefused handler answers refusals, and may return an error
}

func newGuard(auth *core.Auth, optional bool, opts []Option) fiber.Handler {
	var cfg config
	for _, opt := range opts {
		opt(&cfg)
	}
	p := cfg.policy
	p.Optional = optional
	if refused := cfg.refused; refused != nil {
		// Guard hands back the exchange it was given: the Fiber context is inside.
		p.Refused = func(ex core.Exchange, err error) {
			c := ex.(exchange).c
			if err := refused(c, err); err != nil {
				c.Locals(refusalKey{}, err)
			}
		}
	}
	g := &guard{ad: auth.Adapter(), policy: &p, skip: cfg.skip, answered: cfg.refused != nil}
	return g.handle
}

func (g *guard) handle(c *fiber.Ctx) error {
	if g.skip != nil && g.skip(c) {
		return c.Next()
	}
	claims, ok := g.ad.Guard(exchange{c}, g.policy)
	if !ok {
		if g.answered {
			err, _ := c.Locals(refusalKey{}).(error)
			return err
		}
		return nil
	}
	if claims != nil {
		store(c, claims)
	}
	return c.Next()
}

// guardCode is the code pointer every middleware of Require and Optional shares (the
// method value's wrapper), by which Mount finds them among an app's routes.
var guardCode = reflect.ValueOf((*guard)(nil).handle).Pointer()

func isGuard(h fiber.Handler) bool { return reflect.ValueOf(h).Pointer() == guardCode }

func store(c *fiber.Ctx, claims *core.Claims) {
	c.Locals(claimsKey{}, claims)
	c.SetUserContext(core.NewContext(c.UserContext(), claims))
}

// Claims returns the claims Require or Optional verified for this request, or, without
// them, the claims the app's own middleware put in c.UserContext() with core.NewContext
// (c.SetUserContext(core.NewContext(c.UserContext(), claims))). It reports false when
// there are none (no middleware, Optional without a token, or Skip).
func Claims(c *fiber.Ctx) (*core.Claims, bool) {
	if claims, ok := c.Locals(claimsKey{}).(*core.Claims); ok && claims != nil {
		return claims, true
	}
	return core.FromContext(c.UserContext())
}
