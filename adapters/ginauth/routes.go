package ginauth

import (
	"strings"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gin-gonic/gin"
)

// Mount registers every auth route of auth (login, callback, refresh, logout, revoke,
// sessions, me, jwks.json) under auth.Prefix() on r, which may be an engine or a group.
func Mount(r gin.IRouter, auth *core.Auth) {
	prefix := strings.TrimSuffix(auth.Prefix(), "/")
	for _, rt := range auth.Adapter().Routes() {
		h := rt.Handle
		r.Handle(rt.Method, prefix+rt.ColonPattern(), func(c *gin.Context) {
			h(exchange{c})
		})
	}
}
