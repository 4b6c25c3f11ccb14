package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Claims are the verified claims of an access token. Authenticate gives every caller a
// Claims of its own, but Audience and the payload behind Get and Decode are shared with
// the token cache: read them, do not modify them.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	ExpiresAt time.Time
	IssuedAt  time.Time
	NotBefore time.Time // zero when the token has no nbf
	ID        string    // jti
	SessionID string    // sid
	Email     string
	Name      string

	raw []byte // the payload, for Get and Decode
}

// Get returns the claim called name as encoding/json decodes it into an any, and
// whether the token has it. Custom claims added by WithClaims are read this way.
func (c *Claims) Get(name string) (any, bool) {
	var m map[string]any
	if json.Unmarshal(c.raw, &m) != nil {
		return nil, false
	}
	v, ok := m[name]
	return v, ok
}

// Decode unmarshals the whole payload into v, for apps with a struct of their own claims.
func (c *Claims) Decode(v any) error { return json.Unmarshal(c.raw, v) }

// wireClaims is the JSON payload of both token types.
type wireClaims struct {
	Iss   string   `json:"iss"`
	Sub   string   `json:"sub"`
	Aud   audience `json:"aud"`
	Exp   int64    `json:"exp"`
	Iat   int64    `json:"iat"`
	Nbf   int64    `json:"nbf,omitempty"`
	Jti   string   `json:"jti"`
	Sid   string   `json:"sid"`
	Email string   `json:"email,omitempty"`
	Name  string   `json:"name,omitempty"`
}

// reservedClaims are the names custom claims cannot have: gatehouse's own and those
// of RFC 9068 whose meaning it owns.
var reservedClaims = []string{
	"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "email", "name", "typ", "cnf",
	"client_id", "scope", "azp", "auth_time",
}

// checkClaimName refuses a custom claim name that is empty, not printable ASCII, or a
// reserved name in any letter case. decodeClaims matches names exactly, so a look-alike
// could not overwrite a registered claim of gatehouse's; but other JWT libraries fold
// case (encoding/json matches "SUB" and even "ſub", U+017F, to sub), and a verifier
// built on one of them must not read the app's claim as the subject.
func checkClaimName(name string) error {
	if !printable(name, 256) {
		return fmt.Errorf("%w: custom claim name %q is empty, too long or not printable ASCII", ErrConfig, name)
	}
	for _, r := range reservedClaims {
		if strings.EqualFold(name, r) {
			return fmt.Errorf("%w: custom claim %q is reserved", ErrConfig, name)
		}
	}
	return nil
}

// audience is the aud claim: a string or an array of strings (RFC 7519 §4.1.3). It is
// written as a string.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = audience{s}
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		return fmt.Errorf("aud is null")
	}
	return json.Unmarshal(b, (*[]string)(a))
}

func (a audience) contains(s string) bool {
	for _, v := range a {
		if v == s {
			return true
		}
	}
	return false
}

// marshalPayload writes the claims followed by extra, whose names were checked against
// reservedClaims.
func marshalPayload(w *wireClaims, extra map[string]any) ([]byte, error) {
	b, err := json.Marshal(w)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	e, err := json.Marshal(extra)
	if err != nil {
		return nil, fmt.Errorf("gatehouse: custom claims: %w", err)
	}
	if len(e) <= 2 {
		return b, nil
	}
	out := make([]byte, 0, len(b)+len(e))
	out = append(out, b[:len(b)-1]...)
	out = append(out, ',')
	return append(out, e[1:]...), nil
}

// validate checks the registered claims common to both token types at now.
func (w *wireClaims) validate(now time.Time, iss, aud string, leeway time.Duration) error {
	switch {
	case w.Exp == 0:
		return fmt.Errorf("%w: no exp", ErrMalformedToken)
	case w.Iat == 0:
		return fmt.Errorf("%w: no iat", ErrMalformedToken)
	case w.Iss != iss:
		return fmt.Errorf("%w: wrong issuer", ErrMalformedToken)
	case !w.Aud.contains(aud):
		return fmt.Errorf("%w: wrong audience", ErrMalformedToken)
	case w.Jti == "" || w.Sid == "" || w.Sub == "":
		return fmt.Errorf("%w: no jti, sid or sub", ErrMalformedToken)
	case !now.Before(time.Unix(w.Exp, 0).Add(leeway)):
		return ErrTokenExpired
	case w.Nbf != 0 && now.Add(leeway).Before(time.Unix(w.Nbf, 0)):
		return fmt.Errorf("%w: not valid yet", ErrMalformedToken)
	case now.Add(leeway).Before(time.Unix(w.Iat, 0)):
		return fmt.Errorf("%w: issued in the future", ErrMalformedToken)
	}
	return nil
}

func (w *wireClaims) claims(raw []byte) *Claims {
	c := &Claims{
		Issuer: w.Iss, Subject: w.Sub, Audience: w.Aud,
		ExpiresAt: time.Unix(w.Exp, 0), IssuedAt: time.Unix(w.Iat, 0),
		ID: w.Jti, SessionID: w.Sid, Email: w.Email, Name: w.Name, raw: raw,
	}
	if w.Nbf != 0 {
		c.NotBefore = time.Unix(w.Nbf, 0)
	}
	return c
}
