package demo

import (
	"bytes"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func getenv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestDefaults: with nothing set, every variable has the default of examples/README.md's table.
func TestDefaults(t *testing.T) {
	c, err := Load(getenv(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Addr: "127.0.0.1:7000", PublicURL: "http://127.0.0.1:7000", Store: "bolt:gatehouse.db",
		Alg: "HS256", AccessTTL: 15 * time.Minute, RefreshTTL: 720 * time.Hour,
		RateLimit: 120, MaxSessions: 50,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("defaults\n got %+v\nwant %+v", c, want)
	}
	if !c.DevIDP() {
		t.Fatal("no provider configured, but the development identity provider is off")
	}
}

func TestLoad(t *testing.T) {
	key := strings.Repeat("k", 32)
	// Bytes whose base64 has both '+' and '/' in the standard alphabet, '-' and '_' in
	// the URL one, and padding.
	kek := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)[:32]
	cases := []struct {
		name string
		env  map[string]string
		want func(*Config) bool
	}{
		{"public URL from the address", map[string]string{"GATEHOUSE_ADDR": "localhost:8080"},
			func(c *Config) bool { return c.PublicURL == "http://localhost:8080" }},
		{"all interfaces", map[string]string{"GATEHOUSE_ADDR": "0.0.0.0:8080", "GOOGLE_CLIENT_ID": "i", "GOOGLE_CLIENT_SECRET": "s"},
			func(c *Config) bool { return c.PublicURL == "http://localhost:8080" }},
		{"public URL, trailing slash", map[string]string{"GATEHOUSE_PUBLIC_URL": "http://127.0.0.1:7000/"},
			func(c *Config) bool { return c.PublicURL == "http://127.0.0.1:7000" }},
		{"memory", map[string]string{"GATEHOUSE_STORE": "memory"}, func(c *Config) bool { return c.Store == "memory" }},
		{"redis", map[string]string{"GATEHOUSE_STORE": "redis://127.0.0.1:6379/2"}, func(c *Config) bool { return c.Store == "redis://127.0.0.1:6379/2" }},
		{"redis over TLS", map[string]string{"GATEHOUSE_STORE": "rediss://:pw@redis.example.com:6380/0"}, func(c *Config) bool { return c.Store == "rediss://:pw@redis.example.com:6380/0" }},
		{"signing key", map[string]string{"GATEHOUSE_SIGNING_KEY": key}, func(c *Config) bool { return string(c.SigningKey) == key }},
		{"signing key, HS256 named", map[string]string{"GATEHOUSE_SIGNING_KEY": key, "GATEHOUSE_ALG": "HS256"}, func(c *Config) bool { return c.SigningKey != nil }},
		{"EdDSA", map[string]string{"GATEHOUSE_ALG": "EdDSA"}, func(c *Config) bool { return c.Alg == "EdDSA" }},
		{"emails", map[string]string{"GATEHOUSE_ALLOWED_EMAILS": " ada@example.com, ,bob@example.com "},
			func(c *Config) bool {
				return reflect.DeepEqual(c.AllowedEmails, []string{"ada@example.com", "bob@example.com"})
			}},
		{"TTLs", map[string]string{"GATEHOUSE_ACCESS_TTL": "90s", "GATEHOUSE_REFRESH_TTL": "2h"},
			func(c *Config) bool { return c.AccessTTL == 90*time.Second && c.RefreshTTL == 2*time.Hour }},
		{"rate limit", map[string]string{"GATEHOUSE_RATE_LIMIT": "30"}, func(c *Config) bool { return c.RateLimit == 30 }},
		{"rate limit off", map[string]string{"GATEHOUSE_RATE_LIMIT": "0"}, func(c *Config) bool { return c.RateLimit == 0 }},
		{"max sessions", map[string]string{"GATEHOUSE_MAX_SESSIONS": "3"}, func(c *Config) bool { return c.MaxSessions == 3 }},
		{"no session cap", map[string]string{"GATEHOUSE_MAX_SESSIONS": "0"}, func(c *Config) bool { return c.MaxSessions == 0 }},
		{"key-encryption key, standard base64", map[string]string{"GATEHOUSE_KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(kek)},
			func(c *Config) bool { return bytes.Equal(c.KeyEncryptionKey, kek) }},
		{"key-encryption key, URL alphabet, unpadded", map[string]string{"GATEHOUSE_KEY_ENCRYPTION_KEY": base64.RawURLEncoding.EncodeToString(kek)},
			func(c *Config) bool { return bytes.Equal(c.KeyEncryptionKey, kek) }},
		{"Google", map[string]string{"GOOGLE_CLIENT_ID": "i", "GOOGLE_CLIENT_SECRET": "s"},
			func(c *Config) bool { return *c.Google == Client{ID: "i", Secret: "s"} && c.OIDC == nil && !c.DevIDP() }},
		{"OIDC", map[string]string{"OIDC_ISSUER": "https://idp.example.com/", "OIDC_CLIENT_ID": "i", "OIDC_CLIENT_SECRET": "s"},
			func(c *Config) bool {
				return *c.OIDC == Client{Issuer: "https://idp.example.com", ID: "i", Secret: "s"} && !c.DevIDP()
			}},
		{"OIDC on loopback http", map[string]string{"OIDC_ISSUER": "http://127.0.0.1:9/idp", "OIDC_CLIENT_ID": "i", "OIDC_CLIENT_SECRET": "s"},
			func(c *Config) bool { return c.OIDC != nil }},
		{"a real provider may listen anywhere", map[string]string{"GATEHOUSE_ADDR": "0.0.0.0:7000", "GATEHOUSE_PUBLIC_URL": "http://app.example.com", "GOOGLE_CLIENT_ID": "i", "GOOGLE_CLIENT_SECRET": "s"},
			func(c *Config) bool { return c.PublicURL == "http://app.example.com" }},
		{"insecure dev IdP over https", map[string]string{"GATEHOUSE_PUBLIC_URL": "https://demo.example.com", InsecureDevIDPVar: "1"},
			func(c *Config) bool { return c.InsecureDevIDP && c.DevIDP() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(getenv(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(c) {
				t.Fatalf("got %+v", c)
			}
		})
	}
}

// TestMisconfiguration: each refusal names its variable. The example servers' tests
// check the same through the real binaries; this one is the quick table.
func TestMisconfiguration(t *testing.T) {
	cases := []struct {
		env     map[string]string
		wantVar string
	}{
		{map[string]string{"GATEHOUSE_ADDR": "7000"}, "GATEHOUSE_ADDR"},
		{map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:http"}, "GATEHOUSE_ADDR"},
		{map[string]string{"GATEHOUSE_ADDR": "0.0.0.0:7000"}, "GATEHOUSE_ADDR"},
		{map[string]string{"GATEHOUSE_PUBLIC_URL": "app.example.com"}, "GATEHOUSE_PUBLIC_URL"},
		{map[string]string{"GATEHOUSE_PUBLIC_URL": "http://127.0.0.1:7000/?x=1"}, "GATEHOUSE_PUBLIC_URL"},
		{map[string]string{"GATEHOUSE_PUBLIC_URL": "http://app.example.com"}, "GATEHOUSE_PUBLIC_URL"},
		{map[string]string{"GATEHOUSE_PUBLIC_URL": "http://app.example.com", InsecureDevIDPVar: "1"}, "GATEHOUSE_PUBLIC_URL"},
		{map[string]string{InsecureDevIDPVar: "yes"}, InsecureDevIDPVar},
		{map[string]string{"GATEHOUSE_STORE": "mysql://db/x"}, "GATEHOUSE_STORE"},
		{map[string]string{"GATEHOUSE_STORE": "bolt:"}, "GATEHOUSE_STORE"},
		{map[string]string{"GATEHOUSE_STORE": "redis://"}, "GATEHOUSE_STORE"},
		{map[string]string{"GATEHOUSE_STORE": "gatehouse.db"}, "GATEHOUSE_STORE"},
		{map[string]string{"GATEHOUSE_STORE": "redis://127.0.0.1:6379/zero"}, "GATEHOUSE_STORE"},
		{map[string]string{"GATEHOUSE_STORE": "bolt://host/x.db"}, "GATEHOUSE_STORE"},
		{map[string]string{"GATEHOUSE_SIGNING_KEY": "short"}, "GATEHOUSE_SIGNING_KEY"},
		{map[string]string{"GATEHOUSE_SIGNING_KEY": strings.Repeat("k", 32), "GATEHOUSE_ALG": "ES256"}, "GATEHOUSE_SIGNING_KEY"},
		{map[string]string{"GATEHOUSE_ALG": "none"}, "GATEHOUSE_ALG"},
		{map[string]string{"GATEHOUSE_ALG": "HS512"}, "GATEHOUSE_ALG"},
		{map[string]string{"GATEHOUSE_ALLOWED_EMAILS": "ada"}, "GATEHOUSE_ALLOWED_EMAILS"},
		{map[string]string{"GATEHOUSE_ACCESS_TTL": "15"}, "GATEHOUSE_ACCESS_TTL"},
		{map[string]string{"GATEHOUSE_ACCESS_TTL": "500ms"}, "GATEHOUSE_ACCESS_TTL"},
		{map[string]string{"GATEHOUSE_REFRESH_TTL": "-1h"}, "GATEHOUSE_REFRESH_TTL"},
		{map[string]string{"GATEHOUSE_RATE_LIMIT": "fast"}, "GATEHOUSE_RATE_LIMIT"},
		{map[string]string{"GATEHOUSE_RATE_LIMIT": "-1"}, "GATEHOUSE_RATE_LIMIT"},
		{map[string]string{"GATEHOUSE_RATE_LIMIT": "1.5"}, "GATEHOUSE_RATE_LIMIT"},
		{map[string]string{"GATEHOUSE_MAX_SESSIONS": "-2"}, "GATEHOUSE_MAX_SESSIONS"},
		{map[string]string{"GATEHOUSE_MAX_SESSIONS": "many"}, "GATEHOUSE_MAX_SESSIONS"},
		{map[string]string{"GATEHOUSE_KEY_ENCRYPTION_KEY": strings.Repeat("k", 32)}, "GATEHOUSE_KEY_ENCRYPTION_KEY"}, // 24 bytes
		{map[string]string{"GATEHOUSE_KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(make([]byte, 31))}, "GATEHOUSE_KEY_ENCRYPTION_KEY"},
		{map[string]string{"GATEHOUSE_KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(make([]byte, 33))}, "GATEHOUSE_KEY_ENCRYPTION_KEY"},
		{map[string]string{"GATEHOUSE_KEY_ENCRYPTION_KEY": "not base64 at all, not even close!!"}, "GATEHOUSE_KEY_ENCRYPTION_KEY"},
		{map[string]string{"GOOGLE_CLIENT_ID": "i"}, "GOOGLE_CLIENT_SECRET"},
		{map[string]string{"GOOGLE_CLIENT_SECRET": "s"}, "GOOGLE_CLIENT_ID"},
		{map[string]string{"OIDC_ISSUER": "https://idp.example.com", "OIDC_CLIENT_ID": "i"}, "OIDC_CLIENT_SECRET"},
		{map[string]string{"OIDC_CLIENT_ID": "i", "OIDC_CLIENT_SECRET": "s"}, "OIDC_ISSUER"},
		{map[string]string{"OIDC_ISSUER": "http://idp.example.com", "OIDC_CLIENT_ID": "i", "OIDC_CLIENT_SECRET": "s"}, "OIDC_ISSUER"},
	}
	for _, tc := range cases {
		_, err := Load(getenv(tc.env))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != tc.wantVar {
			t.Errorf("%v: got %v, want an error about %s", tc.env, err, tc.wantVar)
		}
	}
}

// TestKeyNotEchoed: a refused key-encryption key is a secret all the same; the line
// that refuses it does not repeat it.
func TestKeyNotEchoed(t *testing.T) {
	for _, v := range []string{"c2VjcmV0LWJ1dC10b28tc2hvcnQ=", "secret but not base64 ~~~~~~~~~~~~~~~~~~~~~~~~~~~~"} {
		_, err := Load(getenv(map[string]string{"GATEHOUSE_KEY_ENCRYPTION_KEY": v}))
		if err == nil || strings.Contains(err.Error(), v) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%v", err)
		}
	}
}

func TestOneLine(t *testing.T) {
	err := errors.New("gatehouse: bad configuration: provider \"oidc\":\nissuer")
	if got := oneLine(err); got != `gatehouse demo: bad configuration: provider "oidc": issuer` {
		t.Fatal(got)
	}
}
