package core

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// stateTTL is how long a sign-in may take from the redirect to the provider to the
// callback (RFC 9700 §4.7 asks for short-lived state).
const stateTTL = 10 * time.Minute

// maxStateCookie bounds the state cookie read back; a sealed state is far smaller.
const maxStateCookie = 3072

// maxRedirect bounds redirect_to.
const maxRedirect = 1024

// stateAAD binds a sealed state to its purpose, so no other value sealed with the same
// key could pass for one.
var stateAAD = []byte("gatehouse sign-in state v1")

// loginState is what a sign-in carries from {prefix}/login to the callback, sealed in the
// state cookie. ID is the state parameter sent to the provider; the verifier and nonce
// never leave the server except inside the sealed cookie.
type loginState struct {
	ID          string `json:"i"`
	Provider    string `json:"p"`
	Verifier    string `json:"v"` // PKCE code verifier (RFC 7636), 43 characters
	Nonce       string `json:"n"`
	RedirectTo  string `json:"r"` // checked by checkRedirect
	RedirectURI string `json:"u"` // the redirect_uri sent to the provider
	Expires     int64  `json:"e"` // Unix seconds
}

// The sizes of AES-GCM's nonce and tag, which every state key has.
const (
	gcmNonce    = 12
	gcmOverhead = 16
)

// sealState encrypts and authenticates st with AES-256-GCM: base64url(nonce ‖ sealed).
func sealState(aead cipher.AEAD, st *loginState) (string, error) {
	plain, err := json.Marshal(st)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(nonce)
	return b64.EncodeToString(aead.Seal(nonce, nonce, plain, stateAAD)), nil
}

// openState decrypts a state cookie and checks it is complete and not expired at now.
// Every failure is ErrLoginState; it says nothing about which check failed.
func openState(keys []cipher.AEAD, value string, now time.Time) (*loginState, error) {
	if len(value) > maxStateCookie {
		return nil, fmt.Errorf("%w: cookie too long", ErrLoginState)
	}
	raw, err := b64.DecodeString(value)
	if err != nil || len(raw) < gcmNonce+gcmOverhead {
		return nil, fmt.Errorf("%w: malformed cookie", ErrLoginState)
	}
	var plain []byte
	opened := false
	for _, aead := range keys {
		if plain, err = aead.Open(nil, raw[:gcmNonce], raw[gcmNonce:], stateAAD); err == nil {
			opened = true
			break
		}
	}
	if !opened {
		return nil, fmt.Errorf("%w: cookie does not open", ErrLoginState)
	}
	st := new(loginState)
	if err := json.Unmarshal(plain, st); err != nil {
		return nil, fmt.Errorf("%w: cookie content", ErrLoginState)
	}
	if st.ID == "" || st.Provider == "" || len(st.Verifier) < 43 || len(st.Verifier) > 128 ||
		st.RedirectURI == "" || st.RedirectTo == "" {
		return nil, fmt.Errorf("%w: incomplete state", ErrLoginState)
	}
	if !now.Before(time.Unix(st.Expires, 0)) {
		return nil, fmt.Errorf("%w: expired", ErrLoginState)
	}
	return st, nil
}

// checkRedirect returns where to send the browser after sign-in: "/" for an empty
// redirect_to, a local path as it is, or an absolute URL on one of the allowed origins.
// Everything a browser could read as another site is refused: scheme-relative "//host",
// backslashes (browsers read "/\host" as "//host"), controls and spaces (browsers drop
// tabs and newlines, so "/\t/host" would become "//host"), non-ASCII, other schemes,
// user info, and any origin not allowed.
func checkRedirect(s string, origins map[string]bool, own string) (string, error) {
	if s == "" {
		return "/", nil
	}
	if len(s) > maxRedirect {
		return "", fmt.Errorf("%w: too long", ErrRedirect)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return "", fmt.Errorf("%w: forbidden character", ErrRedirect)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: not a URL", ErrRedirect)
	}
	if s[0] == '/' {
		if len(s) > 1 && s[1] == '/' || u.Scheme != "" || u.Host != "" || u.User != nil {
			return "", fmt.Errorf("%w: not a local path", ErrRedirect)
		}
		return s, nil
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", fmt.Errorf("%w: not an http(s) URL", ErrRedirect)
	}
	if o := strings.ToLower(u.Scheme + "://" + u.Host); o != own && !origins[o] {
		return "", fmt.Errorf("%w: origin not allowed", ErrRedirect)
	}
	return s, nil
}
