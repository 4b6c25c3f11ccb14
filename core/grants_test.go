package core_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// rawPayload returns the payload of token as the JSON text it was signed as.
func rawPayload(t testing.TB, token string) string {
	t.Helper()
	_, p, _ := split(t, token)
	return string(must(rawURL.DecodeString(p)))
}

// TestGrantsInToken: the identity's roles and scopes are written as RFC 9068 §2.2.3
// writes them, "roles" an array and "scope" one space-separated string, in every
// access token of the session and in none of its refresh tokens; Authenticate reads
// them back into Claims.
func TestGrantsInToken(t *testing.T) {
	for _, tc := range []struct {
		name          string
		roles, scopes []string
		json          []string // what the payload must hold
	}{
		{"Both", []string{"admin", "billing:read"}, []string{"read", "write", "urn:example:x"},
			[]string{`"roles":["admin","billing:read"]`, `"scope":"read write urn:example:x"`}},
		{"OneRole", []string{"admin"}, nil, []string{`"roles":["admin"]`}},
		{"OneScope", nil, []string{"read"}, []string{`"scope":"read"`}},
		{"None", nil, nil, nil},
		{"Empty", []string{}, []string{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			id := alice
			id.Roles, id.Scopes = tc.roles, tc.scopes
			tok := e.issue(id)
			next := e.mustRefresh(tok.RefreshToken)
			for _, at := range []string{tok.AccessToken, next.AccessToken} {
				p := rawPayload(t, at)
				for _, want := range tc.json {
					if !strings.Contains(p, want) {
						t.Errorf("payload %s lacks %s", p, want)
					}
				}
				m := payloadOf(t, at)
				if _, ok := m["roles"]; ok != (len(tc.roles) > 0) {
					t.Errorf("payload %s: roles present %v, want %v", p, ok, len(tc.roles) > 0)
				}
				if _, ok := m["scope"]; ok != (len(tc.scopes) > 0) {
					t.Errorf("payload %s: scope present %v, want %v", p, ok, len(tc.scopes) > 0)
				}
				c := e.mustAuth(at)
				if !slices.Equal(c.Roles, tc.roles) || !slices.Equal(c.Scopes, tc.scopes) {
					t.Errorf("Claims roles %q scopes %q, want %q %q", c.Roles, c.Scopes, tc.roles, tc.scopes)
				}
				if len(tc.roles) == 0 && c.Roles != nil || len(tc.scopes) == 0 && c.Scopes != nil {
					t.Errorf("Claims roles %#v scopes %#v, want nil for none", c.Roles, c.Scopes)
				}
				// /me answers with the decoded payload: roles and scope as the token has them.
				var me map[string]any
				if err := c.Decode(&me); err != nil {
					t.Fatal(err)
				}
				if _, ok := me["roles"]; ok != (len(tc.roles) > 0) {
					t.Errorf("Decode: roles present %v", ok)
				}
			}
			for _, rt := range []string{tok.RefreshToken, next.RefreshToken} {
				if p := rawPayload(t, rt); strings.Contains(p, `"roles"`) || strings.Contains(p, `"scope"`) {
					t.Errorf("refresh token payload %s carries grants", p)
				}
			}
		})
	}
}

// TestHasRoleHasScope: exact, case-sensitive membership; a nil Claims has nothing.
func TestHasRoleHasScope(t *testing.T) {
	e := newEnv(t)
	id := alice
	id.Roles, id.Scopes = []string{"admin", "editor"}, []string{"read", "write"}
	c := e.mustAuth(e.issue(id).AccessToken)
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"role admin", c.HasRole("admin"), true},
		{"role editor", c.HasRole("editor"), true},
		{"role Admin", c.HasRole("Admin"), false},
		{"role read (a scope)", c.HasRole("read"), false},
		{"role empty", c.HasRole(""), false},
		{"scope read", c.HasScope("read"), true},
		{"scope write", c.HasScope("write"), true},
		{"scope read write", c.HasScope("read write"), false},
		{"scope admin (a role)", c.HasScope("admin"), false},
		{"scope empty", c.HasScope(""), false},
		{"nil role", (*core.Claims)(nil).HasRole("admin"), false},
		{"nil scope", (*core.Claims)(nil).HasScope("read"), false},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

