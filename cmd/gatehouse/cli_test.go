package main_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore/redistest"
)

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"-help"}} {
		out := ok(t, args...)
		for _, want := range []string{"Usage:", "migrate", "sessions", "revoke", "purge", "compact", "stats", "bolt:PATH", "redis://"} {
			if !strings.Contains(out, want) {
				t.Errorf("gatehouse %s does not mention %q:\n%s", args[0], want, out)
			}
		}
	}
	for _, cmd := range []string{"migrate", "sessions", "revoke", "purge", "compact", "stats"} {
		want := "Usage: gatehouse " + cmd + " "
		for _, args := range [][]string{{"help", cmd}, {cmd, "-h"}, {cmd, "--help"}} {
			if out := ok(t, args...); !strings.HasPrefix(out, want) || !strings.Contains(out, "Flags:") {
				t.Errorf("gatehouse %s: want the usage of %s, got:\n%s", strings.Join(args, " "), cmd, out)
			}
		}
	}
}

// TestBadCommandLines: each is one line on stderr, exit status 2, and nothing done.
func TestBadCommandLines(t *testing.T) {
	dir := t.TempDir()
	db := "bolt:" + filepath.Join(dir, "gatehouse.db")
	cases := []struct {
		name   string
		args   []string
		prefix string
		says   []string
	}{
		{"no command", nil, "gatehouse: no command given", []string{"gatehouse help"}},
		{"unknown command", []string{"migrat"}, "gatehouse: unknown command \"migrat\"", nil},
		{"help of an unknown command", []string{"help", "nope"}, "gatehouse help: unknown command \"nope\"", nil},
		{"unknown flag", []string{"stats", "--store", db, "--verbose"}, "gatehouse stats: flag provided but not defined: -verbose", []string{"gatehouse help stats"}},
		{"flag without its value", []string{"stats", "--store"}, "gatehouse stats: flag needs an argument", nil},
		{"stray argument", []string{"purge", "--store", db, "now"}, "gatehouse purge: unexpected argument \"now\"", nil},
		{"migrate without --from", []string{"migrate", "--to", db}, "gatehouse migrate: --from is required", nil},
		{"migrate without --to", []string{"migrate", "--from", db}, "gatehouse migrate: --to is required", nil},
		{"migrate to itself", []string{"migrate", "--from", db, "--to", "bolt:" + filepath.Join(dir, ".", "gatehouse.db")}, "gatehouse migrate: --from and --to name the same store", nil},
		{"migrate within one Redis database", []string{"migrate", "--from", "redis://127.0.0.1:6379/1", "--to", "redis://127.0.0.1:6379/1"}, "gatehouse migrate: --from and --to name the same store", nil},
		{"migrate with a zero batch", []string{"migrate", "--from", db, "--to", "redis://127.0.0.1:6379/0", "--batch", "0"}, "gatehouse migrate: --batch 0", nil},
		{"migrate with a batch not a number", []string{"migrate", "--from", db, "--to", "redis://127.0.0.1:6379/0", "--batch", "many"}, "gatehouse migrate: invalid value \"many\" for flag -batch", nil},
		{"migrate into memory", []string{"migrate", "--from", db, "--to", "memory"}, "gatehouse migrate: --to: memory is an empty store", nil},
		{"unknown store", []string{"stats", "--store", "mysql://db/gatehouse"}, "gatehouse stats: --store: unknown store \"mysql://db/gatehouse\"", []string{"bolt:PATH", "postgres://"}},
		{"postgres with a bad sslmode", []string{"stats", "--store", "postgres://gh:pw-secret@db/app?sslmode=bogus"}, "gatehouse stats: --store: postgres://gh:xxxxx@db/app?sslmode=bogus is not a PostgreSQL URL", nil},
		{"migrate within one PostgreSQL database", []string{"migrate", "--from", "postgres://127.0.0.1:5432/app", "--to", "postgresql://127.0.0.1/app"}, "gatehouse migrate: --from and --to name the same store", nil},
		{"bolt without a path", []string{"stats", "--store", "bolt:"}, "gatehouse stats: --store: bolt: needs a file path", nil},
		{"redis without a host", []string{"stats", "--store", "redis://"}, "gatehouse stats: --store: redis:// is not a Redis URL", nil},
		{"redis with a bad database", []string{"purge", "--store", "redis://:pw-secret@127.0.0.1:6379/zero"}, "gatehouse purge: --store: redis://:xxxxx@127.0.0.1:6379/zero is not a Redis URL", []string{"invalid database number"}},
		{"sessions without --user", []string{"sessions", "--store", db}, "gatehouse sessions: --user is required", nil},
		{"sessions without --store", []string{"sessions", "--user", "alice"}, "gatehouse sessions: --store is required", nil},
		{"revoke without what", []string{"revoke", "--store", db}, "gatehouse revoke: --session or --user is required", nil},
		{"revoke both", []string{"revoke", "--store", db, "--session", "s", "--user", "u"}, "gatehouse revoke: --session and --user do not go together", nil},
		{"compact of Redis", []string{"compact", "--store", "redis://127.0.0.1:6379/0", "--to", filepath.Join(dir, "x.db")}, "gatehouse compact: --store redis://127.0.0.1:6379/0: compact works on bolt stores only", nil},
		{"compact without --to", []string{"compact", "--store", db}, "gatehouse compact: --to is required", nil},
		{"compact onto itself", []string{"compact", "--store", db, "--to", filepath.Join(dir, "gatehouse.db")}, "gatehouse compact: --to names the store's own file", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := fails(t, 2, tc.prefix, tc.says, tc.args...)
			if strings.Contains(r.stderr, "pw-secret") {
				t.Errorf("stderr shows the password: %s", r.stderr)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("bad command lines left files: %v", entries)
	}
}

// TestStoreFailures: a store that is missing, locked, damaged or unreachable is one
// line on stderr and exit status 1, never a stack trace nor a hang.
func TestStoreFailures(t *testing.T) {
	dir := t.TempDir()
	locked := filepath.Join(dir, "locked.db")
	s, err := boltstore.Open(locked)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a bbolt file ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.db")
	g, err := boltstore.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	missing := filepath.Join(dir, "typo.db")
	down := "redis://" + closedPort(t) + "/0"

	cases := []struct {
		name   string
		args   []string
		prefix string
		says   []string
	}{
		{"missing bolt file", []string{"stats", "--store", "bolt:" + missing}, "gatehouse stats: bolt:" + missing + " does not exist", nil},
		{"missing migrate source", []string{"migrate", "--from", "bolt:" + missing, "--to", "bolt:" + filepath.Join(dir, "new.db")}, "gatehouse migrate: bolt:" + missing, []string{"does not exist"}},
		{"missing directory", []string{"migrate", "--from", "bolt:" + good, "--to", "bolt:" + filepath.Join(dir, "no", "x.db")}, "gatehouse migrate: bolt:" + filepath.Join(dir, "no", "x.db") + ": directory " + filepath.Join(dir, "no") + " does not exist", nil},
		{"locked bolt file", []string{"sessions", "--store", "bolt:" + locked, "--user", "alice"}, "gatehouse sessions: bolt:" + locked + " is locked by another process", []string{"stop the server"}},
		{"locked bolt file, revoke", []string{"revoke", "--store", "bolt:" + locked, "--session", "sid"}, "gatehouse revoke: bolt:" + locked + " is locked", nil},
		{"damaged bolt file", []string{"purge", "--store", "bolt:" + garbage}, "gatehouse purge: bolt:" + garbage + " is damaged or not a gatehouse store (invalid database)", nil},
		{"Redis down", []string{"stats", "--store", down}, "gatehouse stats: cannot reach Redis at " + down, []string{"connection refused"}},
		{"damaged migrate source", []string{"migrate", "--from", "bolt:" + garbage, "--to", down}, "gatehouse migrate: bolt:" + garbage + " is damaged", nil},
		{"Redis down, as destination", []string{"migrate", "--from", "bolt:" + good, "--to", down}, "gatehouse migrate: cannot reach Redis at " + down, nil},
		{"compact onto an existing file", []string{"compact", "--store", "bolt:" + locked, "--to", garbage}, "gatehouse compact: " + garbage + " exists", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := fails(t, 1, tc.prefix, tc.says, tc.args...)
			if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stderr holds a stack trace: %s", r.stderr)
			}
			if r.took > 10*time.Second {
				t.Errorf("took %v", r.took)
			}
		})
	}
	if fileExists(missing) {
		t.Errorf("a command made the missing file %s", missing)
	}
}

