package test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/httpauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// What Require, Optional and their options do for a request is core/authtest's to
// check (conformance_test.go); this file checks what depends on how net/http composes
// handlers: Mount on a ServeMux together with the middleware.

// get sends a GET without following redirects, with token as its Bearer token unless
// it is "", and with the cookies of jar unless it is nil. The body is read and closed.
func get(t *testing.T, jar http.CookieJar, url, token string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// signIn starts a sign-in at base+prefix/login and comes back at the redirect_uri it
// gives the provider, with the state and the state cookie. It returns that redirect_uri
// and the callback's answer, or "" and the login's answer when the login does not
// redirect.
func signIn(t *testing.T, base, prefix string) (string, *http.Response, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	res, body := get(t, jar, base+prefix+"/login", "")
	if res.StatusCode != http.StatusFound {
		return "", res, body
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	uri := loc.Query().Get("redirect_uri")
	res, body = get(t, jar, uri+"?state="+url.QueryEscape(loc.Query().Get("state")), "")
	return uri, res, body
}

// TestMountAndWrap checks what the package documents for combining Mount with the
// middleware: handlers wrapped one by one leave the auth routes alone; the whole mux
// wrapped in Require refuses the sign-in itself, unless Skip leaves the prefix out.
func TestMountAndWrap(t *testing.T) {
	// A sign-in provider whose endpoints are fixed (GitHub), so starting a sign-in
	// calls nobody.
	auth, err := core.New(memstore.New(), core.WithProviders(core.GitHub("client-id", "client-secret")), core.WithRoutePrefix("/api/auth"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Issue(context.Background(), core.Identity{Subject: "ada", Email: "ada@example.com"}, core.Client{})
	if err != nil {
		t.Fatal(err)
	}
	me := http.HandlerFunc(email)
	for _, tc := range []struct {
		name   string
		wrap   func(*http.ServeMux) http.Handler
		signIn bool // the sign-in gets to core's callback
	}{
		{"handlers wrapped", func(mux *http.ServeMux) http.Handler {
			mux.Handle("GET /api/me", httpauth.Require(auth)(me))
			return mux
		}, true},
		{"mux wrapped", func(mux *http.ServeMux) http.Handler {
			mux.Handle("GET /api/me", me)
			return httpauth.Require(auth)(mux)
		}, false},
		{"mux wrapped, prefix skipped", func(mux *http.ServeMux) http.Handler {
			mux.Handle("GET /api/me", me)
			return httpauth.Require(auth, httpauth.Skip(func(r *http.Request) bool {
				return strings.HasPrefix(r.URL.Path, auth.Prefix()+"/")
			}))(mux)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			httpauth.Mount(mux, auth)
			srv := httptest.NewServer(tc.wrap(mux))
			t.Cleanup(srv.Close)
			uri, res, body := signIn(t, srv.URL, "/api/auth")
			if tc.signIn {
				if want := srv.URL + "/api/auth/callback"; uri != want {
					t.Fatalf("redirect_uri %q, want %q", uri, want)
				}
				if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "no code in the callback") {
					t.Fatalf("callback: %d %s, want core's 400 for the missing code", res.StatusCode, body)
				}
			} else if res.StatusCode != http.StatusUnauthorized || uri != "" {
				t.Fatalf("sign-in behind Require: %d %s, want the middleware's 401", res.StatusCode, body)
			}
			if res, _ := get(t, nil, srv.URL+"/api/me", ""); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET /api/me without a token: %d", res.StatusCode)
			}
			if res, body := get(t, nil, srv.URL+"/api/me", tok.AccessToken); res.StatusCode != http.StatusOK {
				t.Errorf("GET /api/me with a token: %d %s", res.StatusCode, body)
			}
		})
	}
}
