package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	bolt "go.etcd.io/bbolt"
)

// fixtureBase is the time the sessions of testdata/format-v1.bolt were built from, in
// the zone they were written in.
var fixtureBase = time.Date(2100, time.March, 4, 5, 6, 7, 123456789, time.FixedZone("", 2*3600))

// fixtureSession is the session sid-1 of testdata/format-v1.bolt, every field set.
func fixtureSession() *core.Session {
	b := fixtureBase
	return &core.Session{
		ID: "sid-1",
		Identity: core.Identity{
			Subject:  "https://accounts.example.com|1234",
			Email:    "alice@example.com",
			Name:     "Alice Ünïcode",
			Provider: "google",
			Claims:   map[string]any{"role": "admin", "groups": []any{"a", "b"}, "n": 42.5, "nested": map[string]any{"x": true}},
		},
		CreatedAt:       b,
		LastUsedAt:      b.Add(time.Hour),
		ExpiresAt:       b.Add(30 * 24 * time.Hour),
		IdleExpiresAt:   b.Add(8 * 24 * time.Hour),
		AccessExpiresAt: b.Add(time.Hour + 16*time.Minute),
		Current:         "sid-1.rt2",
		Previous:        "sid-1.rt1",
		PreviousUntil:   b.Add(time.Hour + 30*time.Second),
		UserAgent:       "Mozilla/5.0 (fixture)",
		IP:              "2001:db8::1",
	}
}

