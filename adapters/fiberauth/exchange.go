package fiberauth

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gofiber/fiber/v2"
)

// exchange is core.Exchange over a *fiber.Ctx. Fiber's strings point into fasthttp
// buffers that the next request on the connection overwrites, so every string and byte
// slice returned here is a copy.
type exchange struct {
	c *fiber.Ctx
}

var _ core.Exchange = exchange{}

func (e exchange) Context() context.Context { return e.c.UserContext() }

func (e exchange) Method() string { return strings.Clone(e.c.Method()) }

func (e exchange) Header(name string) string { return strings.Clone(e.c.Get(name)) }

// TransientHeader is Header without the copy, for core's Bearer token read (see
// core.Exchange): valid only until the handler returns.
func (e exchange) TransientHeader(name string) string { return e.c.Get(name) }

func (e exchange) Query(name string) string { return strings.Clone(e.c.Query(name)) }

// PathValue decodes the segment as net/http and Gin do, unless Fiber's UnescapePath
// already did.
func (e exchange) PathValue(name string) string {
	v := e.c.Params(name)
	if !e.c.App().Config().UnescapePath && strings.IndexByte(v, '%') >= 0 {
		if u, err := url.PathUnescape(v); err == nil {
			return u // a new string
		}
	}
	return strings.Clone(v)
}

// Cookies visits the cookies rather than Peek: Peek returns only the first one and
// cannot tell a missing cookie from an empty one.
func (e exchange) Cookies(name string) []string {
	var vals []string
	e.c.Request().Header.VisitAllCookie(func(k, v []byte) {
		if string(k) == name {
			vals = append(vals, string(v)) // string(v) copies
		}
	})
	return vals
}

// Body is the raw body as fasthttp read it, which Fiber's BodyLimit bounds; a
// Content-Encoding is not undone, so a small compressed body cannot expand past limit.
func (e exchange) Body(limit int64) ([]byte, error) {
	b := e.c.Request().Body()
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: request body over %d bytes", core.ErrInvalidRequest, limit)
	}
	return bytes.Clone(b), nil
}

func (e exchange) RemoteIP() string { return strings.Clone(e.c.IP()) }

func (e exchange) TLS() bool { return e.c.Secure() }

// Host is the Host header itself; Fiber's Hostname would prefer X-Forwarded-Host.
func (e exchange) Host() string { return string(e.c.Request().Host()) }

func (e exchange) RequestURI() string { return string(e.c.Request().RequestURI()) }

func (e exchange) SetHeader(name, value string) { e.c.Set(name, value) }

// SetCookie writes the cookie as net/http serializes it, so every attribute (SameSite,
// Max-Age=0, Partitioned) comes out as on the other adapters.
func (e exchange) SetCookie(ck *http.Cookie) {
	if v := ck.String(); v != "" {
		e.c.Response().Header.Add(fiber.HeaderSetCookie, v)
	}
}

func (e exchange) Write(status int, body []byte) {
	e.c.Status(status)
	e.c.Response().SetBodyRaw(body)
}