// TestGrantNames: a role or scope name that is not 1 to 128 bytes of NQCHAR (RFC 6749
// §3.3) fails the sign-in with ErrConfig and leaves no session, whether it comes from the
// identity or from the hook; names that are NQCHAR pass.
func TestGrantNames(t *testing.T) {
	bad := []string{"", "a b", `a"b`, `a\b`, "caf\u00e9", "a\x7f", "a\tb", "a\nb", strings.Repeat("x", 129)}
	for _, name := range bad {
		for _, from := range []string{"identity roles", "identity scopes", "hook roles", "hook scopes"} {
			t.Run(fmt.Sprintf("%s/%q", from, name), func(t *testing.T) {
				var opts []core.Option
				id := alice
				g := core.Grants{Roles: []string{"ok"}, Scopes: []string{"ok"}}
				if strings.HasSuffix(from, "roles") {
					g.Roles = append(g.Roles, name)
				} else {
					g.Scopes = append(g.Scopes, name)
				}
				if strings.HasPrefix(from, "hook") {
					opts = append(opts, core.WithGrants(func(context.Context, core.Identity) (core.Grants, error) { return g, nil }))
				} else {
					id.Roles, id.Scopes = g.Roles, g.Scopes
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
	good := []string{"a", strings.Repeat("x", 128), "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", "urn:example:read", "repo:write"}
	e := newEnv(t)
	id := alice
	id.Roles, id.Scopes = good, good
	c := e.mustAuth(e.issue(id).AccessToken)
	if !slices.Equal(c.Roles, good) || !slices.Equal(c.Scopes, good) {
		t.Errorf("roles %q scopes %q, want %q", c.Roles, c.Scopes, good)
	}

	// With a hook, the identity's own names are the hook's input, not the token's: a
	// hook may turn a provider's group name with a space into a role.
	e = newEnv(t, core.WithGrants(func(_ context.Context, id core.Identity) (core.Grants, error) {
		if slices.Contains(id.Roles, "Domain Admins") {
			return core.Grants{Roles: []string{"admin"}}, nil
		}
		return core.Grants{}, nil
	}))
	id = alice
	id.Roles = []string{"Domain Admins"}
	if c := e.mustAuth(e.issue(id).AccessToken); !slices.Equal(c.Roles, []string{"admin"}) {
		t.Errorf("roles %q, want the hook's [admin]", c.Roles)
	}
}

// TestGrantsReservedClaim: "roles" and "scope" are the grants' claims; neither custom
// claims nor a look-alike spelling may set them.
func TestGrantsReservedClaim(t *testing.T) {
	for _, name := range []string{"roles", "Roles", "ROLES", "scope", "Scope"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, core.WithClaims(func(context.Context, core.Identity) (map[string]any, error) {
				return map[string]any{name: []string{"admin"}}, nil
			}))
			_, err := e.auth.Issue(context.Background(), alice, core.Client{})
			wantIs(t, "Issue", err, core.ErrConfig)
		})
	}
}

// TestGrantsHookError: the hook's error fails the sign-in (no session) and the refresh
// (nothing rotated: the same refresh token works once the hook does), keeping the
// error; a category error is answered as its category, any other with 500.
func TestGrantsHookError(t *testing.T) {
	boom := errors.New("roles database unavailable")
	var mu sync.Mutex
	var fail error
	hook := func(context.Context, core.Identity) (core.Grants, error) {
		mu.Lock()
		defer mu.Unlock()
		return core.Grants{Roles: []string{"user"}}, fail
	}
	setFail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		fail = err
	}
	e := newEnv(t, core.WithGrants(hook))
	ctx := context.Background()

	setFail(boom)
	_, err := e.auth.Issue(ctx, alice, core.Client{})
	wantIs(t, "Issue", err, boom)
	if r := core.ErrorResponse(err); r.Status != 500 {
		t.Errorf("ErrorResponse(Issue error) = %d, want 500", r.Status)
	}
	if ss := must(e.auth.Sessions(ctx, alice.Subject)); len(ss) != 0 {
		t.Errorf("a session was created: %+v", ss)
	}

	setFail(nil)
	tok := e.issue(alice)
	denied := fmt.Errorf("%w: account suspended", core.ErrForbidden)
	setFail(denied)
	err = e.refreshErr(tok.RefreshToken)
	wantIs(t, "Refresh", err, core.ErrForbidden)
	if r := core.ErrorResponse(err); r.Status != 403 {
		t.Errorf("ErrorResponse(Refresh error) = %d, want 403", r.Status)
	}
	setFail(boom)
	wantIs(t, "Refresh", e.refreshErr(tok.RefreshToken), boom)

	setFail(nil)
	next := e.mustRefresh(tok.RefreshToken)
	if c := e.mustAuth(next.AccessToken); !c.HasRole("user") {
		t.Errorf("roles %q after the hook recovered", c.Roles)
	}
}

// TestGrantsDemotion: the hook runs again at every refresh, with the identity stored
// with the session; a role it no longer returns is gone from the next access token,
// while the stored session keeps the identity as Issue was given it.
func TestGrantsDemotion(t *testing.T) {
	var mu sync.Mutex
	roles := map[string][]string{alice.Subject: {"admin", "user"}}
	var seen []core.Identity
	e := newEnv(t, core.WithGrants(func(_ context.Context, id core.Identity) (core.Grants, error) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, id)
		return core.Grants{Roles: slices.Clone(roles[id.Subject]), Scopes: []string{"read"}}, nil
	}))
	id := alice
	id.Roles, id.Scopes = []string{"from-idp"}, []string{"openid"}
	tok := e.issue(id)
	if c := e.mustAuth(tok.AccessToken); !c.HasRole("admin") || c.HasRole("from-idp") || !slices.Equal(c.Scopes, []string{"read"}) {
		t.Fatalf("first token: roles %q scopes %q, want the hook's", c.Roles, c.Scopes)
	}

	mu.Lock()
	roles[alice.Subject] = []string{"user"}
	mu.Unlock()
	next := e.mustRefresh(tok.RefreshToken)
	c := e.mustAuth(next.AccessToken)
	if c.HasRole("admin") || !c.HasRole("user") {
		t.Errorf("after demotion: roles %q, want [user]", c.Roles)
	}

	mu.Lock()
	delete(roles, alice.Subject)
	mu.Unlock()
	last := e.mustRefresh(next.RefreshToken)
	if p := payloadOf(t, last.AccessToken); p["roles"] != nil {
		t.Errorf("no roles left, yet the token has roles %v", p["roles"])
	}

	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 3 {
		t.Fatalf("hook ran %d times, want 3 (sign-in and two refreshes)", len(seen))
	}
	for i, got := range seen {
		if !slices.Equal(got.Roles, id.Roles) || !slices.Equal(got.Scopes, id.Scopes) || got.Subject != id.Subject {
			t.Errorf("hook call %d got identity %+v, want the one given to Issue", i, got)
		}
	}
	stored := must(e.mem.Session(context.Background(), tok.Session.ID))
	if !slices.Equal(stored.Identity.Roles, id.Roles) || !slices.Equal(stored.Identity.Scopes, id.Scopes) {
		t.Errorf("stored identity roles %q scopes %q, want %q %q", stored.Identity.Roles, stored.Identity.Scopes, id.Roles, id.Scopes)
	}
}

