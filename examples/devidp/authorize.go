package devidp

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
)

// authRequest is a checked authorization request (OpenID Connect Core §3.1.2.1).
type authRequest struct {
	client      Client
	redirectURI string
	state       string
	nonce       string
	challenge   string
	scope       string
}

// authError is a refused authorization request. Without a trusted redirect URI it is
// shown on a page; otherwise it is sent back to the client (RFC 6749 §4.1.2.1).
type authError struct {
	redirect bool
	code     string
	desc     string
}

// authParams are the parameters the sign-in form carries from the GET to the POST.
var authParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"}

var challengeRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// parseAuthRequest checks an authorization request. The client and the redirect URI
// come first: until both are trusted, nothing may be sent back to the redirect URI.
func (p *Provider) parseAuthRequest(v url.Values) (*authRequest, *authError) {
	page := func(desc string) *authError { return &authError{code: "invalid_request", desc: desc} }
	if len(v["client_id"]) != 1 {
		return nil, page("client_id missing or repeated")
	}
	client, ok := p.clients[v.Get("client_id")]
	if !ok {
		return nil, page("unknown client_id")
	}
	if len(v["redirect_uri"]) != 1 {
		return nil, page("redirect_uri missing or repeated")
	}
	ru := v.Get("redirect_uri")
	registered := false
	for _, u := range client.RedirectURIs {
		registered = registered || u == ru
	}
	if !registered {
		return nil, page("redirect_uri is not registered for this client")
	}
	req := &authRequest{client: client, redirectURI: ru, state: v.Get("state")}
	back := func(code, desc string) (*authRequest, *authError) {
		return req, &authError{redirect: true, code: code, desc: desc}
	}
	for _, name := range authParams {
		if len(v[name]) > 1 {
			return back("invalid_request", name+" repeated")
		}
	}
	if v.Get("response_type") != "code" {
		return back("unsupported_response_type", "only response_type=code is supported")
	}
	req.scope = v.Get("scope")
	if !hasScope(req.scope, "openid") {
		return back("invalid_scope", "scope must include openid")
	}
	if v.Get("code_challenge_method") != "S256" {
		return back("invalid_request", "PKCE with code_challenge_method=S256 is required")
	}
	if req.challenge = v.Get("code_challenge"); !challengeRE.MatchString(req.challenge) {
		return back("invalid_request", "code_challenge must be 43 base64url characters")
	}
	if req.nonce = v.Get("nonce"); req.nonce == "" || len(req.nonce) > 256 {
		return back("invalid_request", "a nonce of at most 256 characters is required")
	}
	if len(req.state) > 1024 {
		return back("invalid_request", "state longer than 1024 characters")
	}
	return req, nil
}

func hasScope(scope, want string) bool {
	for _, s := range strings.Fields(scope) {
		if s == want {
			return true
		}
	}
	return false
}

// authorize serves the authorization endpoint: GET shows the sign-in page, POST is
// that page's form coming back with the email (or a cancel).
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			p.errorPage(w, "the form could not be read")
			return
		}
		v = r.PostForm
	}
	req, aerr := p.parseAuthRequest(v)
	switch {
	case aerr != nil && !aerr.redirect:
		p.errorPage(w, aerr.desc)
		return
	case aerr != nil:
		p.sendBack(w, r, req, url.Values{"error": {aerr.code}, "error_description": {aerr.desc}})
		return
	case r.Method != http.MethodPost:
		p.signInPage(w, http.StatusOK, req, "", "")
		return
	case v.Get("action") == "cancel":
		p.sendBack(w, r, req, url.Values{"error": {"access_denied"}, "error_description": {"the user cancelled the sign-in"}})
		return
	}
	email, ok := checkEmail(v.Get("email"))
	if !ok {
		p.signInPage(w, http.StatusBadRequest, req, v.Get("email"), "Type an email address, such as ada@example.com.")
		return
	}
	now := p.now()
	code := newSecret()
	g := &grant{
		clientID: req.client.ID, redirectURI: req.redirectURI, challenge: req.challenge,
		nonce: req.nonce, email: email, authTime: now, expires: now.Add(CodeTTL),
	}
	p.mu.Lock()
	err := p.remember(p.codes, code, g)
	p.mu.Unlock()
	if err != nil {
		p.sendBack(w, r, req, url.Values{"error": {"temporarily_unavailable"}, "error_description": {err.Error()}})
		return
	}
	p.sendBack(w, r, req, url.Values{"code": {code}})
}

