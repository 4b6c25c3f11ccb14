package core_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// TestCustomClaims: claims from the hook and from the identity reach every access
// token of the session and are read back with Claims.Get and Claims.Decode.
func TestCustomClaims(t *testing.T) {
	var seen []string
	hook := func(_ context.Context, id core.Identity) (map[string]any, error) {
		seen = append(seen, id.Subject)
		return map[string]any{"role": "admin", "tenant": 7, "groups": []string{"a", "b"}}, nil
	}
	e := newEnv(t, core.WithClaims(hook))
	id := alice
	id.Claims = map[string]any{"plan": "pro"}
	tok := e.issue(id)
	check := func(what string, c *core.Claims) {
		t.Helper()
		want := map[string]any{"role": "admin", "tenant": float64(7), "groups": []any{"a", "b"}, "plan": "pro", "sub": alice.Subject}
		for name, v := range want {
			got, ok := c.Get(name)
			if !ok || !reflect.DeepEqual(got, v) {
				t.Errorf("%s: Get(%q) = %v, %v; want %v", what, name, got, ok, v)
			}
		}
		if v, ok := c.Get("missing"); ok || v != nil {
			t.Errorf("%s: Get(missing) = %v, %v", what, v, ok)
		}
		var mine struct {
			Role   string   `json:"role"`
			Tenant int      `json:"tenant"`
			Groups []string `json:"groups"`
			Sub    string   `json:"sub"`
		}
		if err := c.Decode(&mine); err != nil || mine.Role != "admin" || mine.Tenant != 7 || len(mine.Groups) != 2 || mine.Sub != alice.Subject {
			t.Errorf("%s: Decode = %+v, %v", what, mine, err)
		}
	}
	check("after sign-in", e.mustAuth(tok.AccessToken))
	next := e.mustRefresh(tok.RefreshToken)
	check("after refresh", e.mustAuth(next.AccessToken))
	if len(seen) != 2 || seen[0] != alice.Subject || seen[1] != alice.Subject {
		t.Errorf("hook saw %v, want the subject at sign-in and at refresh", seen)
	}
	// Custom claims are for access tokens; the refresh token carries none.
	if _, ok := payloadOf(t, next.RefreshToken)["role"]; ok {
		t.Errorf("refresh token carries custom claims")
	}

	// FromContext returns what NewContext stored.
	c := e.mustAuth(next.AccessToken)
	if got, ok := core.FromContext(core.NewContext(context.Background(), c)); !ok || got != c {
		t.Errorf("FromContext = %v, %v", got, ok)
	}
	if _, ok := core.FromContext(context.Background()); ok {
		t.Errorf("FromContext of an empty context reports claims")
	}
}

// TestReservedClaims: neither the hook nor the identity may set a registered or
// gatehouse claim; sign-in fails and no session is created.
func TestReservedClaims(t *testing.T) {
	for _, name := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid", "email", "name", "typ"} {
		for _, from := range []string{"hook", "identity"} {
			t.Run(from+"/"+name, func(t *testing.T) {
				var opts []core.Option
				id := alice
				if from == "hook" {
					opts = append(opts, core.WithClaims(func(context.Context, core.Identity) (map[string]any, error) {
						return map[string]any{name: "x"}, nil
					}))
				} else {
					id.Claims = map[string]any{name: "x"}
				}
				e := newEnv(t, opts...)
				tok, err := e.auth.Issue(context.Background(), id, core.Client{})
				wantIs(t, "Issue", err, core.ErrConfig)
				if tok != nil {
					t.Errorf("Issue returned tokens with the error")
				}
				if ss := must(e.auth.Sessions(context.Background(), alice.Subject)); len(ss) != 0 {
					t.Errorf("a session was created: %+v", ss)
				}
			})
		}
	}
}

// TestCustomClaimsCannotOverrideRegisteredOnes: a custom claim whose name differs from a
// registered one only in case must not change what the token says about its subject,
// session, expiry, issuer or audience (JSON object keys are case-sensitive, RFC 7519
// §4). Either sign-in refuses it, or the registered claims win.
func TestCustomClaimsCannotOverrideRegisteredOnes(t *testing.T) {
	far := base.Add(100 * 365 * 24 * time.Hour).Unix()
	cases := []struct {
		name  string
		value any
	}{
		{"Sub", bob.Subject},
		{"SID", "some-other-session"},
		{"Jti", "some-other-jti"},
		{"EXP", far},
		{"Iss", "https://evil.example.com"},
		{"AUD", "other"},
		{"Email", "ceo@example.com"},
		{"NAME", "The CEO"},
		// U+017F LATIN SMALL LETTER LONG S folds to s: encoding/json matched these to
		// sub and sid (SECURITY.md case 42).
		{"\u017fub", bob.Subject},
		{"\u017fid", "some-other-session"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, core.WithClaims(func(context.Context, core.Identity) (map[string]any, error) {
				return map[string]any{tc.name: tc.value}, nil
			}))
			tok, err := e.auth.Issue(context.Background(), alice, core.Client{})
			if err != nil {
				wantIs(t, "Issue", err, core.ErrConfig)
				return
			}
			c, err := e.auth.Authenticate(context.Background(), tok.AccessToken)
			if err != nil {
				t.Fatalf("the token issued with custom claim %q is refused: %v", tc.name, err)
			}
			if c.Subject != alice.Subject || c.SessionID != tok.Session.ID || c.Email != alice.Email || c.Name != alice.Name ||
				c.Issuer != testIssuer || !c.ExpiresAt.Equal(tok.AccessExpiresAt) || !reflect.DeepEqual(c.Audience, []string{testAudience}) {
				t.Errorf("custom claim %q=%v changed the registered claims: sub %q sid %q (session %q) exp %v email %q name %q",
					tc.name, tc.value, c.Subject, c.SessionID, tok.Session.ID, c.ExpiresAt, c.Email, c.Name)
			}
			// Logout still kills the token, and it still dies at its real exp.
			if err := e.auth.Logout(context.Background(), tok.Session.ID); err != nil {
				t.Fatal(err)
			}
			wantIs(t, "Authenticate after logout", e.authErr(tok.AccessToken), core.ErrInvalidToken)
		})
	}
}

