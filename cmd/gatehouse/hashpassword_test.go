package main_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core/password"
)

// hashed runs hash-password with stdin and args, and returns the one line it printed,
// after checking that it is a hash of want made with params.
func hashed(t *testing.T, stdin, want string, params password.Params, args ...string) string {
	t.Helper()
	r := gatehouseIn(t, "", strings.NewReader(stdin), append([]string{"hash-password"}, args...)...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	phc, ok := strings.CutSuffix(r.stdout, "\n")
	if !ok || strings.Contains(phc, "\n") {
		t.Fatalf("stdout %q, want one line", r.stdout)
	}
	if p, err := password.Check(phc); err != nil || p != params {
		t.Errorf("Check(%q) = %+v, %v; want %+v", phc, p, err, params)
	}
	if ok, err := password.Verify(phc, want); !ok || err != nil {
		t.Errorf("Verify(%q, %q) = %v, %v; want true", phc, want, ok, err)
	}
	return phc
}

func TestHashPassword(t *testing.T) {
	def := password.DefaultParams
	t.Run("default parameters", func(t *testing.T) {
		phc := hashed(t, "correct horse battery staple\n", "correct horse battery staple", def)
		if !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("hash %q", phc)
		}
		if other := hashed(t, "correct horse battery staple\n", "correct horse battery staple", def); other == phc {
			t.Errorf("two hashes of one password are equal: the salt is not random")
		}
	})
	t.Run("flags", func(t *testing.T) {
		p := password.Params{Memory: 7168, Time: 6, Threads: 2, SaltLen: def.SaltLen, KeyLen: def.KeyLen}
		hashed(t, "pw\n", "pw", p, "--memory", "7168", "--time", "6", "--threads", "2")
	})
	t.Run("CRLF", func(t *testing.T) { hashed(t, "pw\r\n", "pw", def) })
	t.Run("no line ending", func(t *testing.T) { hashed(t, "pw", "pw", def) })
	t.Run("spaces are kept", func(t *testing.T) { hashed(t, " pw \n", " pw ", def) })
	t.Run("only the first line", func(t *testing.T) { hashed(t, "pw\nsecond line\n", "pw", def) })
	t.Run("1024 bytes", func(t *testing.T) {
		long := strings.Repeat("é", 512)
		hashed(t, long+"\n", long, def)
	})
}

// TestHashPasswordRefusals: each is one line on stderr, exit status 2, nothing on
// stdout.
func TestHashPasswordRefusals(t *testing.T) {
	cases := []struct {
		name, stdin string
		args        []string
		prefix      string
	}{
		{"empty stdin", "", nil, "gatehouse hash-password: no password on stdin"},
		{"empty line", "\n", nil, "gatehouse hash-password: no password on stdin"},
		{"empty line, CRLF", "\r\n", nil, "gatehouse hash-password: no password on stdin"},
		{"over 1024 bytes", strings.Repeat("a", 1025) + "\n", nil, "gatehouse hash-password: the password is over 1024 bytes"},
		{"far over 1024 bytes", strings.Repeat("a", 100000), nil, "gatehouse hash-password: the password is over 1024 bytes"},
		{"password as an argument", "", []string{"hunter2"}, "gatehouse hash-password: unexpected argument: the password is read from stdin"},
		{"memory under the floor", "pw\n", []string{"--memory", "7167", "--time", "6"}, "gatehouse hash-password: argon2id parameters below the floor: m=7167,t=6,p=1"},
		{"memory times passes under the floor", "pw\n", []string{"--memory", "7168", "--time", "5"}, "gatehouse hash-password: argon2id parameters below the floor"},
		{"no pass", "pw\n", []string{"--time", "0"}, "gatehouse hash-password: argon2id parameters below the floor"},
		{"no thread", "pw\n", []string{"--threads", "0"}, "gatehouse hash-password: argon2id parameters below the floor"},
		{"passes over the ceiling", "pw\n", []string{"--time", "17"}, "gatehouse hash-password: argon2id parameters above the ceiling"},
		{"memory over the ceiling", "pw\n", []string{"--memory", "1048577"}, "gatehouse hash-password: argon2id parameters above the ceiling"},
		{"threads over the ceiling", "pw\n", []string{"--threads", "17"}, "gatehouse hash-password: argon2id parameters above the ceiling"},
		{"threads over 8 bits", "pw\n", []string{"--threads", "257"}, "gatehouse hash-password: --memory 19456 --time 2 --threads 257: over the ceiling"},
		{"memory over 32 bits", "pw\n", []string{"--memory", "4294967297"}, "gatehouse hash-password: --memory 4294967297"},
		{"negative", "pw\n", []string{"--time", "-1"}, "gatehouse hash-password: invalid value \"-1\" for flag -time"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := failsIn(t, strings.NewReader(tc.stdin), 2, tc.prefix, []string{"gatehouse help hash-password"}, append([]string{"hash-password"}, tc.args...)...)
			if strings.Contains(r.stderr, "hunter2") {
				t.Errorf("stderr shows the password")
			}
		})
	}
}

func TestHashPasswordHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "hash-password"}, {"hash-password", "-h"}} {
		out := ok(t, args...)
		for _, want := range []string{"Usage: gatehouse hash-password ", "--memory", "--time", "--threads", "stdin", "$argon2id$v=19$"} {
			if !strings.Contains(out, want) {
				t.Errorf("gatehouse %s does not mention %q:\n%s", strings.Join(args, " "), want, out)
			}
		}
	}
	if out := ok(t, "help"); !strings.Contains(out, "hash-password") {
		t.Errorf("gatehouse help does not list hash-password:\n%s", out)
	}
}
