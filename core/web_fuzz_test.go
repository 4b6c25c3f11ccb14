package core

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzCheckRedirect checks that whatever redirect_to a client sends, what is accepted
// stays on the app's site or an allowed origin, also as a browser reads it.
func FuzzCheckRedirect(f *testing.F) {
	for _, s := range []string{"", "/", "/a?b=c#d", "//evil.example", "/\\evil", "https://app.example.com/x",
		"https://evil.example", "/\t/evil", "javascript:x", "HTTPS://APP.EXAMPLE.COM", "/%2f%2fevil", "https:/evil"} {
		f.Add(s)
	}
	origins := map[string]bool{"https://app.example.com": true}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := checkRedirect(s, origins, "https://app.example.com")
		if err != nil {
			return
		}
		// Browsers drop tabs and newlines and read backslashes as slashes.
		browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(got)
		base, _ := url.Parse("https://app.example.com/current/page")
		u, perr := base.Parse(browser)
		if perr != nil {
			t.Fatalf("accepted %q, which does not parse: %v", got, perr)
		}
		if origin := strings.ToLower(u.Scheme + "://" + u.Host); !origins[origin] {
			t.Fatalf("accepted %q, which a browser would follow to %s", got, origin)
		}
		if u.User != nil {
			t.Fatalf("accepted %q with user info", got)
		}
	})
}

// FuzzOpenState checks that a state cookie opens only if it is exactly one that was
// sealed, and that no input makes openState panic.
func FuzzOpenState(f *testing.F) {
	a := newWebAuth(f)
	now := time.Now()
	st := &loginState{ID: "id", Provider: "idp", Verifier: strings.Repeat("v", 43), Nonce: "n",
		RedirectTo: "/", RedirectURI: "https://app.example/auth/callback", Expires: now.Add(stateTTL).Unix()}
	sealed, err := sealState(a.keys(a.cfg.now()).states[0], st)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add("")
	f.Add(sealed[:20])
	f.Add(strings.ToUpper(sealed))
	f.Fuzz(func(t *testing.T, v string) {
		got, err := openState(a.keys(a.cfg.now()).states, v, now)
		if err != nil {
			return
		}
		if v != sealed || *got != *st {
			t.Fatalf("opened a state that was never sealed: %q → %+v", v, got)
		}
	})
}

// FuzzReadParams checks that any body of a token, revoke or logout request is either
// read into parameters or refused as a bad request, never a panic or a server error.
func FuzzReadParams(f *testing.F) {
	for _, s := range [][2]string{
		{"application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=x"},
		{"application/x-www-form-urlencoded; charset=utf-8", "a=%zz"},
		{"application/json", `{"refresh_token":"x","grant_type":null,"n":1}`},
		{"application/json", `[1]`},
		{"text/plain", "x"},
		{"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, contentType, body string) {
		ex := newFake()
		ex.headers["Content-Type"] = contentType
		ex.reqBody = []byte(body)
		p, err := readParams(ex)
		switch {
		case err == nil && p.values == nil:
			t.Fatal("no error and no parameters")
		case err != nil && !errors.Is(err, ErrInvalidRequest) && !errors.Is(err, ErrBodyTooLarge):
			t.Fatalf("error %v is neither a bad request nor a bad body", err)
		case err != nil && ErrorResponse(err).Status != 400 && !errors.Is(err, ErrBodyTooLarge):
			t.Fatalf("error %v answered %d", err, ErrorResponse(err).Status)
		}
	})
}
