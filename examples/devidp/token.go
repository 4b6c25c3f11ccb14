package devidp

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tokenError is an error answer of the token endpoint (RFC 6749 §5.2).
type tokenError struct {
	status int
	code   string
	desc   string
	basic  bool // the client tried HTTP Basic: answer with a Basic challenge
}

func (e *tokenError) write(w http.ResponseWriter) {
	if e.status == http.StatusUnauthorized && e.basic {
		w.Header().Set("WWW-Authenticate", `Basic realm="devidp"`)
	}
	noStore(w)
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

func badRequest(code, desc string) *tokenError {
	return &tokenError{status: http.StatusBadRequest, code: code, desc: desc}
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// token serves the token endpoint: the authorization code grant with PKCE.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	form, terr := readForm(w, r)
	if terr == nil {
		terr = p.exchange(w, r, form)
	}
	if terr != nil {
		terr.write(w)
	}
}

// readForm reads a form-encoded body of at most 64 KiB in which no parameter repeats
// (RFC 6749 §3.2).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *tokenError) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, badRequest("invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, badRequest("invalid_request", "the body could not be read")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, badRequest("invalid_request", k+" repeated")
		}
	}
	return r.PostForm, nil
}

func (p *Provider) exchange(w http.ResponseWriter, r *http.Request, form url.Values) *tokenError {
	client, terr := p.authenticateClient(r, form)
	if terr != nil {
		return terr
	}
	if gt := form.Get("grant_type"); gt != "authorization_code" {
		if gt == "" {
			return badRequest("invalid_request", "grant_type is required")
		}
		return badRequest("unsupported_grant_type", "only authorization_code is supported")
	}
	code := form.Get("code")
	if code == "" {
		return badRequest("invalid_request", "code is required")
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.codes[code]
	switch {
	case g == nil || !now.Before(g.expires):
		return badRequest("invalid_grant", "unknown or expired code")
	case g.used:
		// A replayed code: refuse it, and revoke what the first exchange got (RFC 6749
		// §4.1.2).
		delete(p.tokens, g.accessToken)
		return badRequest("invalid_grant", "code already used")
	}
	// The code is spent by this attempt whatever its outcome, so that a verifier
	// cannot be guessed by trying.
	g.used = true
	switch {
	case g.clientID != client.ID:
		return badRequest("invalid_grant", "code issued to another client")
	case form.Get("redirect_uri") != g.redirectURI:
		return badRequest("invalid_grant", "redirect_uri differs from the authorization request's")
	case !verifierMatches(form.Get("code_verifier"), g.challenge):
		return badRequest("invalid_grant", "code_verifier does not match the code_challenge")
	}
	at := newSecret()
	idToken, err := p.sign(p.idClaims(g, at, now))
	if err != nil {
		return &tokenError{status: http.StatusInternalServerError, code: "server_error", desc: "signing failed"}
	}
	issued := *g
	issued.expires = now.Add(TokenTTL)
	if err := p.remember(p.tokens, at, &issued); err != nil {
		return &tokenError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: err.Error()}
	}
	g.accessToken = at
	noStore(w)
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": at, "token_type": "Bearer", "expires_in": int(TokenTTL.Seconds()),
		"id_token": idToken, "scope": "openid email profile",
	})
	return nil
}

// authenticateClient authenticates the client with HTTP Basic (client_secret_basic) or
// with client_id and client_secret in the body (client_secret_post), never both; a
// client without a secret sends only its client_id ("none").
func (p *Provider) authenticateClient(r *http.Request, form url.Values) (Client, *tokenError) {
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: both are form-encoded before they are joined.
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return Client{}, &tokenError{status: http.StatusUnauthorized, code: "invalid_client", desc: "malformed credentials", basic: true}
		}
		if form.Has("client_secret") || (form.Has("client_id") && form.Get("client_id") != id) {
			return Client{}, badRequest("invalid_request", "client credentials both in the header and in the body")
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	refused := &tokenError{status: http.StatusUnauthorized, code: "invalid_client", desc: "unknown client or wrong secret", basic: basic}
	c, ok := p.clients[id]
	if !ok || id == "" {
		return Client{}, refused
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		return Client{}, refused
	}
	return c, nil
}

// verifierMatches checks a PKCE code_verifier against its S256 challenge (RFC 7636
// §4.6): 43 to 128 unreserved characters whose SHA-256, base64url, is the challenge.
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, c := range verifier {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(b64.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// idClaims are the claims of the id_token issued for g with access token at.
func (p *Provider) idClaims(g *grant, at string, now time.Time) map[string]any {
	sum := sha256.Sum256([]byte(at))
	c := userClaims(g.email)
	c["iss"], c["aud"], c["nonce"] = p.issuer, g.clientID, g.nonce
	c["iat"], c["exp"] = now.Unix(), now.Unix()+int64(TokenTTL.Seconds())
	c["auth_time"] = g.authTime.Unix()
	c["at_hash"] = b64.EncodeToString(sum[:16]) // OpenID Connect Core §3.1.3.6
	return c
}

// userClaims are what the provider says about the user with this email.
func userClaims(email string) map[string]any {
	return map[string]any{"sub": Subject(email), "email": email, "email_verified": true, "name": email[:strings.LastIndexByte(email, '@')]}
}

// Subject is the sub claim of the user with this email: derived from the lower-cased
// address, so that it stays the same across sign-ins and restarts.
func Subject(email string) string {
	sum := sha256.Sum256([]byte("gatehouse devidp subject\x00" + strings.ToLower(email)))
	return "dev-" + hex.EncodeToString(sum[:12])
}

// userinfo serves the UserInfo endpoint (OpenID Connect Core §5.3) for the access
// tokens of the token endpoint.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	p.mu.Lock()
	g := p.tokens[tok]
	p.mu.Unlock()
	if !strings.EqualFold(scheme, "Bearer") || g == nil || !p.now().Before(g.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="devidp", error="invalid_token"`)
		noStore(w)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, userClaims(g.email))
}
