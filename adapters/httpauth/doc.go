// Package httpauth mounts gatehouse's auth routes on a net/http router and guards
// net/http handlers with gatehouse access tokens. It works with http.ServeMux and with
// any router that takes an http.Handler and func(http.Handler) http.Handler middleware
// (chi, gorilla/mux, …).
//
// It only translates between net/http and core: every route, every check and every
// error answer is core's, the same for Gin, Fiber and net/http, and core/authtest runs
// the same conformance suite through all three.
//
// # Integration
//
//	auth, err := core.New(store, core.WithProviders(core.Google(id, secret)))
//	...
//	mux := http.NewServeMux()
//	httpauth.Mount(mux, auth) // GET /auth/login, POST /auth/refresh, ...
//	mux.Handle("GET /api/me", httpauth.Require(auth)(http.HandlerFunc(
//		func(w http.ResponseWriter, r *http.Request) {
//			claims, _ := httpauth.Claims(r)
//			fmt.Fprintln(w, claims.Email)
//		})))
//
// With another router, mount Handler on the prefix without stripping it:
//
//	r := chi.NewRouter()
//	r.Mount("/auth", httpauth.Handler(auth))
//	r.With(httpauth.Require(auth)).Get("/api/me", me)
//
// # Claims
//
// Require and Optional put the verified claims into the request's context; read them
// with Claims(r), or core.FromContext(ctx) from code that only has a context.
//
// # Proxies
//
// net/http trusts no forwarding header. RemoteIP, recorded with each session, is the
// host of r.RemoteAddr: behind a proxy, put a middleware that sets RemoteAddr from the
// proxy's header in front. A request counts as HTTPS only when it came over TLS itself;
// behind a proxy that terminates TLS, set core.WithPublicURL to the https URL of the app
// so that cookies are Secure and redirect URIs are right.
//
// # What is not checked
//
// httpauth does no authorization of its own: a valid token says who the user is, not
// what they may do.
package httpauth
