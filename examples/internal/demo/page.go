package demo

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
)

//go:embed page.html
var pageHTML string

//go:embed page.js
var pageJS string

//go:embed page.css
var pageCSS string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// Page is a page of the demo, served as it is: the demo page at GET / (one HTML
// document with its script and style sheet inline and nothing loaded from elsewhere),
// or an account page (see App.Account). Header holds the headers to serve it with,
// among them a Content-Security-Policy that allows that script and style sheet by
// their hashes and fetches from the page's own origin only.
type Page struct {
	// Status is the HTTP status: 200 but for an account page that failed to render.
	Status      int
	Body        []byte
	ContentType string
	// Header holds the other response headers, Content-Type excepted.
	Header map[string]string
}

// pageProvider is a sign-in button of the page.
type pageProvider struct {
	Name, Label, Href string
}

// signedInTarget is where a sign-in started on the page comes back to: the page,
// which then fetches its first access token.
const signedInTarget = "/?signed_in=1"

func newPage(framework string, providers []string, dev, passwords bool) (Page, error) {
	var ps []pageProvider
	for i, name := range providers {
		label := "Sign in with " + name
		switch {
		case name == "devidp":
			label = "Sign in (development identity provider)"
		case name == "google":
			label = "Sign in with Google"
		}
		href := routePrefix + "/login"
		if i > 0 {
			href += "/" + name
		}
		href += "?redirect_to=" + url.QueryEscape(signedInTarget)
		ps = append(ps, pageProvider{Name: name, Label: label, Href: href})
	}
	var b bytes.Buffer
	err := pageTemplate.Execute(&b, map[string]any{
		"Framework": framework, "Providers": ps, "Dev": dev, "Prefix": routePrefix,
		"Passwords": passwords, "SignedIn": signedInTarget,
		"Script": template.JS(pageJS), "Style": template.CSS(pageCSS),
	})
	if err != nil {
		return Page{}, err
	}
	return Page{
		Status:      http.StatusOK,
		Body:        b.Bytes(),
		ContentType: "text/html; charset=utf-8",
		Header: map[string]string{
			// form-action 'self': the password form posts to the app's own route
			// (the script sends it with fetch, the browser would do the same).
			"Content-Security-Policy": "default-src 'none'; script-src " + hash(pageJS) + "; style-src " + hash(pageCSS) +
				"; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"Cache-Control":          "no-cache",
		},
	}, nil
}

// hash is the CSP source of an inline script or style sheet (CSP Level 3 §8.4).
func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
