package core

import (
	"bytes"
	"strings"
	"testing"
)

// decodeB64 reads the token string in place of b64.Decode: it must accept exactly what
// b64 (RawURLEncoding, Strict) accepts, with the same bytes, and tell a byte outside
// the base64url alphabet (CR and LF included, which b64 skips) from a strict-decoding
// failure.
func TestDecodeB64(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"", b64OK},
		{"QQ", b64OK},     // "A"
		{"QR", b64Strict}, // bits set beyond the data
		{"QUI", b64OK},    // "AB"
		{"QUJ", b64Strict},
		{"QUJD", b64OK},      // "ABC"
		{"QUJDR", b64Strict}, // one character over
		{"_-_-", b64OK},
		{"QUJD\n", b64Alphabet},
		{"QU\r\nJD", b64Alphabet},
		{"QQ==", b64Alphabet},
		{"+/+/", b64Alphabet},
		{"QUJ\x80", b64Alphabet},
		{"QR\xff", b64Alphabet}, // an alphabet failure outranks a strict one
	} {
		compareB64(t, tc.in)
		dst := make([]byte, b64.DecodedLen(len(tc.in)))
		if got := decodeB64(dst, tc.in); got != tc.want {
			t.Errorf("decodeB64(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func FuzzDecodeB64(f *testing.F) {
	for _, s := range []string{"", "QQ", "QR", "QUI", "QUJ", "QUJDR", "QQ==", "QU\r\nJD", "eyJzdWIiOiJzIn0"} {
		f.Add(s)
	}
	f.Fuzz(compareB64)
}

// compareB64 checks decodeB64 on s against b64.
func compareB64(t *testing.T, s string) {
	t.Helper()
	dst := make([]byte, b64.DecodedLen(len(s)))
	got := decodeB64(dst, s)
	for i := 0; i < len(s); i++ {
		if !strings.Contains(b64alphabet, s[i:i+1]) {
			if got != b64Alphabet {
				t.Fatalf("decodeB64(%q) = %d, want b64Alphabet (byte %d)", s, got, i)
			}
			return
		}
	}
	want, err := b64.DecodeString(s)
	if (got == b64OK) != (err == nil) || got == b64OK && !bytes.Equal(dst, want) {
		t.Fatalf("decodeB64(%q) = %d, %x; b64 says %x, %v", s, got, dst, want, err)
	}
}
