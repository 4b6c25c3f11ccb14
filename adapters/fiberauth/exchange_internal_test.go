package fiberauth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gofiber/fiber/v2"
)

// seen is what one request's Exchange returned, kept past the handler.
type seen struct {
	method, header, query, path, host, ip string
	cookies                               []string
	body                                  []byte
}

func capture(ex core.Exchange) seen {
	s := seen{method: ex.Method(), header: ex.Header("X-Probe"), query: ex.Query("q"),
		path: ex.PathValue("id"), host: ex.Host(), ip: ex.RemoteIP()}
	s.cookies = ex.Cookies("probe")
	s.body, _ = ex.Body(1 << 10)
	return s
}

// TestExchangeCopies keeps what the Exchange returned for one request and checks it is
// intact after many further requests on the same connection have gone through the same
// fasthttp buffers. Without the copies, the first request's values read as the later
// requests' bytes.
func TestExchangeCopies(t *testing.T) {
	var (
		mu   sync.Mutex
		kept []seen
	)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Post("/capture/:id", func(c *fiber.Ctx) error {
		s := capture(exchange{c})
		mu.Lock()
		kept = append(kept, s)
		mu.Unlock()
		return c.SendStatus(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)  //nolint:errcheck // ends with Shutdown
	defer app.Shutdown() //nolint:errcheck
	base := "http://" + ln.Addr().String()
	cl := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}

	send := func(letter string) {
		t.Helper()
		v := strings.Repeat(letter, 64)
		req, _ := http.NewRequest(http.MethodPost, base+"/capture/"+v+"?q="+v, strings.NewReader(v))
		req.Host = strings.Repeat(letter, 16) + ".test"
		// The longest value, so that whichever header fasthttp later parses into this
		// buffer (it rotates them) fits without a reallocation and overwrites it.
		req.Header.Set("X-Probe", v+v)
		req.Header.Set("Cookie", "probe="+v)
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
	const later = 200
	send("a")
	for i := 0; i < later; i++ {
		send(string(rune('b' + i%20)))
	}

	mu.Lock()
	defer mu.Unlock()
	if len(kept) != later+1 {
		t.Fatalf("%d requests captured, want %d", len(kept), later+1)
	}
	want := strings.Repeat("a", 64)
	first := kept[0]
	for name, got := range map[string]string{"Query": first.query,
		"PathValue": first.path, "Cookies": strings.Join(first.cookies, ","), "Body": string(first.body)} {
		if got != want {
			t.Errorf("%s kept from the first request = %q, want %q", name, got, want)
		}
	}
	if first.header != want+want {
		t.Errorf("Header kept from the first request = %q", first.header)
	}
	if first.host != strings.Repeat("a", 16)+".test" {
		t.Errorf("Host kept from the first request = %q", first.host)
	}
	if first.method != http.MethodPost {
		t.Errorf("Method = %q", first.method)
	}
	if first.ip != "127.0.0.1" {
		t.Errorf("RemoteIP = %q, want 127.0.0.1", first.ip)
	}
}

func TestExchange(t *testing.T) {
	app := fiber.New()
	var got seen
	var bodyErr error
	app.Post("/s/:id", func(c *fiber.Ctx) error {
		ex := exchange{c}
		got = capture(ex)
		_, bodyErr = ex.Body(3)
		ex.SetHeader("X-Answer", "yes")
		ex.SetCookie(&http.Cookie{Name: "rt", Value: "v", Path: "/auth", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		ex.SetCookie(&http.Cookie{Name: "st", Value: "w", Path: "/auth/callback", Secure: true})
		ex.Write(http.StatusTeapot, []byte(`{"ok":true}`))
		return nil
	})
	req, _ := http.NewRequest(http.MethodPost, "http://example.com/s/a%2Fb?q=x%20y", strings.NewReader("body"))
	req.Header.Set("Cookie", "probe=; other=1; probe=second")
	res, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusTeapot || string(b) != `{"ok":true}` || res.Header.Get("X-Answer") != "yes" {
		t.Errorf("response %d %q %v", res.StatusCode, b, res.Header)
	}
	cookies := res.Header.Values("Set-Cookie")
	wantCookies := []string{"rt=v; Path=/auth; Max-Age=0; HttpOnly; SameSite=Lax", "st=w; Path=/auth/callback; Secure"}
	if fmt.Sprint(cookies) != fmt.Sprint(wantCookies) {
		t.Errorf("Set-Cookie = %q, want %q", cookies, wantCookies)
	}
	if got.path != "a/b" {
		t.Errorf("PathValue = %q, want it decoded as net/http does", got.path)
	}
	if got.query != "x y" {
		t.Errorf("Query = %q", got.query)
	}
	if len(got.cookies) != 2 || got.cookies[0] != "" || got.cookies[1] != "second" {
		t.Errorf("Cookies(probe) = %q: want an empty one that is present, then the second", got.cookies)
	}
	if !bytes.Equal(got.body, []byte("body")) {
		t.Errorf("Body = %q", got.body)
	}
	if !errors.Is(bodyErr, core.ErrInvalidRequest) {
		t.Errorf("Body over the limit: %v, want ErrInvalidRequest", bodyErr)
	}
	if got.host != "example.com" {
		t.Errorf("Host = %q", got.host)
	}
}
