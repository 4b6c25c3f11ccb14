package core

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// SignIn is a sign-in the provider has vouched for, as the WithAuthorize hook sees it.
type SignIn struct {
	// Identity is the user the session will belong to. Its Subject is built from the
	// provider's issuer and subject ("https://accounts.google.com#1234"), never from the
	// email; the hook may replace it, add Claims, or change Name.
	Identity Identity
	// Provider is the Name of the provider used.
	Provider string
	// Issuer and ProviderSubject identify the user at the provider: the OpenID Connect
	// iss (as configured) and sub, or GitHub's site and numeric user id.
	Issuer          string
	ProviderSubject string
	// Claims are what the provider said about the user, as JSON decodes them: the
	// id_token's claims, or GitHub's /user answer. Read only.
	Claims map[string]any
}

// handleLogin serves GET {prefix}/login[/{provider}]: it sends the browser to the
// provider with a fresh state, PKCE S256 challenge and nonce, which it keeps in the
// sealed state cookie.
func (a *Auth) handleLogin(ex Exchange) {
	w := &a.cfg.web
	p := w.def
	if name := ex.PathValue("provider"); name != "" {
		if p = w.byName[name]; p == nil {
			a.writeError(ex, fmt.Errorf("%w: unknown provider", ErrNotFound))
			return
		}
	}
	redirectTo, err := checkRedirect(ex.Query("redirect_to"), w.origins, a.ownOrigin(ex))
	if err != nil {
		a.writeError(ex, err)
		return
	}
	redirectURI, err := a.redirectURI(ex, p)
	if err != nil {
		a.writeError(ex, err)
		return
	}
	ctx, cancel := context.WithTimeout(ex.Context(), p.timeout)
	defer cancel()
	ep, err := p.endpoints(ctx)
	if err != nil {
		a.writeError(ex, err)
		return
	}
	st := &loginState{
		ID: newID(), Provider: p.Name, Verifier: oauth2.GenerateVerifier(), Nonce: newID(),
		RedirectTo: redirectTo, RedirectURI: redirectURI, Expires: a.cfg.now().Add(stateTTL).Unix(),
	}
	sealed, err := sealState(a.keys(a.cfg.now()).states[0], st)
	if err != nil {
		a.writeError(ex, err)
		return
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(st.Verifier)}
	if ep.verifier != nil {
		opts = append(opts, oidc.Nonce(st.Nonce))
	}
	if p.HostedDomain != "" {
		opts = append(opts, oauth2.SetAuthURLParam("hd", p.HostedDomain))
	}
	a.setStateCookie(ex, sealed)
	noStore(ex)
	ex.SetHeader("Location", p.oauthConfig(ep, redirectURI).AuthCodeURL(st.ID, opts...))
	ex.Write(http.StatusFound, nil)
}

func (p *provider) oauthConfig(ep *endpoints, redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: ep.oauth,
		RedirectURL: redirectURI, Scopes: p.Scopes,
	}
}

var hostRE = regexp.MustCompile(`^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?$`)

// redirectURI is where the provider sends the browser back: the provider's RedirectURL,
// or the callback route under the public URL, or under the request's own origin.
func (a *Auth) redirectURI(ex Exchange, p *provider) (string, error) {
	if p.RedirectURL != "" {
		return p.RedirectURL, nil
	}
	w := &a.cfg.web
	base := w.publicURL
	if base == "" {
		host := ex.Host()
		if !hostRE.MatchString(host) {
			return "", fmt.Errorf("%w: bad Host header", ErrInvalidRequest)
		}
		base = "http://" + host
		if ex.TLS() {
			base = "https://" + host
		}
	}
	uri := base + w.prefix + "/callback"
	if !p.isDefault {
		uri += "/" + p.Name
	}
	return uri, nil
}

