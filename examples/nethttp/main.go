// Command nethttp is the gatehouse example server on plain net/http: the demo page at
// /, a public API at /api, a protected one at /api/protected, one for the role admin
// at /api/admin, a server-rendered page at /account, and the auth routes under /auth.
// The environment configures it; see ../README.md.
package main

import (
	"encoding/json"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/adapters/httpauth"
	"github.com/gatehouse-auth/gatehouse/examples/internal/demo"
)

func main() {
	app := demo.Start("net/http")

	mux := http.NewServeMux()
	httpauth.Mount(mux, app.Auth) // GET /auth/login, /auth/callback, POST /auth/refresh, ...
	mux.Handle("GET /api/protected", httpauth.Require(app.Auth)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := httpauth.Claims(r)
		writeJSON(w, map[string]string{"email": claims.Email})
	})))
	mux.Handle("GET /api/admin", httpauth.Require(app.Auth, httpauth.Role(demo.AdminRole))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := httpauth.Claims(r)
		writeJSON(w, map[string]any{"email": claims.Email, "roles": claims.Roles})
	})))
	mux.HandleFunc("GET /api", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, app.Public()) })
	// A page for browsers: the access token comes in its cookie, and a browser without
	// one is sent to sign in.
	mux.Handle("GET "+demo.AccountPath, httpauth.Require(app.Auth, httpauth.RedirectToLogin())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := httpauth.Claims(r)
		writePage(w, app.Account(r.Context(), claims))
	})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeStatusJSON(w)(app.Healthy()) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) { writeStatusJSON(w)(app.Ready(r.Context())) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { writePage(w, app.Page) })
	if app.DevIDP != nil {
		mux.Handle(demo.DevIDPPath+"/", app.DevIDP)
	}

	// Header, read, write and idle timeouts, 16 KiB of headers. The client IP (the rate
	// limit's key) is r.RemoteAddr: net/http reads no proxy header.
	// Each request gets a request id (net/http has none), in its logs and answer.
	srv := demo.HTTPServer(app.HTTPMiddleware(mux))
	app.Serve(srv.Serve, srv.Shutdown)
}

func writePage(w http.ResponseWriter, p demo.Page) {
	for k, v := range p.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", p.ContentType)
	w.WriteHeader(p.Status)
	w.Write(p.Body)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeStatusJSON(w http.ResponseWriter) func(int, map[string]any) {
	return func(status int, v map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
}
