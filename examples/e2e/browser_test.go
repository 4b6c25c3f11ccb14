package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromiumPath is Debian's chromium, which `make test` installs when missing.
const chromiumPath = "/usr/bin/chromium"

// requireBrowser returns node, skipping the test when node, chromium or the npm
// packages of interop/ are missing, or failing it when CI is set: CI must run it.
func requireBrowser(t *testing.T) string {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("browser test cannot run in CI: %s; `make test` installs chromium (apt-get) and runs `npm ci` in interop/", what)
		}
		t.Skipf("%s; run `make test`, which installs what the browser test needs", what)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing("chromium is not installed (" + chromiumPath + ")")
	}
	if _, err := os.Stat(filepath.Join(repoRoot(t), "interop", "node_modules", "playwright-core", "package.json")); err != nil {
		missing("interop/node_modules/playwright-core is missing")
	}
	return node
}

// TestBrowser walks the tutorial's manual test through each server's demo page in
// chromium (interop/demo-walk.mjs): sign in through the development identity
// provider's page, the protected call works, log out, the old token put back into
// localStorage by hand fails, sign in again, refresh, the protected call works with
// the new token, log out everywhere. Then, as a user of GATEHOUSE_USERS_FILE and of
// GATEHOUSE_ADMINS: a wrong password refused, sign in with the password form, the
// admin API, the account page, and the account page again once the access token in
// its cookie has expired (a 5-second GATEHOUSE_ACCESS_TTL: short for the wait, long
// enough for the walk's steps between a token and its use). Screenshots land in
// .artifacts/ at the repository root: demo-FRAMEWORK.png (signed in, with the
// sessions), demo-FRAMEWORK-end.png and demo-FRAMEWORK-account.png (the account page
// opened after the expiry). The frameworks run one after another: each walk has a
// browser of its own, and two at once are too much for a small machine.
func TestBrowser(t *testing.T) {
	node := requireBrowser(t)
	root := repoRoot(t)
	artifacts := filepath.Join(root, ".artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range frameworks {
		t.Run(f.dir, func(t *testing.T) {
			// The default store (bolt:gatehouse.db in a temporary directory), with metrics:
			// the walk must move the counters an operator watches.
			metrics := freeAddr(t)
			s := start(t, f.dir, usersEnv(t, "GATEHOUSE_METRICS_ADDR", metrics, "GATEHOUSE_ACCESS_TTL", "5s"))
			before := scrape(t, metrics)
			shot := filepath.Join(artifacts, "demo-"+f.dir+".png")
			for _, suffix := range []string{"", "-end", "-account", "-failed"} {
				os.Remove(strings.TrimSuffix(shot, ".png") + suffix + ".png")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, filepath.Join(root, "interop", "demo-walk.mjs"), s.url, ada, shot, adaPassword)
			cmd.Env = append(os.Environ(), "CHROMIUM="+chromiumPath)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			t.Logf("walk of %s in %v:\n%s", f.name, time.Since(start).Round(time.Millisecond), stdout.String())
			if err != nil {
				t.Fatalf("demo-walk.mjs: %v\n%s", err, stderr.String())
			}
			after := scrape(t, metrics)
			for _, series := range []string{
				`gatehouse_signins_total{provider="devidp",result="ok"}`,
				`gatehouse_signins_total{provider="password",result="ok"}`,
				`gatehouse_signins_total{provider="password",result="invalid"}`,
				`gatehouse_authentications_total{result="ok"}`,
				`gatehouse_refreshes_total{result="ok"}`,
				`gatehouse_logouts_total`,
				`gatehouse_store_operation_duration_seconds_count{operation="rotate"}`,
			} {
				if after[series] <= before[series] {
					t.Errorf("the browser walk did not move %s (%v → %v)", series, before[series], after[series])
				}
			}
			for _, p := range []string{shot, strings.TrimSuffix(shot, ".png") + "-end.png", strings.TrimSuffix(shot, ".png") + "-account.png"} {
				if fi, err := os.Stat(p); err != nil || fi.Size() < 10_000 {
					t.Errorf("screenshot %s missing or empty", p)
				}
			}
			if code := s.stop(); code != 0 {
				t.Errorf("exit code %d after SIGTERM", code)
			}
		})
	}
}