// checkEmail accepts a plain address (no display name), at most 254 bytes, and returns
// it without surrounding spaces.
func checkEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return "", false
	}
	return s, true
}

// sendBack redirects the browser to the client's redirect URI with params, the state
// and the issuer (RFC 9207).
func (p *Provider) sendBack(w http.ResponseWriter, r *http.Request, req *authRequest, params url.Values) {
	u, _ := url.Parse(req.redirectURI) // registered, so it parses
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	if req.state != "" {
		q.Set("state", req.state)
	}
	q.Set("iss", p.issuer)
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// pageStyle is the style sheet of the pages, allowed by its hash in their CSP.
const pageStyle = `
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1d1d1f; background: #f4f4f6; }
.banner { background: #b3261e; color: #fff; padding: 12px 20px; font-size: 15px; }
main { max-width: 460px; margin: 40px auto; background: #fff; border-radius: 10px; padding: 24px 28px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
h1 { font-size: 22px; margin: 0 0 8px; }
code { font-size: 13px; background: #eee; padding: 1px 4px; border-radius: 4px; word-break: break-all; }
label { display: block; font-weight: 600; margin: 18px 0 6px; }
input[type=email] { width: 100%; box-sizing: border-box; font-size: 16px; padding: 8px 10px; border: 1px solid #999; border-radius: 6px; }
.buttons { margin-top: 18px; display: flex; gap: 10px; }
button { font-size: 16px; padding: 8px 18px; border-radius: 6px; border: 0; background: #1a5fb4; color: #fff; cursor: pointer; }
button.secondary { background: #ddd; color: #222; }
.error { color: #b3261e; font-weight: 600; }
`

func pageCSP() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; frame-ancestors 'none'"
}

var pages = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Development identity provider</title>
<style>{{.Style}}</style>
</head>
<body>
<div class="banner" id="devidp-banner" role="alert"><strong>Development identity provider.</strong>
For local development only: anyone can sign in here as any email address, without a password.
Never enable it in production.</div>
<main>
{{if .Fatal}}<h1>Cannot sign in</h1>
<p class="error" id="error">{{.Fatal}}</p>
{{else}}<h1>Sign in</h1>
<p>to <b>{{.ClientID}}</b>, which will receive your email address. You will then be sent back to <code>{{.RedirectURI}}</code>.</p>
{{if .Error}}<p class="error" id="error">{{.Error}}</p>{{end}}
<form method="post" action="authorize">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label for="email">Email address</label>
<input id="email" name="email" type="email" required autofocus autocomplete="email" placeholder="ada@example.com" value="{{.Email}}">
<div class="buttons">
<button id="submit" type="submit" name="action" value="signin">Sign in</button>
<button id="cancel" type="submit" name="action" value="cancel" formnovalidate class="secondary">Cancel</button>
</div>
</form>
{{end}}</main>
</body>
</html>
`))

type hidden struct{ Name, Value string }

type pageData struct {
	Style                 template.CSS
	Fatal, Error          string
	ClientID, RedirectURI string
	Email                 string
	Hidden                []hidden
}

func (p *Provider) render(w http.ResponseWriter, status int, d pageData) {
	d.Style = template.CSS(pageStyle)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	pages.Execute(w, d)
}

func (p *Provider) errorPage(w http.ResponseWriter, msg string) {
	p.render(w, http.StatusBadRequest, pageData{Fatal: msg})
}

func (p *Provider) signInPage(w http.ResponseWriter, status int, req *authRequest, email, msg string) {
	d := pageData{ClientID: req.client.ID, RedirectURI: req.redirectURI, Email: email, Error: msg}
	vals := map[string]string{
		"client_id": req.client.ID, "redirect_uri": req.redirectURI, "response_type": "code",
		"scope": req.scope, "state": req.state, "nonce": req.nonce,
		"code_challenge": req.challenge, "code_challenge_method": "S256",
	}
	for _, name := range authParams {
		if vals[name] != "" {
			d.Hidden = append(d.Hidden, hidden{name, vals[name]})
		}
	}
	p.render(w, status, d)
}
