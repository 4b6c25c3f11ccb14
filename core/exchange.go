package core

import (
	"context"
	"net/http"
)

// Exchange is one HTTP request and its response as core's routes and middleware see
// them. Each adapter implements it for its framework in a few lines and holds no auth
// logic of its own; core/authtest runs the same cases through every adapter.
//
// Everything an Exchange returns must stay valid after the handler returns (fasthttp
// reuses its buffers: an adapter for it copies).
type Exchange interface {
	// Context is the request's context.
	Context() context.Context
	// Method is the request method.
	Method() string
	// Header returns the first value of a request header, or "".
	Header(name string) string
	// Query returns the first value of a URL query parameter, or "".
	Query(name string) string
	// PathValue returns a {name} segment of the route pattern, or "".
	PathValue(name string) string
	// Cookie returns a request cookie's value and whether the request has it.
	Cookie(name string) (string, bool)
	// Body returns the request body, reading at most limit bytes; a longer body is an
	// error.
	Body(limit int64) ([]byte, error)
	// RemoteIP is the client address as the framework determines it (its trusted-proxy
	// settings apply), without the port.
	RemoteIP() string
	// TLS reports whether the request came over HTTPS, directly or as the framework's
	// trusted-proxy settings say.
	TLS() bool
	// Host is the request's host, as in the Host header.
	Host() string

	// SetHeader sets a response header.
	SetHeader(name, value string)
	// SetCookie adds a Set-Cookie header.
	SetCookie(c *http.Cookie)
	// Write sends the status and body; headers set after it are lost. It is called at
	// most once per exchange.
	Write(status int, body []byte)
}

// Route is one auth route: its method, its path below the mount prefix with {name}
// segments, and the handler an adapter calls with the request's Exchange.
type Route struct {
	Method  string
	Pattern string
	Handle  func(Exchange)
}
