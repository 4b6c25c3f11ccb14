package core_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

func TestWebOptionsRefused(t *testing.T) {
	google := core.Google("id", "secret")
	noID := core.Google("", "secret")
	badName := core.OIDC("Bad Name", "https://idp.example", "id", "s")
	httpIssuer := core.OIDC("idp", "http://idp.example", "id", "s")
	queryIssuer := core.OIDC("idp", "https://idp.example/?tenant=1", "id", "s")
	literal := core.Provider{Name: "x", ClientID: "id"}
	badGitHub := core.GitHub("id", "s")
	badGitHub.APIURL = "ftp://api.example"
	badAuth := core.OIDC("idp", "https://idp.example", "id", "s")
	badAuth.ClientAuth = 7
	cases := []struct {
		name string
		opts []core.Option
	}{
		{"ProviderWithoutClientID", []core.Option{core.WithProviders(noID)}},
		{"ProviderName", []core.Option{core.WithProviders(badName)}},
		{"HTTPIssuer", []core.Option{core.WithProviders(httpIssuer)}},
		{"IssuerWithQuery", []core.Option{core.WithProviders(queryIssuer)}},
		{"ProviderLiteralWithoutIssuer", []core.Option{core.WithProviders(literal)}},
		{"GitHubURL", []core.Option{core.WithProviders(badGitHub)}},
		{"ClientAuth", []core.Option{core.WithProviders(badAuth)}},
		{"DuplicateNames", []core.Option{core.WithProviders(google, google)}},
		{"UnknownDefault", []core.Option{core.WithProviders(google), core.WithDefaultProvider("github")}},
		{"EmptyDefault", []core.Option{core.WithDefaultProvider("")}},
		{"PublicURLScheme", []core.Option{core.WithPublicURL("ftp://app.example")}},
		{"PublicURLQuery", []core.Option{core.WithPublicURL("https://app.example/?x=1")}},
		{"PublicURLRelative", []core.Option{core.WithPublicURL("/app")}},
		{"PrefixNoSlash", []core.Option{core.WithRoutePrefix("auth")}},
		{"PrefixTrailingSlash", []core.Option{core.WithRoutePrefix("/auth/")}},
		{"PrefixRoot", []core.Option{core.WithRoutePrefix("/")}},
		{"Email", []core.Option{core.WithAllowedEmails("not-an-email")}},
		{"Domain", []core.Option{core.WithAllowedDomains("@example.com")}},
		{"OriginWithPath", []core.Option{core.WithAllowedOrigins("https://app.example/path")}},
		{"OriginScheme", []core.Option{core.WithAllowedOrigins("app.example")}},
		{"TimeoutZero", []core.Option{core.WithProviderTimeout(0)}},
		{"TimeoutHuge", []core.Option{core.WithProviderTimeout(time.Hour)}},
		{"CookieName", []core.Option{core.WithCookies(core.CookieOptions{RefreshName: "a b"})}},
		{"CookieNamesEqual", []core.Option{core.WithCookies(core.CookieOptions{RefreshName: "c", StateName: "c"})}},
		{"CookieDomain", []core.Option{core.WithCookies(core.CookieOptions{Domain: "exa mple.com"})}},
		{"Realm", []core.Option{core.WithRealm(`a"b`)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := core.New(memstore.New(), tc.opts...); !errors.Is(err, core.ErrConfig) {
				t.Fatalf("New: %v, want ErrConfig", err)
			}
		})
	}
}

func TestRoutesTable(t *testing.T) {
	cases := []struct {
		name   string
		opts   []core.Option
		prefix string
		routes int
	}{
		{"NoProvider", nil, "/auth", 8},
		{"Providers", []core.Option{core.WithProviders(core.Google("id", "s"), core.GitHub("id", "s"),
			core.OIDC("local", "http://127.0.0.1:9/oidc", "id", "")), core.WithDefaultProvider("github")}, "/auth", 12},
		{"Prefix", []core.Option{core.WithRoutePrefix("/api/v1/auth")}, "/api/v1/auth", 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := core.New(memstore.New(), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if a.Prefix() != tc.prefix || len(a.Adapter().Routes()) != tc.routes {
				t.Fatalf("prefix %q with %d routes, want %q with %d", a.Prefix(), len(a.Adapter().Routes()), tc.prefix, tc.routes)
			}
			seen := map[string]bool{}
			for _, r := range a.Adapter().Routes() {
				if r.Handle == nil || seen[r.Method+" "+r.Pattern] {
					t.Fatalf("route %s %s: nil or duplicate", r.Method, r.Pattern)
				}
				seen[r.Method+" "+r.Pattern] = true
			}
		})
	}
}

// TestNewStoreDownWithProviders checks that loading the state key is a store failure
// New reports, and that without providers New does not need the store for it.
func TestNewStateKeyNeedsStore(t *testing.T) {
	store := memstore.New()
	store.Close()
	secret := core.WithHMACSecret(make([]byte, 32))
	if _, err := core.New(store, secret); err != nil {
		t.Fatalf("New without providers over a closed store: %v", err)
	}
	if _, err := core.New(store, secret, core.WithProviders(core.Google("id", "s"))); !errors.Is(err, core.ErrStoreUnavailable) {
		t.Fatalf("New with a provider over a closed store: %v, want ErrStoreUnavailable", err)
	}
}
