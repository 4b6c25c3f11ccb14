package test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/httpauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/authtest"
)

// newMux is the app every test of this package serves: the auth routes as routes puts
// them, and the routes core/authtest's contract lists. A ServeMux pattern for GET
// serves HEAD too.
func newMux(auth *core.Auth, routes func(*http.ServeMux, *core.Auth)) *http.ServeMux {
	mux := http.NewServeMux()
	routes(mux, auth)
	mux.Handle("GET /api/protected", httpauth.Require(auth)(http.HandlerFunc(email)))
	mux.Handle("POST /api/protected", httpauth.Require(auth)(http.HandlerFunc(email)))
	mux.Handle("GET /api/optional", httpauth.Optional(auth)(http.HandlerFunc(email)))
	mux.Handle("GET /api/optional/admin", httpauth.Optional(auth, httpauth.Role("admin"))(http.HandlerFunc(email)))
	mux.Handle("GET /api/admin", httpauth.Require(auth, httpauth.Role("admin"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := httpauth.Claims(r)
		writeJSON(w, http.StatusOK, map[string]any{"email": claims.Email, "roles": claims.Roles})
	})))
	mux.Handle("GET /api/scoped", httpauth.Require(auth, httpauth.Scopes("reports:read", "reports:write"))(http.HandlerFunc(email)))
	mux.Handle("GET /api/reports", httpauth.Require(auth, httpauth.Role("admin", "editor"), httpauth.Scopes("reports:read"))(http.HandlerFunc(email)))
	mux.Handle("GET /api/allowed", httpauth.Require(auth, httpauth.Allow(func(c *core.Claims) bool {
		return strings.HasSuffix(c.Email, "@example.com")
	}))(http.HandlerFunc(email)))
	page := httpauth.Require(auth, httpauth.RedirectToLogin())(http.HandlerFunc(showPage))
	mux.Handle("GET /page", page)
	mux.Handle("POST /page", page)
	mux.Handle("GET /custom", httpauth.Require(auth, httpauth.OnRefused(refused))(http.HandlerFunc(email)))
	mux.Handle("GET /custom/admin", httpauth.Require(auth, httpauth.Role("admin"), httpauth.OnRefused(refused))(http.HandlerFunc(email)))
	skip := httpauth.Require(auth, httpauth.Skip(func(r *http.Request) bool { return r.URL.Path == "/skip/public" }))
	mux.Handle("GET /skip/public", skip(http.HandlerFunc(email)))
	mux.Handle("GET /skip/private", skip(http.HandlerFunc(email)))
	mux.Handle("GET /api/appclaims", appMiddleware(auth)(http.HandlerFunc(appClaims)))
	return mux
}

// email answers the claims' email, "" when there are none.
func email(w http.ResponseWriter, r *http.Request) {
	out := map[string]string{"email": ""}
	if c, ok := httpauth.Claims(r); ok {
		out["email"], out["sub"] = c.Email, c.Subject
	}
	writeJSON(w, http.StatusOK, out)
}

// refused is the app's answer to every refusal of /custom and /custom/admin.
func refused(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusTeapot)
	w.Write([]byte("refused: " + core.ErrorResponse(err).Code))
}

// showPage is a server-rendered page showing the user's email.
func showPage(w http.ResponseWriter, r *http.Request) {
	claims, _ := httpauth.Claims(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte("<!doctype html><p>Signed in as " + html.EscapeString(claims.Email) + "</p>"))
}

// appMiddleware is the app's own authentication, without httpauth's middleware: it
// puts the claims into the request's context, where httpauth.Claims finds them.
func appMiddleware(auth *core.Auth) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			claims, err := auth.Authenticate(r.Context(), tok)
			if !ok || err != nil {
				writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
				return
			}
			next.ServeHTTP(w, r.WithContext(core.NewContext(r.Context(), claims)))
		})
	}
}

// appClaims answers the email of the claims appMiddleware put in the context, and 500
// when httpauth.Claims does not find them.
func appClaims(w http.ResponseWriter, r *http.Request) {
	claims, ok := httpauth.Claims(r)
	if !ok {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "httpauth.Claims found no claims"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"email": claims.Email})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// serve returns the suite's server, with the auth routes as routes puts them.
func serve(routes func(*http.ServeMux, *core.Auth)) authtest.Server {
	return func(t *testing.T, a *core.Auth) string {
		srv := httptest.NewServer(newMux(a, routes))
		t.Cleanup(srv.Close)
		return srv.URL
	}
}
