package fiberauth

import (
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gofiber/fiber/v2"
)

// claimsKey is the c.Locals key of the claims; unexported so that no other code can set
// it.
type claimsKey struct{}

// Require returns middleware that lets a request through only with a valid access
// token. Otherwise it answers as core does (401 with a WWW-Authenticate challenge, 403,
// or 503 when the store fails) and does not call the next handler. The claims are then
// available through Claims and core.FromContext(c.UserContext()).
func Require(auth *core.Auth) fiber.Handler { return guard(auth, false) }

// Optional returns middleware for routes that serve anonymous and signed-in users
// alike: a request without a token goes through without claims. A token that is present
// must be valid: a bad, expired or revoked one is answered 401 as by Require, and a
// store failure 503, never a silent downgrade to anonymous.
func Optional(auth *core.Auth) fiber.Handler { return guard(auth, true) }

func guard(auth *core.Auth, optional bool) fiber.Handler {
	ad := auth.Adapter()
	return func(c *fiber.Ctx) error {
		claims, ok := ad.Guard(exchange{c}, optional)
		if !ok {
			return nil
		}
		if claims != nil {
			store(c, claims)
		}
		return c.Next()
	}
}

func store(c *fiber.Ctx, claims *core.Claims) {
	c.Locals(claimsKey{}, claims)
	c.SetUserContext(core.NewContext(c.UserContext(), claims))
}

// Claims returns the claims Require or Optional verified for this request, and false
// when there are none (no middleware, or Optional without a token).
func Claims(c *fiber.Ctx) (*core.Claims, bool) {
	claims, ok := c.Locals(claimsKey{}).(*core.Claims)
	return claims, ok && claims != nil
}
