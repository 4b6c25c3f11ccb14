// Package core is gatehouse's framework-neutral engine: signing keys, JWT access tokens,
// rotating refresh tokens, sessions and revocation over a Store, and (in the web files)
// sign-in with OpenID Connect and OAuth2 providers and every auth route, written once
// against the Exchange interface that the adapters implement for Gin, Fiber and net/http.
//
// # Who uses what
//
// Apps build an Auth with New and Options, mount it with an adapter (ginauth, fiberauth,
// httpauth) and use Auth's methods: Issue, Authenticate, Refresh, Revoke, Logout,
// LogoutAll, Sessions and JWKS, with Identity, Claims, Tokens, SessionInfo, Key and
// Provider. Adapters use Auth.Adapter, Exchange and Route; apps need them only to write
// an adapter of their own. Stores implement Store (and Migrator) over Session, Rotation
// and Entry, and prove it with core/storetest; apps never handle a Session record,
// which holds refresh token ids. The package memstore is the in-memory Store.
//
// Signatures are made and checked with github.com/golang-jwt/jwt/v5's signing methods;
// which header, key and algorithm a token may have is decided here, before any
// cryptography (see Tokens).
//
// # Tokens
//
// An access token is a JWT with header typ "at+jwt" (RFC 9068) and the claims iss, sub,
// aud, exp, iat, jti, sid (the session), email and name, roles and scope when the user
// has any (see Roles and scopes), plus the app's own claims (WithClaims). A refresh token is a JWT of typ "rt+jwt" whose aud is the issuer
// followed by "#refresh"; it carries the session id and its own jti, and only Refresh,
// Revoke and the logout route take it.
//
// Verification accepts a token only if its header segment is, byte for byte, one that
// gatehouse writes for one of its keys. So the algorithm always comes from the key,
// never from the token; "none", other algorithms, key confusion (an RS256 key used as an
// HMAC secret), unknown kid values and headers carrying keys or URLs (jwk, jku, x5u, x5c)
// are all refused before any cryptography, from a map in memory. The signature is
// checked before the payload is decoded; base64 must be canonical; exp, iss and aud
// are required; the leeway is at most a minute; tokens over MaxTokenSize are refused
// unread.
//
// # Roles and scopes
//
// Access tokens carry the user's roles as "roles", an array of strings, and scopes as
// "scope", one space-separated string, as RFC 9068 §2.2.3 writes them; Claims.Roles,
// Claims.Scopes, HasRole and HasScope read them back. They come from Identity.Roles and
// Identity.Scopes, or from the WithGrants hook, which runs again at every refresh: a
// user whose role is taken away loses it with the next access token. The tokens already
// issued keep it until their exp; LogoutAll ends them at once. Names are 1 to 128
// bytes of NQCHAR (RFC 6749 §3.3), checked at issue. CustomClaims decodes the app's own
// claims into a struct of its own.
//
// # Sessions and refresh
//
// Issue starts a session. Each Refresh swaps the session's current refresh token for a
// new one in one atomic store operation; presenting a replaced token again is taken as
// theft and ends the session (RFC 9700 §4.14.2), unless WithRefreshGrace tolerates it
// for a few seconds. Sessions have an absolute lifetime that refreshing never extends,
// and optionally an idle timeout.
//
// # Revocation
//
// Revoke, Logout and LogoutAll record revocations by jti (one access token) and by sid
// (a whole session). Every entry expires when the last token it concerns does, exp plus
// leeway, so stores purge them and never grow without bound. Authenticate asks the store
// about the jti and the sid in one call; the stores answer the common case, nothing
// revoked, from memory.
//
// # Keys
//
// Without WithSigningKey, New generates a key (WithAlgorithm, HS256 by default) and
// persists it in the store, so tokens survive restarts and instances sharing a store
// agree. It is stored as it is unless WithKeyEncryptionKey seals it (and the state
// cookies' key) under a key the app keeps elsewhere: without that, protect the store
// like the key. WithKeyRotation replaces generated keys on a schedule every instance
// shares, keeping old ones for verification until their tokens have expired. To rotate
// a key of the app's own, sign with the new key and keep the old one in
// WithVerificationKeys until its tokens have expired. JWKS publishes the public keys.
//
// # What is not checked
//
// Authenticate says who the user is, not what they may do: roles and scopes are checked
// by the middleware's rules (Policy, AnyRole, AllScopes, Allow), and any other
// authorization is the app's. Clock skew beyond the leeway is not corrected.
// Custom claims are not validated.
//
// # Errors
//
// Every error matches one category of errors.go with errors.Is, and ErrorResponse maps
// it to an HTTP status and an OAuth error code. A store failure is ErrStoreUnavailable
// and answered 503: a request is never let through because the store could not say.
package core
