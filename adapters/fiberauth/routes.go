package fiberauth

import (
	"strings"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gofiber/fiber/v2"
)

// ReadBufferSize is the fiber.Config ReadBufferSize gatehouse needs: room for an access
// token of core.MaxTokenSize in the Authorization header, the sign-in and refresh
// cookies and a browser's usual headers. Fiber's default, 4096, is too small for the
// largest tokens; requests whose headers exceed the buffer are answered 431.
const ReadBufferSize = 16 << 10

// Mount registers every auth route of auth (login, callback, refresh, logout, revoke,
// sessions, me, jwks.json) under auth.Prefix() on r, which may be an app or a group.
func Mount(r fiber.Router, auth *core.Auth) {
	prefix := strings.TrimSuffix(auth.Prefix(), "/")
	for _, rt := range auth.Adapter().Routes() {
		h := rt.Handle
		r.Add(rt.Method, prefix+rt.ColonPattern(), func(c *fiber.Ctx) error {
			h(exchange{c})
			return nil
		})
	}
}
