package devidp_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gatehouse-auth/gatehouse/examples/devidp"
	"golang.org/x/oauth2"
)

const (
	clientID     = "app"
	clientSecret = "app-secret"
	publicID     = "public-app"
	email        = "Ada@Example.com"
)

// clock is a settable clock for the provider.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// env is a provider served at {server}/devidp, and a client of it (the redirect URI
// is never served: the tests read the redirect's Location).
type env struct {
	t        *testing.T
	srv      *httptest.Server
	p        *devidp.Provider
	clock    *clock
	issuer   string
	redirect string
	http     *http.Client // does not follow redirects
}

func newEnv(t *testing.T) *env {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, clock: &clock{now: time.Now()}, issuer: srv.URL + "/devidp", redirect: "http://app.test/callback"}
	p, err := devidp.New(devidp.Config{
		Issuer: e.issuer,
		Clients: []devidp.Client{
			{ID: clientID, Secret: clientSecret, RedirectURIs: []string{e.redirect}},
			{ID: publicID, RedirectURIs: []string{e.redirect}},
		},
		Now: e.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.p = p
	mux.Handle("/devidp/", p)
	e.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return e
}

// oauth returns the x/oauth2 configuration of a client, from discovery.
func (e *env) oauth(id, secret string, style oauth2.AuthStyle) (*oauth2.Config, *oidc.Provider) {
	e.t.Helper()
	op, err := oidc.NewProvider(context.Background(), e.issuer)
	if err != nil {
		e.t.Fatalf("discovery: %v", err)
	}
	ep := op.Endpoint()
	ep.AuthStyle = style
	return &oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: ep, RedirectURL: e.redirect,
		Scopes: []string{oidc.ScopeOpenID, "email"}}, op
}

// res is an answer, read.
type res struct {
	status int
	header http.Header
	body   string
}

func (e *env) do(req *http.Request) res {
	e.t.Helper()
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return res{resp.StatusCode, resp.Header, string(b)}
}

func (e *env) get(u string) res {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return e.do(req)
}

func (e *env) postForm(u string, v url.Values) res {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.do(req)
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// signIn shows the sign-in page for authURL, submits it with the email, and returns the
// query of the redirect back to the client.
func (e *env) signIn(authURL, email string) url.Values {
	e.t.Helper()
	page := e.get(authURL)
	if page.status != http.StatusOK || !strings.Contains(page.body, "Development identity provider") {
		e.t.Fatalf("sign-in page: %d %s", page.status, page.body)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		e.t.Fatalf("sign-in page CSP %q", csp)
	}
	form := url.Values{"email": {email}, "action": {"signin"}}
	for _, m := range hiddenRE.FindAllStringSubmatch(page.body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	return e.back(e.postForm(e.issuer+"/authorize", form))
}

// back checks that r redirects to the client's redirect URI and returns its query.
func (e *env) back(r res) url.Values {
	e.t.Helper()
	loc, err := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), e.redirect+"?") {
		e.t.Fatalf("want a redirect to %s, got %d %q %s", e.redirect, r.status, r.header.Get("Location"), r.body)
	}
	q := loc.Query()
	if q.Get("iss") != e.issuer {
		e.t.Errorf("redirect iss=%q, want %q (RFC 9207)", q.Get("iss"), e.issuer)
	}
	return q
}

