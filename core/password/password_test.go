package password_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core/password"
)

// vectors were made by the reference implementation's command (Debian's argon2 package,
// 0~20171227, the phc-winner-argon2 CLI), not by this package, with
//
//	printf '%s' "$password" | argon2 "$salt" -id -k $m -t $t -p $p -l $keylen -e
//
// They pin the format and the hash to what other implementations write and read.
var vectors = []struct {
	name, password, phc string
	params              password.Params
}{
	{
		"default parameters", "correct horse battery staple",
		"$argon2id$v=19$m=19456,t=2,p=1$Z2F0ZWhvdXNlLXNhbHQxNg$bsXFENIwjcWvJE0fNSKGJUdiUsIMdeBM0ApgamQdnew",
		password.Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
	},
	{
		"the floor, two lanes", "correct horse battery staple",
		"$argon2id$v=19$m=7168,t=6,p=2$c2FsdHNhbHQ$hs2g8+UoUelJ+9WC1zUEiA",
		password.Params{Memory: 7168, Time: 6, Threads: 2, SaltLen: 8, KeyLen: 16},
	},
	{
		"UTF-8 password, four lanes, 64-byte hash", "pässwörd",
		"$argon2id$v=19$m=8192,t=5,p=4$c29tZXNhbHRzb21lc2FsdA$cvyqPAdNvTAyOE0diaIzRw93CNs7Kmd/VWurto9oKTue87tWe0L3YDNjOJ6lOZ79BNa8tP0RcRy733gKmE0WeQ",
		password.Params{Memory: 8192, Time: 5, Threads: 4, SaltLen: 16, KeyLen: 64},
	},
	{
		// 7171 KiB is not a multiple of 4p: the hash depends on the memory as written,
		// the blocks on it rounded down.
		"memory not a multiple of the lanes", "correct horse battery staple",
		"$argon2id$v=19$m=7171,t=6,p=3$c2FsdHlzYWx0$Ozrvd5tW0RrHBre1IOlG3JxginA",
		password.Params{Memory: 7171, Time: 6, Threads: 3, SaltLen: 9, KeyLen: 20},
	},
}

// fast are the cheapest parameters the floor allows, for tests that hash.
var fast = password.Params{Memory: 7168, Time: 6, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			ok, err := password.Verify(v.phc, v.password)
			if err != nil || !ok {
				t.Fatalf("Verify(right password) = %v, %v; want true", ok, err)
			}
			ok, err = password.Verify(v.phc, v.password+"x")
			if err != nil || ok {
				t.Errorf("Verify(wrong password) = %v, %v; want false", ok, err)
			}
			p, err := password.Check(v.phc)
			if err != nil || p != v.params {
				t.Errorf("Check = %+v, %v; want %+v", p, err, v.params)
			}
		})
	}
}

var phcRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func TestHashRoundTrip(t *testing.T) {
	for _, p := range []password.Params{fast, password.DefaultParams, {Memory: 9216, Time: 4, Threads: 2, SaltLen: 8, KeyLen: 16}} {
		phc, err := password.Hash("hunter2", p)
		if err != nil {
			t.Fatalf("Hash(%+v): %v", p, err)
		}
		m := phcRE.FindStringSubmatch(phc)
		if m == nil {
			t.Fatalf("Hash = %q, not a PHC string", phc)
		}
		if got, err := password.Check(phc); err != nil || got != p {
			t.Errorf("Check(Hash(%+v)) = %+v, %v", p, got, err)
		}
		if ok, err := password.Verify(phc, "hunter2"); !ok || err != nil {
			t.Errorf("Verify(right) = %v, %v", ok, err)
		}
		for _, wrong := range []string{"", "hunter", "hunter22", "Hunter2", "hunter2 "} {
			if ok, err := password.Verify(phc, wrong); ok || err != nil {
				t.Errorf("Verify(%q) = %v, %v; want false", wrong, ok, err)
			}
		}
	}
	if p := password.DefaultParams; p.Memory != 19456 || p.Time != 2 || p.Threads != 1 || p.SaltLen != 16 || p.KeyLen != 32 {
		t.Errorf("DefaultParams = %+v", p)
	}
}

