package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
)

// The limits of examples/README.md's "Hardening every example server shows" and SECURITY.md's
// case 50.
const (
	headerCutoff   = 10 * time.Second // an unfinished request header is cut off by then
	maxHeaderBytes = 16 << 10         // request line and headers; beyond it, 431
)

// TestHardening: the hardening checks of issue 10 (SECURITY.md, cases 41–50), the
// same table on each server, each case on a server of its own.
func TestHardening(t *testing.T) {
	cases := []struct {
		name  string
		env   func(t *testing.T, dir string) map[string]string
		check func(t *testing.T, s *server)
	}{
		{"auth cookie sent twice", envOf("GATEHOUSE_STORE", "memory"), func(t *testing.T, s *server) {
			t1, t2 := newClient(t, s.url).signIn(ada, true), newClient(t, s.url).signIn(ada, true)
			c := newClient(t, s.url)
			twice := header("Cookie", "gatehouse_refresh="+t1.refresh+"; gatehouse_refresh="+t2.refresh)
			r := c.do("POST", "/auth/refresh", twice).wantError(t, 400, "invalid_request")
			wantCleared(t, r, "gatehouse_refresh")
			// Refused before anything was looked at: both sessions still refresh.
			c.do("POST", "/auth/refresh", refreshForm(t1.refresh)).want(t, 200)
			c.do("POST", "/auth/refresh", refreshForm(t2.refresh)).want(t, 200)

			// Two sign-ins started, then the callback of the first with both state
			// cookies (an attacker's first, as cookie tossing puts it).
			state1, cookie1 := startLogin(t, s)
			_, cookie2 := startLogin(t, s)
			r = newClient(t, s.url).do("GET", "/auth/callback?code=x&state="+url.QueryEscape(state1),
				header("Cookie", cookie2.Name+"="+cookie2.Value+"; "+cookie1.Name+"="+cookie1.Value))
			r.wantError(t, 400, "invalid_request")
			wantCleared(t, r, "gatehouse_state")
			if r.cookie("gatehouse_refresh") != nil {
				t.Error("a callback with two state cookies set a refresh cookie")
			}
		}},
		{"JSON body with a duplicate key", envOf("GATEHOUSE_STORE", "memory"), func(t *testing.T, s *server) {
			c := newClient(t, s.url)
			tok := c.signIn(ada, true)
			body := `{"grant_type":"refresh_token","refresh_token":"garbage","refresh_token":"` + tok.refresh + `"}`
			c.do("POST", "/auth/refresh", jsonBody(body)).wantError(t, 400, "invalid_request")
			// The same body without the repeat is fine, and the token was not spent.
			c.do("POST", "/auth/refresh", jsonBody(`{"grant_type":"refresh_token","refresh_token":"`+tok.refresh+`"}`)).want(t, 200)
		}},
		{"store file open to others is made 0600", func(t *testing.T, dir string) map[string]string {
			path := filepath.Join(dir, "shared.db")
			st, err := boltstore.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			return map[string]string{"GATEHOUSE_STORE": "bolt:" + path}
		}, func(t *testing.T, s *server) {
			path := strings.TrimPrefix(s.env["GATEHOUSE_STORE"], "bolt:")
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if mode := info.Mode().Perm(); mode != 0o600 {
				t.Errorf("store file mode %04o after start, want 0600", mode)
			}
			if !hasLogLine(s, "tightened to 0600", "file="+path) {
				t.Errorf("no line on stderr naming %s as tightened:\n%s", path, s.stderr)
			}
			newClient(t, s.url).signIn(ada, true)
		}},
		{"GATEHOUSE_KEY_ENCRYPTION_KEY", func(t *testing.T, dir string) map[string]string {
			return map[string]string{"GATEHOUSE_STORE": "bolt:" + filepath.Join(dir, "sealed.db"), "GATEHOUSE_KEY_ENCRYPTION_KEY": kek(1)}
		}, func(t *testing.T, s *server) {
			if !hasLogLine(s, "keys_sealed=true") {
				t.Errorf("the start line does not say the keys are sealed:\n%s", s.stderr)
			}
			tok := newClient(t, s.url).signIn(ada, true)
			restart := func(key string) *server {
				t.Helper()
				if code := s.stop(); code != 0 {
					t.Fatalf("exit code %d after SIGTERM", code)
				}
				env := maps.Clone(s.env)
				env["GATEHOUSE_KEY_ENCRYPTION_KEY"] = key
				s = startIn(t, s.fw, s.dir, env)
				return s
			}
			// The same key opens the sealed keys: the token still verifies.
			newClient(t, restart(kek(1)).url).do("GET", "/api/protected", bearer(tok.access)).want(t, 200)
			// Another key, or none, cannot: new keys, and the token is refused.
			newClient(t, restart(kek(2)).url).do("GET", "/api/protected", bearer(tok.access)).wantError(t, 401, "invalid_token")
			newClient(t, restart("").url).do("GET", "/api/protected", bearer(tok.access)).wantError(t, 401, "invalid_token")
		}},
		{"unfinished request header", envOf("GATEHOUSE_STORE", "memory"), func(t *testing.T, s *server) {
			var wg sync.WaitGroup
			for _, trickle := range []bool{false, true} {
				wg.Go(func() {
					took, got, err := unfinishedHeader(s, trickle)
					what := map[bool]string{false: "stalled", true: "trickling a byte every 250ms"}[trickle]
					switch {
					case err != nil:
						t.Errorf("%s: %v", what, err)
					case took > headerCutoff:
						t.Errorf("%s: connection closed after %v, want within %v", what, took.Round(time.Millisecond), headerCutoff)
					default:
						t.Logf("%s: connection closed after %v, having answered %q", what, took.Round(time.Millisecond), firstLine(got))
					}
					if strings.HasPrefix(got, "HTTP/1.1 2") {
						t.Errorf("%s: an unfinished request was answered %q", what, firstLine(got))
					}
				})
			}
			wg.Wait()
		}},
		{"request header over 16 KiB", envOf("GATEHOUSE_STORE", "memory"), func(t *testing.T, s *server) {
			pad := func(n int) opt { return header("X-Pad", strings.Repeat("a", n)) }
			// Room for the request line and the client's own headers: under 16 KiB.
			under, over := pad(maxHeaderBytes-1024), pad(maxHeaderBytes+512)
			// A new connection each time, and one kept alive (net/http reads ahead
			// into the next request before it counts).
			newClient(t, s.url).do("GET", "/api", under).want(t, 200)
			newClient(t, s.url).do("GET", "/api", over).want(t, http.StatusRequestHeaderFieldsTooLarge)
			kept := newClient(t, s.url)
			for range 2 {
				kept.do("GET", "/api", under).want(t, 200)
			}
			kept.do("GET", "/api", over).want(t, http.StatusRequestHeaderFieldsTooLarge)
			// A cookie of 16 KiB is refused the same, before gatehouse sees it.
			newClient(t, s.url).do("POST", "/auth/refresh", header("Cookie", "gatehouse_refresh="+strings.Repeat("a", maxHeaderBytes))).
				want(t, http.StatusRequestHeaderFieldsTooLarge)
		}},
		{"GATEHOUSE_RATE_LIMIT=2", envOf("GATEHOUSE_STORE", "memory", "GATEHOUSE_RATE_LIMIT", "2"), func(t *testing.T, s *server) {
			c := newClient(t, s.url)
			for i := 1; i <= 3; i++ {
				// A new X-Forwarded-For each time: no server trusts it to name the client.
				r := c.do("POST", "/auth/refresh", refreshForm("garbage"), header("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)))
				if i < 3 {
					r.wantError(t, 400, "invalid_grant")
					continue
				}
				r.want(t, http.StatusTooManyRequests)
				if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 || ra > 60 {
					t.Errorf("Retry-After %q, want 1 to 60 seconds", r.header.Get("Retry-After"))
				}
			}
			// One budget for the sign-in, callback and refresh routes of a client.
			c.do("GET", "/auth/login").want(t, http.StatusTooManyRequests)
			// The other routes are not limited.
			for range 10 {
				c.do("GET", "/api").want(t, 200)
				c.do("GET", "/auth/jwks.json").want(t, 200)
				c.do("GET", "/api/protected").want(t, 401)
			}
		}},
		{"GATEHOUSE_MAX_SESSIONS=2", envOf("GATEHOUSE_STORE", "memory", "GATEHOUSE_MAX_SESSIONS", "2"), func(t *testing.T, s *server) {
			c := newClient(t, s.url)
			var toks []tokens
			for range 3 {
				toks = append(toks, c.signIn(ada, true))
			}
			ss, _ := c.do("GET", "/auth/sessions", bearer(toks[2].access)).want(t, 200).json(t)["sessions"].([]any)
			ids := map[any]bool{}
			for _, x := range ss {
				ids[x.(map[string]any)["id"]] = true
			}
			sid := func(i int) any { return jwtPart(t, toks[i].access, 1)["sid"] }
			if len(ss) != 2 || !ids[sid(1)] || !ids[sid(2)] {
				t.Errorf("sessions %v, want the last two sign-ins' %v and %v", ids, sid(1), sid(2))
			}
			// The oldest session was ended: its tokens are refused.
			c.do("GET", "/api/protected", bearer(toks[0].access)).wantError(t, 401, "invalid_token")
			c.do("POST", "/auth/refresh", refreshForm(toks[0].refresh)).wantError(t, 400, "invalid_grant")
			c.do("GET", "/api/protected", bearer(toks[1].access)).want(t, 200)
		}},
		{"redirect_to on the app's own origin", envOf("GATEHOUSE_STORE", "memory"), func(t *testing.T, s *server) {
			for _, target := range []string{"https://evil.example/", "//evil.example/", "https://" + strings.TrimPrefix(s.url, "http://") + "/", "http://127.0.0.2:" + portOf(s.url) + "/"} {
				if r := newClient(t, s.url).do("GET", "/auth/login?redirect_to="+url.QueryEscape(target)); r.status != 400 {
					t.Errorf("redirect_to=%s: %d, want 400", target, r.status)
				}
			}
			// The docs: a local path or the app's own origin (its public URL) is trusted.
			target := s.url + "/api?from=signin"
			c := newClient(t, s.url)
			login := c.do("GET", "/auth/login?redirect_to="+url.QueryEscape(target)).want(t, 302)
			page := c.do("GET", login.header.Get("Location")).want(t, 200)
			f := url.Values{}
			for _, m := range hiddenRE.FindAllStringSubmatch(string(page.body), -1) {
				f.Set(m[1], htmlUnescape(m[2]))
			}
			r := c.do("GET", c.submit(f, ada, "signin")).want(t, 302)
			if loc := r.header.Get("Location"); loc != target {
				t.Errorf("after sign-in, redirected to %q, want %q", loc, target)
			}
		}},
	}
	forEach(t, func(t *testing.T, fw, name string) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				dir := t.TempDir()
				tc.check(t, startIn(t, fw, dir, tc.env(t, dir)))
			})
		}
	})
}