// TestGrantsAppend: the Roles, Scopes and Audience of a caller's Claims share their
// elements with the token cache (read-only, as documented), but an append copies: what
// one caller appends, even many at once, never reaches another caller (run with -race).
func TestGrantsAppend(t *testing.T) {
	for _, name := range []string{"cache", "no cache"} {
		t.Run(name, func(t *testing.T) {
			var opts []core.Option
			if name == "no cache" {
				opts = append(opts, core.WithoutTokenCache())
			}
			e := newEnv(t, opts...)
			id := alice
			id.Roles, id.Scopes = []string{"user", "editor", "a", "b", "c"}, []string{"read"}
			tok := e.issue(id)
			e.mustAuth(tok.AccessToken)
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := e.auth.Authenticate(context.Background(), tok.AccessToken)
					if err != nil {
						t.Error(err)
						return
					}
					c.Roles = append(c.Roles, fmt.Sprint("admin-", i))
					c.Scopes = append(c.Scopes, "write")
					c.Audience = append(c.Audience, "other")
				}()
			}
			wg.Wait()
			c := e.mustAuth(tok.AccessToken)
			if !slices.Equal(c.Roles, id.Roles) || !slices.Equal(c.Scopes, id.Scopes) || !slices.Equal(c.Audience, []string{testAudience}) {
				t.Errorf("an append reached the next caller: roles %q scopes %q aud %q", c.Roles, c.Scopes, c.Audience)
			}
		})
	}
}