func TestSessionsAndRevoke(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db := "bolt:" + path
	s, a := boltAuth(t, path)
	const alice = "https://idp.example#alice"
	ua := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36 with a tail"
	t1 := issue(t, a, alice, ua, "192.0.2.7")
	t2 := issue(t, a, alice, "curl/8.5.0", "2001:db8::1")
	t3 := issue(t, a, "https://idp.example#bob", "curl/8.5.0", "192.0.2.9")
	// A session that cannot be refreshed any more but is not purged yet.
	past := time.Now().Add(-time.Hour)
	if err := s.CreateSession(ctx, &core.Session{ID: "sid-old", Identity: core.Identity{Subject: alice},
		CreatedAt: past.Add(-24 * time.Hour), LastUsedAt: past, ExpiresAt: past, IdleExpiresAt: past,
		AccessExpiresAt: time.Now().Add(time.Hour), Current: "rt"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	out := ok(t, "sessions", "--store", db, "--user", alice)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "SESSION") {
		t.Fatalf("sessions: want a header and 3 rows:\n%s", out)
	}
	for _, want := range []string{"CREATED", "LAST USED", "EXPIRES", "USER AGENT", "IP"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header %q lacks %q", lines[0], want)
		}
	}
	if !strings.HasPrefix(lines[1], "sid-old ") || !strings.Contains(lines[1], "expired") {
		t.Errorf("first row %q: want the oldest session, sid-old, expired", lines[1])
	}
	for i, tok := range []*core.Tokens{t1, t2} {
		row := lines[2+i]
		if !strings.HasPrefix(row, tok.Session.ID+" ") || !strings.Contains(row, tok.Session.IP) ||
			!strings.Contains(row, tok.Session.CreatedAt.UTC().Format(time.RFC3339)) ||
			!strings.Contains(row, tok.Session.ExpiresAt.UTC().Format(time.RFC3339)) {
			t.Errorf("row %q: want session %s with its IP, creation and expiry", row, tok.Session.ID)
		}
	}
	if !strings.Contains(lines[2], "Mozilla/5.0") || strings.Contains(lines[2], "with a tail") {
		t.Errorf("row %q: want the user agent, clipped", lines[2])
	}

	var list []struct {
		ID, Sub, UserAgent, IP string
		Expired                bool
		ExpiresAt              time.Time `json:"expires_at"`
	}
	out = ok(t, "sessions", "--store", db, "--user", alice, "--json")
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("sessions --json: %v\n%s", err, out)
	}
	if len(list) != 3 || list[1].ID != t1.Session.ID || list[1].Sub != alice || list[1].Expired || !list[0].Expired {
		t.Errorf("sessions --json = %+v", list)
	}
	if strings.Contains(out, jti(t, t1.RefreshToken)) {
		t.Errorf("sessions --json shows the refresh token id:\n%s", out)
	}

	out = ok(t, "sessions", "--store", db, "--user", "ada@example.com")
	if !strings.Contains(out, `no sessions of user "ada@example.com"`) || !strings.Contains(out, "not by its email") {
		t.Errorf("sessions of an unknown email: %q", out)
	}

	// revoke --session ends one session; its tokens stop working.
	if out := ok(t, "revoke", "--store", db, "--session", t1.Session.ID); out != "ended session "+t1.Session.ID+" of user "+alice+"\n" {
		t.Errorf("revoke --session: %q", out)
	}
	fails(t, 1, "gatehouse revoke: no session \""+t1.Session.ID+"\" in "+db, nil, "revoke", "--store", db, "--session", t1.Session.ID)
	// revoke --user ends the others, the expired one included.
	if out := ok(t, "revoke", "--store", db, "--user", alice); out != "ended 2 sessions of user "+alice+"\n" {
		t.Errorf("revoke --user: %q", out)
	}
	fails(t, 1, "gatehouse revoke: no sessions of user \""+alice+"\"", nil, "revoke", "--store", db, "--user", alice)
	fails(t, 1, "gatehouse revoke: no sessions of user \"ada@example.com\"", []string{"not by its email"}, "revoke", "--store", db, "--user", "ada@example.com")

	_, a = boltAuth(t, path)
	for _, tok := range []*core.Tokens{t1, t2} {
		if _, err := a.Authenticate(ctx, tok.AccessToken); !errors.Is(err, core.ErrTokenRevoked) {
			t.Errorf("access token of an ended session: Authenticate error = %v, want ErrTokenRevoked", err)
		}
		if _, err := a.Refresh(ctx, tok.RefreshToken); !errors.Is(err, core.ErrInvalidGrant) {
			t.Errorf("refresh token of an ended session: Refresh error = %v, want ErrInvalidGrant", err)
		}
	}
	if _, err := a.Authenticate(ctx, t3.AccessToken); err != nil {
		t.Errorf("bob's token after alice's sessions ended: %v", err)
	}
	if _, err := a.Refresh(ctx, t3.RefreshToken); err != nil {
		t.Errorf("bob's refresh after alice's sessions ended: %v", err)
	}
}

