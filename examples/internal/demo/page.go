package demo

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"html/template"
)

//go:embed page.html
var pageHTML string

//go:embed page.js
var pageJS string

//go:embed page.css
var pageCSS string

var pageTemplate = template.Must(template.New("page").Parse(pageHTML))

// Page is the demo page: one HTML document with its script and style sheet inline
// and nothing loaded from elsewhere, and the headers to serve it with, among them a
// Content-Security-Policy that allows that script and style sheet by their hashes and
// fetches from the page's own origin only.
type Page struct {
	Body        []byte
	ContentType string
	// Header holds the other response headers, Content-Type excepted.
	Header map[string]string
}

// pageProvider is a sign-in button of the page.
type pageProvider struct {
	Name, Label, Href string
}

func newPage(framework string, providers []string, dev bool) (Page, error) {
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
		// Back to the page, which then fetches its first access token.
		href += "?redirect_to=%2F%3Fsigned_in%3D1"
		ps = append(ps, pageProvider{Name: name, Label: label, Href: href})
	}
	var b bytes.Buffer
	err := pageTemplate.Execute(&b, map[string]any{
		"Framework": framework, "Providers": ps, "Dev": dev, "Prefix": routePrefix,
		"Script": template.JS(pageJS), "Style": template.CSS(pageCSS),
	})
	if err != nil {
		return Page{}, err
	}
	return Page{
		Body:        b.Bytes(),
		ContentType: "text/html; charset=utf-8",
		Header: map[string]string{
			"Content-Security-Policy": "default-src 'none'; script-src " + hash(pageJS) + "; style-src " + hash(pageCSS) +
				"; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
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
