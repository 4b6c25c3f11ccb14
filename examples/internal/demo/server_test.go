package demo

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHeadSize: headSize is the size of the request line and headers as sent, for
// heads written the usual way ("Name: value").
func TestHeadSize(t *testing.T) {
	for _, head := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /api?x=1 HTTP/1.1\r\nHost: 127.0.0.1:7000\r\nUser-Agent: t\r\nCookie: a=b\r\nCookie: c=d\r\n\r\n",
		"POST /auth/refresh HTTP/1.1\r\nHost: h\r\nX-Pad: " + strings.Repeat("a", 20000) + "\r\nContent-Length: 0\r\n\r\n",
	} {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(head)))
		if err != nil {
			t.Fatal(err)
		}
		if got := headSize(r); got != len(head) {
			t.Errorf("headSize %d, want %d for %.60q", got, len(head), head)
		}
	}
}

// TestLimitHeader: a head over MaxHeaderBytes is refused with 431, one at it passes.
func TestLimitHeader(t *testing.T) {
	h := limitHeader(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tc := range []struct {
		extra int
		want  int
	}{{0, 200}, {1, 431}} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Pad", "")
		r.Header.Set("X-Pad", strings.Repeat("a", MaxHeaderBytes-headSize(r)+tc.extra))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("head of %d bytes: %d, want %d", headSize(r), w.Code, tc.want)
		}
	}
}