func TestRevokeStoresNoKey(t *testing.T) {
	// revoke goes through core.New, which must not leave a generated key behind.
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, &core.Session{ID: "sid-1", Identity: core.Identity{Subject: "alice"},
		ExpiresAt: time.Now().Add(time.Hour), IdleExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ok(t, "revoke", "--store", "bolt:"+path, "--session", "sid-1")
	out := ok(t, "stats", "--store", "bolt:"+path, "--json")
	var st struct{ Keys []string }
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Keys) != 0 {
		t.Errorf("stats after revoke: keys %v, %v; want none", st.Keys, err)
	}
}

func TestPurgeCompactStats(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.db")
	db := "bolt:" + path
	s, a := boltAuth(t, path)
	issue(t, a, "https://idp.example#alice", "ua", "192.0.2.1")
	issue(t, a, "https://idp.example#bob", "ua", "192.0.2.2")
	now := time.Now()
	for i := range 3000 {
		exp := now.Add(time.Hour)
		if i%3 == 0 {
			exp = now.Add(-time.Minute)
		}
		if err := s.RevokeToken(ctx, "jti-"+strings.Repeat("x", 100)+string(rune('a'+i%26))+time.Duration(i).String(), exp); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	out := ok(t, "stats", "--store", db)
	for _, want := range []string{"store             " + db, "keys              signing/HS256", "users             2", "sessions          2\n",
		"revoked tokens    3000 (1000 expired, for purge to delete)", "revoked sessions  0\n", "file "} {
		if !strings.Contains(out, want) {
			t.Errorf("stats lacks %q:\n%s", want, out)
		}
	}
	if out := ok(t, "purge", "--store", db); out != "purged 1000 expired entries from "+db+"\n" {
		t.Errorf("purge: %q", out)
	}
	if out := ok(t, "purge", "--store", db); out != "purged 0 expired entries from "+db+"\n" {
		t.Errorf("purge again: %q", out)
	}
	var st struct {
		FileBytes            int64 `json:"file_bytes"`
		RevokedTokens        int   `json:"revoked_tokens"`
		ExpiredRevokedTokens int   `json:"expired_revoked_tokens"`
		Sessions             int
	}
	if err := json.Unmarshal([]byte(ok(t, "stats", "--store", db, "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.RevokedTokens != 2000 || st.ExpiredRevokedTokens != 0 || st.Sessions != 2 || st.FileBytes == 0 {
		t.Errorf("stats --json after purge = %+v", st)
	}

	compacted := filepath.Join(dir, "compacted.db")
	out = ok(t, "compact", "--store", db, "--to", compacted)
	if !strings.HasPrefix(out, "compacted "+db+" (") || !strings.Contains(out, "mv "+compacted+" "+path) {
		t.Errorf("compact: %q", out)
	}
	before, _ := os.Stat(path)
	after, err := os.Stat(compacted)
	if err != nil {
		t.Fatal(err)
	}
	if after.Size() >= before.Size() {
		t.Errorf("compacted file has %d bytes, the original %d", after.Size(), before.Size())
	}
	if err := json.Unmarshal([]byte(ok(t, "stats", "--store", "bolt:"+compacted, "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.RevokedTokens != 2000 || st.Sessions != 2 {
		t.Errorf("stats of the compacted file = %+v", st)
	}
}

func TestOnRedis(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL(0)
	out := ok(t, "stats", "--store", url)
	if !strings.Contains(out, "keys              none") || strings.Contains(out, "file") {
		t.Errorf("stats of an empty Redis:\n%s", out)
	}
	fails(t, 1, "gatehouse revoke: no session \"sid\" in "+url, nil, "revoke", "--store", url, "--session", "sid")
	if out := ok(t, "purge", "--store", url); out != "purged 0 expired entries from "+url+"\n" {
		t.Errorf("purge: %q", out)
	}
	srv.Kill()
	fails(t, 1, "gatehouse stats: cannot reach Redis at "+url, []string{"connection refused"}, "stats", "--store", url)
}

// jti is the jti claim of a token, read without verifying it.
func jti(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ Jti string }
	if err := json.Unmarshal(payload, &c); err != nil || c.Jti == "" {
		t.Fatalf("no jti in %s: %v", payload, err)
	}
	return c.Jti
}