// TestCustomClaimsTyped: CustomClaims decodes the payload into the app's own struct;
// nil claims (an optional route without a token) are ErrNoToken.
func TestCustomClaimsTyped(t *testing.T) {
	type appClaims struct {
		Tenant string   `json:"tenant"`
		Seats  int      `json:"seats"`
		Roles  []string `json:"roles"`
		Sub    string   `json:"sub"`
	}
	e := newEnv(t, core.WithClaims(func(context.Context, core.Identity) (map[string]any, error) {
		return map[string]any{"tenant": "acme", "seats": 12}, nil
	}))
	id := alice
	id.Roles = []string{"admin"}
	c := e.mustAuth(e.issue(id).AccessToken)
	got, err := core.CustomClaims[appClaims](c)
	want := appClaims{Tenant: "acme", Seats: 12, Roles: []string{"admin"}, Sub: alice.Subject}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("CustomClaims = %+v, %v; want %+v", got, err, want)
	}
	if m, err := core.CustomClaims[map[string]any](c); err != nil || m["tenant"] != "acme" {
		t.Errorf("CustomClaims[map] = %v, %v", m, err)
	}
	if _, err := core.CustomClaims[struct {
		Tenant int `json:"tenant"`
	}](c); err == nil {
		t.Error("CustomClaims decoded a string into an int")
	}
	_, err = core.CustomClaims[appClaims](nil)
	wantIs(t, "CustomClaims(nil)", err, core.ErrNoToken)
}

// BenchmarkAuthenticateGrants is Authenticate of a reused (cached) token carrying
// roles and scopes, set up as BenchmarkAuthenticateEvents/none is for a token without
// them: the caller's Claims shares them with the cache, so they cost nothing per request.
func BenchmarkAuthenticateGrants(b *testing.B) {
	mem := memstore.New()
	defer mem.Close()
	a := must(core.New(mem, core.WithSigningKey(hsKey(b)), core.WithLogger(slog.New(slog.DiscardHandler))))
	id := alice
	id.Roles, id.Scopes = []string{"admin", "editor", "user"}, []string{"read", "write"}
	ctx := context.Background()
	tok := must(a.Issue(ctx, id, core.Client{}))
	if _, err := a.Authenticate(ctx, tok.AccessToken); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, tok.AccessToken); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleWithGrants() {
	// The roles and scopes of each access token come from the app's own records, looked
	// up again at every refresh: a user whose role is taken away loses it within one
	// access token's lifetime.
	roles := map[string][]string{"ada": {"admin"}}
	auth, err := core.New(memstore.New(),
		core.WithHMACSecret(exampleSecret),
		core.WithGrants(func(_ context.Context, id core.Identity) (core.Grants, error) {
			return core.Grants{Roles: roles[id.Subject], Scopes: []string{"read", "write"}}, nil
		}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	tokens, _ := auth.Issue(ctx, core.Identity{Subject: "ada"}, core.Client{})
	claims, _ := auth.Authenticate(ctx, tokens.AccessToken)
	fmt.Println(claims.Roles, claims.Scopes, claims.HasRole("admin"), claims.HasScope("write"))

	delete(roles, "ada")
	tokens, _ = auth.Refresh(ctx, tokens.RefreshToken)
	claims, _ = auth.Authenticate(ctx, tokens.AccessToken)
	fmt.Println(claims.Roles, claims.HasRole("admin"))
	// Output:
	// [admin] [read write] true true
	// [] false
}
