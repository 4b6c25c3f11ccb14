package authtest

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/golang-jwt/jwt/v5"
)

// grantTable is the app's table of roles and scopes, by email, as its WithGrants hook
// reads it at every sign-in and refresh. Tests change it between requests, as an admin
// page of the app would.
type grantTable struct {
	mu   sync.Mutex
	byEm map[string]core.Grants
	err  error // when set, the hook fails with it
}

func newGrantTable() *grantTable { return &grantTable{byEm: map[string]core.Grants{}} }

func (g *grantTable) set(email string, gr core.Grants) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.byEm[email] = gr
}

func (g *grantTable) fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.err = err
}

func (g *grantTable) hook(_ context.Context, id core.Identity) (core.Grants, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.byEm[id.Email], g.err
}

// The grants the cases give.
var (
	adminGrants  = core.Grants{Roles: []string{"staff", "admin"}, Scopes: []string{"reports:read", "reports:write", "profile"}}
	readGrants   = core.Grants{Scopes: []string{"reports:read"}}
	editorGrants = core.Grants{Roles: []string{"editor"}, Scopes: []string{"reports:read"}}
)

// wantInsufficientScope checks the 403 of an authenticated request that a rule refused
// (RFC 6750 §3.1): the JSON error, and the challenge with the realm, the error, a
// description and, when scope is not "", the scopes the route needs.
func (r *reply) wantInsufficientScope(t *testing.T, scope string) *reply {
	t.Helper()
	r.wantError(t, http.StatusForbidden, "insufficient_scope").wantNoStore(t)
	h := r.header.Get("WWW-Authenticate")
	if !strings.HasPrefix(h, `Bearer realm="`+realm+`", error="insufficient_scope", error_description="`) {
		t.Fatalf("WWW-Authenticate %q, want Bearer realm=%q, error=\"insufficient_scope\", error_description=…", h, realm)
	}
	hasScope := strings.Contains(h, `, scope="`)
	switch {
	case scope == "" && hasScope:
		t.Fatalf("WWW-Authenticate %q names scopes; the route asks for none", h)
	case scope != "" && !strings.HasSuffix(h, `, scope="`+scope+`"`):
		t.Fatalf("WWW-Authenticate %q, want scope=%q", h, scope)
	}
	return r
}

