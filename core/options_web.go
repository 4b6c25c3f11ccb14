package core

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Defaults of the sign-in and route options.
const (
	// DefaultRefreshCookie is the name of the cookie that holds the refresh token of a
	// browser sign-in.
	DefaultRefreshCookie = "gatehouse_refresh"
	// DefaultStateCookie is the name of the short-lived cookie that holds the sealed
	// state, PKCE verifier and nonce of a sign-in in progress.
	DefaultStateCookie = "gatehouse_state"
	// DefaultAccessCookie is the name of the cookie that holds the access token in
	// cookie mode (see WithAccessCookie).
	DefaultAccessCookie = "gatehouse_access"

	defaultPrefix          = "/auth"
	defaultProviderTimeout = 10 * time.Second
	maxProviderTimeout     = 2 * time.Minute
)

// CookieOptions are the settings of the cookies gatehouse sets. The zero value is the
// default. Every cookie is HttpOnly, scoped to the route prefix (the access cookie of
// cookie mode to the whole site, Path=/), and Secure when the request came over HTTPS
// or the public URL is https. The names must differ.
type CookieOptions struct {
	// RefreshName is the refresh token cookie (default DefaultRefreshCookie).
	RefreshName string
	// StateName is the sign-in state cookie (default DefaultStateCookie).
	StateName string
	// AccessName is the access token cookie of cookie mode (default
	// DefaultAccessCookie; see WithAccessCookie).
	AccessName string
	// Domain widens the cookies to a domain and its subdomains; empty (the default)
	// keeps them host-only, which is safer.
	Domain string
	// SameSiteStrict sets SameSite=Strict on the refresh and access cookies instead of
	// Lax. The state cookie is always Lax: it must come back with the provider's
	// redirect.
	SameSiteStrict bool
}

