package core

import (
	"errors"
	"net/http"
	"strings"
)

// Categories. Every error gatehouse returns matches exactly one of these with errors.Is;
// ErrorResponse turns the category into an HTTP answer. More specific errors below wrap
// one of them, and causes are wrapped with %w, so both match errors.Is.
var (
	// ErrNoToken means the request carried no credentials: 401 without an error code.
	ErrNoToken = errors.New("gatehouse: no token")
	// ErrInvalidToken means a bearer token was malformed, badly signed, expired, of the
	// wrong type or revoked: 401 invalid_token (RFC 6750 §3.1).
	ErrInvalidToken = errors.New("gatehouse: invalid token")
	// ErrInvalidGrant means a refresh token or authorization grant was refused:
	// 400 invalid_grant (RFC 6749 §5.2).
	ErrInvalidGrant = errors.New("gatehouse: invalid grant")
	// ErrInvalidRequest means a request was malformed or lacked a parameter:
	// 400 invalid_request.
	ErrInvalidRequest = errors.New("gatehouse: invalid request")
	// ErrUnsupportedGrantType means a token request named a grant type other than
	// refresh_token: 400 unsupported_grant_type.
	ErrUnsupportedGrantType = errors.New("gatehouse: unsupported grant type")
	// ErrForbidden means the user is known but not allowed: 403.
	ErrForbidden = errors.New("gatehouse: forbidden")
	// ErrStoreUnavailable means the store failed; the request is refused with 503 and
	// Retry-After, never let through.
	ErrStoreUnavailable = errors.New("gatehouse: store unavailable")
	// ErrProviderTimeout means the identity provider did not answer in time: 504.
	ErrProviderTimeout = errors.New("gatehouse: identity provider timed out")
	// ErrProvider means the identity provider answered with an error or garbage: 502.
	ErrProvider = errors.New("gatehouse: identity provider failed")
	// ErrRateLimited means a client made too many requests: 429 with Retry-After.
	ErrRateLimited = errors.New("gatehouse: too many requests")
	// ErrNotFound means a route's resource (a provider, a session of the user's) does
	// not exist: 404 not_found.
	ErrNotFound = errors.New("gatehouse: not found")
	// ErrConfig means New or an option was given a configuration it refuses.
	ErrConfig = errors.New("gatehouse: bad configuration")
)

// Specific errors, each wrapping a category.
var (
	ErrTokenExpired   = wrapCategory("gatehouse: token expired", ErrInvalidToken)
	ErrTokenRevoked   = wrapCategory("gatehouse: token revoked", ErrInvalidToken)
	ErrBadSignature   = wrapCategory("gatehouse: bad token signature", ErrInvalidToken)
	ErrMalformedToken = wrapCategory("gatehouse: malformed token", ErrInvalidToken)
	ErrTokenTooLarge  = wrapCategory("gatehouse: token too large", ErrInvalidToken)
	ErrWrongTokenType = wrapCategory("gatehouse: wrong token type", ErrInvalidToken)
	ErrUnknownKey     = wrapCategory("gatehouse: unknown signing key", ErrInvalidToken)

	// ErrSessionNotFound is returned by Store.Rotate for a session that does not exist.
	ErrSessionNotFound = wrapCategory("gatehouse: session not found", ErrInvalidGrant)
	// ErrSessionExpired is returned by Store.Rotate for a session past its idle or
	// absolute expiry.
	ErrSessionExpired = wrapCategory("gatehouse: session expired", ErrInvalidGrant)
	// ErrRefreshReused is returned by Store.Rotate when a refresh token that was already
	// replaced is presented again; Refresh then ends the whole session.
	ErrRefreshReused = wrapCategory("gatehouse: refresh token reused", ErrInvalidGrant)

	// ErrStoreClosed is returned by every Store method after Close.
	ErrStoreClosed = wrapCategory("gatehouse: store closed", ErrStoreUnavailable)
)

// Errors of sign-in and of the routes, each wrapping the category that decides its HTTP
// answer (see ErrorResponse).
var (
	// ErrLoginState means a sign-in callback came without its state cookie, with a state
	// that does not match the cookie, or after the state expired or was used: 400.
	ErrLoginState = wrapCategory("gatehouse: sign-in state missing, mismatched, expired or already used", ErrInvalidRequest)
	// ErrRedirect means redirect_to was neither a local path nor on an allowed origin: 400.
	ErrRedirect = wrapCategory("gatehouse: redirect_to must be a local path or an allowed origin", ErrInvalidRequest)
	// ErrLoginDenied means the provider refused the sign-in (error=access_denied) or the
	// authorization code: 401 access_denied.
	ErrLoginDenied = wrapCategory("gatehouse: sign-in denied by the identity provider", ErrInvalidToken)
	// ErrIDToken means the provider's id_token failed verification (signature, iss, aud,
	// exp, algorithm or nonce): 401.
	ErrIDToken = wrapCategory("gatehouse: id_token refused", ErrInvalidToken)
	// ErrEmailNotVerified means the provider did not vouch for the user's email: 403.
	ErrEmailNotVerified = wrapCategory("gatehouse: email address not verified", ErrForbidden)
	// ErrUserNotAllowed means the allow-lists, the hosted domain or the WithAuthorize hook
	// refused the user: 403.
	ErrUserNotAllowed = wrapCategory("gatehouse: user not allowed to sign in", ErrForbidden)
	// ErrCrossSite means a cookie-authenticated POST came from another site: 403.
	ErrCrossSite = wrapCategory("gatehouse: cross-site request refused", ErrForbidden)
	// ErrInsufficientScope means the access token is valid but does not carry the role,
	// scope or other right a route's rules require (see Rule): 403 insufficient_scope,
	// with a WWW-Authenticate challenge (RFC 6750 §3.1).
	ErrInsufficientScope = wrapCategory("gatehouse: insufficient scope", ErrForbidden)
	// ErrBodyTooLarge means a request body was over 64 KiB or could not be read: 413
	// invalid_request.
	ErrBodyTooLarge = wrapCategory("gatehouse: request body unreadable or over 64 KiB", ErrInvalidRequest)
)

