package ginauth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/ginauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gin-gonic/gin"
)

func newAuth(t *testing.T) *core.Auth {
	t.Helper()
	auth, err := core.New(memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

func issue(t *testing.T, auth *core.Auth) string {
	t.Helper()
	tok, err := auth.Issue(context.Background(), core.Identity{Subject: "u1", Email: "ada@example.com"}, core.Client{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// TestMiddleware checks what ginauth adds to core: where the claims go, and that a
// refused request never reaches the handler.
func TestMiddleware(t *testing.T) {
	auth := newAuth(t)
	tok := issue(t, auth)

	type seen struct {
		Reached   bool   `json:"reached"`
		GinEmail  string `json:"gin_email"`
		CtxEmail  string `json:"ctx_email"`
		Anonymous bool   `json:"anonymous"`
	}
	handler := func(c *gin.Context) {
		s := seen{Reached: true}
		gc, ok := ginauth.Claims(c)
		if ok {
			s.GinEmail = gc.Email
		}
		if cc, ok := core.FromContext(c.Request.Context()); ok {
			s.CtxEmail = cc.Email
			if cc != gc {
				t.Error("the request context and the Gin context hold different claims")
			}
		}
		s.Anonymous = !ok
		c.JSON(http.StatusOK, s)
	}
	r := gin.New()
	r.GET("/require", ginauth.Require(auth), handler)
	r.GET("/optional", ginauth.Optional(auth), handler)
	r.GET("/none", handler)

	for _, tc := range []struct {
		name, path, token string
		status            int
		want              seen
	}{
		{"require, valid token", "/require", tok, 200, seen{Reached: true, GinEmail: "ada@example.com", CtxEmail: "ada@example.com"}},
		{"require, no token", "/require", "", 401, seen{}},
		{"require, bad token", "/require", tok + "x", 401, seen{}},
		{"optional, valid token", "/optional", tok, 200, seen{Reached: true, GinEmail: "ada@example.com", CtxEmail: "ada@example.com"}},
		{"optional, no token", "/optional", "", 200, seen{Reached: true, Anonymous: true}},
		{"optional, bad token", "/optional", tok + "x", 401, seen{}},
		{"no middleware", "/none", tok, 200, seen{Reached: true, Anonymous: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			var got seen
			if tc.status == 200 {
				if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
			} else {
				if strings.Contains(w.Body.String(), "reached") {
					t.Fatalf("the handler ran after a refusal: %s", w.Body)
				}
				if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
				}
			}
			if got != tc.want {
				t.Errorf("handler saw %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestMountUnderGroup mounts the routes on a group whose base path the prefix starts
// with: they are served at the prefix, not under the group's path a second time.
func TestMountUnderGroup(t *testing.T) {
	auth, err := core.New(memstore.New(), core.WithRoutePrefix("/v1/auth"))
	if err != nil {
		t.Fatal(err)
	}
	r := gin.New()
	ginauth.Mount(r.Group("/v1"), auth)
	srv := httptest.NewServer(r)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/v1/auth/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `"keys"`) {
		t.Fatalf("GET /v1/auth/jwks.json: %d %s", res.StatusCode, body)
	}
}
