package test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/httpauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/authtest"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// What Require, Optional and their options do for a request is core/authtest's to
// check (conformance_test.go); this file checks what depends on how net/http composes
// handlers: Mount on a ServeMux together with the middleware.

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
			uri, res, body := authtest.StartSignIn(t, srv.URL, "/api/auth")
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
			if res, _ := authtest.Get(t, nil, srv.URL+"/api/me", ""); res.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET /api/me without a token: %d", res.StatusCode)
			}
			if res, body := authtest.Get(t, nil, srv.URL+"/api/me", tok.AccessToken); res.StatusCode != http.StatusOK {
				t.Errorf("GET /api/me with a token: %d %s", res.StatusCode, body)
			}
		})
	}
}
