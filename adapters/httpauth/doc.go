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
//	mux.Handle("DELETE /api/users/{id}", httpauth.Require(auth, httpauth.Role("admin"))(deleteUser))
//
// With another router, mount Handler on the prefix without stripping it:
//
//	r := chi.NewRouter()
//	r.Mount("/auth", httpauth.Handler(auth))
//	r.With(httpauth.Require(auth)).Get("/api/me", me)
//
// # Authorization and refusals
//
// Options of Require and Optional add rules, each of which must pass: Role (one of
// the roles), Scopes (all of the scopes) and Allow (the app's predicate on the claims).
// A valid token that fails one is answered 403 with
// WWW-Authenticate: Bearer error="insufficient_scope" (RFC 6750 §3.1). RedirectToLogin
// sends a page load without a valid token to {prefix}/login?redirect_to=<page>,
// OnRefused gives the refusals the app's own answer, and Skip lets chosen requests
// through without authentication. The options are read once, when the middleware is
// built.
//
// # Mounting
//
// The mux is the app's: Mount registers the routes on it at auth.Prefix(), where the
// sign-in's redirect URI says they are, so serve it at the root (not behind
// http.StripPrefix). Wrap in Require the handlers that need a token, not the mux: around
// the mux, Require would also refuse the auth routes' own requests, as a sign-in or a
// refresh comes without a valid access token. To guard a whole mux anyway, skip the
// prefix:
//
//	guarded := httpauth.Require(auth, httpauth.Skip(func(r *http.Request) bool {
//		return strings.HasPrefix(r.URL.Path, auth.Prefix()+"/")
//	}))(mux)
//
// Unlike ginauth and fiberauth, httpauth cannot see either mistake: net/http keeps no
// record of how handlers are combined.
//
// # Claims
//
// Require and Optional put the verified claims into the request's context; read them
// with Claims(r), or core.FromContext(ctx) from code that only has a context. Claims
// also finds claims the app's own middleware put there with core.NewContext.
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
// Roles and scopes are read from the access token, not looked up per request: a role
// the app takes away stays in the tokens already issued until they expire, and in
// refreshed ones unless a core.WithGrants hook drops it.
package httpauth