// TestCodeFlowWithGoOIDC signs in with go-oidc and x/oauth2 as the client, as gatehouse
// does, and checks everything they verify and what they do not (nonce, email_verified).
func TestCodeFlowWithGoOIDC(t *testing.T) {
	for _, tc := range []struct {
		name         string
		id, secret   string
		style        oauth2.AuthStyle
		wantAuthFail bool
	}{
		{"client_secret_basic", clientID, clientSecret, oauth2.AuthStyleInHeader, false},
		{"client_secret_post", clientID, clientSecret, oauth2.AuthStyleInParams, false},
		{"auto-detect", clientID, clientSecret, oauth2.AuthStyleAutoDetect, false},
		{"public client", publicID, "", oauth2.AuthStyleInParams, false},
		{"wrong secret, basic", clientID, "nope", oauth2.AuthStyleInHeader, true},
		{"wrong secret, post", clientID, "nope", oauth2.AuthStyleInParams, true},
		{"secret for a public client", publicID, "guess", oauth2.AuthStyleInParams, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			cfg, op := e.oauth(tc.id, tc.secret, tc.style)
			verifier := oauth2.GenerateVerifier()
			q := e.signIn(cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-1")), email)
			if q.Get("state") != "state-1" || q.Get("code") == "" {
				t.Fatalf("redirect query %v", q)
			}
			ctx := context.Background()
			tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
			if tc.wantAuthFail {
				var re *oauth2.RetrieveError
				if !errorsAs(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
					t.Fatalf("exchange with bad client credentials: %v, want 401 invalid_client", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := op.Verifier(&oidc.Config{ClientID: tc.id, SupportedSigningAlgs: []string{oidc.ES256}}).Verify(ctx, raw)
			if err != nil {
				t.Fatalf("go-oidc refused the id_token: %v", err)
			}
			var c struct {
				Email         string `json:"email"`
				EmailVerified bool   `json:"email_verified"`
				Name          string `json:"name"`
				AuthTime      int64  `json:"auth_time"`
			}
			if err := idt.Claims(&c); err != nil {
				t.Fatal(err)
			}
			switch {
			case idt.Nonce != "nonce-1":
				t.Errorf("nonce %q", idt.Nonce)
			case idt.Issuer != e.issuer || len(idt.Audience) != 1 || idt.Audience[0] != tc.id:
				t.Errorf("iss %q aud %v", idt.Issuer, idt.Audience)
			case idt.Subject != devidp.Subject(email) || idt.Subject != devidp.Subject(strings.ToLower(email)):
				t.Errorf("sub %q, want the same for any letter case of the email", idt.Subject)
			case c.Email != email || !c.EmailVerified || c.Name != "Ada" || c.AuthTime == 0:
				t.Errorf("claims %+v", c)
			case idt.Expiry.Sub(idt.IssuedAt) != devidp.TokenTTL:
				t.Errorf("exp - iat = %v", idt.Expiry.Sub(idt.IssuedAt))
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			ui, err := op.UserInfo(ctx, oauth2.StaticTokenSource(tok))
			if err != nil || ui.Subject != idt.Subject || ui.Email != email || !ui.EmailVerified {
				t.Errorf("userinfo %+v, %v", ui, err)
			}
		})
	}
}

func errorsAs(err error, re **oauth2.RetrieveError) bool {
	r, ok := err.(*oauth2.RetrieveError)
	if ok {
		*re = r
	}
	return ok
}

// authorizeURL is a valid authorization request of the confidential client, with
// changes (a value of "" deletes the parameter).
func (e *env) authorizeURL(change map[string]string) string {
	q := url.Values{
		"client_id": {clientID}, "redirect_uri": {e.redirect}, "response_type": {"code"},
		"scope": {"openid email"}, "state": {"st"}, "nonce": {"n"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(strings.Repeat("v", 43))}, "code_challenge_method": {"S256"},
	}
	for k, v := range change {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	return e.issuer + "/authorize?" + q.Encode()
}

// TestAuthorizeRefusals: without a trusted client and redirect URI nothing is sent back
// (RFC 6749 §4.1.2.1); the other refusals go back to the client with the state.
func TestAuthorizeRefusals(t *testing.T) {
	e := newEnv(t)
	pages := map[string]map[string]string{
		"unknown client":        {"client_id": "evil"},
		"no client":             {"client_id": ""},
		"unregistered redirect": {"redirect_uri": "http://evil.test/callback"},
		"redirect prefix only":  {"redirect_uri": e.redirect + "/more"},
		"no redirect":           {"redirect_uri": ""},
	}
	for name, change := range pages {
		t.Run(name, func(t *testing.T) {
			r := e.get(e.authorizeURL(change))
			if r.status != http.StatusBadRequest || r.header.Get("Location") != "" || !strings.Contains(r.body, "Cannot sign in") {
				t.Fatalf("got %d Location=%q", r.status, r.header.Get("Location"))
			}
		})
	}
	back := []struct {
		name   string
		change map[string]string
		code   string
	}{
		{"no PKCE", map[string]string{"code_challenge": "", "code_challenge_method": ""}, "invalid_request"},
		{"plain PKCE", map[string]string{"code_challenge_method": "plain", "code_challenge": strings.Repeat("v", 43)}, "invalid_request"},
		{"short challenge", map[string]string{"code_challenge": "abc"}, "invalid_request"},
		{"implicit flow", map[string]string{"response_type": "token"}, "unsupported_response_type"},
		{"no openid scope", map[string]string{"scope": "email"}, "invalid_scope"},
		{"no nonce", map[string]string{"nonce": ""}, "invalid_request"},
	}
	for _, tc := range back {
		t.Run(tc.name, func(t *testing.T) {
			q := e.back(e.get(e.authorizeURL(tc.change)))
			if q.Get("error") != tc.code || q.Get("state") != "st" || q.Get("code") != "" {
				t.Fatalf("redirect query %v, want error=%s and the state", q, tc.code)
			}
		})
	}
	t.Run("repeated parameter", func(t *testing.T) {
		q := e.back(e.get(e.authorizeURL(nil) + "&nonce=again"))
		if q.Get("error") != "invalid_request" {
			t.Fatalf("redirect query %v", q)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		u, _ := url.Parse(e.authorizeURL(nil))
		form := u.Query()
		form.Set("action", "cancel")
		q := e.back(e.postForm(e.issuer+"/authorize", form))
		if q.Get("error") != "access_denied" || q.Get("code") != "" {
			t.Fatalf("redirect query %v", q)
		}
	})
	for _, bad := range []string{"", "ada", "Ada <ada@example.com>", "ada@", strings.Repeat("a", 250) + "@example.com"} {
		t.Run("email "+bad, func(t *testing.T) {
			u, _ := url.Parse(e.authorizeURL(nil))
			form := u.Query()
			form.Set("email", bad)
			r := e.postForm(e.issuer+"/authorize", form)
			if r.status != http.StatusBadRequest || r.header.Get("Location") != "" || !strings.Contains(r.body, `id="error"`) {
				t.Fatalf("got %d Location=%q", r.status, r.header.Get("Location"))
			}
		})
	}
	t.Run("wrong method", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodDelete, e.issuer+"/authorize", nil)
		if r := e.do(req); r.status != http.StatusMethodNotAllowed {
			t.Fatalf("got %d", r.status)
		}
	})
}

// TestTokenRefusals: every way a code exchange must fail, each with a fresh code.
func TestTokenRefusals(t *testing.T) {
	verifier := strings.Repeat("v", 43)
	cases := []struct {
		name   string
		before func(e *env)
		edit   func(f url.Values)
		status int
		code   string
	}{
		{"wrong verifier", nil, func(f url.Values) { f.Set("code_verifier", strings.Repeat("w", 43)) }, 400, "invalid_grant"},
		{"no verifier", nil, func(f url.Values) { f.Del("code_verifier") }, 400, "invalid_grant"},
		{"verifier is the challenge", nil, func(f url.Values) { f.Set("code_verifier", oauth2.S256ChallengeFromVerifier(verifier)) }, 400, "invalid_grant"},
		{"other redirect_uri", nil, func(f url.Values) { f.Set("redirect_uri", "http://app.test/other") }, 400, "invalid_grant"},
		{"no redirect_uri", nil, func(f url.Values) { f.Del("redirect_uri") }, 400, "invalid_grant"},
		{"unknown code", nil, func(f url.Values) { f.Set("code", "nope") }, 400, "invalid_grant"},
		{"expired code", func(e *env) { e.clock.add(devidp.CodeTTL) }, nil, 400, "invalid_grant"},
		{"another client's code", nil, func(f url.Values) { f.Set("client_id", publicID); f.Del("client_secret") }, 400, "invalid_grant"},
		{"wrong secret", nil, func(f url.Values) { f.Set("client_secret", "nope") }, 401, "invalid_client"},
		{"no client", nil, func(f url.Values) { f.Del("client_id"); f.Del("client_secret") }, 401, "invalid_client"},
		{"other grant", nil, func(f url.Values) { f.Set("grant_type", "password") }, 400, "unsupported_grant_type"},
		{"no grant type", nil, func(f url.Values) { f.Del("grant_type") }, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			code := e.signIn(e.authorizeURL(nil), email).Get("code")
			if tc.before != nil {
				tc.before(e)
			}
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.redirect},
				"code_verifier": {verifier}, "client_id": {clientID}, "client_secret": {clientSecret}}
			if tc.edit != nil {
				tc.edit(form)
			}
			r := e.postForm(e.issuer+"/token", form)
			var body map[string]string
			json.Unmarshal([]byte(r.body), &body)
			if r.status != tc.status || body["error"] != tc.code || strings.Contains(r.body, "id_token") {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
			}
		})
	}

	t.Run("replayed code", func(t *testing.T) {
		e := newEnv(t)
		cfg, op := e.oauth(clientID, clientSecret, oauth2.AuthStyleInParams)
		v := oauth2.GenerateVerifier()
		code := e.signIn(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oidc.Nonce("n")), email).Get("code")
		tok, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(v)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("second exchange: %v, want invalid_grant", err)
		}
		if _, err := op.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
			t.Fatal("the access token of a replayed code still works")
		}
	})

	t.Run("a failed attempt spends the code", func(t *testing.T) {
		e := newEnv(t)
		code := e.signIn(e.authorizeURL(nil), email).Get("code")
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {e.redirect},
			"code_verifier": {strings.Repeat("w", 43)}, "client_id": {clientID}, "client_secret": {clientSecret}}
		e.postForm(e.issuer+"/token", form)
		form.Set("code_verifier", verifier)
		if r := e.postForm(e.issuer+"/token", form); r.status != http.StatusBadRequest {
			t.Fatalf("the right verifier after a wrong one: %d %s", r.status, r.body)
		}
	})
}

func TestNewRefuses(t *testing.T) {
	ok := []devidp.Client{{ID: "a", RedirectURIs: []string{"http://x.test/cb"}}}
	for name, cfg := range map[string]devidp.Config{
		"no issuer":           {Clients: ok},
		"issuer with query":   {Issuer: "http://x.test/idp?a=b", Clients: ok},
		"ftp issuer":          {Issuer: "ftp://x.test/idp", Clients: ok},
		"no client":           {Issuer: "http://x.test/idp"},
		"client without URI":  {Issuer: "http://x.test/idp", Clients: []devidp.Client{{ID: "a"}}},
		"relative URI":        {Issuer: "http://x.test/idp", Clients: []devidp.Client{{ID: "a", RedirectURIs: []string{"/cb"}}}},
		"two clients, one id": {Issuer: "http://x.test/idp", Clients: append(ok, ok[0])},
	} {
		if _, err := devidp.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
