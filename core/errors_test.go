package core_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
)

// anyCode leaves the code of a row unchecked: the 503 rows after the first one, whose
// code the first row checks.
const anyCode = "(any)"

// TestErrorResponse maps each category, each specific error and the wrapped
// combinations gatehouse returns to their HTTP answer (RFC 6750 §3.1, RFC 6749 §5.2).
func TestErrorResponse(t *testing.T) {
	secret := errors.New("dial tcp 10.1.2.3:6379: password=hunter2")
	cases := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"no token", core.ErrNoToken, 401, ""},
		{"invalid token", core.ErrInvalidToken, 401, "invalid_token"},
		{"expired", core.ErrTokenExpired, 401, "invalid_token"},
		{"revoked", core.ErrTokenRevoked, 401, "invalid_token"},
		{"bad signature", core.ErrBadSignature, 401, "invalid_token"},
		{"malformed", core.ErrMalformedToken, 401, "invalid_token"},
		{"too large", core.ErrTokenTooLarge, 401, "invalid_token"},
		{"wrong type", core.ErrWrongTokenType, 401, "invalid_token"},
		{"unknown key", core.ErrUnknownKey, 401, "invalid_token"},
		{"malformed with a cause", fmt.Errorf("%w: algorithm %q is not allowed", core.ErrMalformedToken, "none"), 401, "invalid_token"},
		{"invalid grant", core.ErrInvalidGrant, 400, "invalid_grant"},
		{"session not found", core.ErrSessionNotFound, 400, "invalid_grant"},
		{"session expired", core.ErrSessionExpired, 400, "invalid_grant"},
		{"refresh reused", core.ErrRefreshReused, 400, "invalid_grant"},
		{"invalid request", core.ErrInvalidRequest, 400, "invalid_request"},
		{"unsupported grant type", core.ErrUnsupportedGrantType, 400, "unsupported_grant_type"},
		{"forbidden", core.ErrForbidden, 403, "access_denied"},
		// Response.Code: "empty when the answer carries none (no token, store failure)".
		{"store unavailable", core.ErrStoreUnavailable, 503, ""},
		{"store closed", core.ErrStoreClosed, 503, anyCode},
		{"store failure with a cause", fmt.Errorf("%w: %w", core.ErrStoreUnavailable, secret), 503, anyCode},
		{"provider timeout", core.ErrProviderTimeout, 504, "temporarily_unavailable"},
		{"provider error", fmt.Errorf("%w: %w", core.ErrProvider, secret), 502, "server_error"},
		{"config", core.ErrConfig, 500, "server_error"},
		{"unknown", secret, 500, "server_error"},

		// The token endpoint: a refresh error wraps invalid_grant and the token error
		// that caused it; it is invalid_grant, never invalid_token.
		{"invalid grant wrapping an expired token", fmt.Errorf("%w: %w", core.ErrInvalidGrant, core.ErrTokenExpired), 400, "invalid_grant"},
		{"invalid grant wrapping a bad signature", fmt.Errorf("%w: %w", core.ErrInvalidGrant, core.ErrBadSignature), 400, "invalid_grant"},
		{"invalid grant wrapping a wrong token type", fmt.Errorf("%w: %w", core.ErrInvalidGrant, core.ErrWrongTokenType), 400, "invalid_grant"},
		{"token error wrapping invalid grant", fmt.Errorf("%w: %w", core.ErrTokenExpired, core.ErrInvalidGrant), 400, "invalid_grant"},
		{"joined", errors.Join(core.ErrMalformedToken, core.ErrInvalidGrant), 400, "invalid_grant"},
		{"wrapped twice", fmt.Errorf("refresh: %w", fmt.Errorf("%w: %w", core.ErrInvalidGrant, core.ErrInvalidToken)), 400, "invalid_grant"},
		// A store failure wins over anything: never an answer that blames the client.
		{"store failure and invalid grant", fmt.Errorf("%w: %w", core.ErrInvalidGrant, core.ErrStoreUnavailable), 503, anyCode},
		{"store failure and invalid token", errors.Join(core.ErrTokenRevoked, core.ErrStoreClosed), 503, anyCode},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := core.ErrorResponse(tc.err)
			if r.Status != tc.status || (r.Code != tc.code && tc.code != anyCode) {
				t.Errorf("ErrorResponse(%q) = %d %q, want %d %q", tc.err, r.Status, r.Code, tc.status, tc.code)
			}
			if tc.status == 503 && r.RetryAfter <= 0 {
				t.Errorf("503 without Retry-After: %+v", r)
			}
			if tc.status != 503 && r.RetryAfter != 0 {
				t.Errorf("Retry-After on a %d: %+v", r.Status, r)
			}
			d := r.Description
			if d == "" || strings.HasPrefix(d, "gatehouse:") || strings.Contains(d, "hunter2") || strings.Contains(d, "10.1.2.3") {
				t.Errorf("description %q: empty, prefixed or leaking a cause", d)
			}
		})
	}

	t.Run("nil", func(t *testing.T) {
		if r := core.ErrorResponse(nil); r.Status != 500 {
			t.Errorf("ErrorResponse(nil) = %+v, want 500", r)
		}
	})
}

