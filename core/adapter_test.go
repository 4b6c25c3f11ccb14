package core_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
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