// TestClaimsHookError: a failing hook fails the sign-in, keeping its error, and
// creates no session.
func TestClaimsHookError(t *testing.T) {
	boom := errors.New("roles database unavailable")
	e := newEnv(t, core.WithClaims(func(context.Context, core.Identity) (map[string]any, error) { return nil, boom }))
	_, err := e.auth.Issue(context.Background(), alice, core.Client{})
	wantIs(t, "Issue", err, boom)
	if ss := must(e.auth.Sessions(context.Background(), alice.Subject)); len(ss) != 0 {
		t.Errorf("a session was created: %+v", ss)
	}
}

// TestIssuedTokensAuthenticate: gatehouse never hands out an access token that it will
// itself refuse, such as one over MaxTokenSize because of large custom claims.
func TestIssuedTokensAuthenticate(t *testing.T) {
	e := newEnv(t, core.WithClaims(func(context.Context, core.Identity) (map[string]any, error) {
		return map[string]any{"blob": strings.Repeat("x", core.MaxTokenSize)}, nil
	}))
	tok, err := e.auth.Issue(context.Background(), alice, core.Client{})
	if err != nil {
		return // refusing to mint it is right
	}
	if _, err := e.auth.Authenticate(context.Background(), tok.AccessToken); err != nil {
		t.Errorf("Issue returned an access token of %d bytes that Authenticate refuses: %v", len(tok.AccessToken), err)
	}
}

// TestClaimNamesRefused: custom claim names that fold to a reserved one, or are not
// printable ASCII, are refused at issue time, from the hook and from the identity.
func TestClaimNamesRefused(t *testing.T) {
	for _, name := range []string{"Sub", "SID", "Email", "\u017fub", "\u017fid", "\u212aid", "", "na\u00efve", "a\tb", strings.Repeat("x", 257)} {
		for _, from := range []string{"hook", "identity"} {
			t.Run(fmt.Sprintf("%s/%q", from, name), func(t *testing.T) {
				var opts []core.Option
				id := alice
				if from == "hook" {
					opts = append(opts, core.WithClaims(func(context.Context, core.Identity) (map[string]any, error) {
						return map[string]any{name: "x"}, nil
					}))
				} else {
					id.Claims = map[string]any{name: "x"}
				}
				e := newEnv(t, opts...)
				_, err := e.auth.Issue(context.Background(), id, core.Client{})
				wantIs(t, "Issue", err, core.ErrConfig)
			})
		}
	}
	e := newEnv(t)
	id := alice
	id.Claims = map[string]any{"tenant": "acme", "x-role_2": []string{"a"}}
	if _, err := e.auth.Issue(context.Background(), id, core.Client{}); err != nil {
		t.Errorf("plain custom claims refused: %v", err)
	}
}

// TestSignedPayloadWithRepeatedName: a token whose signature is good but whose payload
// names a claim twice, or spells a registered one another way, never authenticates as
// anything but what its exact names say (SECURITY.md case 42). The signature is made
// with the app's own key: only gatehouse, or whoever holds the key, could make it.
func TestSignedPayloadWithRepeatedName(t *testing.T) {
	e := newEnv(t)
	tok := e.issue(alice)
	h, _, _ := split(t, tok.AccessToken)
	exp, iat := base.Add(time.Hour).Unix(), base.Unix()
	claims := fmt.Sprintf(`"iss":%q,"aud":%q,"exp":%d,"iat":%d,"jti":"j1","sid":%q`, testIssuer, testAudience, exp, iat, tok.Session.ID)
	for name, payload := range map[string]string{
		"sub twice":     `{` + claims + `,"sub":"` + alice.Subject + `","sub":"` + bob.Subject + `"}`,
		"sid twice":     `{` + claims + `,"sub":"` + alice.Subject + `","sid":"other"}`,
		"exp twice":     `{` + claims + `,"sub":"` + alice.Subject + `","exp":99999999999}`,
		"custom twice":  `{` + claims + `,"sub":"` + alice.Subject + `","role":"user","role":"admin"}`,
		"sub by escape": `{` + claims + `,"sub":"` + alice.Subject + `","\u0073ub":"` + bob.Subject + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			wantIs(t, "Authenticate", e.authErr(forge(h, seg(payload), hsSigner)), core.ErrMalformedToken)
		})
	}
	// Other spellings are custom claims: the registered ones stand.
	for name, payload := range map[string]string{
		"Sub":    `{` + claims + `,"sub":"` + alice.Subject + `","Sub":"` + bob.Subject + `"}`,
		"long s": `{` + claims + `,"sub":"` + alice.Subject + `","ſub":"` + bob.Subject + `","ſid":"x"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := e.mustAuth(forge(h, seg(payload), hsSigner))
			if c.Subject != alice.Subject || c.SessionID != tok.Session.ID {
				t.Errorf("subject %q, session %q: a look-alike name overrode a registered claim", c.Subject, c.SessionID)
			}
		})
	}
}
