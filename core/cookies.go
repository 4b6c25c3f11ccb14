package core

import (
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

// setRefreshCookie puts the refresh token of t into its HttpOnly cookie, scoped to the
// route prefix (so the browser sends it to refresh and logout only), until the token's
// own expiry.
func (a *Auth) setRefreshCookie(ex Exchange, t *Tokens) {
	w := &a.cfg.web
	same := http.SameSiteLaxMode
	if w.cookies.SameSiteStrict {
		same = http.SameSiteStrictMode
	}
	maxAge := int(t.RefreshExpiresAt.Sub(a.cfg.now()) / time.Second)
	if maxAge < 1 {
		maxAge = 1
	}
	ex.SetCookie(&http.Cookie{
		Name: w.cookies.RefreshName, Value: t.RefreshToken, Path: w.prefix, Domain: w.cookies.Domain,
		MaxAge: maxAge, HttpOnly: true, Secure: a.secure(ex), SameSite: same,
	})
}

// clearCookie deletes a cookie: same name, Path and Domain as when it was set,
// Max-Age=0 (MaxAge -1 in net/http terms) and an Expires in the past for old clients.
func (a *Auth) clearCookie(ex Exchange, name string) {
	w := &a.cfg.web
	ex.SetCookie(&http.Cookie{
		Name: name, Value: "", Path: w.prefix, Domain: w.cookies.Domain,
		MaxAge: -1, Expires: time.Unix(0, 0), HttpOnly: true, Secure: a.secure(ex), SameSite: http.SameSiteLaxMode,
	})
}

// setStateCookie stores a sealed sign-in state until it expires. It is SameSite=Lax
// (not Strict) because it must come back with the provider's top-level redirect.
func (a *Auth) setStateCookie(ex Exchange, sealed string) {
	w := &a.cfg.web
	ex.SetCookie(&http.Cookie{
		Name: w.cookies.StateName, Value: sealed, Path: w.prefix, Domain: w.cookies.Domain,
		MaxAge: int(stateTTL / time.Second), HttpOnly: true, Secure: a.secure(ex), SameSite: http.SameSiteLaxMode,
	})
}

// cookie returns a non-empty cookie of the request.
func cookie(ex Exchange, name string) (string, bool) {
	v, ok := ex.Cookie(name)
	return v, ok && v != ""
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