func TestHashSalts(t *testing.T) {
	a, err1 := password.Hash("same", fast)
	b, err2 := password.Hash("same", fast)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if a == b {
		t.Errorf("two hashes of one password are equal: %q", a)
	}
	if strings.Split(a, "$")[4] == strings.Split(b, "$")[4] {
		t.Errorf("two hashes share a salt")
	}
}

func TestEmptyPassword(t *testing.T) {
	phc, err := password.Hash("", fast)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := password.Verify(phc, ""); !ok || err != nil {
		t.Errorf("Verify(empty) = %v, %v", ok, err)
	}
	if ok, _ := password.Verify(phc, "\x00"); ok {
		t.Errorf("a NUL byte verifies as the empty password")
	}
}

// TestHashParams: Hash refuses what Verify would refuse, before hashing.
func TestHashParams(t *testing.T) {
	cases := []struct {
		name string
		p    password.Params
		want error
	}{
		{"memory under the floor", password.Params{Memory: 7167, Time: 6, Threads: 1, SaltLen: 16, KeyLen: 32}, password.ErrWeakHash},
		{"memory times passes under the floor", password.Params{Memory: 7168, Time: 5, Threads: 1, SaltLen: 16, KeyLen: 32}, password.ErrWeakHash},
		{"no pass", password.Params{Memory: 65536, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}, password.ErrWeakHash},
		{"no thread", password.Params{Memory: 19456, Time: 2, Threads: 0, SaltLen: 16, KeyLen: 32}, password.ErrWeakHash},
		{"short salt", password.Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 7, KeyLen: 32}, password.ErrWeakHash},
		{"short hash", password.Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 15}, password.ErrWeakHash},
		{"the zero Params", password.Params{}, password.ErrWeakHash},
		{"memory over the ceiling", password.Params{Memory: 1<<20 + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, password.ErrCostlyHash},
		{"passes over the ceiling", password.Params{Memory: 19456, Time: 17, Threads: 1, SaltLen: 16, KeyLen: 32}, password.ErrCostlyHash},
		{"threads over the ceiling", password.Params{Memory: 19456, Time: 2, Threads: 17, SaltLen: 16, KeyLen: 32}, password.ErrCostlyHash},
		{"long salt", password.Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 65, KeyLen: 32}, password.ErrCostlyHash},
		{"long hash", password.Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 129}, password.ErrCostlyHash},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			phc, err := password.Hash("pw", tc.p)
			if !errors.Is(err, tc.want) || phc != "" {
				t.Errorf("Hash = %q, %v; want %v", phc, err, tc.want)
			}
		})
	}
}

var b64 = base64.RawStdEncoding

// phc writes a PHC string from its parts, salt and hash given as bytes.
func phc(alg, version, params string, salt, key []byte) string {
	return "$" + alg + "$" + version + "$" + params + "$" + b64.EncodeToString(salt) + "$" + b64.EncodeToString(key)
}

