package ginauth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gin-gonic/gin"
)

// exchange is core.Exchange over a *gin.Context.
type exchange struct {
	c *gin.Context
}

var _ core.Exchange = exchange{}

func (e exchange) Context() context.Context { return e.c.Request.Context() }

func (e exchange) Method() string { return e.c.Request.Method }

func (e exchange) Header(name string) string { return e.c.Request.Header.Get(name) }

func (e exchange) Query(name string) string { return e.c.Query(name) }

func (e exchange) PathValue(name string) string { return e.c.Param(name) }

// Cookies reads the cookies as net/http parses them; Gin's own c.Cookie would return
// only the first and also query-unescape it, which the other adapters do not.
func (e exchange) Cookies(name string) []string {
	var vals []string
	for _, ck := range e.c.Request.CookiesNamed(name) {
		vals = append(vals, ck.Value)
	}
	return vals
}

// Body shares Gin's cache of the body (gin.BodyBytesKey, as ShouldBindBodyWith uses),
// so a body read once, by core or by the app, can be read again.
func (e exchange) Body(limit int64) ([]byte, error) {
	if v, ok := e.c.Get(gin.BodyBytesKey); ok {
		if b, ok := v.([]byte); ok {
			if int64(len(b)) > limit {
				return nil, tooLarge(limit)
			}
			return b, nil
		}
	}
	if e.c.Request.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(e.c.Request.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body: %w", core.ErrInvalidRequest, err)
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(limit)
	}
	e.c.Set(gin.BodyBytesKey, b)
	return b, nil
}

func tooLarge(limit int64) error {
	return fmt.Errorf("%w: request body over %d bytes", core.ErrInvalidRequest, limit)
}

func (e exchange) RemoteIP() string { return e.c.ClientIP() }

// TLS trusts X-Forwarded-Proto only from a proxy Gin trusted with the client address:
// Gin has no setting for the scheme itself.
func (e exchange) TLS() bool {
	r := e.c.Request
	if r.TLS != nil {
		return true
	}
	proto := r.Header.Get("X-Forwarded-Proto")
	if proto == "" {
		return false
	}
	if i := strings.IndexByte(proto, ','); i >= 0 {
		proto = proto[:i]
	}
	return strings.EqualFold(strings.TrimSpace(proto), "https") && e.c.ClientIP() != e.c.RemoteIP()
}

func (e exchange) Host() string { return e.c.Request.Host }

func (e exchange) RequestURI() string { return requestURI(e.c.Request) }

// requestURI is the request's target as the client sent it; a request built in process
// rather than read from a connection has none, and then its URL's path and query.
func requestURI(r *http.Request) string {
	if r.RequestURI != "" {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

func (e exchange) SetHeader(name, value string) { e.c.Writer.Header().Set(name, value) }

func (e exchange) SetCookie(ck *http.Cookie) { http.SetCookie(e.c.Writer, ck) }

func (e exchange) Write(status int, body []byte) {
	e.c.Status(status)
	e.c.Writer.WriteHeaderNow()
	if len(body) > 0 {
		e.c.Writer.Write(body) //nolint:errcheck // the client went away; nothing to do
	}
}