// TestCallbackFlood: 10,000 sign-ins started and their callbacks sent without a code
// write nothing durable: the bbolt file stays within 64 KiB of its size (SECURITY.md,
// case 41; before the fix each consumed a state, and 10,000 grew it from 32 KiB to
// 2 MiB). Each callback follows what the login answered, state cookie and state.
func TestCallbackFlood(t *testing.T) {
	const (
		pairs   = 10_000
		workers = 8
		slack   = 64 << 10
	)
	forEach(t, func(t *testing.T, fw, name string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "flood.db")
		s := startIn(t, fw, dir, map[string]string{"GATEHOUSE_STORE": "bolt:" + path, "GATEHOUSE_RATE_LIMIT": "0"})
		newClient(t, s.url).signIn(ada, true) // the store's first writes, keys included
		before := fileSize(t, path)

		start := time.Now()
		var next, done atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				hc := &http.Client{
					Transport:     &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true},
					CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
					Timeout:       30 * time.Second,
				}
				defer hc.CloseIdleConnections()
				for next.Add(1) <= pairs && !t.Failed() {
					if err := loginThenCallback(hc, s.url); err != nil {
						t.Error(err)
						return
					}
					done.Add(1)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		after := fileSize(t, path)
		t.Logf("%d login+callback pairs in %v (%.0f pairs/s); store file %d → %d bytes",
			done.Load(), elapsed.Round(time.Millisecond), float64(done.Load())/elapsed.Seconds(), before, after)
		if done.Load() != pairs {
			t.Fatalf("%d pairs done, want %d", done.Load(), pairs)
		}
		if after > before+slack {
			t.Errorf("the store file grew from %d to %d bytes, want at most %d more", before, after, slack)
		}
	})
}

