package demo

import (
	"net/http"
	"time"
)

// The limits every example server puts on its connections (examples/README.md, "Hardening
// every example server shows"), whatever its framework. Without them a client that
// opens connections and never finishes a request (slowloris) holds each one, and a
// goroutine with it, for ever, and a client sending endless headers makes the server
// buffer them.
const (
	// HeaderTimeout bounds the time a client has to send a request's line and headers,
	// counted from the connection's start or, on a kept-alive connection, from the
	// request's first byte: a client that has not finished them by then is cut off.
	// It stays under the 10 s the contract allows with room for the scheduler.
	HeaderTimeout = 8 * time.Second
	// ReadTimeout bounds reading a whole request, body included. On Fiber, fasthttp
	// has a single read deadline, HeaderTimeout, for headers and body together (the
	// auth routes' bodies are a few hundred bytes).
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds a request's handling and answer; it stays above core's
	// provider timeout (10 s), so that a provider that hangs is answered with 504.
	WriteTimeout = 30 * time.Second
	// IdleTimeout is how long a kept-alive connection may wait for its next request.
	IdleTimeout = 120 * time.Second
	// MaxHeaderBytes bounds a request's line and headers together; beyond it the
	// answer is 431 Request Header Fields Too Large. It is fiberauth.ReadBufferSize,
	// the buffer fasthttp reads them into, which gatehouse's largest tokens and
	// cookies fit.
	MaxHeaderBytes = 16 << 10
)

// netHTTPSlack is what net/http reads beyond http.Server.MaxHeaderBytes before it
// answers 431 on a new connection ("bufio slop").
const netHTTPSlack = 4096

// HTTPServer is the net/http server of an example (Gin and net/http) over handler,
// with the limits above. Serve it with App.Serve(srv.Serve, srv.Shutdown).
func HTTPServer(handler http.Handler) *http.Server {
	return &http.Server{
		Handler:           limitHeader(handler),
		ReadHeaderTimeout: HeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		// So that net/http itself refuses a request line and headers beyond
		// MaxHeaderBytes on a new connection, as fasthttp does, and not 4 KiB later.
		MaxHeaderBytes: MaxHeaderBytes - netHTTPSlack,
	}
}

// limitHeader answers 431 to a request whose line and headers are over
// MaxHeaderBytes. net/http bounds what it reads, but not exactly: on a kept-alive
// connection it reads up to 4 KiB of the next request before it starts counting, so
// up to MaxHeaderBytes + 4 KiB get through to here.
func limitHeader(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headSize(r) > MaxHeaderBytes {
			w.Header().Set("Connection", "close")
			http.Error(w, "431 Request Header Fields Too Large", http.StatusRequestHeaderFieldsTooLarge)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// headSize is the size of r's request line and headers as the client sent them, at
// least: net/http keeps the Host header apart and trims blanks around values.
func headSize(r *http.Request) int {
	n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto) + 2
	if r.Host != "" {
		n += len("Host: ") + len(r.Host) + 2
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n + 2
}