type categoryError struct {
	msg      string
	category error
}

func wrapCategory(msg string, category error) error { return &categoryError{msg, category} }

func (e *categoryError) Error() string { return e.msg }
func (e *categoryError) Unwrap() error { return e.category }

// Response is how an error is answered over HTTP.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Code is the OAuth error code (RFC 6749 §5.2, RFC 6750 §3.1), empty when the
	// answer carries none (no token, store failure).
	Code string
	// Description is a short human-readable text safe to show the client.
	Description string
	// RetryAfter, in seconds, is set for 503 and 429.
	RetryAfter int
}

// ErrorResponse maps an error returned by gatehouse to its HTTP answer. An error of the
// token endpoint that wraps both ErrInvalidGrant and a token error is invalid_grant. Errors it does
// not know, including nil, map to 500: an unknown failure never lets a request through.
func ErrorResponse(err error) Response {
	desc := "internal error"
	if err != nil {
		desc = describe(err)
	}
	if len(desc) > 200 {
		desc = desc[:200]
	}
	switch {
	case err == nil:
		return Response{Status: http.StatusInternalServerError, Description: desc}
	case errors.Is(err, ErrStoreUnavailable):
		return Response{Status: http.StatusServiceUnavailable, Description: "the session store is unavailable", RetryAfter: 5}
	case errors.Is(err, ErrRateLimited):
		return Response{Status: http.StatusTooManyRequests, Code: "too_many_requests", Description: desc, RetryAfter: retryAfter(err)}
	case errors.Is(err, ErrNoToken):
		return Response{Status: http.StatusUnauthorized, Description: desc}
	case errors.Is(err, ErrInvalidGrant):
		return Response{Status: http.StatusBadRequest, Code: "invalid_grant", Description: desc}
	case errors.Is(err, ErrLoginDenied):
		// The provider refused the sign-in: no token of ours was involved.
		return Response{Status: http.StatusUnauthorized, Code: "access_denied", Description: desc}
	case errors.Is(err, ErrInvalidToken):
		return Response{Status: http.StatusUnauthorized, Code: "invalid_token", Description: desc}
	case errors.Is(err, ErrUnsupportedGrantType):
		return Response{Status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: desc}
	case errors.Is(err, ErrBodyTooLarge):
		return Response{Status: http.StatusRequestEntityTooLarge, Code: "invalid_request", Description: desc}
	case errors.Is(err, ErrInvalidRequest):
		return Response{Status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
	case errors.Is(err, ErrInsufficientScope):
		return Response{Status: http.StatusForbidden, Code: "insufficient_scope", Description: desc}
	case errors.Is(err, ErrForbidden):
		return Response{Status: http.StatusForbidden, Code: "access_denied", Description: desc}
	case errors.Is(err, ErrNotFound):
		return Response{Status: http.StatusNotFound, Code: "not_found", Description: desc}
	case errors.Is(err, ErrProviderTimeout):
		return Response{Status: http.StatusGatewayTimeout, Code: "temporarily_unavailable", Description: "the identity provider did not answer in time"}
	case errors.Is(err, ErrProvider):
		return Response{Status: http.StatusBadGateway, Code: "server_error", Description: "the identity provider failed"}
	default:
		return Response{Status: http.StatusInternalServerError, Code: "server_error", Description: "internal error"}
	}
}

// describe is the error's text without the "gatehouse: " prefixes. Only 4xx answers
// use it: their causes are gatehouse's own words or a parser's about the client's input;
// 5xx answers get a fixed text, since their causes (a store, a provider) may say more
// than a client should read.
func describe(err error) string {
	return strings.ReplaceAll(err.Error(), "gatehouse: ", "")
}

var categories = []error{ErrNoToken, ErrInvalidToken, ErrInvalidGrant, ErrInvalidRequest,
	ErrUnsupportedGrantType, ErrForbidden, ErrStoreUnavailable, ErrProviderTimeout, ErrProvider, ErrNotFound, ErrRateLimited, ErrConfig}
