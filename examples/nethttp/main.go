// Command nethttp is the gatehouse example server on plain net/http: the demo page at
// /, a public API at /api, a protected one at /api/protected, and the auth routes under
// /auth. The environment configures it; see ../README.md.
package main

import (
	"encoding/json"
	"net/http"
	"time"

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
	mux.HandleFunc("GET /api", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, app.Public()) })
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		for k, v := range app.Page.Header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", app.Page.ContentType)
		w.Write(app.Page.Body)
	})
	if app.DevIDP != nil {
		mux.Handle(demo.DevIDPPath+"/", app.DevIDP)
	}

	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	app.Serve(srv.Serve, srv.Shutdown)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}
