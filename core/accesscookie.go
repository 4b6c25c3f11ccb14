package core

import (
	"errors"
	"net/http"
	"strings"
)

// Cookie mode (WithAccessCookie): the access token also travels in an HttpOnly cookie,
// for pages a server renders; see WithAccessCookie for what it changes.

// accessPath is the Path of the access cookie: every page of the site may need it.
const accessPath = "/"

// maxCookieSize is the size of a cookie (name and value) every browser keeps (RFC 6265
// §6.1); a larger one may be dropped without a word.
const maxCookieSize = 4096

// setAccessCookie puts the access token of t into the access cookie, in cookie mode; it
// does nothing otherwise, so every place that sets the refresh cookie for a browser
// calls it too. The cookie is HttpOnly (scripts never read the token), for the whole
// site (Path=/, so __Host- prefixed on https when no Domain is set), SameSite as the
// refresh cookie, and lasts as long as the refresh token, not the access token: a page
// load with an expired token must still carry it to be sent through the refresh
// (resume) rather than be taken for an anonymous visitor.
func (a *Auth) setAccessCookie(ex Exchange, t *Tokens) {
	w := &a.cfg.web
	if !w.accessCookie {
		return
	}
	name := a.cookieName(ex, w.cookies.AccessName, accessPath)
	if len(name)+len(t.AccessToken) > maxCookieSize {
		// Claims or grants made the token too large: the browser will likely drop the
		// cookie, and the user would look signed out after every sign-in.
		a.cfg.logger.WarnContext(ex.Context(), "gatehouse: access token too large for a cookie",
			"bytes", len(name)+len(t.AccessToken), "limit", maxCookieSize)
	}
	ex.SetCookie(&http.Cookie{
		Name: name, Value: t.AccessToken, Path: accessPath, Domain: w.cookies.Domain,
		MaxAge: a.untilRefreshExpiry(t), HttpOnly: true, Secure: a.secure(ex), SameSite: a.sameSite(),
	})
}

// clearAuthCookies clears the refresh cookie and, in cookie mode, the access cookie:
// wherever a browser's session ends or its refresh cookie is refused.
func (a *Auth) clearAuthCookies(ex Exchange) {
	a.clearCookie(ex, a.cfg.web.cookies.RefreshName)
	if a.cfg.web.accessCookie {
		a.clearCookieAt(ex, a.cfg.web.cookies.AccessName, accessPath)
	}
}

// accessCookieToken is the token of the access cookie, and whether there is one. The
// cookie sent twice is refused (errCookieTwice) and cleared. A request of a method
// other than GET, HEAD and OPTIONS from a page of another origin is refused
// (ErrCrossSite): the browser attaches the cookie to whatever a page of any site
// sends, so such a request may be forged (CSRF), while a GET must change nothing. So
// is a WebSocket handshake from another origin, GET though it is: the socket it opens
// is not guarded by CORS, and a page of any site could talk through it as the user
// (cross-site WebSocket hijacking).
func (a *Auth) accessCookieToken(ex Exchange) (string, bool, error) {
	tok, ok, err := a.cookieAt(ex, a.cfg.web.cookies.AccessName, accessPath)
	switch {
	case err != nil:
		return "", false, err
	case !ok:
		return "", false, ErrNoToken
	}
	switch ex.Method() {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		if !webSocket(ex) {
			break
		}
		fallthrough
	default:
		if a.crossSite(ex) {
			return "", true, ErrCrossSite
		}
	}
	return tok, true, nil
}

// webSocket reports whether ex is a WebSocket opening handshake (RFC 6455 §4.1).
func webSocket(ex Exchange) bool {
	return strings.EqualFold(ex.Header("Upgrade"), "websocket")
}

// cookieTokenError is the refusal of a token that came from the access cookie: it
// reads and matches as the refusal itself, and tells resume where the token came from.
type cookieTokenError struct{ err error }

func (e *cookieTokenError) Error() string { return e.err.Error() }
func (e *cookieTokenError) Unwrap() error { return e.err }

// resume answers a page load (GET, HEAD) whose access cookie holds an expired token
// with a redirect to GET {prefix}/refresh, which rotates the tokens with the refresh
// cookie and sends the browser back to the page; it reports whether it did. Any other
// refusal, and any token from the Authorization header, is left to the caller: an API
// client refreshes by itself.
func (a *Auth) resume(ex Exchange, err error) bool {
	var ce *cookieTokenError
	if !isPageLoad(ex) || !errors.Is(err, ErrTokenExpired) || !errors.As(err, &ce) {
		return false
	}
	redirect(ex, a.cfg.web.prefix+"/refresh?redirect_to="+redirectParam(ex.RequestURI()))
	return true
}

// handleRefreshPage serves GET {prefix}/refresh, in cookie mode only: where resume
// sends a page load whose access token expired. redirect_to is checked as the
// sign-in's is (default "/"). A valid refresh cookie is rotated: both cookies are set
// anew and the browser goes back to redirect_to. No refresh cookie, or one that is
// refused, clears both cookies and redirects back all the same: the page then sees an
// anonymous request and answers it as it answers any, so the browser cannot loop
// between the two. A failure on the server's side (the store down) is answered as
// such, 503 and nothing cleared: a redirect would only bring the browser back here.
//
// It is a GET, so a page of another site may send a browser here (a link, a
// redirect chain that began elsewhere). That is allowed: it only rotates the user's
// own tokens in their own HttpOnly cookies, no token is ever in the answer, and the
// redirect goes to a checked target on the app's own origins.
func (a *Auth) handleRefreshPage(ex Exchange) {
	w := &a.cfg.web
	redirectTo, err := checkRedirect(ex.Query("redirect_to"), w.origins, a.ownOrigin(ex))
	if err != nil {
		a.writeError(ex, err)
		return
	}
	tok, ok, err := a.cookie(ex, w.cookies.RefreshName)
	if err != nil {
		// Sent twice: cookie has cleared the refresh cookie.
		a.clearCookieAt(ex, w.cookies.AccessName, accessPath)
		a.writeError(ex, err)
		return
	}
	if ok {
		t, err := a.Refresh(ex.Context(), tok)
		switch {
		case err == nil:
			a.setRefreshCookie(ex, t)
			a.setAccessCookie(ex, t)
			redirect(ex, redirectTo)
			return
		case ErrorResponse(err).Status >= http.StatusInternalServerError:
			a.writeError(ex, err)
			return
		}
	}
	a.clearAuthCookies(ex)
	redirect(ex, redirectTo)
}

// redirect answers 302 to location, kept out of caches: where it leads depends on the
// request's cookies.
func redirect(ex Exchange, location string) {
	noStore(ex)
	ex.SetHeader("Location", location)
	ex.Write(http.StatusFound, nil)
}