var (
	cookieNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	prefixRE     = regexp.MustCompile(`^(/[A-Za-z0-9._~-]+)+$`)
	domainRE     = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$`)
)

// WithProviders adds identity providers users sign in with (see Google, OIDC and
// GitHub); several may be given, each with its own Name. The first one is the default,
// served at {prefix}/login, unless WithDefaultProvider names another. Without any
// provider the sign-in routes are not served and sessions are started with Issue only.
func WithProviders(ps ...Provider) Option {
	return func(c *config) error {
		for _, p := range ps {
			if err := p.validate(); err != nil {
				return err
			}
			c.web.providers = append(c.web.providers, p)
		}
		return nil
	}
}

// WithDefaultProvider names the provider {prefix}/login and {prefix}/callback use.
func WithDefaultProvider(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("%w: empty default provider", ErrConfig)
		}
		c.web.defaultName = name
		return nil
	}
}

// WithPublicURL sets the app's external base URL, such as "https://app.example.com":
// redirect URIs are built from it ({public URL}{prefix}/callback), and cookies are
// Secure when it is https. Without it they are built from the Host header and the
// connection of each sign-in request, which is right for development and tests; set it
// in production, especially behind a proxy.
func WithPublicURL(raw string) Option {
	return func(c *config) error {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return fmt.Errorf("%w: public URL %q must be an http(s) URL without query or fragment", ErrConfig, raw)
		}
		c.web.publicURL = strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + strings.TrimRight(u.EscapedPath(), "/")
		return nil
	}
}

// WithRoutePrefix sets the path the auth routes are mounted under (default "/auth"),
// such as "/api/auth". It must start with a slash and not end with one.
func WithRoutePrefix(prefix string) Option {
	return func(c *config) error {
		if !prefixRE.MatchString(prefix) {
			return fmt.Errorf("%w: route prefix %q must look like /auth", ErrConfig, prefix)
		}
		c.web.prefix = prefix
		return nil
	}
}

// WithAllowedEmails lets only these email addresses sign in (compared without regard
// to case), together with the domains of WithAllowedDomains. With neither, any user
// with a verified email may sign in.
func WithAllowedEmails(emails ...string) Option {
	return func(c *config) error {
		if c.web.allowedEmails == nil {
			c.web.allowedEmails = map[string]bool{}
		}
		for _, e := range emails {
			e = strings.ToLower(strings.TrimSpace(e))
			if at := strings.LastIndexByte(e, '@'); at <= 0 || at == len(e)-1 {
				return fmt.Errorf("%w: %q is not an email address", ErrConfig, e)
			}
			c.web.allowedEmails[e] = true
		}
		return nil
	}
}

// WithAllowedDomains lets users whose verified email is at one of these domains sign in,
// such as "example.com" (exactly: subdomains are not included). See WithAllowedEmails.
func WithAllowedDomains(domains ...string) Option {
	return func(c *config) error {
		if c.web.allowedDomains == nil {
			c.web.allowedDomains = map[string]bool{}
		}
		for _, d := range domains {
			d = strings.ToLower(strings.TrimSpace(d))
			if !domainRE.MatchString(d) {
				return fmt.Errorf("%w: %q is not a domain", ErrConfig, d)
			}
			c.web.allowedDomains[d] = true
		}
		return nil
	}
}

// WithAuthorize sets a hook that runs after the provider has vouched for the user and
// the allow-lists have let them through, before the session starts. It may refuse the
// sign-in by returning an error: the answer is 403, unless the error matches one of
// gatehouse's categories (ErrStoreUnavailable → 503, …), which then decides. It may
// also change s.Identity: add claims to s.Identity.Claims for every access token of
// the session, or set s.Identity.Subject to the app's own user id.
func WithAuthorize(hook func(ctx context.Context, s *SignIn) error) Option {
	return func(c *config) error {
		c.web.authorize = hook
		return nil
	}
}

// WithAllowedOrigins trusts other origins of the app, such as a front end at
// "https://app.example.com" served apart from the API: redirect_to may point to them,
// and their pages may POST to refresh and logout with the refresh cookie. The app's
// own origin is always trusted.
func WithAllowedOrigins(origins ...string) Option {
	return func(c *config) error {
		if c.web.origins == nil {
			c.web.origins = map[string]bool{}
		}
		for _, o := range origins {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
				u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
				return fmt.Errorf("%w: origin %q must be scheme://host[:port]", ErrConfig, o)
			}
			c.web.origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
		}
		return nil
	}
}

// WithProviderTimeout bounds every exchange with an identity provider: discovery, the
// code exchange, key and user fetches (default 10 seconds, at most 2 minutes). A
// provider that does not answer in time is answered 504.
func WithProviderTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 || d > maxProviderTimeout {
			return fmt.Errorf("%w: provider timeout must be between 0 and %v", ErrConfig, maxProviderTimeout)
		}
		c.web.timeout = d
		return nil
	}
}

// WithProviderTransport sets the transport of the HTTP client that talks to the identity
// providers (discovery, code exchange, keys, user API), instead of
// http.DefaultTransport: a tracing transport (otelhttp), a proxy, custom TLS roots.
// WithProviderTimeout and the bound on response sizes still apply on top of it.
func WithProviderTransport(rt http.RoundTripper) Option {
	return func(c *config) error {
		if rt == nil {
			return fmt.Errorf("%w: nil provider transport", ErrConfig)
		}
		c.web.transport = rt
		return nil
	}
}

// WithCookies sets the names, domain and SameSite mode of the cookies.
func WithCookies(o CookieOptions) Option {
	return func(c *config) error {
		for _, n := range []string{o.RefreshName, o.StateName, o.AccessName} {
			if n != "" && !cookieNameRE.MatchString(n) {
				return fmt.Errorf("%w: bad cookie name %q", ErrConfig, n)
			}
		}
		o.Domain = strings.ToLower(strings.TrimPrefix(o.Domain, "."))
		if o.Domain != "" && !domainRE.MatchString(o.Domain) {
			return fmt.Errorf("%w: bad cookie domain %q", ErrConfig, o.Domain)
		}
		c.web.cookies = o
		return nil
	}
}

// WithAccessCookie turns cookie mode on, for server-rendered pages: wherever a browser
// gets the refresh cookie (the sign-in, a refresh from the cookie) it also gets the
// access token in an HttpOnly cookie (CookieOptions.AccessName) for the whole site
// (Path=/, __Host- prefixed on https), until the refresh token expires. Middleware then
// reads the token from that cookie when a request has no Bearer token in its
// Authorization header (a request with both is refused: 400, one method per request,
// RFC 6750 §2), and:
//
//   - refuses a cookie-borne token on a method other than GET, HEAD and OPTIONS from
//     a page of another origin (ErrCrossSite, 403): the cookie is ambient, so such a
//     request may be forged (CSRF); so is a WebSocket handshake from another origin;
//   - sends a page load (GET, HEAD) whose access token has expired to
//     GET {prefix}/refresh?redirect_to=<the page>, which rotates the tokens with the
//     refresh cookie and redirects back, so the page opens without a new sign-in; with
//     no valid refresh cookie it clears both cookies and redirects back all the same,
//     and the page then sees an anonymous request.
//
// The GET {prefix}/refresh route exists only in cookie mode. Without this option no
// access cookie is set and none is read.
func WithAccessCookie() Option {
	return func(c *config) error {
		c.web.accessCookie = true
		return nil
	}
}

// WithRealm sets the realm of WWW-Authenticate challenges (default: the issuer).
func WithRealm(realm string) Option {
	return func(c *config) error {
		if realm == "" || quoteSafe(realm) != realm {
			return fmt.Errorf("%w: realm must be non-empty, without quotes, backslashes or controls", ErrConfig)
		}
		c.web.realm = realm
		return nil
	}
}
