package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// base is the instant every test starts from: far in the future, so that no real clock
// reaches it during a run, with nanoseconds, so that a store that rounds times fails.
var base = time.Date(2100, time.March, 4, 5, 6, 7, 123456789, time.UTC)

// at is base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// hourN is n hours.
func hourN(n int) time.Duration { return time.Duration(n) * time.Hour }

// jtiN is the n-th of many distinct token ids.
func jtiN(n int) string { return fmt.Sprintf("jti-n%04d", n) }

const (
	minute = time.Minute
	hour   = time.Hour
	day    = 24 * time.Hour
)

// newSession returns a session of subject created at base: refreshable for 30 days,
// idle after 7, with one access token outstanding until base+16m, and every field set,
// the identity's roles and scopes included, except Previous and PreviousUntil (a fresh
// sign-in has none).
func newSession(id, subject string) *core.Session {
	return &core.Session{
		ID: id,
		Identity: core.Identity{
			Subject:  subject,
			Email:    subject + "@example.com",
			Name:     "User " + subject,
			Provider: "storetest",
			Claims:   map[string]any{"role": "admin", "tenant": "acme-" + subject},
			Roles:    []string{"admin", "billing:read"},
			Scopes:   []string{"read", "write", "urn:example:" + subject},
		},
		CreatedAt:       base,
		LastUsedAt:      base,
		ExpiresAt:       at(30 * day),
		IdleExpiresAt:   at(7 * day),
		AccessExpiresAt: at(16 * minute),
		Current:         id + ".rt1",
		UserAgent:       "storetest/1.0 (" + id + ")",
		IP:              "192.0.2.1",
	}
}

// withLifetimes sets the three ends of s and returns it.
func withLifetimes(s *core.Session, idle, absolute, access time.Time) *core.Session {
	s.IdleExpiresAt, s.ExpiresAt, s.AccessExpiresAt = idle, absolute, access
	return s
}

// cloneSession is a deep copy made by the test, so that what it expects cannot be
// changed through the store.
func cloneSession(s *core.Session) *core.Session {
	if s == nil {
		return nil
	}
	c := *s
	c.Identity.Roles = slices.Clone(s.Identity.Roles)
	c.Identity.Scopes = slices.Clone(s.Identity.Scopes)
	if s.Identity.Claims != nil {
		c.Identity.Claims = make(map[string]any, len(s.Identity.Claims))
		for k, v := range s.Identity.Claims {
			c.Identity.Claims[k] = v
		}
	}
	return &c
}

// sessionDiff lists the fields in which got differs from want. Times are compared with
// Equal (a store may return them in another location); nil and empty Claims, Roles and
// Scopes are equal.
func sessionDiff(want, got *core.Session) []string {
	switch {
	case want == nil && got == nil:
		return nil
	case want == nil:
		return []string{fmt.Sprintf("got session %q, want none", got.ID)}
	case got == nil:
		return []string{fmt.Sprintf("got no session, want %q", want.ID)}
	}
	var diffs []string
	str := func(name, w, g string) {
		if w != g {
			diffs = append(diffs, fmt.Sprintf("%s = %q, want %q", name, g, w))
		}
	}
	tm := func(name string, w, g time.Time) {
		if !w.Equal(g) {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", name, g, w))
		}
	}
	str("ID", want.ID, got.ID)
	str("Identity.Subject", want.Identity.Subject, got.Identity.Subject)
	str("Identity.Email", want.Identity.Email, got.Identity.Email)
	str("Identity.Name", want.Identity.Name, got.Identity.Name)
	str("Identity.Provider", want.Identity.Provider, got.Identity.Provider)
	if len(want.Identity.Claims) != 0 || len(got.Identity.Claims) != 0 {
		if !reflect.DeepEqual(want.Identity.Claims, got.Identity.Claims) {
			diffs = append(diffs, fmt.Sprintf("Identity.Claims = %#v, want %#v",
				got.Identity.Claims, want.Identity.Claims))
		}
	}
	list := func(name string, w, g []string) {
		if !slices.Equal(w, g) {
			diffs = append(diffs, fmt.Sprintf("%s = %q, want %q", name, g, w))
		}
	}
	list("Identity.Roles", want.Identity.Roles, got.Identity.Roles)
	list("Identity.Scopes", want.Identity.Scopes, got.Identity.Scopes)
	tm("CreatedAt", want.CreatedAt, got.CreatedAt)
	tm("LastUsedAt", want.LastUsedAt, got.LastUsedAt)
	tm("ExpiresAt", want.ExpiresAt, got.ExpiresAt)
	tm("IdleExpiresAt", want.IdleExpiresAt, got.IdleExpiresAt)
	tm("AccessExpiresAt", want.AccessExpiresAt, got.AccessExpiresAt)
	str("Current", want.Current, got.Current)
	str("Previous", want.Previous, got.Previous)
	tm("PreviousUntil", want.PreviousUntil, got.PreviousUntil)
	str("UserAgent", want.UserAgent, got.UserAgent)
	str("IP", want.IP, got.IP)
	return diffs
}