// loginThenCallback starts a sign-in and sends its callback without a code, with the
// state cookie and the state the login gave, as a browser would; the callback must be
// refused with 400 and set no cookie but the state cookie's removal.
func loginThenCallback(hc *http.Client, base string) error {
	resp, err := hc.Get(base + "/auth/login")
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || err != nil || loc.Query().Get("state") == "" {
		return fmt.Errorf("login: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var state *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "gatehouse_state" {
			state = c
		}
	}
	if state == nil {
		return fmt.Errorf("login set no state cookie: %v", resp.Header["Set-Cookie"])
	}
	req, _ := http.NewRequest("GET", base+"/auth/callback?state="+url.QueryEscape(loc.Query().Get("state")), nil)
	req.AddCookie(&http.Cookie{Name: state.Name, Value: state.Value})
	resp, err = hc.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 {
		return fmt.Errorf("callback without a code: %d %s, want 400", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name != "gatehouse_state" || c.MaxAge >= 0 {
			return fmt.Errorf("callback without a code set a cookie: %v", c)
		}
	}
	return nil
}

// hasLogLine reports whether a line of the server's stderr has all of parts, waiting a
// little for it: stderr is copied as it comes, and may lag behind stdout.
func hasLogLine(s *server, parts ...string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	lines:
		for _, line := range strings.Split(s.stderr.String(), "\n") {
			for _, p := range parts {
				if !strings.Contains(line, p) {
					continue lines
				}
			}
			return true
		}
	}
	return false
}

