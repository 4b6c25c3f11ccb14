// Package cases holds the in-process measurements of the bench module: a framework
// request through a middleware to a trivial handler (and the same without middleware),
// and the library calls alone. The testing.B benchmarks and the bench command run the
// same cases.
package cases

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
	"github.com/gatehouse-auth/gatehouse/bench/internal/measure"
	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// Frameworks are the frameworks measured.
var Frameworks = []string{"gin", "fiber", "net/http"}

// Bare is the middleware name of a route without middleware.
const Bare = "bare"

// Middlewares are the middleware measured on each framework, gatehouse's first, then
// the peers users would pick instead.
var Middlewares = map[string][]string{
	"gin":      {"gatehouse", "gin-jwt"},
	"fiber":    {"gatehouse", "contrib/jwt"},
	"net/http": {"gatehouse", "jwtauth", "golang-jwt"},
}

var okBody = []byte("ok")

const textPlain = "text/plain; charset=utf-8"

// GinEngine is a Gin engine serving GET / through middleware mw (Bare for none) to a
// handler that answers 200 "ok". ran, if not nil, counts the handler's runs.
func GinEngine(mw string, alg *fixture.Alg, ran *int) (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	handler := func(c *gin.Context) {
		if ran != nil {
			*ran++
		}
		c.Data(http.StatusOK, textPlain, okBody)
	}
	chain, err := ginMiddleware(mw, alg)
	if err != nil {
		return nil, err
	}
	e.GET("/", append(chain, handler)...)
	return e, nil
}

// FiberApp is GinEngine for Fiber.
func FiberApp(mw string, alg *fixture.Alg, ran *int) (*fiber.App, error) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	handler := func(c *fiber.Ctx) error {
		if ran != nil {
			*ran++
		}
		c.Set(fiber.HeaderContentType, textPlain)
		return c.Send(okBody)
	}
	chain, err := fiberMiddleware(mw, alg)
	if err != nil {
		return nil, err
	}
	app.Get("/", append(chain, handler)...)
	return app, nil
}

// HTTPHandler is GinEngine for net/http: a ServeMux with the route "GET /".
func HTTPHandler(mw string, alg *fixture.Alg, ran *int) (http.Handler, error) {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ran != nil {
			*ran++
		}
		w.Header().Set("Content-Type", textPlain)
		w.Write(okBody) //nolint:errcheck // a benchmark sink
	})
	wrap, err := httpMiddleware(mw, alg)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", wrap(h))
	return mux, nil
}

// Target serves one framework's requests in-process, through one middleware.
type Target struct {
	Framework, Middleware string
	ran                   int
	serve                 func(authorization []string)
}

// NewTarget builds the route of framework with middleware mw (Bare for none) verifying
// alg's tokens.
func NewTarget(framework, mw string, alg *fixture.Alg) (*Target, error) {
	t := &Target{Framework: framework, Middleware: mw}
	switch framework {
	case "gin":
		e, err := GinEngine(mw, alg, &t.ran)
		if err != nil {
			return nil, err
		}
		t.serve = serveHTTP(e)
	case "net/http":
		h, err := HTTPHandler(mw, alg, &t.ran)
		if err != nil {
			return nil, err
		}
		t.serve = serveHTTP(h)
	case "fiber":
		app, err := FiberApp(mw, alg, &t.ran)
		if err != nil {
			return nil, err
		}
		t.serve = serveFiber(app)
	default:
		return nil, fmt.Errorf("unknown framework %q", framework)
	}
	return t, nil
}

// serveHTTP serves a reused request through h into a response writer that discards
// what it is given, as cheaply as a writer can.
func serveHTTP(h http.Handler) func([]string) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := &sink{h: http.Header{}}
	return func(authorization []string) {
		req.Header["Authorization"] = authorization
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// serveFiber serves a reused fasthttp request through app's handler, resetting the
// response and the user values after each as fasthttp's server does between the
// requests of a connection.
func serveFiber(app *fiber.App) func([]string) {
	h := app.Handler()
	var req fasthttp.Request
	req.Header.SetMethod(fiber.MethodGet)
	req.SetRequestURI("/")
	req.Header.SetHost("app.example")
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}, nil)
	return func(authorization []string) {
		ctx.Request.Header.Set(fiber.HeaderAuthorization, authorization[0])
		h(ctx)
		ctx.Response.Reset()
		ctx.ResetUserValues()
	}
}

// sink is a ResponseWriter that keeps nothing.
type sink struct {
	h      http.Header
	status int
}

func (s *sink) Header() http.Header         { return s.h }
func (s *sink) Write(b []byte) (int, error) { return len(b), nil }
func (s *sink) WriteHeader(code int)        { s.status = code }

// Check serves one request with authorization and fails unless the handler ran: a
// middleware that refuses the tokens would otherwise be measured refusing them.
func (t *Target) Check(authorization []string) error {
	before := t.ran
	t.serve(authorization)
	if t.ran != before+1 {
		return fmt.Errorf("%s with %s: the handler did not run", t.Framework, t.Middleware)
	}
	return nil
}

// Bench measures a request, the Authorization header cycling through headers from
// *next on, and leaves *next where it stopped (see fixture.Alg.Next). With one header,
// the token is reused.
func (t *Target) Bench(headers [][]string, next *int) func(b *testing.B) {
	return func(b *testing.B) {
		n := len(headers)
		i := *next % n
		if err := t.Check(headers[i]); err != nil {
			b.Fatal(err)
		}
		if i++; i == n {
			i = 0
		}
		b.ReportAllocs()
		before := t.ran
		measure.Loop(b, func() {
			t.serve(headers[i])
			if i++; i == n {
				i = 0
			}
		})
		*next = i
		if ran := t.ran - before; ran != b.N {
			b.Fatalf("%s with %s: the handler ran %d times in %d requests", t.Framework, t.Middleware, ran, b.N)
		}
	}
}
