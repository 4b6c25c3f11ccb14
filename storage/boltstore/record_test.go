package boltstore

import (
	"bytes"
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
	data, err := os.ReadFile(filepath.Join("testdata", "format-v1.bolt"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s := openAtTest(t, path)
	if v := recordVersion(t, s, "sid-1"); v != nil {
		t.Fatalf("the fixture's session record has \"v\": %s; it must be of version 1, which had none", v)
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

	// Written again, the session is a version 2 record.
	now := fixtureBase.Add(2 * time.Hour)
	rotated, err := s.Rotate(ctx, core.Rotation{SessionID: "sid-1", Presented: "sid-1.rt2", Next: "sid-1.rt3",
		Now: now, Grace: time.Minute, IdleTimeout: 7 * 24 * time.Hour, AccessExpiresAt: now.Add(16 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if v := recordVersion(t, s, "sid-1"); string(v) != "2" {
		t.Errorf("after Rotate the session record has \"v\": %s, want 2", v)
	}
	got, err = s.Session(ctx, "sid-1")
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, "Session(sid-1) after Rotate", got, rotated)
	want.Previous, want.PreviousUntil, want.Current = "sid-1.rt2", now.Add(time.Minute), "sid-1.rt3"
	want.LastUsedAt, want.IdleExpiresAt, want.AccessExpiresAt = now, now.Add(7*24*time.Hour), now.Add(16*time.Minute)
	sameSession(t, "Session(sid-1) after Rotate", got, want)

	// Every expiry index entry came through: all four entries go, at their time.
	if n, err := s.Purge(ctx, fixtureBase.Add(time.Hour)); err != nil || n != 2 {
		t.Errorf("Purge(base+1h) = %d, %v; want 2 (jti-1, state-1)", n, err)
	}
	if n, err := s.Purge(ctx, fixtureBase.Add(31*24*time.Hour)); err != nil || n != 2 {
		t.Errorf("Purge(base+31d) = %d, %v; want 2 (sid-ended, sid-1)", n, err)
	}
}

// recordVersion returns the raw "v" of the stored record of session sid, nil if it
// has none.
func recordVersion(t *testing.T, s *Store, sid string) json.RawMessage {
	t.Helper()
	var fields map[string]json.RawMessage
	err := s.view(ctx, "read record", func(tx *bolt.Tx) error {
		return json.Unmarshal(tx.Bucket(bucketSessions).Get([]byte(sid)), &fields)
	})
	if err != nil {
		t.Fatal(err)
	}
	return fields["v"]
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

// TestSessionRecordWithoutGrants: a session without roles and scopes is stored without
// them, as before they existed, and read back without them.
func TestSessionRecordWithoutGrants(t *testing.T) {
	s := fixtureSession()
	data, err := encodeSession(s)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(`"roles"`)) || bytes.Contains(data, []byte(`"scopes"`)) {
		t.Errorf("record of a session without grants names them: %s", data)
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

// TestSessionRecordVersions: records of versions 1 (no "v") and 2 decode; any other
// version is refused as ErrCorrupt.
func TestSessionRecordVersions(t *testing.T) {
	for _, tc := range []struct {
		record string
		ok     bool
	}{
		{`{"id":"sid-1","identity":{"sub":"alice"},"current":"rt1"}`, true},
		{`{"v":2,"id":"sid-1","identity":{"sub":"alice"},"current":"rt1"}`, true},
		{`{"v":3,"id":"sid-1","identity":{"sub":"alice"},"current":"rt1"}`, false},
		{`{"v":-1,"id":"sid-1"}`, false},
		{`{"v":"2","id":"sid-1"}`, false},
		{`not json`, false},
	} {
		s, err := decodeSession([]byte(tc.record))
		switch {
		case tc.ok && (err != nil || s.ID != "sid-1" || s.Identity.Subject != "alice" || s.Current != "rt1"):
			t.Errorf("decodeSession(%s) = %+v, %v; want sid-1 of alice", tc.record, s, err)
		case !tc.ok && !errors.Is(err, ErrCorrupt):
			t.Errorf("decodeSession(%s): error = %v, want ErrCorrupt", tc.record, err)
		}
	}
}