// kek is a key-encryption key, base64 as GATEHOUSE_KEY_ENCRYPTION_KEY takes it.
func kek(b byte) string { return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, 32)) }

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

func jsonBody(body string) opt {
	return func(r *http.Request) {
		r.Header.Set("Content-Type", "application/json")
		r.Body = io.NopCloser(strings.NewReader(body))
		r.ContentLength = int64(len(body))
	}
}

// wantCleared checks that r removes the cookie name.
func wantCleared(t *testing.T, r reply, name string) {
	t.Helper()
	if ck := r.cookie(name); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("%s not cleared: %v", name, ck)
	}
}

// startLogin starts a sign-in in a browser of its own and returns its state and its
// state cookie.
func startLogin(t *testing.T, s *server) (string, *http.Cookie) {
	t.Helper()
	r := newClient(t, s.url).do("GET", "/auth/login").want(t, 302)
	loc, _ := url.Parse(r.header.Get("Location"))
	ck := r.cookie("gatehouse_state")
	if ck == nil || loc == nil || loc.Query().Get("state") == "" {
		t.Fatalf("login: cookie %v, Location %q", ck, r.header.Get("Location"))
	}
	return loc.Query().Get("state"), ck
}

// unfinishedHeader opens a connection, sends the start of a request and never the
// blank line that ends its header: it stalls, or keeps sending a byte every 250ms
// (slowloris). It returns how long the server took to close the connection and what
// it wrote before.
func unfinishedHeader(s *server, trickle bool) (time.Duration, string, error) {
	addr := strings.TrimPrefix(s.url, "http://")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, "", err
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, "GET /api HTTP/1.1\r\nHost: "+addr+"\r\nX-Slow: "); err != nil {
		return 0, "", err
	}
	if trickle {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(250 * time.Millisecond):
				}
				if _, err := conn.Write([]byte("a")); err != nil {
					return
				}
			}
		}()
	}
	conn.SetReadDeadline(start.Add(3 * headerCutoff))
	got, err := io.ReadAll(bufio.NewReader(conn))
	took := time.Since(start)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return took, string(got), fmt.Errorf("connection still open after %v", took.Round(time.Millisecond))
	}
	return took, string(got), nil // EOF, or a reset: either way the server closed it
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\r\n")
	return line
}
