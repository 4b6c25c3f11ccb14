package ginauth

import "testing"

func TestGinPattern(t *testing.T) {
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
			if got := ginPattern(tc.in); got != tc.want {
				t.Errorf("ginPattern(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
