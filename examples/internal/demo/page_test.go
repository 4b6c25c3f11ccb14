package demo

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// TestPageIsSelfContained: the inline script and style sheet are the embedded files,
// byte for byte, and the CSP allows exactly them; nothing is loaded from elsewhere.
func TestPageIsSelfContained(t *testing.T) {
	p, err := newPage("Gin", []string{"google", "oidc"}, false, false)
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
	if strings.Contains(body, `id="password-form"`) {
		t.Error("a password form without GATEHOUSE_USERS_FILE")
	}
}

// TestPagePasswordForm: with users, the page has the password form, posting to the
// password route and coming back to the page; the CSP lets it post there only.
func TestPagePasswordForm(t *testing.T) {
	p, err := newPage("Gin", []string{"devidp"}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	body := string(p.Body)
	for _, want := range []string{`<form class="group" id="password-form" method="post" action="/auth/login/password">`,
		`<input type="hidden" name="redirect_to" value="/?signed_in=1">`, `name="username"`, `name="password" type="password"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if csp := p.Header["Content-Security-Policy"]; !strings.Contains(csp, "form-action 'self'") {
		t.Errorf("CSP %q: the form may not post to the app", csp)
	}
}

// TestAccountPage: the email and the rest are escaped by html/template; the page is
// not stored by caches, and runs no script.
func TestAccountPage(t *testing.T) {
	a := &App{Framework: "Gin", log: slog.New(slog.DiscardHandler)}
	p := a.Account(context.Background(), &core.Claims{
		Subject: "user:o'brien&co@example.com", Email: "o'brien&co@example.com", Roles: []string{"admin", "<b>"},
		SessionID: "s1", ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
	})
	body := string(p.Body)
	if p.Status != 200 || p.ContentType != "text/html; charset=utf-8" {
		t.Fatalf("%d %s", p.Status, p.ContentType)
	}
	for _, want := range []string{`<span id="email">o&#39;brien&amp;co@example.com</span>`, `user:o&#39;brien&amp;co@example.com`,
		`<dd id="roles">admin, &lt;b&gt;</dd>`, "Wed, 02 Jan 2030 03:04:05 UTC"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script") || p.Header["Cache-Control"] != "no-store" || !strings.Contains(p.Header["Content-Security-Policy"], "default-src 'none'") {
		t.Errorf("headers %v", p.Header)
	}
	if none := a.Account(context.Background(), &core.Claims{Email: "ada@example.com"}); !strings.Contains(string(none.Body), `<dd id="roles">none</dd>`) {
		t.Error("no roles: not said")
	}
}
