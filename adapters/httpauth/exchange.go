package httpauth

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/core"
)

// exchange is core.Exchange over a net/http request and its response writer.
type exchange struct {
	w     http.ResponseWriter
	r     *http.Request
	query url.Values // parsed on first use
	body  []byte
	read  bool
	err   error
}

var _ core.Exchange = (*exchange)(nil)

func newExchange(w http.ResponseWriter, r *http.Request) *exchange { return &exchange{w: w, r: r} }

func (e *exchange) Context() context.Context { return e.r.Context() }

func (e *exchange) Method() string { return e.r.Method }

func (e *exchange) Header(name string) string { return e.r.Header.Get(name) }

func (e *exchange) Query(name string) string {
	if e.query == nil {
		e.query = e.r.URL.Query()
	}
	return e.query.Get(name)
}

// PathValue is the {name} wildcard the ServeMux pattern matched (Go 1.22 patterns).
func (e *exchange) PathValue(name string) string { return e.r.PathValue(name) }

func (e *exchange) Cookies(name string) []string { return cookieValues(e.r, name) }

// cookieValues is every value of the request's cookies called name, as net/http parses
// them.
func cookieValues(r *http.Request, name string) []string {
	var vals []string
	for _, c := range r.CookiesNamed(name) {
		vals = append(vals, c.Value)
	}
	return vals
}

// Body reads the body once through http.MaxBytesReader, which also tells the server to
// close the connection when the limit is passed.
func (e *exchange) Body(limit int64) ([]byte, error) {
	if !e.read {
		e.read = true
		if e.r.Body != nil && e.r.Body != http.NoBody {
			e.body, e.err = io.ReadAll(http.MaxBytesReader(e.w, e.r.Body, limit))
		}
	}
	if e.err == nil && int64(len(e.body)) > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return e.body, e.err
}

// RemoteIP is the host of r.RemoteAddr. net/http trusts no proxy header: put a
// middleware that sets RemoteAddr from a trusted proxy's header in front if needed.
func (e *exchange) RemoteIP() string {
	host, _, err := net.SplitHostPort(e.r.RemoteAddr)
	if err != nil {
		return e.r.RemoteAddr
	}
	return host
}

// TLS reports whether the connection itself is TLS; behind a proxy that terminates
// TLS, set core.WithPublicURL to an https URL so that cookies are Secure.
func (e *exchange) TLS() bool { return e.r.TLS != nil }

func (e *exchange) Host() string { return e.r.Host }

// RequestURI is the request's target as the client sent it; a request built in process
// rather than read from a connection has none, and then its URL's path and query.
func (e *exchange) RequestURI() string {
	if e.r.RequestURI != "" {
		return e.r.RequestURI
	}
	return e.r.URL.RequestURI()
}

func (e *exchange) SetHeader(name, value string) { e.w.Header().Set(name, value) }

func (e *exchange) SetCookie(c *http.Cookie) { http.SetCookie(e.w, c) }

func (e *exchange) Write(status int, body []byte) {
	e.w.WriteHeader(status)
	if len(body) > 0 {
		e.w.Write(body) //nolint:errcheck // the client went away; nothing to do
	}
}
