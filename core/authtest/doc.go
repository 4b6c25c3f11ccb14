// Package authtest is the HTTP conformance suite of gatehouse's adapters. Every adapter
// runs the same cases, against a real server, with one line:
//
//	func TestConformance(t *testing.T) {
//		authtest.Run(t, serve)
//	}
//
// # The contract
//
// Run builds each *core.Auth itself, many times (one or a few per case, each with its
// own store, clock, identity provider and options), and calls the adapter's function
//
//	func(t *testing.T, a *core.Auth) (baseURL string)
//
// which must start a real HTTP server on 127.0.0.1:0 (httptest.NewServer, or the
// framework's own listener) serving, for that a:
//
//   - every route of a.Adapter().Routes(), mounted under a.Prefix() by the adapter's Mount;
//   - GET /api/protected behind the adapter's Require middleware, answering 200 with a
//     JSON object whose "email" member is the email of the claims, read with the
//     adapter's native getter (ginauth.Claims(c), httpauth.Claims(r), …);
//   - GET /api/optional behind the adapter's Optional middleware, answering 200 with a
//     JSON object whose "email" member is the email of the claims when there are some,
//     and without "email" (or with "email": "") for an anonymous request;
//   - GET /api/optional/admin behind Optional(auth, Role("admin")), answering as
//     /api/optional does;
//   - POST /api/protected behind Require, answering as GET does (the cross-site checks
//     of a cookie-borne token, see WithAccessCookie);
//   - GET /api/admin behind Require(auth, Role("admin")), answering 200 with
//     {"email": …, "roles": [...]}, the roles of the claims;
//   - GET /api/scoped behind Require(auth, Scopes("reports:read", "reports:write")),
//     answering 200 with {"email": …};
//   - GET /api/reports behind Require(auth, Role("admin", "editor"),
//     Scopes("reports:read")), the options in that order, answering 200 with
//     {"email": …};
//   - GET /api/allowed behind Require(auth, Allow(f)), where f reports whether the
//     claims' email ends in "@example.com", answering 200 with {"email": …};
//   - GET, HEAD and POST /page behind Require(auth, RedirectToLogin()), answering 200
//     with Content-Type text/html and a body that holds the claims' email HTML-escaped
//     (as html.EscapeString escapes it);
//   - GET /custom behind Require(auth, OnRefused(h)), where h answers every refusal
//     with 418, Content-Type text/plain and the body "refused: " followed by
//     core.ErrorResponse(err).Code; 200 {"email": …} otherwise;
//   - GET /custom/admin behind Require(auth, Role("admin"), OnRefused(h)), with the
//     same h, answering as /custom does;
//   - GET /skip/public and GET /skip/private behind one Require(auth, Skip(f)), where f
//     reports whether the path is /skip/public, both answering 200 with {"email": …},
//     "" when there are no claims;
//   - GET /api/appclaims behind the app's own middleware, not the adapter's: it reads
//     the Bearer token of the Authorization header itself, calls auth.Authenticate,
//     answers 401 when that fails, and otherwise puts the claims in the request's
//     context with core.NewContext the framework's way (Gin: c.Request =
//     c.Request.WithContext(…); Fiber: c.SetUserContext(…); net/http:
//     r.WithContext(…)); the handler answers 200 with {"email": …} read with the
//     adapter's native getter, and 500 when the getter finds no claims;
//
// and return its base URL ("http://127.0.0.1:PORT", no trailing slash). It registers
// the server's shutdown with t.Cleanup. The server must accept request headers of at
// least 1 MiB (or refuse them with 431, see below) and must not follow, rewrite or
// buffer redirects.
//
// # What it checks
//
//   - Sign-in against a real OpenID Connect provider (github.com/oauth2-proxy/mockoidc):
//     the authorization request (state, PKCE S256, nonce, redirect URI), the JSON token
//     response and the browser flow (HttpOnly refresh cookie scoped to the prefix, 302
//     to redirect_to), users keyed on issuer and subject, several providers at once,
//     GitHub (against a local stand-in of its OAuth and REST endpoints).
//   - State attacks: missing, mismatched, swapped, tampered, expired (with the injected
//     clock) and replayed state → 400, without any cookie or token.
//   - Redirect attacks: scheme-relative, backslash, control characters, other schemes
//     and origins → 400; allowed origins and local paths honoured.
//   - PKCE: the verifier sent with the code is the one whose S256 challenge went out
//     with that sign-in's state, and a code from another sign-in injected into a
//     callback is refused (401).
//   - Provider answers: access_denied and a replayed code → 401, an unverified or
//     disallowed email and the authorize hook → 403, a bad id_token (nonce, signature,
//     expiry, issuer, audience, an algorithm not allowed, alg none) → 401, the
//     provider's own id_token used as a bearer or refresh token → refused, garbage →
//     502, a provider that hangs → 504 within the configured timeout, a provider down
//     at start → sign-in works once it is back.
//   - Every route: refresh (form, JSON, cookie, each §5.2 error, and 50 concurrent
//     refreshes of one token → exactly one 200), logout (bearer, body, cookie, cookies
//     cleared with the Domain and Path they were set with and Max-Age=0, old tokens
//     refused afterwards), logout/all, revoke (RFC 7009: 200 for garbage, expired or
//     revoked tokens), sessions (list, end one's own, not another's), me, jwks.json.
//   - Protected routes: RFC 6750 challenges, a token in the query string ignored, a
//     token past core.MaxTokenSize refused for its size, a 1 MiB bearer refused fast
//     (401, or 431 from a server with a smaller header limit), a bearer token together
//     with a refresh token in a cookie or the body at logout → 400, a cookie-borne POST
//     from another site → 403 that changes nothing, Cache-Control: no-store on every
//     token response.
//   - A store that fails (a decorator over memstore that starts returning errors) → 503
//     with Retry-After on every route, never a pass.
//   - Interoperability: golang.org/x/oauth2's TokenSource refreshing through
//     {prefix}/refresh, with the client credentials in the body and in the header.
//   - Authorization: roles ("roles", an array) and scopes ("scope", space-separated)
//     in the access token; a role or scope missing → 403 insufficient_scope with the
//     RFC 6750 §3.1 challenge (naming the scopes a route needs), no or a bad token →
//     401, never 403; a role among several, the rules of one middleware adding up (the
//     first that refuses answers), Optional asking its rules of a token and not of an
//     anonymous request; the app's predicate; roles from WithGrants asked again at every
//     refresh (a demoted user loses the role at the next refresh, while the access
//     token issued before keeps it until it expires), roles the authorize hook sets at
//     sign-in kept across refreshes, a failing grants hook failing the sign-in or
//     refresh; a token that claims roles under another key, alg none or an edited
//     payload → 401.
//   - The app's answers: OnRefused answering no token, a bad, a revoked token, a rule's
//     refusal and a store failure in the app's words; RedirectToLogin sending GET and
//     HEAD page loads refused for their token to {prefix}/login?redirect_to=<the page,
//     query included>, and the sign-in back to that page, while a POST keeps its 401
//     and a store failure stays 503; Skip leaving the requests it picks
//     unauthenticated, whatever they carry; claims put in the request's context by the
//     app's own middleware found by the adapter's getter.
//   - Password sign-in (WithPasswords over Argon2id hashes at core/password's floor,
//     and WithPasswordVerifier): the token response for JSON clients, the refresh
//     cookie and a redirect to a checked redirect_to for browsers, the session's sub
//     the app's user id; one answer, byte for byte, for an unknown user, a user without
//     a password and a wrong password; 429 with Retry-After after 5 failures for a
//     username (whatever its case and surrounding space), the right password included,
//     until the window ends on the injected clock, and past the per-IP limit; cross-site
//     POSTs (login CSRF) → 403; missing, oversized, repeated or mistyped fields → 400;
//     the store down → 503; the route limited per IP like the sign-in.
//   - Cookie mode (WithAccessCookie): the browser sign-in, password or OpenID Connect,
//     and the cookie refresh set an HttpOnly access cookie for Path=/ that lives as
//     long as the refresh cookie; pages open with it alone; a Bearer header together
//     with the cookie → 400 (one method per request); a cookie-borne POST from another site → 403, from the
//     same origin → 200; an expired access cookie on a page load is resumed through
//     GET {prefix}/refresh (a real cookie jar following the redirects ends on the page
//     with new cookies in at most two redirects, the provider never asked, never a
//     401), and without a valid refresh cookie it ends anonymous without a loop; that
//     route's redirect_to checked and its store failure a 503; the cookie sent twice →
//     400; logout, logout/all and a refused cookie refresh clear both cookies. Without
//     the option, no access cookie is set, a hand-made one is ignored, and there is no
//     GET {prefix}/refresh.
//
// # What it does not check
//
// HTTPS (the servers are plain HTTP; the Secure attribute and the __Host- name of
// cookies are core's unit-tested concern), trusted-proxy settings of the frameworks,
// and the engine's own rules (token verification, rotation, storage), which core's
// tests and core/storetest cover. That the password answer for an unknown user takes
// as long as the one for a wrong password is not measured: over HTTP on a shared
// machine, the difference of interest drowns in noise (core's tests check that a dummy
// hash is verified). Cases run one after another; nothing sleeps except the cases that
// wait for a hanging provider's timeout.
package authtest
