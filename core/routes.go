package core

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// buildRoutes is the route table of the HTTP contract (the top README), relative to the
// prefix.
func (a *Auth) buildRoutes() []Route {
	var rs []Route
	if a.cfg.web.def != nil {
		rs = append(rs,
			Route{http.MethodGet, "/login", a.limited(a.handleLogin)},
			Route{http.MethodGet, "/login/{provider}", a.limited(a.handleLogin)},
			Route{http.MethodGet, "/callback", a.limited(a.handleCallback)},
			Route{http.MethodGet, "/callback/{provider}", a.limited(a.handleCallback)},
		)
	}
	rs = append(rs, a.passwordRoutes()...)
	if a.cfg.web.accessCookie {
		rs = append(rs, Route{http.MethodGet, "/refresh", a.limited(a.handleRefreshPage)})
	}
	return append(rs,
		Route{http.MethodPost, "/refresh", a.limited(a.handleRefresh)},
		Route{http.MethodPost, "/logout", a.handleLogout},
		Route{http.MethodPost, "/logout/all", a.protected(a.handleLogoutAll)},
		Route{http.MethodPost, "/revoke", a.handleRevoke},
		Route{http.MethodGet, "/sessions", a.protected(a.handleSessions)},
		Route{http.MethodDelete, "/sessions/{sid}", a.protected(a.handleEndSession)},
		Route{http.MethodGet, "/me", a.protected(a.handleMe)},
		Route{http.MethodGet, "/jwks.json", a.handleJWKS},
	)
}

// protected runs h for a request with a valid access token, and answers the others as
// WriteError does.
func (a *Auth) protected(h func(Exchange, *Claims)) func(Exchange) {
	return func(ex Exchange) {
		c, err := a.authenticateExchange(ex)
		if err != nil {
			a.writeError(ex, err)
			return
		}
		h(ex, c)
	}
}

// handleRefresh serves POST {prefix}/refresh (RFC 6749 §6). The refresh token comes
// from the body, form-encoded (grant_type=refresh_token required) or JSON (grant_type
// optional, as the tutorial sends it), or else from the refresh cookie, never from
// both. Client credentials (x/oauth2 sends them in the body or as HTTP Basic) are
// ignored: gatehouse's clients are public. A cookie-authenticated refresh answers with
// the rotated token in the cookie only, never in the body where scripts could read it,
// and in cookie mode sets the access cookie too; refused, it clears both cookies.
func (a *Auth) handleRefresh(ex Exchange) {
	p, err := readParams(ex)
	if err != nil {
		a.writeError(ex, err)
		return
	}
	gt, hasGT := p.values["grant_type"]
	switch {
	case p.form && !hasGT:
		a.writeError(ex, fmt.Errorf("%w: grant_type is required", ErrInvalidRequest))
		return
	case hasGT && gt != "refresh_token":
		a.writeError(ex, fmt.Errorf("%w: only refresh_token is supported", ErrUnsupportedGrantType))
		return
	}
	tok, fromCookie, err := a.refreshCredential(ex, p)
	if err != nil {
		a.writeError(ex, err)
		return
	}
	t, err := a.Refresh(ex.Context(), tok)
	if err != nil {
		if fromCookie && !isStoreErr(err) {
			a.clearAuthCookies(ex)
		}
		a.writeError(ex, err)
		return
	}
	if fromCookie {
		a.setRefreshCookie(ex, t)
		a.setAccessCookie(ex, t)
		t.RefreshToken = ""
	}
	writeTokens(ex, t)
}

// errNoRefresh is a refresh request without a refresh token.
var errNoRefresh = fmt.Errorf("%w: no refresh token", ErrInvalidRequest)

// refreshCredential finds the one refresh token of a request: in the body or in the
// refresh cookie. A cookie-borne one must come from the app's own site.
func (a *Auth) refreshCredential(ex Exchange, p params) (tok string, fromCookie bool, err error) {
	body := p.values["refresh_token"]
	ck, hasCookie, err := a.cookie(ex, a.cfg.web.cookies.RefreshName)
	switch {
	case err != nil:
		return "", false, err
	case body != "" && hasCookie:
		return "", false, fmt.Errorf("%w: refresh token both in the body and in a cookie", ErrInvalidRequest)
	case body != "":
		return body, false, nil
	case !hasCookie:
		return "", false, errNoRefresh
	case a.crossSite(ex):
		return "", false, ErrCrossSite
	}
	return ck, true, nil
}

