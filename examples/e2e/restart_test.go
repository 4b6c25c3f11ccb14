package e2e

import (
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
)

func refreshForm(rt string) opt {
	return form(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

// TestRestart: a server on a bbolt file signs two sessions in and logs one out, stops
// on SIGTERM (gracefully, closing the store), and starts again on the same file: the
// live access token still works, the revoked one still fails, and the live refresh
// token still refreshes.
func TestRestart(t *testing.T) {
	forEach(t, func(t *testing.T, fw, name string) {
		dir := t.TempDir()
		env := map[string]string{"GATEHOUSE_ADDR": freeAddr(t), "GATEHOUSE_STORE": "bolt:" + filepath.Join(dir, "restart.db")}
		s := startIn(t, fw, dir, env)
		c := newClient(t, s.url)
		live, gone := c.signIn(ada, true), c.signIn(ada, true)
		c.do("POST", "/auth/logout", bearer(gone.access)).want(t, 200)
		c.do("GET", "/api/protected", bearer(gone.access)).want(t, 401)

		if code := s.stop(); code != 0 {
			t.Fatalf("exit code %d after SIGTERM, want 0:\n%s", code, s.stderr)
		}
		if log := s.stderr.String(); !strings.Contains(log, "shutting down") || !strings.Contains(log, "store closed") {
			t.Fatalf("no graceful shutdown in the log:\n%s", log)
		}

		s = startIn(t, fw, dir, env)
		c = newClient(t, s.url)
		if got := c.do("GET", "/api/protected", bearer(live.access)).want(t, 200).json(t)["email"]; got != ada {
			t.Fatalf("email %v", got)
		}
		c.do("GET", "/api/protected", bearer(gone.access)).wantError(t, 401, "invalid_token")
		c.do("POST", "/auth/refresh", refreshForm(gone.refresh)).wantError(t, 400, "invalid_grant")
		next := c.do("POST", "/auth/refresh", refreshForm(live.refresh)).want(t, 200).json(t)
		c.do("GET", "/api/protected", bearer(next["access_token"].(string))).want(t, 200)
		if code := s.stop(); code != 0 {
			t.Fatalf("exit code %d after the second SIGTERM", code)
		}
	})
}

// TestSIGKILL: many concurrent logouts, the server killed with SIGKILL once some of
// them have been answered; after a restart on the same file every logout that was
// answered 200 is still in force (its access token refused, its refresh token too),
// and the file passes bbolt's consistency check.
func TestSIGKILL(t *testing.T) {
	const sessions = 60
	forEach(t, func(t *testing.T, fw, name string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "kill.db")
		env := map[string]string{"GATEHOUSE_ADDR": freeAddr(t), "GATEHOUSE_STORE": "bolt:" + path}
		s := startIn(t, fw, dir, env)

		toks := make([]tokens, sessions)
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := newClient(t, s.url)
				for i := w; i < sessions; i += 4 {
					toks[i] = c.signIn(ada, true)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}

		// Logouts, at most 8 in flight; SIGKILL once a third of them were answered.
		answered := make([]atomic.Bool, sessions)
		var ok, lost atomic.Int32
		killed := make(chan struct{})
		var once sync.Once
		sem := make(chan struct{}, 8)
		for i := range toks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				select {
				case <-killed:
					return
				default:
				}
				r, err := newClient(t, s.url).try("POST", "/auth/logout", bearer(toks[i].access))
				if err != nil {
					lost.Add(1)
				}
				if err == nil && r.status == 200 {
					answered[i].Store(true)
					if ok.Add(1) == sessions/3 {
						once.Do(func() { close(killed); s.kill() })
					}
				}
			}()
		}
		wg.Wait()
		once.Do(func() { close(killed); s.kill() })
		n := int(ok.Load())
		if n < sessions/3 || n == sessions {
			t.Fatalf("%d of %d logouts answered 200 before the kill: want the kill in the middle", n, sessions)
		}

		st, err := boltstore.Open(path)
		if err != nil {
			t.Fatalf("reopening after SIGKILL: %v", err)
		}
		if err := st.Check(); err != nil {
			t.Fatalf("bbolt check after SIGKILL: %v", err)
		}
		st.Close()

		s = startIn(t, fw, dir, env)
		c := newClient(t, s.url)
		for i, tok := range toks {
			if !answered[i].Load() {
				continue // in flight at the kill: either outcome is right
			}
			if r := c.do("GET", "/api/protected", bearer(tok.access)); r.status != 401 {
				t.Errorf("session %d: logout answered 200 before SIGKILL, but its access token now gets %d", i, r.status)
			}
			if r := c.do("POST", "/auth/refresh", refreshForm(tok.refresh)); r.status != 400 {
				t.Errorf("session %d: logout answered 200 before SIGKILL, but its refresh token now gets %d", i, r.status)
			}
		}
		t.Logf("%d of %d logouts answered 200 before SIGKILL (%d in flight got no answer); all still in force after the restart", n, sessions, lost.Load())
	})
}