// checkSession fails t if got differs from want.
func checkSession(t *testing.T, what string, got, want *core.Session) {
	t.Helper()
	for _, d := range sessionDiff(want, got) {
		t.Errorf("%s: %s", what, d)
	}
}

// wantErr fails t unless err matches target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want %v", what, err, target)
	}
}

// The helpers below call one method with a live context and stop the test if the store
// fails, so that the assertions after them are about answers, not errors.

func create(t *testing.T, s core.Store, sess *core.Session) {
	t.Helper()
	if err := s.CreateSession(context.Background(), sess); err != nil {
		t.Fatalf("CreateSession(%q): %v", sess.ID, err)
	}
}

func get(t *testing.T, s core.Store, sid string) *core.Session {
	t.Helper()
	got, err := s.Session(context.Background(), sid)
	if err != nil {
		t.Fatalf("Session(%q): %v", sid, err)
	}
	return got
}

func revoke(t *testing.T, s core.Store, jti string, exp time.Time) {
	t.Helper()
	if err := s.RevokeToken(context.Background(), jti, exp); err != nil {
		t.Fatalf("RevokeToken(%q): %v", jti, err)
	}
}

func isRevoked(t *testing.T, s core.Store, jti, sid string) bool {
	t.Helper()
	ok, err := s.IsRevoked(context.Background(), jti, sid)
	if err != nil {
		t.Fatalf("IsRevoked(%q, %q): %v", jti, sid, err)
	}
	return ok
}

// wantRevoked fails t unless IsRevoked(jti, sid) answers want.
func wantRevoked(t *testing.T, s core.Store, jti, sid string, want bool) {
	t.Helper()
	if got := isRevoked(t, s, jti, sid); got != want {
		t.Errorf("IsRevoked(%q, %q) = %v, want %v", jti, sid, got, want)
	}
}

func endSession(t *testing.T, s core.Store, sid string) *core.Session {
	t.Helper()
	got, err := s.EndSession(context.Background(), sid)
	if err != nil {
		t.Fatalf("EndSession(%q): %v", sid, err)
	}
	return got
}

// purge calls Purge(now) and fails t unless it reports want deletions.
func purge(t *testing.T, s core.Store, now time.Time, want int) {
	t.Helper()
	n, err := s.Purge(context.Background(), now)
	if err != nil {
		t.Fatalf("Purge(%v): %v", now, err)
	}
	if n != want {
		t.Errorf("Purge(%v) = %d, want %d", now, n, want)
	}
}

// sessionIDs returns the sorted ids of Sessions(subject).
func sessionIDs(t *testing.T, s core.Store, subject string) []string {
	t.Helper()
	list, err := s.Sessions(context.Background(), subject)
	if err != nil {
		t.Fatalf("Sessions(%q): %v", subject, err)
	}
	ids := make([]string, 0, len(list))
	for _, sess := range list {
		if sess == nil {
			t.Fatalf("Sessions(%q) holds a nil session", subject)
		}
		ids = append(ids, sess.ID)
	}
	slices.Sort(ids)
	return ids
}

// wantSessionIDs fails t unless Sessions(subject) lists exactly ids.
func wantSessionIDs(t *testing.T, s core.Store, subject string, ids ...string) {
	t.Helper()
	want := slices.Sorted(slices.Values(ids))
	if got := sessionIDs(t, s, subject); !slices.Equal(got, want) {
		t.Errorf("Sessions(%q) ids = %q, want %q", subject, got, want)
	}
}
