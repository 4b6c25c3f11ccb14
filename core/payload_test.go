package core

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDecodeClaims(t *testing.T) {
	const good = `{"iss":"i","sub":"s","aud":"a","exp":20,"iat":10,"jti":"j","sid":"d","email":"e","name":"n"}`
	want := wireClaims{Iss: "i", Sub: "s", Aud: audience{"a"}, Exp: 20, Iat: 10, Jti: "j", Sid: "d", Email: "e", Name: "n"}
	ok := []struct {
		name, payload string
		want          wireClaims
	}{
		{"Plain", good, want},
		{"Spaces", " {\n\"sub\" : \"s\" ,\t\"exp\":20 } ", wireClaims{Sub: "s", Exp: 20}},
		{"Empty", `{}`, wireClaims{}},
		{"AudArray", `{"aud":["x","y"]}`, wireClaims{Aud: audience{"x", "y"}}},
		{"Escapes", `{"sub":"a\"b\\c\u00e9","name":"\ud83d\ude00"}`, wireClaims{Sub: "a\"b\\cé", Name: "😀"}},
		{"EscapedName", `{"\u0073ub":"s"}`, wireClaims{Sub: "s"}},
		{"Negative", `{"nbf":-5}`, wireClaims{Nbf: -5}},
		// Other spellings are custom claims and never touch a registered one.
		{"CaseVariants", `{"SUB":"x","Sid":"y","sub":"s","EXP":99}`, wireClaims{Sub: "s"}},
		{"LongS", `{"ſub":"victim","ſid":"x","sub":"s"}`, wireClaims{Sub: "s"}},
		{"CustomValues", `{"sub":"s","r":["a",{"b":[1,2.5e-3,true,null]}],"o":{},"l":[],"n":-0.5}`, wireClaims{Sub: "s"}},
		{"Grants", `{"roles":["admin","b:c"],"scope":"read write"}`, wireClaims{Roles: []string{"admin", "b:c"}, Scope: "read write"}},
		{"GrantsSpaces", `{"roles" : [ "a" , "b" ] , "scope":"x"}`, wireClaims{Roles: []string{"a", "b"}, Scope: "x"}},
		{"RolesEscaped", `{"r\u006fles":["\u0061"]}`, wireClaims{Roles: []string{"a"}}},
		{"GrantsLookAlikes", `{"Roles":["admin"],"SCOPE":"all","scopes":"x","role":"y"}`, wireClaims{}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			var w wireClaims
			if err := decodeClaims(tc.payload, &w); err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !reflect.DeepEqual(w, tc.want) {
				t.Errorf("got %+v, want %+v", w, tc.want)
			}
		})
	}
	bad := []struct{ name, payload string }{
		{"DuplicateSub", `{"sub":"a","sub":"b"}`},
		{"DuplicateExp", `{"exp":1,"iat":2,"exp":3}`},
		{"DuplicateByEscape", `{"sub":"a","\u0073ub":"b"}`},
		{"DuplicateCustom", `{"role":"user","role":"admin"}`},
		{"DuplicateRoles", `{"roles":["user"],"roles":["admin"]}`},
		{"DuplicateRolesByEscape", `{"roles":["user"],"rol\u0065s":["admin"]}`},
		{"DuplicateScope", `{"scope":"read","scope":"admin"}`},
		{"RolesString", `{"roles":"admin"}`},
		{"RolesNull", `{"roles":null}`},
		{"RolesEmptyArray", `{"roles":[]}`},
		{"RolesEmptyName", `{"roles":["a",""]}`},
		{"RolesNumbers", `{"roles":[1]}`},
		{"RolesNested", `{"roles":[["a"]]}`},
		{"RolesObject", `{"roles":{"a":true}}`},
		{"RolesUnterminated", `{"roles":["a"}`},
		{"ScopeArray", `{"scope":["read"]}`},
		{"ScopeNumber", `{"scope":1}`},
		{"ScopeNull", `{"scope":null}`},
		{"ScopeEmpty", `{"scope":""}`},
		{"ScopeLeadingSpace", `{"scope":" read"}`},
		{"ScopeTrailingSpace", `{"scope":"read "}`},
		{"ScopeDoubleSpace", `{"scope":"read  write"}`},
		{"ExpFraction", `{"exp":1.5}`},
		{"ExpExponent", `{"exp":1e9}`},
		{"ExpString", `{"exp":"20"}`},
		{"ExpLeadingZero", `{"exp":020}`},
		{"ExpHuge", `{"exp":12345678901234567890}`},
		{"SubNumber", `{"sub":5}`},
		{"SubNull", `{"sub":null}`},
		{"AudNull", `{"aud":null}`},
		{"AudNumbers", `{"aud":[1]}`},
		{"AudEmptyArray", `{"aud":[]}`},
		{"NotObject", `["sub"]`},
		{"Trailing", good + `x`},
		{"TwoObjects", `{}{}`},
		{"Unterminated", `{"sub":"s"`},
		{"TrailingComma", `{"sub":"s",}`},
		{"ControlChar", "{\"sub\":\"a\x01\"}"},
		{"BadEscape", `{"sub":"\x"}`},
		{"BadLiteral", `{"r":tru}`},
		{"BadNumber", `{"r":1.}`},
		{"Deep", `{"r":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`},
		{"Empty", ``},
		{"InvalidUTF8", "{\"\x97\":\"\"}"},
		{"InvalidUTF8Escaped", "{\"sub\":\"\\n\xc5\"}"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if err := decodeClaims(tc.payload, new(wireClaims)); err == nil {
				t.Errorf("accepted %s", tc.payload)
			}
		})
	}
}

