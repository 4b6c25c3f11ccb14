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
//
// # What it does not check
//
// HTTPS (the servers are plain HTTP; the Secure attribute is core's unit-tested
// concern), trusted-proxy settings of the frameworks, and the engine's own rules
// (token verification, rotation, storage), which core's tests and core/storetest cover.
// Cases run one after another; nothing sleeps except the cases that wait for a hanging
// provider's timeout.
package authtest
