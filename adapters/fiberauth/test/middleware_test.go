package test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/fiberauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gofiber/fiber/v2"
)

func newAuth(t *testing.T) *core.Auth {
	t.Helper()
	auth, err := core.New(memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

func issue(t *testing.T, auth *core.Auth, email string) string {
	t.Helper()
	tok, err := auth.Issue(context.Background(), core.Identity{Subject: "u-" + email, Email: email}, core.Client{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken
}

// TestMiddleware checks what fiberauth adds to core: where the claims go, and that a
// refused request never reaches the handler.
func TestMiddleware(t *testing.T) {
	auth := newAuth(t)
	tok := issue(t, auth, "ada@example.com")

	type seen struct {
		Reached    bool   `json:"reached"`
		FiberEmail string `json:"fiber_email"`
		CtxEmail   string `json:"ctx_email"`
		Anonymous  bool   `json:"anonymous"`
	}
	handler := func(c *fiber.Ctx) error {
		s := seen{Reached: true}
		fc, ok := fiberauth.Claims(c)
		if ok {
			s.FiberEmail = fc.Email
		}
		if cc, ok := core.FromContext(c.UserContext()); ok {
			s.CtxEmail = cc.Email
			if cc != fc {
				t.Error("c.UserContext() and c.Locals hold different claims")
			}
		}
		s.Anonymous = !ok
		return c.JSON(s)
	}
	app := fiber.New()
	app.Get("/require", fiberauth.Require(auth), handler)
	app.Get("/optional", fiberauth.Optional(auth), handler)
	app.Get("/none", handler)

	for _, tc := range []struct {
		name, path, token string
		status            int
		want              seen
	}{
		{"require, valid token", "/require", tok, 200, seen{Reached: true, FiberEmail: "ada@example.com", CtxEmail: "ada@example.com"}},
		{"require, no token", "/require", "", 401, seen{}},
		{"require, bad token", "/require", tok + "x", 401, seen{}},
		{"optional, valid token", "/optional", tok, 200, seen{Reached: true, FiberEmail: "ada@example.com", CtxEmail: "ada@example.com"}},
		{"optional, no token", "/optional", "", 200, seen{Reached: true, Anonymous: true}},
		{"optional, bad token", "/optional", tok + "x", 401, seen{}},
		{"no middleware", "/none", tok, 200, seen{Reached: true, Anonymous: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			res, err := app.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", res.StatusCode, tc.status, body)
			}
			var got seen
			if tc.status == 200 {
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatal(err)
				}
			} else {
				if strings.Contains(string(body), "reached") {
					t.Fatalf("the handler ran after a refusal: %s", body)
				}
				if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", res.Header.Get("WWW-Authenticate"))
				}
			}
			if got != tc.want {
				t.Errorf("handler saw %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestClaimsOutliveTheHandler keeps the claims of one request, as an app that hands
// them to a goroutine would, and checks them after many requests with other tokens have
// gone through the same connection's fasthttp buffers.
func TestClaimsOutliveTheHandler(t *testing.T) {
	auth := newAuth(t)
	var (
		mu   sync.Mutex
		kept []*core.Claims
	)
	app := newApp(auth, fiber.Config{ReadBufferSize: fiberauth.ReadBufferSize})
	app.Get("/keep", fiberauth.Require(auth), func(c *fiber.Ctx) error {
		fc, _ := fiberauth.Claims(c)
		cc, _ := core.FromContext(c.UserContext())
		mu.Lock()
		kept = append(kept, fc, cc)
		mu.Unlock()
		return c.SendStatus(http.StatusNoContent)
	})
	base := listen(t, app)
	cl := client()
	get := func(tok string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/keep", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body) //nolint:errcheck
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	first := issue(t, auth, "aaaa@example.com")
	want, err := auth.Authenticate(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	get(first)
	others := []string{issue(t, auth, "bbbb@example.com"), issue(t, auth, "cccc@example.com")}
	for i := 0; i < 100; i++ {
		get(others[i%2])
	}
	mu.Lock()
	defer mu.Unlock()
	for _, got := range kept[:2] {
		if got == nil || got.Email != want.Email || got.Subject != want.Subject || got.ID != want.ID || got.SessionID != want.SessionID {
			t.Errorf("claims kept from the first request = %+v, want %+v", got, want)
		}
	}
}
