package test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/adapters/fiberauth"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gofiber/fiber/v2"
)

// largestToken issues a valid access token as close to core.MaxTokenSize as custom
// claims make it.
func largestToken(t *testing.T, auth *core.Auth) string {
	t.Helper()
	issue := func(pad int) string {
		tok, err := auth.Issue(context.Background(), core.Identity{Subject: "u1", Email: "ada@example.com",
			Claims: map[string]any{"pad": strings.Repeat("x", pad)}}, core.Client{})

		if err != nil {
			t.Fatal(err)
		}
		return tok.AccessToken
	}
	small := issue(0)
	// Each byte of the claim is 4/3 of a byte of token.
	tok := issue((core.MaxTokenSize - len(small)) * 3 / 4)
	for len(tok) > core.MaxTokenSize {
		tok = issue((core.MaxTokenSize-len(small))*3/4 - (len(tok) - core.MaxTokenSize) - 4)
	}
	if len(tok) < core.MaxTokenSize-16 {
		t.Fatalf("largest token is %d bytes, want close to %d", len(tok), core.MaxTokenSize)
	}
	return tok
}

// browserRequest is what a browser sends to an API route: the access token, the
// gatehouse cookies and the app's own, and the usual headers.
func browserRequest(t *testing.T, url, token string, extraCookies int) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8")
	req.Header.Set("Accept-Language", "en-GB,en;q=0.9,fr;q=0.8")
	req.Header.Set("Referer", "https://app.example/dashboard/settings?tab=sessions")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Ch-Ua", `"Chromium";v="131", "Not_A Brand";v="24"`)
	// A refresh token and a sealed sign-in state are each under 1 KiB; the app's own
	// cookies (analytics, preferences) make up the rest.
	req.AddCookie(&http.Cookie{Name: "gatehouse_refresh", Value: strings.Repeat("r", 900)})
	req.AddCookie(&http.Cookie{Name: "gatehouse_state", Value: strings.Repeat("s", 400)})
	req.AddCookie(&http.Cookie{Name: "app_prefs", Value: strings.Repeat("p", extraCookies)})
	return req
}

// TestHeaderBuffer: with ReadBufferSize the largest token gatehouse accepts, with the
// cookies and headers of a browser, reaches the handler; headers beyond the buffer are
// answered 431 by Fiber, as is the largest token with Fiber's default buffer.
func TestHeaderBuffer(t *testing.T) {
	auth, err := core.New(memstore.New())
	if err != nil {
		t.Fatal(err)
	}
	tok := largestToken(t, auth)
	recommended := serve(t, auth)
	defaults := listen(t, newApp(auth, fiber.Config{}))
	if fiber.DefaultReadBufferSize >= core.MaxTokenSize {
		t.Logf("Fiber's default buffer (%d) now holds a token of %d bytes", fiber.DefaultReadBufferSize, core.MaxTokenSize)
	}

	for _, tc := range []struct {
		name    string
		base    string
		cookies int
		want    int
	}{
		{"largest token, cookies, browser headers", recommended, 2 << 10, http.StatusOK},
		{"headers beyond the buffer", recommended, fiberauth.ReadBufferSize, http.StatusRequestHeaderFieldsTooLarge},
		{"largest token with Fiber's default buffer", defaults, 0, http.StatusRequestHeaderFieldsTooLarge},
		// The client is still writing when fasthttp answers and closes: Listener's
		// lingering close lets it read the 431 instead of a connection reset.
		{"1 MiB of cookies", recommended, 1 << 20, http.StatusRequestHeaderFieldsTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := browserRequest(t, tc.base+"/api/protected", tok, tc.cookies)
			size := len(req.Header.Get("Authorization")) + len(req.Header.Get("Cookie"))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Fatalf("token of %d bytes, Authorization+Cookie %d bytes: %d %s, want %d",
					len(tok), size, res.StatusCode, body, tc.want)
			}
			if tc.want == http.StatusOK && !strings.Contains(string(body), `"email":"ada@example.com"`) {
				t.Fatalf("body %s: the handler did not see the claims", body)
			}
			t.Logf("token of %d bytes, Authorization+Cookie %d bytes: %d", len(tok), size, res.StatusCode)
		})
	}
}