// FuzzDecodeClaims: whatever decodeClaims accepts is valid JSON without repeated names,
// and each registered claim it read is exactly the member of that exact name.
func FuzzDecodeClaims(f *testing.F) {
	f.Add([]byte(`{"iss":"i","sub":"s","aud":["a","b"],"exp":20,"iat":10,"jti":"j","sid":"d","email":"e","name":"n","x":{"y":[1,true]}}`))
	f.Add([]byte(`{"SUB":"x","sub":"s","ſub":"v"}`))
	f.Add([]byte(`{"\u0073ub":"s","exp":-1}`))
	f.Add([]byte(`{"sub":"s","roles":["admin","a\u0062"],"scope":"read write","Roles":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var w wireClaims
		if decodeClaims(string(b), &w) != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		// encoding/json's token stream gives every member by its exact, unescaped name.
		members := map[string]json.RawMessage{}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.Token() //nolint:errcheck // '{', known valid
		for dec.More() {
			tok, _ := dec.Token()
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				t.Fatal(err)
			}
			name := tok.(string)
			if _, dup := members[name]; dup {
				t.Fatalf("accepted %q with %q twice", b, name)
			}
			members[name] = raw
		}
		str := func(name, got string) {
			var want string
			if raw, ok := members[name]; ok {
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			if got != want {
				t.Fatalf("%q: %s = %q, want %q", b, name, got, want)
			}
		}
		str("iss", w.Iss)
		str("sub", w.Sub)
		str("jti", w.Jti)
		str("sid", w.Sid)
		str("email", w.Email)
		str("name", w.Name)
		str("scope", w.Scope)
		var roles []string
		if raw, ok := members["roles"]; ok {
			if err := json.Unmarshal(raw, &roles); err != nil || len(roles) == 0 || slices.Contains(roles, "") {
				t.Fatalf("%q: accepted roles %s", b, raw)
			}
		}
		if !slices.Equal(w.Roles, roles) {
			t.Fatalf("%q: roles = %q, want %q", b, w.Roles, roles)
		}
		if raw, ok := members["scope"]; ok && !spaceSeparated(w.Scope) {
			t.Fatalf("%q: accepted scope %s", b, raw)
		}
		for name, got := range map[string]int64{"exp": w.Exp, "iat": w.Iat, "nbf": w.Nbf} {
			var want int64
			if raw, ok := members[name]; ok {
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			if got != want {
				t.Fatalf("%q: %s = %d, want %d", b, name, got, want)
			}
		}
	})
}
