package core

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"
)

// errPayload is any payload decodeClaims refuses. A payload with a good signature was
// written by gatehouse, so none of these happens to an honest token; the reasons are
// not worth telling a client.
var errPayload = errors.New("claims")

// The registered claims decodeClaims reads, as bits of a set of names seen.
const (
	seenIss = 1 << iota
	seenSub
	seenAud
	seenExp
	seenIat
	seenNbf
	seenJti
	seenSid
	seenEmail
	seenName
	seenRoles
	seenScope
)

// decodeClaims decodes a token payload into w. It is the only reader of the registered
// claims and stricter than encoding/json on purpose:
//   - members are matched by exact name: encoding/json folds case (Unicode simple
//     folding, so "SUB" and "ſub" would both fill Subject); here any other spelling is
//     just a custom claim, which never touches a registered one;
//   - a name that appears twice, registered or not, is refused (encoding/json keeps the
//     last, another parser may keep the first);
//   - exp, iat and nbf must be integers, aud a string or an array of strings, roles an
//     array of strings, the other registered claims strings; roles and scope, which
//     gatehouse leaves out when there are none, must not be empty nor name an empty
//     role or scope (scope is names each followed by one space, but the last).
//
// It reads the payload once, without reflection; custom claims are skipped, checked
// only for being well-formed JSON, and read later through Claims.Get or Decode.
// Every string it fills in w is a substring of payload.
func decodeClaims(payload string, w *wireClaims) error {
	d := scanner{s: payload}
	var seen int
	var custom []string // names of custom claims, for the duplicate check
	d.space()
	if !d.consume('{') {
		return errPayload
	}
	d.space()
	if d.consume('}') {
		return d.end()
	}
	for {
		d.space()
		name, ok := d.str()
		if !ok {
			return errPayload
		}
		d.space()
		if !d.consume(':') {
			return errPayload
		}
		d.space()
		bit, ok := 0, true
		switch name {
		case "iss":
			bit = seenIss
			w.Iss, ok = d.str()
		case "sub":
			bit = seenSub
			w.Sub, ok = d.str()
		case "aud":
			bit = seenAud
			w.Aud, ok = d.aud()
		case "exp":
			bit = seenExp
			w.Exp, ok = d.int()
		case "iat":
			bit = seenIat
			w.Iat, ok = d.int()
		case "nbf":
			bit = seenNbf
			w.Nbf, ok = d.int()
		case "jti":
			bit = seenJti
			w.Jti, ok = d.str()
		case "sid":
			bit = seenSid
			w.Sid, ok = d.str()
		case "email":
			bit = seenEmail
			w.Email, ok = d.str()
		case "name":
			bit = seenName
			w.Name, ok = d.str()
		case "roles":
			bit = seenRoles
			w.Roles, ok = d.strs()
			ok = ok && !slices.Contains(w.Roles, "")
		case "scope":
			bit = seenScope
			w.Scope, ok = d.str()
			ok = ok && spaceSeparated(w.Scope)
		default:
			if slices.Contains(custom, name) {
				return errPayload
			}
			custom = append(custom, name)
			ok = d.skip(0)
		}
		if !ok || seen&bit != 0 {
			return errPayload
		}
		seen |= bit
		d.space()
		if d.consume('}') {
			return d.end()
		}
		if !d.consume(',') {
			return errPayload
		}
	}
}

// scanner reads JSON from s at i.
type scanner struct {
	s string
	i int
}