// TestMalformed: every string that is not exactly a PHC string within the floor and
// the ceiling is refused, with the error that says why, before any hashing (a
// refusal of parameters over the ceiling would otherwise take a gigabyte).
func TestMalformed(t *testing.T) {
	good := vectors[0].phc
	parts := strings.Split(good, "$")
	salt16, key32 := make([]byte, 16), make([]byte, 32)
	with := func(i int, s string) string {
		p := append([]string(nil), parts...)
		p[i] = s
		return strings.Join(p, "$")
	}
	// flip changes the last character of raw base64 so that only unused bits differ.
	flip := func(s string) string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		i := strings.IndexByte(alphabet, s[len(s)-1])
		return s[:len(s)-1] + string(alphabet[i^1])
	}
	malformed, weak, costly := password.ErrMalformedHash, password.ErrWeakHash, password.ErrCostlyHash
	cases := []struct {
		name, phc string
		want      error
	}{
		{"empty", "", malformed},
		{"no leading dollar", strings.TrimPrefix(good, "$"), malformed},
		{"argon2i (reference CLI)", "$argon2i$v=19$m=19456,t=2,p=1$Z2F0ZWhvdXNlLXNhbHQxNg$VuYjIixCHtET4K+gtCBmi7wo2l97/wii2lUt7mUy40s", malformed},
		{"argon2d", with(1, "argon2d"), malformed},
		{"upper case", with(1, "ARGON2ID"), malformed},
		{"bcrypt", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", malformed},
		{"version 16 (reference CLI)", "$argon2id$v=16$m=19456,t=2,p=1$Z2F0ZWhvdXNlLXNhbHQxNg$uKDRwh4R9GOnurzqq0q8f5GiAk1blo7fPPmJ42s6zP4", malformed},
		{"version 019", with(2, "v=019"), malformed},
		{"no version", strings.Join(append(parts[:2:2], parts[3:]...), "$"), malformed},
		{"no salt", strings.Join(append(parts[:4:4], parts[5]), "$"), malformed},
		{"no hash", strings.Join(parts[:5], "$"), malformed},
		{"empty salt", with(4, ""), malformed},
		{"empty hash", with(5, ""), malformed},
		{"trailing dollar", good + "$", malformed},
		{"trailing part", good + "$AAAA", malformed},
		{"trailing newline", good + "\n", malformed},
		{"trailing space", good + " ", malformed},
		{"leading space", " " + good, malformed},
		{"parameters out of order", with(3, "t=2,m=19456,p=1"), malformed},
		{"parameter missing", with(3, "m=19456,t=2"), malformed},
		{"keyid parameter", with(3, "m=19456,t=2,p=1,keyid=a"), malformed},
		{"data parameter", with(3, "m=19456,t=2,p=1,data=YQ"), malformed},
		{"upper-case name", with(3, "M=19456,t=2,p=1"), malformed},
		{"leading zero", with(3, "m=019456,t=2,p=1"), malformed},
		{"plus sign", with(3, "m=+19456,t=2,p=1"), malformed},
		{"minus sign", with(3, "m=19456,t=-2,p=1"), malformed},
		{"space in a number", with(3, "m=19456,t= 2,p=1"), malformed},
		{"empty number", with(3, "m=,t=2,p=1"), malformed},
		{"hex number", with(3, "m=0x4c00,t=2,p=1"), malformed},
		{"memory over 32 bits", with(3, "m=4294967296,t=2,p=1"), malformed},
		{"eleven digits", with(3, "m=19456,t=00000000002,p=1"), malformed},
		{"padded salt", with(4, parts[4]+"=="), malformed},
		{"padded hash", with(5, parts[5]+"="), malformed},
		{"URL alphabet", with(4, "Z2F0ZWhvdXNlLXNhbHQxN-_"), malformed},
		{"non-canonical salt", with(4, flip(parts[4])), malformed},
		{"non-canonical hash", with(5, flip(parts[5])), malformed},
		{"newline in the hash", with(5, parts[5][:20]+"\n"+parts[5][20:]), malformed},
		{"carriage return in the salt", with(4, parts[4][:8]+"\r"+parts[4][8:]), malformed},
		{"bad base64", with(5, "!!!!"), malformed},
		{"base64 of impossible length", with(5, parts[5]+"AA"), malformed},

		{"memory under the floor", phc("argon2id", "v=19", "m=7167,t=6,p=1", salt16, key32), weak},
		{"memory times passes under the floor", phc("argon2id", "v=19", "m=7168,t=5,p=1", salt16, key32), weak},
		{"no pass", phc("argon2id", "v=19", "m=65536,t=0,p=1", salt16, key32), weak},
		{"no lane", phc("argon2id", "v=19", "m=19456,t=2,p=0", salt16, key32), weak},
		{"7-byte salt", phc("argon2id", "v=19", "m=19456,t=2,p=1", salt16[:7], key32), weak},
		{"15-byte hash", phc("argon2id", "v=19", "m=19456,t=2,p=1", salt16, key32[:15]), weak},
		{"memory over the ceiling", phc("argon2id", "v=19", "m=1048577,t=1,p=1", salt16, key32), costly},
		{"memory at 4 GiB", phc("argon2id", "v=19", "m=4294967295,t=1,p=1", salt16, key32), costly},
		{"17 passes", phc("argon2id", "v=19", "m=19456,t=17,p=1", salt16, key32), costly},
		{"17 lanes", phc("argon2id", "v=19", "m=19456,t=2,p=17", salt16, key32), costly},
		{"256 lanes", phc("argon2id", "v=19", "m=19456,t=2,p=256", salt16, key32), costly},
		{"65-byte salt", phc("argon2id", "v=19", "m=19456,t=2,p=1", make([]byte, 65), key32), costly},
		{"129-byte hash", phc("argon2id", "v=19", "m=19456,t=2,p=1", salt16, make([]byte, 129)), costly},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := password.Check(tc.phc); !errors.Is(err, tc.want) {
				t.Errorf("Check(%q) = %v, want %v", tc.phc, err, tc.want)
			}
			ok, err := password.Verify(tc.phc, vectors[0].password)
			if ok || !errors.Is(err, tc.want) {
				t.Errorf("Verify(%q) = %v, %v; want false, %v", tc.phc, ok, err, tc.want)
			}
		})
	}
	// The limits themselves are accepted.
	for _, p := range []string{"m=7168,t=6,p=1", "m=9216,t=4,p=1", "m=36864,t=1,p=1", "m=1048576,t=16,p=16"} {
		if _, err := password.Check(phc("argon2id", "v=19", p, salt16, key32)); err != nil {
			t.Errorf("Check(%s) = %v, want it accepted", p, err)
		}
	}
	if _, err := password.Check(phc("argon2id", "v=19", "m=19456,t=2,p=1", make([]byte, 64), make([]byte, 128))); err != nil {
		t.Errorf("64-byte salt, 128-byte hash: %v, want accepted", err)
	}
}

