package demo

import (
	"bytes"
	"context"
	_ "embed"
	"html/template"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

//go:embed account.html
var accountHTML string

var accountTemplate = template.Must(template.New("account").Parse(accountHTML))

// AccountPath is the server-rendered page of the signed-in user, GET /account.
const AccountPath = "/account"

// Account renders GET /account for the verified claims of its request (ctx is the
// request's, for the log line of a page that fails to render): the user's
// email, user id, roles and session, HTML-escaped by html/template. The page has no
// script; it is personal, so it is never stored by a cache. Serve it with the
// adapter's Require and its RedirectToLogin option, in cookie mode (the example
// servers' Auth has core.WithAccessCookie): an anonymous browser is sent to sign in,
// one whose access token has expired goes through the refresh route and back.
func (a *App) Account(ctx context.Context, c *core.Claims) Page {
	var b bytes.Buffer
	err := accountTemplate.Execute(&b, map[string]any{
		"Framework": a.Framework, "Prefix": routePrefix, "Style": template.CSS(pageCSS),
		"Email": c.Email, "Subject": c.Subject, "Roles": c.Roles, "SessionID": c.SessionID,
		"Expires": c.ExpiresAt.UTC().Format(time.RFC1123),
	})
	header := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src " + hash(pageCSS) +
			"; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"Cache-Control":          "no-store",
	}
	if err != nil {
		a.log.ErrorContext(ctx, "rendering the account page", "err", err)
		return Page{Status: http.StatusInternalServerError, Body: []byte("500 Internal Server Error\n"),
			ContentType: "text/plain; charset=utf-8", Header: header}
	}
	return Page{Status: http.StatusOK, Body: b.Bytes(), ContentType: "text/html; charset=utf-8", Header: header}
}