// TestErrorResponseOfRealErrors maps what the engine actually returns.
func TestErrorResponseOfRealErrors(t *testing.T) {
	h := newHostile(t)
	ctx := context.Background()
	hostileAlg := forge(hdr("alg", "<script>alert(1)</script>", "kid", "hs-1", "typ", "at+jwt"), h.payload(), hsSigner)
	cases := []struct {
		name   string
		err    func() error
		status int
		code   string
	}{
		{"Refresh with an access token", func() error { _, err := h.auth.Refresh(ctx, h.tok.AccessToken); return err }, 400, "invalid_grant"},
		{"Refresh with garbage", func() error { _, err := h.auth.Refresh(ctx, "x.y.z"); return err }, 400, "invalid_grant"},
		{"Refresh with nothing", func() error { _, err := h.auth.Refresh(ctx, ""); return err }, 400, "invalid_request"},
		{"Authenticate a refresh token", func() error { return h.authErr(h.tok.RefreshToken) }, 401, "invalid_token"},
		{"Authenticate a hostile alg", func() error { return h.authErr(hostileAlg) }, 401, "invalid_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			r := core.ErrorResponse(err)
			if r.Status != tc.status || r.Code != tc.code {
				t.Errorf("ErrorResponse(%q) = %d %q, want %d %q", err, r.Status, r.Code, tc.status, tc.code)
			}
			if strings.Contains(r.Description, "<script>") {
				t.Errorf("description reflects the token: %q", r.Description)
			}
		})
	}
}

// TestSentinels: every sentinel says "gatehouse: " and lower case, and each specific
// error matches its category.
func TestSentinels(t *testing.T) {
	specific := []struct {
		err, category error
	}{
		{core.ErrTokenExpired, core.ErrInvalidToken},
		{core.ErrTokenRevoked, core.ErrInvalidToken},
		{core.ErrBadSignature, core.ErrInvalidToken},
		{core.ErrMalformedToken, core.ErrInvalidToken},
		{core.ErrTokenTooLarge, core.ErrInvalidToken},
		{core.ErrWrongTokenType, core.ErrInvalidToken},
		{core.ErrUnknownKey, core.ErrInvalidToken},
		{core.ErrSessionNotFound, core.ErrInvalidGrant},
		{core.ErrSessionExpired, core.ErrInvalidGrant},
		{core.ErrRefreshReused, core.ErrInvalidGrant},
		{core.ErrStoreClosed, core.ErrStoreUnavailable},
	}
	categories := []error{core.ErrNoToken, core.ErrInvalidToken, core.ErrInvalidGrant, core.ErrInvalidRequest,
		core.ErrUnsupportedGrantType, core.ErrForbidden, core.ErrStoreUnavailable, core.ErrProviderTimeout,
		core.ErrProvider, core.ErrConfig}
	all := slices.Clone(categories)
	for _, s := range specific {
		all = append(all, s.err)
		for _, c := range categories {
			if got, want := errors.Is(s.err, c), c == s.category; got != want {
				t.Errorf("errors.Is(%q, %q) = %v, want %v", s.err, c, got, want)
			}
		}
	}
	for _, err := range all {
		msg := err.Error()
		if !strings.HasPrefix(msg, "gatehouse: ") || msg != strings.ToLower(msg) {
			t.Errorf("sentinel message %q", msg)
		}
	}
}