func (d *scanner) space() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *scanner) consume(c byte) bool {
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end checks that nothing but white space follows the value.
func (d *scanner) end() error {
	d.space()
	if d.i != len(d.s) {
		return errPayload
	}
	return nil
}

// str reads a string. One without escapes is sliced out as it is; one with escapes is
// handed to encoding/json, which knows every escape and surrogate rule. Invalid UTF-8 is
// refused: encoding/json would turn each bad byte into U+FFFD, so two different names
// could read as one.
func (d *scanner) str() (string, bool) {
	if !d.consume('"') {
		return "", false
	}
	start, escaped, high := d.i, false, false
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			if high && !utf8.ValidString(d.s[start:d.i-1]) {
				return "", false
			}
			if !escaped {
				return d.s[start : d.i-1], true
			}
			var s string
			if json.Unmarshal([]byte(d.s[start-1:d.i]), &s) != nil {
				return "", false
			}
			return s, true
		case c == '\\':
			escaped = true
			d.i += 2
		case c < 0x20:
			return "", false
		default:
			high = high || c >= 0x80
			d.i++
		}
	}
	return "", false
}

// int reads an integer of at most 18 digits: exp, iat and nbf are Unix seconds, never
// fractions or exponents.
func (d *scanner) int() (int64, bool) {
	neg := d.consume('-')
	start := d.i
	var n int64
	for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
		n = n*10 + int64(d.s[d.i]-'0')
		d.i++
	}
	digits := d.i - start
	if digits == 0 || digits > 18 || (digits > 1 && d.s[start] == '0') {
		return 0, false
	}
	if d.i < len(d.s) && (d.s[d.i] == '.' || d.s[d.i] == 'e' || d.s[d.i] == 'E') {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

// aud reads the aud claim: a string or a non-empty array of strings (RFC 7519 §4.1.3).
func (d *scanner) aud() (audience, bool) {
	if d.i < len(d.s) && d.s[d.i] == '"' {
		s, ok := d.str()
		return audience{s}, ok
	}
	a, ok := d.strs()
	return a, ok
}

// strs reads a non-empty array of strings.
func (d *scanner) strs() ([]string, bool) {
	if !d.consume('[') {
		return nil, false
	}
	var a []string
	for {
		d.space()
		s, ok := d.str()
		if !ok {
			return nil, false
		}
		a = append(a, s)
		d.space()
		if d.consume(']') {
			return a, true
		}
		if !d.consume(',') {
			return nil, false
		}
	}
}

// spaceSeparated reports whether s is one or more non-empty names, each but the last
// followed by one space: the scope claim as gatehouse writes it.
func spaceSeparated(s string) bool {
	return s != "" && s[0] != ' ' && s[len(s)-1] != ' ' && !strings.Contains(s, "  ")
}

// maxDepth bounds the nesting of custom claims.
const maxDepth = 32

// skip reads one value of any kind without keeping it, checking that it is well-formed.
func (d *scanner) skip(depth int) bool {
	if d.i >= len(d.s) || depth > maxDepth {
		return false
	}
	switch c := d.s[d.i]; {
	case c == '"':
		_, ok := d.str()
		return ok
	case c == '{' || c == '[':
		return d.skipContainer(depth)
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	for _, lit := range []string{"true", "false", "null"} {
		if strings.HasPrefix(d.s[d.i:], lit) {
			d.i += len(lit)
			return true
		}
	}
	return false
}

func (d *scanner) skipContainer(depth int) bool {
	closer := byte(']')
	object := d.s[d.i] == '{'
	if object {
		closer = '}'
	}
	d.i++
	d.space()
	if d.consume(closer) {
		return true
	}
	for {
		d.space()
		if object {
			if _, ok := d.str(); !ok {
				return false
			}
			d.space()
			if !d.consume(':') {
				return false
			}
			d.space()
		}
		if !d.skip(depth + 1) {
			return false
		}
		d.space()
		if d.consume(closer) {
			return true
		}
		if !d.consume(',') {
			return false
		}
	}
}

// number reads a JSON number (RFC 8259 §6).
func (d *scanner) number() bool {
	d.consume('-')
	digits := func() int {
		start := d.i
		for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
			d.i++
		}
		return d.i - start
	}
	start := d.i
	if n := digits(); n == 0 || (n > 1 && d.s[start] == '0') {
		return false
	}
	if d.consume('.') && digits() == 0 {
		return false
	}
	if d.consume('e') || d.consume('E') {
		if !d.consume('+') {
			d.consume('-')
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}
