package ginauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gin-gonic/gin"
)

func TestExchange(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.POST("/s/:id", func(c *gin.Context) {
		ex := exchange{c}
		if got := ex.PathValue("id"); got != "a b" {
			t.Errorf("PathValue = %q", got)
		}
		if got := ex.Query("q"); got != "x y" {
			t.Errorf("Query = %q", got)
		}
		if v := ex.Cookies("empty"); len(v) != 1 || v[0] != "" {
			t.Errorf("Cookies(empty) = %q: want one, empty", v)
		}
		if v := ex.Cookies("enc"); len(v) != 1 || v[0] != "a%20b" {
			t.Errorf("Cookies(enc) = %q: want the raw value, as net/http gives it", v)
		}
		if v := ex.Cookies("twice"); len(v) != 2 || v[0] != "1" || v[1] != "2" {
			t.Errorf("Cookies(twice) = %q: want both, in order", v)
		}
		if v := ex.Cookies("missing"); v != nil {
			t.Errorf("Cookies(missing) = %q", v)
		}
		if _, err := ex.Body(3); !errors.Is(err, core.ErrInvalidRequest) {
			t.Errorf("Body over the limit: %v, want ErrInvalidRequest", err)
		}
		c.Request.Body = http.NoBody
		c.Set(gin.BodyBytesKey, []byte("body"))
		for range 2 {
			if b, err := ex.Body(10); string(b) != "body" || err != nil {
				t.Errorf("Body = %q, %v: want it again from Gin's cache", b, err)
			}
		}
		if ex.Method() != http.MethodPost || ex.Host() != "example.com" || ex.TLS() {
			t.Errorf("Method %q Host %q TLS %v", ex.Method(), ex.Host(), ex.TLS())
		}
		ex.SetHeader("X-Answer", "yes")
		ex.SetCookie(&http.Cookie{Name: "rt", Value: "v", Path: "/auth", MaxAge: -1, HttpOnly: true})
		ex.Write(http.StatusTeapot, []byte(`{"ok":true}`))
	})
	req := httptest.NewRequest(http.MethodPost, "http://example.com/s/a%20b?q=x%20y", strings.NewReader("body"))
	req.Header.Set("Cookie", "empty=; enc=a%20b; twice=1; twice=2")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusTeapot || w.Body.String() != `{"ok":true}` || w.Header().Get("X-Answer") != "yes" {
		t.Errorf("response %d %q %v", w.Code, w.Body, w.Header())
	}
	if got := w.Header().Get("Set-Cookie"); got != "rt=v; Path=/auth; Max-Age=0; HttpOnly" {
		t.Errorf("Set-Cookie = %q", got)
	}
}

// TestTLS: X-Forwarded-Proto counts only from a proxy Gin trusts.
func TestTLS(t *testing.T) {
	gin.SetMode(gin.TestMode)
	for _, tc := range []struct {
		name    string
		trusted []string
		headers map[string]string
		want    bool
	}{
		{"plain", nil, nil, false},
		{"trusted proxy says https", []string{"192.0.2.1"}, map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}, true},
		{"trusted proxy says http", []string{"192.0.2.1"}, map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"}, false},
		{"untrusted client says https", []string{"198.51.100.0/24"}, map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}, false},
		{"no proxies trusted", []string{}, map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gin.New()
			if tc.trusted != nil {
				if err := r.SetTrustedProxies(tc.trusted); err != nil {
					t.Fatal(err)
				}
			}
			var got bool
			r.GET("/", func(c *gin.Context) { got = exchange{c}.TLS() })
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = "192.0.2.1:1234"
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			r.ServeHTTP(httptest.NewRecorder(), req)
			if got != tc.want {
				t.Errorf("TLS() = %v, want %v", got, tc.want)
			}
		})
	}
}
