package core_test

import (
	"context"
	"io"
	"net"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/core"
)

// httpExchange is core.Exchange over a net/http request, as httpauth builds it (core
// cannot import its adapters): enough to serve core's routes and Guard from a real
// http.Server in these tests.
type httpExchange struct {
	w http.ResponseWriter
	r *http.Request
}

var _ core.Exchange = (*httpExchange)(nil)

func (e *httpExchange) Context() context.Context     { return e.r.Context() }
func (e *httpExchange) Method() string               { return e.r.Method }
func (e *httpExchange) Header(name string) string    { return e.r.Header.Get(name) }
func (e *httpExchange) Query(name string) string     { return e.r.URL.Query().Get(name) }
func (e *httpExchange) PathValue(name string) string { return e.r.PathValue(name) }
func (e *httpExchange) TLS() bool                    { return e.r.TLS != nil }
func (e *httpExchange) Host() string                 { return e.r.Host }
func (e *httpExchange) SetHeader(name, value string) { e.w.Header().Set(name, value) }
func (e *httpExchange) SetCookie(c *http.Cookie)     { http.SetCookie(e.w, c) }

func (e *httpExchange) Cookies(name string) []string {
	var vals []string
	for _, c := range e.r.CookiesNamed(name) {
		vals = append(vals, c.Value)
	}
	return vals
}

func (e *httpExchange) Body(limit int64) ([]byte, error) {
	if e.r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(http.MaxBytesReader(e.w, e.r.Body, limit))
}

func (e *httpExchange) RemoteIP() string {
	host, _, err := net.SplitHostPort(e.r.RemoteAddr)
	if err != nil {
		return e.r.RemoteAddr
	}
	return host
}

func (e *httpExchange) RequestURI() string {
	if e.r.RequestURI != "" {
		return e.r.RequestURI
	}
	return e.r.URL.RequestURI()
}

func (e *httpExchange) Write(status int, body []byte) {
	e.w.WriteHeader(status)
	e.w.Write(body)
}