// roles is the "roles" member of an answer of /api/admin.
func (r *reply) roles(t *testing.T) []string {
	t.Helper()
	var out []string
	list, _ := r.json(t)["roles"].([]any)
	for _, v := range list {
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// refresh redeems a refresh token at {prefix}/refresh and returns the new tokens.
func (e *env) refresh(rt string) tokens {
	e.t.Helper()
	return e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", rt)).tokens(e.t)
}

// testAuthorization: roles and scopes in the access token, the middleware that requires
// them (403 insufficient_scope, RFC 6750 §3.1), and where they come from: the app's
// WithGrants hook, asked again at every refresh, or the sign-in's WithAuthorize hook,
// kept with the session. Never from a token the app did not sign.
func testAuthorization(t *testing.T, s *suite) {
	table := newGrantTable()
	e := s.newEnv(t, core.WithGrants(table.hook))
	plain := e.signIn()
	table.set(janeEmail, adminGrants)
	admin := e.signIn()
	table.set(janeEmail, readGrants)
	reader := e.signIn()
	table.set(janeEmail, editorGrants)
	editor := e.signIn()
	table.set(janeEmail, core.Grants{Roles: editorGrants.Roles})
	unscopedEditor := e.signIn()
	e.idp.m.QueueUser(otherUser())
	other := e.signIn()

	t.Run("RoleMissing", func(t *testing.T) {
		r := e.do("GET", "/api/admin", bearer(plain.access)).wantInsufficientScope(t, "").wantNoTokens(t, false)
		if d := r.str(t, "error_description"); !strings.Contains(d, "admin") {
			t.Fatalf("error_description %q does not name the role the route needs", d)
		}
		e.do("GET", "/api/admin", bearer(reader.access)).wantInsufficientScope(t, "")
	})
	t.Run("RoleGranted", func(t *testing.T) {
		r := e.do("GET", "/api/admin", bearer(admin.access)).want(t, http.StatusOK)
		if r.str(t, "email") != janeEmail || !slices.Equal(r.roles(t), adminGrants.Roles) {
			t.Fatalf("/api/admin answered %s: want %s with the roles %v", r, janeEmail, adminGrants.Roles)
		}
		// On the wire: "roles" an array, "scope" space-separated (RFC 9068 §2.2.3).
		me := e.do("GET", prefix+"/me", bearer(admin.access)).want(t, http.StatusOK).json(t)
		roles, _ := me["roles"].([]any)
		if len(roles) != 2 || roles[0] != "staff" || roles[1] != "admin" || me["scope"] != "reports:read reports:write profile" {
			t.Fatalf("token claims %v: want roles [staff admin] and scope \"reports:read reports:write profile\"", me)
		}
		if me := e.do("GET", prefix+"/me", bearer(plain.access)).want(t, http.StatusOK).json(t); me["roles"] != nil || me["scope"] != nil {
			t.Fatalf("token claims %v: want no roles and no scope claim when none are granted", me)
		}
	})
	t.Run("Unauthenticated", func(t *testing.T) {
		// A rule is asked only of a valid token: without one, 401, never 403.
		for _, path := range []string{"/api/admin", "/api/scoped", "/api/allowed", "/api/reports"} {
			e.do("GET", path).wantChallenge(t, "")
			e.do("GET", path, bearer("garbage")).wantChallenge(t, "invalid_token")
			e.do("GET", path, bearer(admin.refresh)).wantChallenge(t, "invalid_token")
		}
	})
	t.Run("ScopeMissing", func(t *testing.T) {
		for _, tok := range []tokens{plain, reader} {
			e.do("GET", "/api/scoped", bearer(tok.access)).wantInsufficientScope(t, "reports:read reports:write")
		}
	})
	t.Run("ScopesGranted", func(t *testing.T) {
		if r := e.do("GET", "/api/scoped", bearer(admin.access)).want(t, http.StatusOK); r.str(t, "email") != janeEmail {
			t.Fatalf("/api/scoped answered %s", r)
		}
	})
	t.Run("Allow", func(t *testing.T) {
		if r := e.do("GET", "/api/allowed", bearer(plain.access)).want(t, http.StatusOK); r.str(t, "email") != janeEmail {
			t.Fatalf("/api/allowed answered %s", r)
		}
		e.do("GET", "/api/allowed", bearer(other.access)).wantInsufficientScope(t, "")
	})
	t.Run("AnyRole", func(t *testing.T) {
		// Role with several roles lets each of them through.
		for _, tok := range []tokens{admin, editor} {
			if r := e.do("GET", "/api/reports", bearer(tok.access)).want(t, http.StatusOK); r.str(t, "email") != janeEmail {
				t.Fatalf("/api/reports answered %s", r)
			}
		}
		e.do("GET", "/api/reports", bearer(plain.access)).wantInsufficientScope(t, "")
	})
	t.Run("RulesAddUp", func(t *testing.T) {
		// Each rule of a middleware must pass, and the first that refuses answers: the
		// role without the scope is refused for the scope, the scope without a role for
		// the role.
		e.do("GET", "/api/reports", bearer(unscopedEditor.access)).wantInsufficientScope(t, "reports:read")
		e.do("GET", "/api/reports", bearer(reader.access)).wantInsufficientScope(t, "")
	})
	t.Run("OptionalRules", func(t *testing.T) {
		// Optional asks its rules of a token, not of an anonymous request; a token
		// that is present must be valid and pass them.
		if r := e.do("GET", "/api/optional/admin").want(t, http.StatusOK); r.str(t, "email") != "" {
			t.Fatalf("/api/optional/admin answered %s without a token: want no claims", r)
		}
		if r := e.do("GET", "/api/optional/admin", bearer(admin.access)).want(t, http.StatusOK); r.str(t, "email") != janeEmail {
			t.Fatalf("/api/optional/admin answered %s", r)
		}
		e.do("GET", "/api/optional/admin", bearer(plain.access)).wantInsufficientScope(t, "")
		e.do("GET", "/api/optional/admin", bearer("garbage")).wantChallenge(t, "invalid_token")
	})

	t.Run("Demoted", func(t *testing.T) {
		// The app takes the role away: the next refresh asks the hook again and the new
		// access token is without it. The access token issued before keeps its roles
		// until it expires: a demotion takes effect within one access-token lifetime
		// (15 minutes here), unless the app also revokes the user's sessions.
		table := newGrantTable()
		e := s.newEnv(t, core.WithGrants(table.hook))
		table.set(janeEmail, adminGrants)
		tok := e.signIn()
		e.do("GET", "/api/admin", bearer(tok.access)).want(t, http.StatusOK)
		table.set(janeEmail, core.Grants{})
		e.do("GET", "/api/admin", bearer(tok.access)).want(t, http.StatusOK)
		next := e.refresh(tok.refresh)
		e.do("GET", "/api/admin", bearer(next.access)).wantInsufficientScope(t, "")
		e.do("GET", "/api/scoped", bearer(next.access)).wantInsufficientScope(t, "reports:read reports:write")
		if e.email(next.access) != janeEmail {
			t.Fatal("the demoted user's new token does not work where no role is needed")
		}
		e.clock.Advance(15*time.Minute + time.Second)
		e.do("GET", "/api/admin", bearer(tok.access)).wantChallenge(t, "invalid_token")
		// Promoted again: the role is back at the next refresh.
		table.set(janeEmail, adminGrants)
		again := e.refresh(next.refresh)
		if r := e.do("GET", "/api/admin", bearer(again.access)).want(t, http.StatusOK); !slices.Equal(r.roles(t), adminGrants.Roles) {
			t.Fatalf("/api/admin answered %s after the promotion", r)
		}
	})

	t.Run("RolesFromSignIn", func(t *testing.T) {
		// Roles the authorize hook gives at sign-in are kept with the session: every
		// refresh writes them into the new access token.
		e := s.newEnv(t, core.WithAuthorize(func(_ context.Context, si *core.SignIn) error {
			si.Identity.Roles = []string{"admin"}
			si.Identity.Scopes = []string{"reports:read", "reports:write"}
			return nil
		}))
		tok := e.signIn()
		for range 3 {
			r := e.do("GET", "/api/admin", bearer(tok.access)).want(t, http.StatusOK)
			if !slices.Equal(r.roles(t), []string{"admin"}) {
				t.Fatalf("/api/admin answered %s: want the roles [admin] of the sign-in", r)
			}
			e.do("GET", "/api/scoped", bearer(tok.access)).want(t, http.StatusOK)
			tok = e.refresh(tok.refresh)
		}
	})

	t.Run("GrantsReplaceSignInRoles", func(t *testing.T) {
		// With both hooks, WithGrants decides what the token carries; it sees the
		// Identity of the session, roles of the sign-in included.
		var (
			mu   sync.Mutex
			seen [][]string
		)
		e := s.newEnv(t,
			core.WithAuthorize(func(_ context.Context, si *core.SignIn) error {
				si.Identity.Roles = []string{"admin"}
				return nil
			}),
			core.WithGrants(func(_ context.Context, id core.Identity) (core.Grants, error) {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, slices.Clone(id.Roles))
				return core.Grants{Roles: []string{"viewer"}}, nil
			}))
		tok := e.signIn()
		e.do("GET", "/api/admin", bearer(tok.access)).wantInsufficientScope(t, "")
		tok = e.refresh(tok.refresh)
		e.do("GET", "/api/admin", bearer(tok.access)).wantInsufficientScope(t, "")
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 2 || !slices.Equal(seen[0], []string{"admin"}) || !slices.Equal(seen[1], []string{"admin"}) {
			t.Fatalf("the grants hook saw the roles %v, want [admin] at the sign-in and at the refresh", seen)
		}
	})

	t.Run("GrantsHookFails", func(t *testing.T) {
		// A failing hook fails the sign-in or refresh: a category error is answered as
		// its category, any other as 500; no tokens either way.
		table := newGrantTable()
		e := s.newEnv(t, core.WithGrants(table.hook))
		tok := e.signIn()
		for _, tc := range []struct {
			err    error
			status int
		}{{core.ErrStoreUnavailable, http.StatusServiceUnavailable}, {errors.New("directory down"), http.StatusInternalServerError}} {
			table.fail(tc.err)
			e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", tok.refresh)).
				want(t, tc.status).wantNoTokens(t, true)
			b := e.browser()
			b.callback(b.authorize(b.startLogin(prefix+"/login")), true).want(t, tc.status).wantNoTokens(t, true)
		}
		table.fail(nil)
		e.refresh(tok.refresh)
	})

	t.Run("ForgedRoles", func(t *testing.T) {
		// Roles are read only from tokens the app signed: a token that claims a role
		// and is signed with another key, or not signed at all, or whose payload was
		// edited under the genuine signature, is refused as invalid (401), never
		// answered 200 nor 403.
		e := s.newEnv(t)
		tok := e.signIn()
		e.do("GET", "/api/admin", bearer(tok.access)).wantInsufficientScope(t, "")
		parts := strings.Split(tok.access, ".")
		claims := jwt.MapClaims{}
		parsed, _, err := jwt.NewParser().ParseUnverified(tok.access, claims)
		if err != nil || len(parts) != 3 {
			t.Fatalf("the access token does not parse: %v", err)
		}
		claims["roles"] = []string{"admin"}
		claims["scope"] = "reports:read reports:write"
		otherKey := make([]byte, 32)
		rand.Read(otherKey)
		forge := func(method jwt.SigningMethod, key any) string {
			f := jwt.NewWithClaims(method, claims)
			f.Header["kid"] = parsed.Header["kid"]
			signed, err := f.SignedString(key)
			if err != nil {
				t.Fatal(err)
			}
			return signed
		}
		otherKeyed := forge(jwt.SigningMethodHS256, otherKey)
		unsigned := forge(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType)
		edited := parts[0] + "." + strings.Split(otherKeyed, ".")[1] + "." + parts[2]
		for name, forged := range map[string]string{"OtherKey": otherKeyed, "AlgNone": unsigned, "EditedPayload": edited} {
			t.Run(name, func(t *testing.T) {
				e.do("GET", "/api/admin", bearer(forged)).wantChallenge(t, "invalid_token")
				e.do("GET", "/api/scoped", bearer(forged)).wantChallenge(t, "invalid_token")
			})
		}
	})
}
