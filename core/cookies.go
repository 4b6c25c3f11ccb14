package core

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// secure reports whether cookies set in answer to ex get the Secure attribute: when the
// request came over HTTPS, or the public URL is https (a proxy terminates TLS).
func (a *Auth) secure(ex Exchange) bool {
	return ex.TLS() || strings.HasPrefix(a.cfg.web.publicURL, "https://")
}

// cookieName is the name of a cookie of the given base name and path in answer to ex.
// Over https it carries a prefix the browser enforces (RFC 6265bis §4.1.3): __Host- when
// the cookie can have one (Path=/ and no Domain), so no other host can set or shadow
// it, and __Secure- otherwise, so no plain-http page can. A base name that already has
// one of the prefixes is kept as it is.
func (a *Auth) cookieName(ex Exchange, base, path string) string {
	if !a.secure(ex) || strings.HasPrefix(base, "__Host-") || strings.HasPrefix(base, "__Secure-") {
		return base
	}
	if path == "/" && a.cfg.web.cookies.Domain == "" {
		return "__Host-" + base
	}
	return "__Secure-" + base
}

// setRefreshCookie puts the refresh token of t into its HttpOnly cookie, scoped to the
// route prefix (so the browser sends it to refresh and logout only), until the token's
// own expiry.
func (a *Auth) setRefreshCookie(ex Exchange, t *Tokens) {
	w := &a.cfg.web
	ex.SetCookie(&http.Cookie{
		Name: a.cookieName(ex, w.cookies.RefreshName, w.prefix), Value: t.RefreshToken, Path: w.prefix, Domain: w.cookies.Domain,
		MaxAge: a.untilRefreshExpiry(t), HttpOnly: true, Secure: a.secure(ex), SameSite: a.sameSite(),
	})
}

// sameSite is the SameSite mode of the refresh and access cookies: Lax, or Strict with
// CookieOptions.SameSiteStrict.
func (a *Auth) sameSite() http.SameSite {
	if a.cfg.web.cookies.SameSiteStrict {
		return http.SameSiteStrictMode
	}
	return http.SameSiteLaxMode
}

// untilRefreshExpiry is the Max-Age, in seconds and at least 1, of a cookie that lasts
// as long as the refresh token of t.
func (a *Auth) untilRefreshExpiry(t *Tokens) int {
	return max(int(t.RefreshExpiresAt.Sub(a.cfg.now())/time.Second), 1)
}

// clearCookie deletes a cookie of base name name scoped to the route prefix: same name,
// Path and Domain as when it was set, Max-Age=0 (MaxAge -1 in net/http terms) and an
// Expires in the past for old clients.
func (a *Auth) clearCookie(ex Exchange, name string) {
	a.clearCookieAt(ex, name, a.cfg.web.prefix)
}

// clearCookieAt is clearCookie for a cookie of the given path.
func (a *Auth) clearCookieAt(ex Exchange, name, path string) {
	ex.SetCookie(&http.Cookie{
		Name: a.cookieName(ex, name, path), Value: "", Path: path, Domain: a.cfg.web.cookies.Domain,
		MaxAge: -1, Expires: time.Unix(0, 0), HttpOnly: true, Secure: a.secure(ex), SameSite: http.SameSiteLaxMode,
	})
}

// setStateCookie stores a sealed sign-in state until it expires. It is SameSite=Lax
// (not Strict) because it must come back with the provider's top-level redirect.
func (a *Auth) setStateCookie(ex Exchange, sealed string) {
	w := &a.cfg.web
	ex.SetCookie(&http.Cookie{
		Name: a.cookieName(ex, w.cookies.StateName, w.prefix), Value: sealed, Path: w.prefix, Domain: w.cookies.Domain,
		MaxAge: int(stateTTL / time.Second), HttpOnly: true, Secure: a.secure(ex), SameSite: http.SameSiteLaxMode,
	})
}

// errCookieTwice is a request carrying one of gatehouse's cookies more than once: a
// sibling subdomain can set a cookie of the same name for the parent domain (cookie
// tossing), and which one the app would read is then the attacker's choice.
var errCookieTwice = fmt.Errorf("%w: a gatehouse cookie was sent twice", ErrInvalidRequest)

// cookie returns the request's non-empty cookie of base name name scoped to the route
// prefix, and whether it has one. A request that carries it twice is refused:
// errCookieTwice, and the cookie is cleared in the answer, so the browser's next
// attempt starts clean.
func (a *Auth) cookie(ex Exchange, name string) (string, bool, error) {
	return a.cookieAt(ex, name, a.cfg.web.prefix)
}

// cookieAt is cookie for a cookie of the given path.
func (a *Auth) cookieAt(ex Exchange, name, path string) (string, bool, error) {
	vals := ex.Cookies(a.cookieName(ex, name, path))
	switch {
	case len(vals) > 1:
		a.clearCookieAt(ex, name, path)
		return "", false, errCookieTwice
	case len(vals) == 0 || vals[0] == "":
		return "", false, nil
	}
	return vals[0], true, nil
}

// crossSite reports whether a request that authenticates with a cookie comes from a page
// of another origin and must be refused, on top of what SameSite=Lax already stops (it
// lets same-site requests from sibling subdomains through, and old browsers ignore it).
// The check is the one net/http's CrossOriginProtection makes: Sec-Fetch-Site when the
// browser sends it, otherwise the Origin header against the Host; requests with neither
// come from non-browser clients, which carry no ambient cookie. Origins allowed with
// WithAllowedOrigins pass.
func (a *Auth) crossSite(ex Exchange) bool {
	origin := ex.Header("Origin")
	switch ex.Header("Sec-Fetch-Site") {
	case "same-origin", "none":
		return false
	case "":
	default:
		return !a.cfg.web.origins[strings.ToLower(origin)]
	}
	if origin == "" {
		return false
	}
	if a.cfg.web.origins[strings.ToLower(origin)] {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return true // "null" and garbage
	}
	if strings.EqualFold(u.Host, ex.Host()) {
		return false
	}
	pub := a.cfg.web.publicURL
	return pub == "" || !strings.EqualFold(origin, pub[:originEnd(pub)])
}

// ownOrigin is the app's own origin, lower case: the public URL's, or else the request's
// own (its scheme and Host header).
func (a *Auth) ownOrigin(ex Exchange) string {
	if pub := a.cfg.web.publicURL; pub != "" {
		return pub[:originEnd(pub)]
	}
	scheme := "http://"
	if ex.TLS() {
		scheme = "https://"
	}
	return scheme + strings.ToLower(ex.Host())
}

// originEnd is the length of the scheme://host[:port] part of an absolute URL.
func originEnd(u string) int {
	i := strings.Index(u, "://")
	if i < 0 {
		return len(u)
	}
	if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
		return i + 3 + j
	}
	return len(u)
}
