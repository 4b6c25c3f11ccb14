package core_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

func TestColonPattern(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/login", "/login"},
		{"/login/{provider}", "/login/:provider"},
		{"/sessions/{sid}", "/sessions/:sid"},
		{"/a/{x}/b/{y}", "/a/:x/b/:y"},
		{"/jwks.json", "/jwks.json"},
		{"", ""},
		{"/{}", "/{}"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := (core.Route{Pattern: tc.in}).ColonPattern(); got != tc.want {
				t.Errorf("ColonPattern(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestRelativePrefix: where a router group must register the routes for them to be at
// the prefix, and the refusal of a group the prefix does not lie under.
func TestRelativePrefix(t *testing.T) {
	a, err := core.New(memstore.New(), core.WithRoutePrefix("/api/auth"))
	if err != nil {
		t.Fatal(err)
	}
	for base, want := range map[string]string{"": "/api/auth", "/": "/api/auth", "/api": "/auth", "/api/": "/auth", "api": "/auth", "/api/auth": ""} {
		if got, err := a.Adapter().RelativePrefix(base); err != nil || got != want {
			t.Errorf("RelativePrefix(%q) = %q, %v; want %q", base, got, err, want)
		}
	}
	for _, base := range []string{"/v1", "/ap", "/api/auth/x"} {
		_, err := a.Adapter().RelativePrefix(base)
		if !errors.Is(err, core.ErrConfig) || !strings.Contains(err.Error(), "core.WithRoutePrefix") {
			t.Errorf("RelativePrefix(%q) = %v; want ErrConfig naming core.WithRoutePrefix", base, err)
		}
	}
}
