package demo

import (
	"regexp"
	"strings"
	"testing"
)

// TestPageIsSelfContained: the inline script and style sheet are the embedded files,
// byte for byte, and the CSP allows exactly them; nothing is loaded from elsewhere.
func TestPageIsSelfContained(t *testing.T) {
	p, err := newPage("Gin", []string{"google", "oidc"}, false)
	if err != nil {
		t.Fatal(err)
	}
	body := string(p.Body)
	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(body, -1)
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(body, -1)
	if len(scripts) != 1 || scripts[0][1] != pageJS || len(styles) != 1 || styles[0][1] != pageCSS {
		t.Fatal("the page's inline script or style sheet differs from the embedded file")
	}
	csp := p.Header["Content-Security-Policy"]
	for _, want := range []string{"default-src 'none'", "script-src " + hash(pageJS) + ";", "style-src " + hash(pageCSS) + ";", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if m := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"(https?:)?//`).FindString(body); m != "" {
		t.Errorf("the page loads something from elsewhere: %s", m)
	}
	for _, want := range []string{`id="signin" data-provider="google" href="/auth/login?redirect_to=%2F%3Fsigned_in%3D1"`, `href="/auth/login/oidc?`, "Sign in with Google", "gatehouse demo · Gin"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(body, "dev-banner") {
		t.Error("development banner without the development identity provider")
	}
}