// handleLogout serves POST {prefix}/logout. It takes exactly one credential: an access
// token in the Authorization header (Bearer), or a refresh token in the body or the
// cookie. A Bearer header together with the cookie or a body token is 400
// invalid_request (RFC 6750 §2: one method per request); other Authorization schemes,
// such as a client's HTTP Basic credentials, are ignored.
// It ends the whole session the credential belongs to and clears the cookies (the
// access cookie too, in cookie mode, whose token is not a credential here). A refresh
// token that no longer verifies (expired, already logged out) needs nothing done and is
// answered like a success, as RFC 7009 answers revocations.
func (a *Auth) handleLogout(ex Exchange) {
	p, err := readParams(ex)
	if err != nil {
		a.writeError(ex, err)
		return
	}
	ctx := ex.Context()
	if scheme, _, _ := strings.Cut(ex.Header("Authorization"), " "); strings.EqualFold(scheme, "Bearer") {
		_, ok, err := a.cookie(ex, a.cfg.web.cookies.RefreshName)
		if err != nil {
			a.writeError(ex, err)
			return
		}
		if ok || p.values["refresh_token"] != "" {
			a.writeError(ex, fmt.Errorf("%w: credentials both in the Authorization header and in a cookie or the body", ErrInvalidRequest))
			return
		}
		c, err := a.authenticateExchange(ex)
		if err != nil {
			a.writeError(ex, err)
			return
		}
		if err := a.Logout(ctx, c.SessionID); err != nil {
			a.writeError(ex, err)
			return
		}
		a.clearAuthCookies(ex)
		writeResult(ex, nil)
		return
	}
	tok, _, err := a.refreshCredential(ex, p)
	if err != nil {
		if errors.Is(err, errNoRefresh) {
			err = fmt.Errorf("%w: no access or refresh token", ErrNoToken)
		}
		a.writeError(ex, err)
		return
	}
	if w, _, err := a.parse(tok, refreshToken, a.refreshAud); err == nil {
		if err := a.Logout(ctx, w.Sid); err != nil {
			a.writeError(ex, err)
			return
		}
	}
	a.clearAuthCookies(ex)
	writeResult(ex, nil)
}

// handleLogoutAll serves POST {prefix}/logout/all: ends every session of the user.
func (a *Auth) handleLogoutAll(ex Exchange, c *Claims) {
	n, err := a.LogoutAll(ex.Context(), c.Subject)
	if err != nil {
		a.writeError(ex, err)
		return
	}
	a.clearAuthCookies(ex)
	writeResult(ex, map[string]any{"sessions": n})
}

// handleRevoke serves POST {prefix}/revoke (RFC 7009): token, form-encoded or JSON,
// with an optional token_type_hint that is not needed (both types are tried). 200 for
// any token, known or not; 503 when the store fails.
func (a *Auth) handleRevoke(ex Exchange) {
	p, err := readParams(ex)
	if err != nil {
		a.writeError(ex, err)
		return
	}
	tok := p.values["token"]
	if tok == "" {
		a.writeError(ex, fmt.Errorf("%w: token is required", ErrInvalidRequest))
		return
	}
	if err := a.Revoke(ex.Context(), tok); err != nil {
		a.writeError(ex, err)
		return
	}
	writeResult(ex, nil)
}

// sessionView is one session as GET {prefix}/sessions shows it.
type sessionView struct {
	SessionInfo
	Current bool `json:"current"`
}

// handleSessions serves GET {prefix}/sessions: the user's live sessions, the one of the
// presented token marked current.
func (a *Auth) handleSessions(ex Exchange, c *Claims) {
	all, err := a.Sessions(ex.Context(), c.Subject)
	if err != nil {
		a.writeError(ex, err)
		return
	}
	views := make([]sessionView, 0, len(all))
	for _, s := range all {
		views = append(views, sessionView{SessionInfo: s, Current: s.ID == c.SessionID})
	}
	noStore(ex)
	writeJSON(ex, http.StatusOK, map[string]any{"sessions": views})
}

// handleEndSession serves DELETE {prefix}/sessions/{sid}: ends one of the user's own
// sessions. Another user's session, or none, is 404 alike, so ids cannot be probed.
func (a *Auth) handleEndSession(ex Exchange, c *Claims) {
	ctx := ex.Context()
	s, err := a.store.Session(ctx, ex.PathValue("sid"))
	if err != nil {
		a.writeError(ex, storeErr(err))
		return
	}
	if s == nil || s.Identity.Subject != c.Subject {
		a.writeError(ex, fmt.Errorf("%w: no such session", ErrNotFound))
		return
	}
	if err := a.Logout(ctx, s.ID); err != nil {
		a.writeError(ex, err)
		return
	}
	writeResult(ex, nil)
}

// handleMe serves GET {prefix}/me: the claims of the access token.
func (a *Auth) handleMe(ex Exchange, c *Claims) {
	var m map[string]any
	if err := c.Decode(&m); err != nil {
		a.writeError(ex, err)
		return
	}
	noStore(ex)
	writeJSON(ex, http.StatusOK, m)
}

// handleJWKS serves GET {prefix}/jwks.json.
func (a *Auth) handleJWKS(ex Exchange) {
	ex.SetHeader("Cache-Control", "public, max-age=300")
	writeJSON(ex, http.StatusOK, a.JWKS())
}

func isStoreErr(err error) bool { return errors.Is(err, ErrStoreUnavailable) }
