package test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/httpauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/authtest"
)

// TestConformance runs core's HTTP suite with the routes on the app's ServeMux.
func TestConformance(t *testing.T) { authtest.Run(t, serve(mount)) }

// TestConformanceHandler runs it with the routes behind Handler, mounted on a prefix
// as chi or gorilla/mux would mount it.
func TestConformanceHandler(t *testing.T) { authtest.Run(t, serve(handler)) }

func mount(mux *http.ServeMux, a *core.Auth) { httpauth.Mount(mux, a) }

func handler(mux *http.ServeMux, a *core.Auth) { mux.Handle(a.Prefix()+"/", httpauth.Handler(a)) }

// serve returns the suite's server: the auth routes as routes puts them, plus
// /api/protected and /api/optional.
func serve(routes func(*http.ServeMux, *core.Auth)) authtest.Server {
	return func(t *testing.T, a *core.Auth) string {
		mux := http.NewServeMux()
		routes(mux, a)
		email := func(w http.ResponseWriter, r *http.Request) {
			out := map[string]string{}
			if c, ok := httpauth.Claims(r); ok {
				out["email"] = c.Email
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(out)
		}
		mux.Handle("GET /api/protected", httpauth.Require(a)(http.HandlerFunc(email)))
		mux.Handle("GET /api/optional", httpauth.Optional(a)(http.HandlerFunc(email)))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv.URL
	}
}
