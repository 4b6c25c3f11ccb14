package core

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// identify exchanges the code (with the PKCE verifier of the state) and finds out who
// the user is: from the verified id_token for OpenID Connect, from the API for GitHub.
// The result always has a verified email.
func (p *provider) identify(ctx context.Context, code string, st *loginState) (*SignIn, error) {
	ep, err := p.endpoints(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := p.oauthConfig(ep, st.RedirectURI).Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return nil, exchangeErr(err)
	}
	if ep.verifier == nil {
		return p.githubUser(ctx, tok)
	}
	return p.oidcUser(ctx, ep.verifier, tok, st.Nonce)
}

// exchangeErr classifies a failed code exchange. A provider that refuses the code
// (invalid_grant: unknown, expired, already used, or a verifier that does not match)
// denies the sign-in: 401; GitHub calls that bad_verification_code. Anything else is
// the provider failing: 502 or 504.
func exchangeErr(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && (re.ErrorCode == "invalid_grant" || re.ErrorCode == "bad_verification_code") {
		return fmt.Errorf("%w: code refused", ErrLoginDenied)
	}
	return providerErr("code exchange", err)
}

// oidcUser verifies the id_token: signature with the provider's keys and an algorithm
// from idTokenAlgs, iss, aud containing the client id and exp (go-oidc's Verify), then
// what Verify does not check: the nonce, no other audience, azp, then email_verified
// and the hosted domain.
func (p *provider) oidcUser(ctx context.Context, v *oidc.IDTokenVerifier, tok *oauth2.Token, nonce string) (*SignIn, error) {
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return nil, providerErr("code exchange", errors.New("no id_token in the token response"))
	}
	note := &keyFetchNote{}
	idt, err := v.Verify(context.WithValue(ctx, keyFetchKey{}, note), raw)
	if note.err != nil {
		return nil, providerErr("key fetch", note.err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIDToken, err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, fmt.Errorf("%w: nonce does not match", ErrIDToken)
	}
	if idt.Subject == "" {
		return nil, fmt.Errorf("%w: no subject", ErrIDToken)
	}
	var c struct {
		Email             string `json:"email"`
		EmailVerified     any    `json:"email_verified"`
		Name              string `json:"name"`
		PreferredUsername string `json:"preferred_username"`
		HostedDomain      string `json:"hd"`
		AuthorizedParty   string `json:"azp"`
	}
	all := map[string]any{}
	if err := idt.Claims(&c); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrIDToken, err)
	}
	if err := idt.Claims(&all); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrIDToken, err)
	}
	// OIDC Core §3.1.3.7: no audience but this client (Verify only checks that it is
	// one of them), and an azp, when present, that names this client.
	for _, aud := range idt.Audience {
		if aud != p.ClientID {
			return nil, fmt.Errorf("%w: audience other than this client", ErrIDToken)
		}
	}
	if c.AuthorizedParty != "" && c.AuthorizedParty != p.ClientID {
		return nil, fmt.Errorf("%w: azp is another client", ErrIDToken)
	}
	// Some providers send the boolean as a string.
	if c.Email == "" || (c.EmailVerified != true && c.EmailVerified != "true") {
		return nil, ErrEmailNotVerified
	}
	if p.HostedDomain != "" && c.HostedDomain != p.HostedDomain {
		return nil, fmt.Errorf("%w: not in the hosted domain", ErrUserNotAllowed)
	}
	name := c.Name
	if name == "" {
		name = c.PreferredUsername
	}
	// The configured issuer, not the token's iss: Google may write it without https://.
	return &SignIn{
		Identity:        Identity{Subject: p.Issuer + "#" + idt.Subject, Email: c.Email, Name: name, Provider: p.Name},
		Provider:        p.Name,
		Issuer:          p.Issuer,
		ProviderSubject: idt.Subject,
		Claims:          all,
	}, nil
}

// githubUser reads the user (/user) and their emails (/user/emails) with the access
// token, and takes the primary email, which must be verified.
func (p *provider) githubUser(ctx context.Context, tok *oauth2.Token) (*SignIn, error) {
	var user map[string]any
	if err := p.githubGet(ctx, tok, "/user", &user); err != nil {
		return nil, err
	}
	var id string
	switch v := user["id"].(type) {
	case float64:
		id = strconv.FormatInt(int64(v), 10)
	case string:
		id = v
	}
	if id == "" || id == "0" {
		return nil, providerErr("user", errors.New("no user id"))
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := p.githubGet(ctx, tok, "/user/emails", &emails); err != nil {
		return nil, err
	}
	email := ""
	for _, e := range emails {
		if e.Primary && e.Verified {
			email = e.Email
		}
	}
	if email == "" {
		return nil, ErrEmailNotVerified
	}
	name, _ := user["name"].(string)
	if name == "" {
		name, _ = user["login"].(string)
	}
	u, _ := url.Parse(p.AuthURL)
	issuer := u.Scheme + "://" + u.Host
	return &SignIn{
		Identity:        Identity{Subject: issuer + "#" + id, Email: email, Name: name, Provider: p.Name},
		Provider:        p.Name,
		Issuer:          issuer,
		ProviderSubject: id,
		Claims:          user,
	}, nil
}

func (p *provider) githubGet(ctx context.Context, tok *oauth2.Token, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(p.APIURL, "/")+path, nil)
	if err != nil {
		return providerErr(path, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := p.client.Do(req)
	if err != nil {
		return providerErr(path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return providerErr(path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return providerErr(path, fmt.Errorf("status %d", resp.StatusCode))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return providerErr(path, err)
	}
	return nil
}