// TestFormatV1Fixture opens a copy of testdata/format-v1.bolt, written by the code
// before sessions had a record type of their own (session records without "v"), and
// finds everything the file holds: the session, field for field, a revoked token, a
// revoked session, a key and a consumed state, each with its expiry. A session
// written again is stored as a version 2 record and reads back the same.
func TestFormatV1Fixture(t *testing.T) {
	path := copyFixture(t, "format-v1.bolt")
	s := openAtTest(t, path)
	if v := recordVersion(t, s, "sid-1"); v != 1 {
		t.Fatalf("the fixture's session record is of version %d; it must be of version 1, which had no \"v\"", v)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}

	want := fixtureSession()
	got, err := s.Session(ctx, "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, "Session(sid-1)", got, want)
	list, err := s.Sessions(ctx, want.Identity.Subject)
	if err != nil || len(list) != 1 {
		t.Fatalf("Sessions(%q) = %d sessions, %v; want sid-1", want.Identity.Subject, len(list), err)
	}
	sameSession(t, "Sessions(...)[0]", list[0], want)
	if ended, err := s.Session(ctx, "sid-ended"); err != nil || ended != nil {
		t.Errorf("Session(sid-ended) = %v, %v; want none, it was ended", ended, err)
	}
	for _, c := range []struct {
		jti, sid string
		want     bool
	}{
		{"jti-1", "", true},
		{"", "sid-ended", true},
		{"sid-ended", "", false},
		{"", "sid-1", false},
		{"state-1", "state-1", false}, // consumed, not revoked
	} {
		if revoked, err := s.IsRevoked(ctx, c.jti, c.sid); err != nil || revoked != c.want {
			t.Errorf("IsRevoked(%q, %q) = %v, %v; want %v", c.jti, c.sid, revoked, err, c.want)
		}
	}
	wantKey := make([]byte, 32)
	for i := range wantKey {
		wantKey[i] = byte(i * 7)
	}
	if key, err := s.LoadOrStoreKey(ctx, "signing", []byte("other")); err != nil || !bytes.Equal(key, wantKey) {
		t.Errorf("LoadOrStoreKey(signing) = %x, %v; want the fixture's key %x", key, err, wantKey)
	}
	if first, err := s.Consume(ctx, "state-1", fixtureBase.Add(time.Hour)); err != nil || first {
		t.Errorf("Consume(state-1) = %v, %v; want false, the fixture consumed it", first, err)
	}
	expires := map[string]time.Time{}
	err = s.Export(ctx, func(e core.Entry) error {
		expires[e.ID] = e.Expires
		return nil
	})
	if err != nil || len(expires) != 4 {
		t.Fatalf("Export listed %v, %v; want a key, a session, two revocations", expires, err)
	}
	if !expires["jti-1"].Equal(fixtureBase.Add(time.Hour)) || !expires["sid-ended"].Equal(fixtureBase.Add(2*time.Hour)) {
		t.Errorf("revocations expire at %v (jti-1) and %v (sid-ended); want base+1h and base+2h", expires["jti-1"], expires["sid-ended"])
	}

	// Written again, the session is a version 3 record.
	rotateFixtureSession(t, s, want)

	// Every expiry index entry came through: all four entries go, at their time.
	if n, err := s.Purge(ctx, fixtureBase.Add(time.Hour)); err != nil || n != 2 {
		t.Errorf("Purge(base+1h) = %d, %v; want 2 (jti-1, state-1)", n, err)
	}
	if n, err := s.Purge(ctx, fixtureBase.Add(31*24*time.Hour)); err != nil || n != 2 {
		t.Errorf("Purge(base+31d) = %d, %v; want 2 (sid-ended, sid-1)", n, err)
	}
}

// recordVersion returns the version of the stored record of session sid: the first
// byte of a binary record, the "v" of a JSON one, 1 for JSON without "v".
func recordVersion(t *testing.T, s *Store, sid string) int {
	t.Helper()
	var raw []byte
	err := s.view(ctx, "read record", func(tx *bolt.Tx) error {
		raw = bytes.Clone(tx.Bucket(bucketSessions).Get([]byte(sid)))
		return nil
	})
	if err != nil || len(raw) == 0 {
		t.Fatalf("record of %s: %q, %v", sid, raw, err)
	}
	if raw[0] != '{' {
		return int(raw[0])
	}
	var fields struct {
		V *int `json:"v"`
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	if fields.V == nil {
		return 1
	}
	return *fields.V
}

// rotateFixtureSession refreshes the fixture's sid-1, stored as want, and checks that it
// is then a record of the current version, holding want with the rotation applied.
func rotateFixtureSession(t *testing.T, s *Store, want *core.Session) {
	t.Helper()
	ctx := context.Background()
	now := fixtureBase.Add(2 * time.Hour)
	rotated, err := s.Rotate(ctx, core.Rotation{SessionID: "sid-1", Presented: "sid-1.rt2", Next: "sid-1.rt3",
		Now: now, Grace: time.Minute, IdleTimeout: 7 * 24 * time.Hour, AccessExpiresAt: now.Add(16 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if v := recordVersion(t, s, "sid-1"); v != sessionVersion {
		t.Errorf("after Rotate the session record is of version %d, want %d", v, sessionVersion)
	}
	got, err := s.Session(ctx, "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, "Session(sid-1) after Rotate", got, rotated)
	want.Previous, want.PreviousUntil, want.Current = "sid-1.rt2", now.Add(time.Minute), "sid-1.rt3"
	want.LastUsedAt, want.IdleExpiresAt, want.AccessExpiresAt = now, now.Add(7*24*time.Hour), now.Add(16*time.Minute)
	sameSession(t, "Session(sid-1) after Rotate", got, want)
}

// sameSession fails t unless got and want are equal, times compared as instants.
func sameSession(t *testing.T, what string, got, want *core.Session) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: no session", what)
	}
	g, w := inUTC(got), inUTC(want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s =\n%+v\nwant\n%+v", what, g, w)
	}
}

func inUTC(s *core.Session) core.Session {
	c := *s
	for _, p := range []*time.Time{&c.CreatedAt, &c.LastUsedAt, &c.ExpiresAt, &c.IdleExpiresAt, &c.AccessExpiresAt, &c.PreviousUntil} {
		*p = p.UTC()
	}
	return c
}

// TestSessionRecordCarriesEverything: a session with every field set comes back from
// its record equal. A field added to core.Session fails this test until it is set
// below and carried by sessionRecord.
func TestSessionRecordCarriesEverything(t *testing.T) {
	s := fixtureSession()
	// The version 1 fixture predates roles and scopes.
	s.Identity.Roles, s.Identity.Scopes = []string{"admin", "billing:read"}, []string{"read", "write"}
	for _, v := range []reflect.Value{reflect.ValueOf(*s), reflect.ValueOf(s.Identity)} {
		for i := range v.NumField() {
			if v.Field(i).IsZero() {
				t.Fatalf("%s.%s is not set in fixtureSession: set it, and carry it in sessionRecord", v.Type(), v.Type().Field(i).Name)
			}
		}
	}
	data, err := encodeSession(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeSession(data)
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, "decodeSession(encodeSession(s))", got, s)
}

// TestSessionRecordWithoutGrants: a session without roles and scopes is read back
// without them, nil as from a JSON record that had none.
func TestSessionRecordWithoutGrants(t *testing.T) {
	s := fixtureSession()
	data, err := encodeSession(s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeSession(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Identity.Roles != nil || got.Identity.Scopes != nil {
		t.Errorf("roles %#v, scopes %#v; want none", got.Identity.Roles, got.Identity.Scopes)
	}
	sameSession(t, "decodeSession(encodeSession(s))", got, s)
}

// TestSessionRecordVersions: records of versions 1 (no "v"), 2 and 3 decode; any other
// version, a version 3 record cut short or followed by more bytes, and JSON that claims
// version 3, are refused as ErrCorrupt.
func TestSessionRecordVersions(t *testing.T) {
	v3, err := encodeSession(&core.Session{ID: "sid-1", Identity: core.Identity{Subject: "alice"}, Current: "rt1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		record string
		ok     bool
	}{
		{`{"id":"sid-1","identity":{"sub":"alice"},"current":"rt1"}`, true},
		{`{"v":2,"id":"sid-1","identity":{"sub":"alice"},"current":"rt1"}`, true},
		{string(v3), true},
		{`{"v":3,"id":"sid-1","identity":{"sub":"alice"},"current":"rt1"}`, false},
		{`{"v":-1,"id":"sid-1"}`, false},
		{`{"v":"2","id":"sid-1"}`, false},
		{`not json`, false},
		{"\x04" + string(v3[1:]), false},
		{string(v3) + "\x00", false},
		{"", false},
	} {
		s, err := decodeSession([]byte(tc.record))
		switch {
		case tc.ok && (err != nil || s.ID != "sid-1" || s.Identity.Subject != "alice" || s.Current != "rt1"):
			t.Errorf("decodeSession(%q) = %+v, %v; want sid-1 of alice", tc.record, s, err)
		case !tc.ok && !errors.Is(err, ErrCorrupt):
			t.Errorf("decodeSession(%q): error = %v, want ErrCorrupt", tc.record, err)
		}
	}
}

// TestSessionRecordCutShort: every prefix of a version 3 record is refused as
// ErrCorrupt.
func TestSessionRecordCutShort(t *testing.T) {
	s := fixtureSession()
	s.Identity.Roles, s.Identity.Scopes = []string{"admin"}, []string{"read"}
	data, err := encodeSession(s)
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n < len(data); n++ {
		if _, err := decodeSession(data[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decodeSession of the first %d of %d bytes: error = %v, want ErrCorrupt", n, len(data), err)
		}
	}
}

// FuzzDecodeSession: a record of any content, as a damaged file holds, decodes or is
// refused as ErrCorrupt, never panics; what decodes encodes to a record that decodes
// to the same session.
func FuzzDecodeSession(f *testing.F) {
	s := fixtureSession()
	s.Identity.Roles, s.Identity.Scopes = []string{"admin"}, []string{"read"}
	v3, err := encodeSession(s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(v3)
	f.Add([]byte(`{"v":2,"id":"sid-1","identity":{"sub":"alice","roles":["a"]},"current":"rt1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeSession(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v, want ErrCorrupt", err)
			}
			return
		}
		again, err := encodeSession(got)
		if err != nil {
			return // claims JSON cannot encode (NaN cannot come from JSON; be lenient)
		}
		back, err := decodeSession(again)
		if err != nil {
			t.Fatalf("a decoded session's record does not decode: %v", err)
		}
		// Empty roles, scopes and claims read as none, as from JSON that omits them.
		for _, s := range []*core.Session{got, back} {
			if len(s.Identity.Roles) == 0 {
				s.Identity.Roles = nil
			}
			if len(s.Identity.Scopes) == 0 {
				s.Identity.Scopes = nil
			}
			if len(s.Identity.Claims) == 0 {
				s.Identity.Claims = nil
			}
		}
		if !reflect.DeepEqual(inUTC(back), inUTC(got)) {
			t.Fatalf("round trip changed the session:\n%+v\n%+v", inUTC(back), inUTC(got))
		}
	})
}

// TestFormatV3Fixture opens a copy of testdata/format-v3.bolt, written by the code of
// layout 3, whose session records were JSON of version 2, and finds everything the
// file holds. Open makes it layout 4, which versions before refuse; a session written
// again is stored as a binary record of version 3 and reads back the same.
func TestFormatV3Fixture(t *testing.T) {
	path := copyFixture(t, "format-v3.bolt")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var layout []byte
	err = db.View(func(tx *bolt.Tx) error {
		layout = bytes.Clone(tx.Bucket(bucketMeta).Get(formatKey))
		return nil
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	if string(layout) != "3" {
		t.Fatalf("the fixture is of layout %q, want 3", layout)
	}

	s := openAtTest(t, path)
	if v := recordVersion(t, s, "sid-1"); v != 2 {
		t.Fatalf("the fixture's session record is of version %d, want 2", v)
	}
	err = s.view(ctx, "layout", func(tx *bolt.Tx) error {
		layout = bytes.Clone(tx.Bucket(bucketMeta).Get(formatKey))
		return nil
	})
	if err != nil || !bytes.Equal(layout, formatVersion) {
		t.Errorf("layout after Open: %q, %v; want %q", layout, err, formatVersion)
	}
	want := fixtureSession()
	want.Identity.Roles, want.Identity.Scopes = []string{"admin", "billing:read"}, []string{"read", "write"}
	got, err := s.Session(ctx, "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, "Session(sid-1)", got, want)
	list, err := s.Sessions(ctx, want.Identity.Subject)
	if err != nil || len(list) != 1 {
		t.Fatalf("Sessions(%q) = %d sessions, %v; want sid-1", want.Identity.Subject, len(list), err)
	}
	for _, c := range []struct {
		jti, sid string
		want     bool
	}{
		{"jti-1", "", true},
		{"", "sid-ended", true},
		{"", "sid-1", false},
	} {
		if revoked, err := s.IsRevoked(ctx, c.jti, c.sid); err != nil || revoked != c.want {
			t.Errorf("IsRevoked(%q, %q) = %v, %v; want %v", c.jti, c.sid, revoked, err, c.want)
		}
	}
	if first, err := s.Consume(ctx, "state-1", fixtureBase.Add(time.Hour)); err != nil || first {
		t.Errorf("Consume(state-1) = %v, %v; want false, the fixture consumed it", first, err)
	}
	if n, end, err := s.Count(ctx, "pw:alice", 0, fixtureBase, 15*time.Minute); err != nil || n != 3 || !end.Equal(fixtureBase.Add(15*time.Minute)) {
		t.Errorf("Count(pw:alice, 0) = %d, %v, %v; want 3 until base+15m", n, end, err)
	}

	rotateFixtureSession(t, s, want)

	for _, step := range []struct {
		at   time.Duration
		want int
	}{
		{15 * time.Minute, 1}, // the counter
		{time.Hour, 2},        // jti-1, state-1
		{2 * time.Hour, 1},    // sid-ended's revocation
		{7*24*time.Hour + time.Hour, 0},
		{7*24*time.Hour + 2*time.Hour, 1}, // sid-1 at its new PurgeAt
	} {
		if n, err := s.Purge(ctx, fixtureBase.Add(step.at)); err != nil || n != step.want {
			t.Errorf("Purge(base+%v) = %d, %v; want %d", step.at, n, err, step.want)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// copyFixture copies testdata/name into a temporary directory, so that opening it
// (which upgrades it) leaves the fixture as it is, and returns the copy's path.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
