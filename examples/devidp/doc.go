// Package devidp is a small OpenID Connect provider for development only: its sign-in
// page asks for an email address and signs the browser in as that address, without a
// password. The example servers mount it when no real provider is configured, so that
// the demo runs offline, and gatehouse uses it through core.OIDC exactly as it uses
// Google or any other provider.
//
// Never expose it: anyone who reaches it can sign in as anyone.
//
// # What it implements
//
// The authorization code flow of OpenID Connect Core 1.0 §3.1 for the clients it is
// given, and nothing else:
//
//   - discovery at {issuer}/.well-known/openid-configuration;
//   - {issuer}/authorize: response_type=code, a registered client_id and an exactly
//     matching registered redirect_uri (otherwise an error page and no redirect, RFC
//     6749 §4.1.2.1), scope containing openid, a nonce, and PKCE with
//     code_challenge_method=S256 (RFC 7636; plain is refused). The page it shows posts
//     the email back; Cancel answers error=access_denied;
//   - {issuer}/token: grant_type=authorization_code with the client authenticated by
//     HTTP Basic or in the body (client_secret_basic, client_secret_post; "none" for a
//     client without a secret). The code is single use and lives one minute; the
//     redirect_uri must be the one of the authorization request and the code_verifier
//     must hash to its challenge. The answer carries an opaque access token and an
//     id_token signed ES256 with the provider's own key, with iss, sub, aud (the client
//     id), exp, iat, auth_time, nonce, email, email_verified (always true) and name;
//   - {issuer}/jwks.json, the public key; {issuer}/userinfo, the same claims for the
//     access token.
//
// The subject is derived from the lower-cased email, so the same address is the same
// user for as long as the issuer URL stays the same.
//
// # What it does not do
//
// No passwords, consent, refresh tokens, implicit or hybrid flows, request objects,
// prompt/max_age handling, dynamic registration or logout. Its key, codes and access
// tokens live in memory: a restart invalidates pending sign-ins (not the gatehouse
// sessions already started).
package devidp
