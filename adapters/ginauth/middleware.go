package ginauth

import (
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gin-gonic/gin"
)

// claimsKey is the Gin context key of the claims; unexported so that no other code can
// set it.
type claimsKey struct{}

// Require returns middleware that lets a request through only with a valid access
// token. Otherwise it answers as core does (401 with a WWW-Authenticate challenge, 403,
// or 503 when the store fails) and aborts the chain. The claims are then available
// through Claims and core.FromContext(c.Request.Context()).
func Require(auth *core.Auth) gin.HandlerFunc { return guard(auth, false) }

// Optional returns middleware for routes that serve anonymous and signed-in users
// alike: a request without a token goes through without claims. A token that is present
// must be valid: a bad, expired or revoked one is answered 401 as by Require, and a
// store failure 503, never a silent downgrade to anonymous.
func Optional(auth *core.Auth) gin.HandlerFunc { return guard(auth, true) }

func guard(auth *core.Auth, optional bool) gin.HandlerFunc {
	ad := auth.Adapter()
	return func(c *gin.Context) {
		claims, ok := ad.Guard(exchange{c}, optional)
		if !ok {
			c.Abort()
			return
		}
		if claims != nil {
			store(c, claims)
		}
	}
}

func store(c *gin.Context, claims *core.Claims) {
	c.Set(claimsKey{}, claims)
	c.Request = c.Request.WithContext(core.NewContext(c.Request.Context(), claims))
}

// Claims returns the claims Require or Optional verified for this request, and false
// when there are none (no middleware, or Optional without a token).
func Claims(c *gin.Context) (*core.Claims, bool) {
	v, ok := c.Get(claimsKey{})
	if !ok {
		return nil, false
	}
	claims, ok := v.(*core.Claims)
	return claims, ok && claims != nil
}