// TestCompare: a hash that differs from the right one in any single byte, first or
// last, is refused; the comparison is crypto/subtle's, whose time does not depend on
// where the bytes differ.
func TestCompare(t *testing.T) {
	v := vectors[1]
	parts := strings.Split(v.phc, "$")
	key, err := b64.DecodeString(parts[5])
	if err != nil {
		t.Fatal(err)
	}
	for i := range key {
		bad := append([]byte(nil), key...)
		bad[i] ^= 0x01
		parts[5] = b64.EncodeToString(bad)
		if ok, err := password.Verify(strings.Join(parts, "$"), v.password); ok || err != nil {
			t.Errorf("byte %d flipped: Verify = %v, %v; want false", i, ok, err)
		}
	}
}

// FuzzCheck: the parser never panics, refuses with one of its three errors, and
// accepts only strings it would write itself, byte for byte.
func FuzzCheck(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.phc)
	}
	f.Add("$argon2i$v=19$m=19456,t=2,p=1$Z2F0ZWhvdXNlLXNhbHQxNg$VuYjIixCHtET4K+gtCBmi7wo2l97/wii2lUt7mUy40s")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1,keyid=a$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=1048577,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := password.Check(s)
		if err != nil {
			if !errors.Is(err, password.ErrMalformedHash) && !errors.Is(err, password.ErrWeakHash) && !errors.Is(err, password.ErrCostlyHash) {
				t.Fatalf("Check(%q): error %v of no kind", s, err)
			}
			return
		}
		parts := strings.Split(s, "$")
		if len(parts) != 6 {
			t.Fatalf("Check accepted %q", s)
		}
		salt, err1 := b64.DecodeString(parts[4])
		key, err2 := b64.DecodeString(parts[5])
		if err1 != nil || err2 != nil {
			t.Fatalf("Check accepted %q with bad base64", s)
		}
		again := phc("argon2id", "v=19", fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads), salt, key)
		if again != s {
			t.Fatalf("Check accepted %q, which is written %q", s, again)
		}
		if int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Fatalf("Check(%q) = %+v: wrong lengths", s, p)
		}
	})
}