// handleCallback serves GET {prefix}/callback[/{provider}]: the provider's redirect back.
// Order matters: nothing is trusted, and no cookie is set, before the state is proven
// to be the one this browser was given and unexpired, and the callback carries a
// well-formed code or error. Only then is anything written: a code burns the state
// (Store.Consume, single use across instances) before it is exchanged; the provider's
// error writes nothing, as a replay of it can gain nothing. So a callback without a
// code, or with garbage, costs the store nothing, and the writes a well-formed code
// can cause are bounded by the rate limit and expire with the state.
func (a *Auth) handleCallback(ex Exchange) {
	ctx, end := a.startOp(ex.Context(), OpSignIn)
	provider, t, err := a.callback(ctx, ex)
	a.signedIn(ctx, provider, t, err)
	end(err)
}

// callback is handleCallback with ctx, the request's traced context; it answers the
// request and returns the provider, the tokens or the error, for the events.
func (a *Auth) callback(ctx context.Context, ex Exchange) (string, *Tokens, error) {
	w := &a.cfg.web
	st, err := a.checkState(ex)
	if err != nil {
		a.writeError(ex, err)
		return a.callbackProvider(ex), nil, err
	}
	code, err := callbackCode(ex)
	if err != nil {
		a.writeError(ex, err)
		return st.Provider, nil, err
	}
	p := w.byName[st.Provider]
	if e := ex.Query("error"); e != "" {
		// The sign-in attempt is over: its cookie goes.
		a.clearCookie(ex, w.cookies.StateName)
		switch e {
		case "access_denied", "login_required", "consent_required", "interaction_required", "account_selection_required":
			err = fmt.Errorf("%w: %s", ErrLoginDenied, e)
		default:
			err = providerErr("authorization", fmt.Errorf("provider answered error=%.64q", e))
		}
		a.callbackError(ex, st, err)
		return p.Name, nil, err
	}
	if err := a.spendState(ctx, st); err != nil {
		a.writeError(ex, err)
		return p.Name, nil, err
	}
	// From here on the state is spent: its cookie goes, whatever the outcome.
	a.clearCookie(ex, w.cookies.StateName)
	pctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, p.client), p.timeout)
	defer cancel()
	s, err := p.identify(pctx, code, st)
	if err != nil {
		a.callbackError(ex, st, err)
		return p.Name, nil, err
	}
	if err := a.admit(ctx, s); err != nil {
		a.callbackError(ex, st, err)
		return p.Name, nil, err
	}
	t, err := a.Issue(ctx, s.Identity, clientOf(ex))
	if err != nil {
		a.callbackError(ex, st, err)
		return p.Name, nil, err
	}
	if wantsJSON(ex) {
		writeTokens(ex, t)
		return p.Name, t, nil
	}
	a.setRefreshCookie(ex, t)
	a.setAccessCookie(ex, t)
	redirect(ex, st.RedirectTo)
	return p.Name, t, nil
}

// callbackProvider is the configured provider a callback's route names, or "" for
// one that names none: a label for the events, never what the client wrote.
func (a *Auth) callbackProvider(ex Exchange) string {
	w := &a.cfg.web
	if name := ex.PathValue("provider"); name != "" {
		if p := w.byName[name]; p != nil {
			return p.Name
		}
		return ""
	}
	if w.def != nil {
		return w.def.Name
	}
	return ""
}

// callbackError answers a callback whose state was good but whose sign-in failed. A
// browser is sent back to the page it came from, with error and error_description in
// the query (as an OAuth client would be), so the app can show what happened; a JSON
// client gets the error itself.
func (a *Auth) callbackError(ex Exchange, st *loginState, err error) {
	u, perr := url.Parse(st.RedirectTo)
	if wantsJSON(ex) || perr != nil {
		a.writeError(ex, err)
		return
	}
	r := ErrorResponse(err)
	code := r.Code
	if code == "" {
		code = "server_error"
	}
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", r.Description)
	u.RawQuery = q.Encode()
	noStore(ex)
	ex.SetHeader("Location", u.String())
	ex.Write(http.StatusFound, nil)
}

