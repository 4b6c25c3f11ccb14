package demo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/password"
)

// cheap are the cheapest parameters core/password accepts (its floor: 7 MiB, and
// memory × time at least 36 MiB), so that the tests hash quickly.
var cheap = password.Params{Memory: 7168, Time: 6, Threads: 1, SaltLen: 16, KeyLen: 32}

var (
	hashOnce sync.Once
	hashes   map[string]string // password → hash at cheap
)

// hashOf is the hash of pw at cheap parameters, made once per test binary.
func hashOf(t *testing.T, pw string) string {
	t.Helper()
	hashOnce.Do(func() {
		hashes = map[string]string{}
		for _, p := range []string{"ada's password", "grace's password"} {
			h, err := password.Hash(p, cheap)
			if err != nil {
				panic(err)
			}
			hashes[p] = h
		}
	})
	h, ok := hashes[pw]
	if !ok {
		t.Fatalf("no hash made for %q", pw)
	}
	return h
}

func TestParseUsers(t *testing.T) {
	ada, grace := hashOf(t, "ada's password"), hashOf(t, "grace's password")
	file := "# the demo's users\n\n" +
		"ada@example.com:" + ada + "\n" +
		"  Grace@Example.com : " + grace + "  \r\n" +
		"   # indented comment\n"
	u, err := ParseUsers(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if u.Len() != 2 {
		t.Fatalf("%d users, want 2", u.Len())
	}
	cases := []struct {
		username string
		want     *core.PasswordUser
	}{
		{"ada@example.com", &core.PasswordUser{Identity: core.Identity{Subject: "user:ada@example.com", Email: "ada@example.com", Provider: "password"}, Hash: ada}},
		{" ADA@example.COM ", &core.PasswordUser{Identity: core.Identity{Subject: "user:ada@example.com", Email: "ada@example.com", Provider: "password"}, Hash: ada}},
		{"grace@example.com", &core.PasswordUser{Identity: core.Identity{Subject: "user:grace@example.com", Email: "Grace@Example.com", Provider: "password"}, Hash: grace}},
		{"eve@example.com", nil},
		{"", nil},
	}
	for _, tc := range cases {
		got, err := u.Lookup(context.Background(), tc.username)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", tc.username, got, err, tc.want)
		}
	}
	// The hashes are the ones core verifies.
	pu, _ := u.Lookup(context.Background(), "ada@example.com")
	if ok, err := password.Verify(pu.Hash, "ada's password"); !ok || err != nil {
		t.Errorf("Verify = %v, %v", ok, err)
	}
}

// TestParseUsersRefuses: each refusal is a ConfigError of GATEHOUSE_USERS_FILE naming
// the line, and none repeats the hash, nor anything of a line that may be one.
func TestParseUsersRefuses(t *testing.T) {
	ada := hashOf(t, "ada's password")
	// $argon2id$v=19$m=7168,t=6,p=1$<salt>$<key>
	parts := strings.Split(ada, "$")
	salt, key := parts[4], parts[5]
	belowFloor := "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + key
	cases := []struct {
		name   string
		file   string
		line   string
		secret string // must not appear in the message
	}{
		{"no colon", "# users\nada@example.com " + ada + "\n", "line 2:", ada},
		{"no hash", "ada@example.com:\n", "line 1:", ""},
		{"no email", ":" + ada + "\n", "line 1:", ada},
		{"not an email", "\n\nada:" + ada + "\n", "line 3:", ada},
		{"a display name", "Ada <ada@example.com>:" + ada + "\n", "line 1:", ada},
		{"a password, not a hash", "ada@example.com:hunter2-not-hashed\n", "line 1:", "hunter2-not-hashed"},
		{"a password between dollars", "ada@example.com:$hunter2hunter2$\n", "line 1:", "hunter2"},
		{"bcrypt", "ada@example.com:$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy\n", "line 1:", "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "ada@example.com:" + strings.Replace(ada, "$argon2id$", "$argon2i$", 1) + "\n", "line 1:", salt},
		{"below the floor", "ada@example.com:" + belowFloor + "\n", "line 1:", salt},
		{"truncated", "ada@example.com:" + strings.TrimSuffix(ada, key) + key[:10] + "\n", "line 1:", salt},
		{"twice", "ada@example.com:" + ada + "\n# again\nADA@example.com:" + ada + "\n", "line 3:", ada},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseUsers(strings.NewReader(tc.file))
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Var != UsersFileVar {
				t.Fatalf("got %v, want a ConfigError of %s", err, UsersFileVar)
			}
			if !strings.HasPrefix(ce.Msg, tc.line) {
				t.Errorf("%q does not start with %q", ce.Msg, tc.line)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("the message repeats the hash: %q", err)
			}
			t.Log(err)
		})
	}
}

func TestLoadUsersFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("users", "ada@example.com:"+hashOf(t, "ada's password")+"\n")
	c, err := Load(getenv(map[string]string{UsersFileVar: good}))
	if err != nil {
		t.Fatal(err)
	}
	if c.UsersFile != good || c.Users.Len() != 1 {
		t.Fatalf("UsersFile %q, %d users", c.UsersFile, c.Users.Len())
	}
	for name, path := range map[string]string{
		"missing":            filepath.Join(dir, "nope"),
		"only comments":      write("empty", "# nobody yet\n\n"),
		"a directory":        dir,
		"a malformed line 2": write("bad", "# users\nada@example.com\n"),
	} {
		if _, err := Load(getenv(map[string]string{UsersFileVar: path})); !isConfigErrorOf(err, UsersFileVar) {
			t.Errorf("%s: got %v, want a ConfigError of %s", name, err, UsersFileVar)
		}
	}
}

func TestAdmins(t *testing.T) {
	c, err := Load(getenv(map[string]string{AdminsVar: " ada@example.com, ,Grace@Example.com "}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Admins, []string{"ada@example.com", "Grace@Example.com"}) {
		t.Fatalf("Admins %q", c.Admins)
	}
	for _, tc := range []struct {
		id   core.Identity
		want core.Grants
	}{
		{core.Identity{Subject: "user:ada@example.com", Email: "ada@example.com", Provider: "password"}, core.Grants{Roles: []string{"admin"}}},
		{core.Identity{Subject: "https://idp.example.com#42", Email: "ADA@EXAMPLE.COM", Provider: "oidc"}, core.Grants{Roles: []string{"admin"}}},
		{core.Identity{Subject: "https://idp.example.com#43", Email: "grace@example.com"}, core.Grants{Roles: []string{"admin"}}},
		// Roles the identity came with are not kept: the list decides.
		{core.Identity{Subject: "user:eve@example.com", Email: "eve@example.com", Roles: []string{"admin"}}, core.Grants{}},
		{core.Identity{Subject: "x"}, core.Grants{}},
	} {
		got, err := c.Grants(context.Background(), tc.id)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Grants(%v) = %+v, %v; want %+v", tc.id, got, err, tc.want)
		}
	}
	if _, err := Load(getenv(map[string]string{AdminsVar: "ada@example.com,root"})); !isConfigErrorOf(err, AdminsVar) || !strings.Contains(err.Error(), `"root"`) {
		t.Errorf("got %v, want a ConfigError of %s naming \"root\"", err, AdminsVar)
	}
	none, _ := Load(getenv(nil))
	if g, err := none.Grants(context.Background(), core.Identity{Email: "ada@example.com"}); err != nil || g.Roles != nil {
		t.Errorf("no admins: %+v, %v", g, err)
	}
}

func isConfigErrorOf(err error, name string) bool {
	var ce *ConfigError
	return errors.As(err, &ce) && ce.Var == name
}
