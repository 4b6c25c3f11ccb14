package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Claims are the verified claims of an access token. Authenticate gives every caller a
// Claims of its own, but the elements of Audience, Roles and Scopes and the payload
// behind Get, Decode and CustomClaims are shared with the token cache: read them, do
// not modify them. Appending to the slices is safe: they are full, so an append copies.
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
	Roles     []string // the "roles" claim (RFC 9068 §2.2.3.1), nil when none
	Scopes    []string // the "scope" claim split on spaces (RFC 9068 §2.2.3), nil when none

	raw string // the payload, for Get and Decode
}

// HasRole reports whether the token grants role. A nil Claims, as an optional route
// gives a request without a token, has none.
func (c *Claims) HasRole(role string) bool { return c != nil && slices.Contains(c.Roles, role) }

// HasScope reports whether the token grants scope. A nil Claims has none.
func (c *Claims) HasScope(scope string) bool { return c != nil && slices.Contains(c.Scopes, scope) }

// Get returns the claim called name as encoding/json decodes it into an any, and
// whether the token has it. Custom claims added by WithClaims are read this way.
func (c *Claims) Get(name string) (any, bool) {
	var m map[string]any
	if json.Unmarshal([]byte(c.raw), &m) != nil {
		return nil, false
	}
	v, ok := m[name]
	return v, ok
}

// Decode unmarshals the whole payload into v, for apps with a struct of their own claims.
func (c *Claims) Decode(v any) error { return json.Unmarshal([]byte(c.raw), v) }

// CustomClaims unmarshals the whole payload into a T, for apps with a struct of their
// own claims (WithClaims): the typed form of Decode. encoding/json fills T's fields by
// their json names, case-insensitively; the registered claims are read from the Claims
// fields, which gatehouse decodes by exact name. A nil c, as an optional route gives a
// request without a token, is an error matching ErrNoToken.
func CustomClaims[T any](c *Claims) (T, error) {
	var v T
	if c == nil {
		return v, fmt.Errorf("%w: no claims", ErrNoToken)
	}
	if err := json.Unmarshal([]byte(c.raw), &v); err != nil {
		return v, fmt.Errorf("gatehouse: custom claims: %w", err)
	}
	return v, nil
}

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
	Roles []string `json:"roles,omitempty"`
	Scope string   `json:"scope,omitempty"` // space-separated
}

// reservedClaims are the names custom claims cannot have: gatehouse's own and those
// of RFC 9068 whose meaning it owns.
var reservedClaims = []string{
	"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "email", "name", "roles", "typ",
	"cnf", "client_id", "scope", "azp", "auth_time",
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

// maxGrantName is the longest role or scope name.
const maxGrantName = 128

// checkGrants refuses a role or scope name that is not 1 to maxGrantName bytes of
// NQCHAR (RFC 6749 §3.3: printable ASCII but space, '"' and '\'). No space, so the
// scope claim splits back into the names it was joined from; no quote or backslash, so
// a name goes into a WWW-Authenticate scope="…" parameter as it is.
func checkGrants(g Grants) error {
	for _, list := range [2]struct {
		what  string
		names []string
	}{{"role", g.Roles}, {"scope", g.Scopes}} {
		for _, name := range list.names {
			if !nqchars(name) {
				return fmt.Errorf("%w: %s name %.40q: want 1 to %d characters of printable ASCII but space, '\"' and '\\'",
					ErrConfig, list.what, name, maxGrantName)
			}
		}
	}
	return nil
}

// nqchars reports whether s is 1 to maxGrantName bytes of NQCHAR.
func nqchars(s string) bool {
	if len(s) == 0 || len(s) > maxGrantName {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
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

func (w *wireClaims) claims(raw string) Claims {
	c := Claims{
		Issuer: w.Iss, Subject: w.Sub, Audience: slices.Clip(w.Aud),
		ExpiresAt: time.Unix(w.Exp, 0), IssuedAt: time.Unix(w.Iat, 0),
		ID: w.Jti, SessionID: w.Sid, Email: w.Email, Name: w.Name, raw: raw,
	}
	// Full slices (len == cap): a caller's append copies rather than writing into the
	// array the token cache shares with other callers.
	if len(w.Roles) > 0 {
		c.Roles = slices.Clip(w.Roles)
	}
	if w.Scope != "" {
		c.Scopes = slices.Clip(strings.Split(w.Scope, " "))
	}
	if w.Nbf != 0 {
		c.NotBefore = time.Unix(w.Nbf, 0)
	}
	return c
}