// maxCode bounds the authorization code read from the callback.
const maxCode = 2048

// callbackCode returns the code of a callback, or "" for a callback that carries the
// provider's error instead. Either must be there and well-formed (RFC 6749 §4.1.2:
// printable ASCII); anything else is refused before any write or call to the provider.
func callbackCode(ex Exchange) (string, error) {
	code, e := ex.Query("code"), ex.Query("error")
	switch {
	case e != "" && code != "":
		return "", fmt.Errorf("%w: callback with both a code and an error", ErrInvalidRequest)
	case e != "":
		if !printable(e, 256) {
			return "", fmt.Errorf("%w: malformed error in the callback", ErrInvalidRequest)
		}
		return "", nil
	case code == "":
		return "", fmt.Errorf("%w: no code in the callback", ErrInvalidRequest)
	case !printable(code, maxCode):
		return "", fmt.Errorf("%w: malformed code in the callback", ErrInvalidRequest)
	}
	return code, nil
}

// printable reports whether s is 1 to max bytes of printable ASCII (VSCHAR, %x20-7E).
func printable(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// spendState burns a state with Store.Consume until its expiry: of every callback
// carrying the same state, replayed or racing, on one instance or on several sharing
// the store, exactly one gets past here.
func (a *Auth) spendState(ctx context.Context, st *loginState) error {
	first, err := a.store.Consume(ctx, "state:"+st.ID, time.Unix(st.Expires, 0))
	if err != nil {
		return storeErr(err)
	}
	if !first {
		return fmt.Errorf("%w: state already used", ErrLoginState)
	}
	return nil
}

// checkState opens the state cookie and matches it with the state parameter and the
// route's provider. It writes nothing: spendState burns the state.
func (a *Auth) checkState(ex Exchange) (*loginState, error) {
	w := &a.cfg.web
	raw, ok, err := a.cookie(ex, w.cookies.StateName)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: no state cookie", ErrLoginState)
	}
	now := a.cfg.now()
	st, err := openState(a.keys(now).states, raw, now)
	if err != nil {
		return nil, err
	}
	q := ex.Query("state")
	if subtle.ConstantTimeCompare([]byte(q), []byte(st.ID)) != 1 {
		return nil, fmt.Errorf("%w: state does not match", ErrLoginState)
	}
	// The callback must come back on the redirect URI of the provider the state was made
	// for: the default provider's is the bare callback, each other one's its own
	// (distinct redirect URIs against mix-up, RFC 9700 §4.4.2).
	p := w.byName[st.Provider]
	if p == nil {
		return nil, fmt.Errorf("%w: wrong provider", ErrLoginState)
	}
	want := p.Name
	if p.isDefault {
		want = ""
	}
	if ex.PathValue("provider") != want {
		return nil, fmt.Errorf("%w: wrong provider", ErrLoginState)
	}
	return st, nil
}

// admit applies the allow-lists and the WithAuthorize hook.
func (a *Auth) admit(ctx context.Context, s *SignIn) error {
	w := &a.cfg.web
	if len(w.allowedEmails) > 0 || len(w.allowedDomains) > 0 {
		email := strings.ToLower(s.Identity.Email)
		domain := email[strings.LastIndexByte(email, '@')+1:]
		if !w.allowedEmails[email] && !w.allowedDomains[domain] {
			return fmt.Errorf("%w: email not on the allow-list", ErrUserNotAllowed)
		}
	}
	if w.authorize == nil {
		return nil
	}
	if err := w.authorize(ctx, s); err != nil {
		for _, c := range categories {
			if errors.Is(err, c) {
				return err
			}
		}
		return fmt.Errorf("%w: %w", ErrUserNotAllowed, err)
	}
	if s.Identity.Subject == "" {
		return fmt.Errorf("gatehouse: authorize hook left the subject empty")
	}
	return nil
}

func wantsJSON(ex Exchange) bool {
	return strings.Contains(strings.ToLower(ex.Header("Accept")), "application/json")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
