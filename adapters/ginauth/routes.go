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
	for _, rt := range auth.Routes() {
		h := rt.Handle
		r.Handle(rt.Method, prefix+ginPattern(rt.Pattern), func(c *gin.Context) {
			h(exchange{c})
		})
	}
}

// ginPattern turns the {name} segments of a core pattern into Gin's :name.
func ginPattern(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if len(s) > 2 && s[0] == '{' && s[len(s)-1] == '}' {
			segs[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(segs, "/")
}
