package core_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// TestApplyRotation checks every clause of the Store.Rotate contract on
// Session.ApplyRotation. Each case starts from the session rotatedAt returns, changed
// by setup, and lists the changes the rotation must make to it, or the error that must
// leave it as it was.
func TestApplyRotation(t *testing.T) {
	t0 := time.Date(2030, time.May, 6, 7, 8, 9, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	const day = 24 * time.Hour
	// The session was created at t0 and last rotated at t0+1h with a 30 s grace
	// window: rt1 was replaced by rt2.
	start := func() *core.Session {
		return &core.Session{
			ID:              "sid-1",
			Identity:        core.Identity{Subject: "alice", Email: "alice@example.com"},
			CreatedAt:       t0,
			LastUsedAt:      at(time.Hour),
			ExpiresAt:       at(30 * day),
			IdleExpiresAt:   at(time.Hour + 7*day),
			AccessExpiresAt: at(time.Hour + 16*time.Minute),
			Current:         "rt2",
			Previous:        "rt1",
			PreviousUntil:   at(time.Hour + 30*time.Second),
			UserAgent:       "test",
			IP:              "192.0.2.1",
		}
	}
	// rotation presents presented at now, asking for rt3, with a 30 s grace window, a
	// 7-day idle timeout and a new access token until now+16m.
	rotation := func(presented string, now time.Time) core.Rotation {
		return core.Rotation{
			SessionID:       "sid-1",
			Presented:       presented,
			Next:            "rt3",
			Now:             now,
			Grace:           30 * time.Second,
			IdleTimeout:     7 * day,
			AccessExpiresAt: now.Add(16 * time.Minute),
		}
	}
	// swapped is what a swap at now makes of the session, with the default rotation.
	swapped := func(now time.Time) func(*core.Session) {
		return func(s *core.Session) {
			s.Previous, s.PreviousUntil, s.Current = "rt2", now.Add(30*time.Second), "rt3"
			s.LastUsedAt, s.IdleExpiresAt, s.AccessExpiresAt = now, now.Add(7*day), now.Add(16*time.Minute)
		}
	}

	cases := []struct {
		name  string
		setup func(*core.Session) // nil: start as it is
		r     core.Rotation
		want  func(*core.Session) // the changes; nil when err is set
		err   error
	}{
		{
			name: "current token swaps",
			r:    rotation("rt2", at(2*time.Hour)),
			want: swapped(at(2 * time.Hour)),
		},
		{
			name: "grace 0: the replaced token is kept no time",
			r:    func() core.Rotation { r := rotation("rt2", at(2*time.Hour)); r.Grace = 0; return r }(),
			want: func(s *core.Session) {
				swapped(at(2 * time.Hour))(s)
				s.PreviousUntil = at(2 * time.Hour)
			},
		},
		{
			name: "previous token inside the grace window: Current stays",
			r:    rotation("rt1", at(time.Hour+10*time.Second)),
			want: func(s *core.Session) {
				now := at(time.Hour + 10*time.Second)
				s.LastUsedAt, s.IdleExpiresAt, s.AccessExpiresAt = now, now.Add(7*day), now.Add(16*time.Minute)
			},
		},
		{
			name: "previous token at the end of the grace window is reuse",
			r:    rotation("rt1", at(time.Hour+30*time.Second)),
			err:  core.ErrRefreshReused,
		},
		{
			name: "previous token after the grace window is reuse",
			r:    rotation("rt1", at(2*time.Hour)),
			err:  core.ErrRefreshReused,
		},
		{
			name: "grace 0 never tolerates the previous token, whatever the time",
			r:    func() core.Rotation { r := rotation("rt1", at(time.Hour+10*time.Second)); r.Grace = 0; return r }(),
			err:  core.ErrRefreshReused,
		},
		{
			name: "grace 0 and a clock before the last rotation: still reuse",
			r:    func() core.Rotation { r := rotation("rt1", at(time.Hour-time.Minute)); r.Grace = 0; return r }(),
			err:  core.ErrRefreshReused,
		},
		{
			name: "unknown token is reuse",
			r:    rotation("rt0", at(2*time.Hour)),
			err:  core.ErrRefreshReused,
		},
		{
			name:  "empty token never matches an empty Current",
			setup: func(s *core.Session) { s.Current = "" },
			r:     rotation("", at(2*time.Hour)),
			err:   core.ErrRefreshReused,
		},
		{
			name:  "empty token never matches an empty Previous",
			setup: func(s *core.Session) { s.Previous = "" },
			r:     rotation("", at(time.Hour+10*time.Second)),
			err:   core.ErrRefreshReused,
		},
		{
			name: "at ExpiresAt the session has expired",
			r:    rotation("rt2", at(30*day)),
			err:  core.ErrSessionExpired,
		},
		{
			name: "after ExpiresAt the session has expired",
			r:    rotation("rt2", at(31*day)),
			err:  core.ErrSessionExpired,
		},
		{
			name: "at IdleExpiresAt the session has expired",
			r:    rotation("rt2", at(time.Hour+7*day)),
			err:  core.ErrSessionExpired,
		},
		{
			name: "expiry comes before reuse: a replaced token on an expired session",
			r:    rotation("rt0", at(time.Hour+7*day)),
			err:  core.ErrSessionExpired,
		},
		{
			name:  "a zero IdleExpiresAt has passed",
			setup: func(s *core.Session) { s.IdleExpiresAt = time.Time{} },
			r:     rotation("rt2", at(2*time.Hour)),
			err:   core.ErrSessionExpired,
		},
		{
			name: "clock before LastUsedAt: swaps, LastUsedAt and IdleExpiresAt stay",
			r:    rotation("rt2", at(time.Hour-time.Minute)),
			want: func(s *core.Session) {
				now := at(time.Hour - time.Minute)
				s.Previous, s.PreviousUntil, s.Current = "rt2", now.Add(30*time.Second), "rt3"
				// AccessExpiresAt stays too: now+16m is before the stored 1h16m.
			},
		},
		{
			name: "previous token in the grace window, clock before LastUsedAt: nothing but the access expiry",
			r: func() core.Rotation {
				r := rotation("rt1", at(time.Hour-time.Minute))
				r.AccessExpiresAt = at(2 * time.Hour)
				return r
			}(),
			want: func(s *core.Session) { s.AccessExpiresAt = at(2 * time.Hour) },
		},
		{
			name: "clock at LastUsedAt: LastUsedAt and IdleExpiresAt stay",
			r:    func() core.Rotation { r := rotation("rt2", at(time.Hour)); r.IdleTimeout = day; return r }(),
			want: func(s *core.Session) {
				s.Previous, s.PreviousUntil, s.Current = "rt2", at(time.Hour+30*time.Second), "rt3"
			},
		},
		{
			name: "IdleTimeout 0: IdleExpiresAt is ExpiresAt",
			r:    func() core.Rotation { r := rotation("rt2", at(2*time.Hour)); r.IdleTimeout = 0; return r }(),
			want: func(s *core.Session) {
				swapped(at(2 * time.Hour))(s)
				s.IdleExpiresAt = s.ExpiresAt
			},
		},
		{
			name:  "idle expiry never after ExpiresAt",
			setup: func(s *core.Session) { s.IdleExpiresAt = at(29*day + time.Hour) },
			r:     rotation("rt2", at(29*day)),
			want: func(s *core.Session) {
				swapped(at(29 * day))(s)
				s.IdleExpiresAt = s.ExpiresAt
			},
		},
		{
			name: "a shorter IdleTimeout moves IdleExpiresAt earlier",
			r:    func() core.Rotation { r := rotation("rt2", at(2*time.Hour)); r.IdleTimeout = time.Hour; return r }(),
			want: func(s *core.Session) {
				swapped(at(2 * time.Hour))(s)
				s.IdleExpiresAt = at(3 * time.Hour)
			},
		},
		{
			name: "AccessExpiresAt keeps the later of the two",
			r: func() core.Rotation {
				r := rotation("rt2", at(2*time.Hour))
				r.AccessExpiresAt = at(time.Hour)
				return r
			}(),
			want: func(s *core.Session) {
				swapped(at(2 * time.Hour))(s)
				s.AccessExpiresAt = at(time.Hour + 16*time.Minute)
			},
		},
		{
			name: "SessionID is the store's business",
			r:    func() core.Rotation { r := rotation("rt2", at(2*time.Hour)); r.SessionID = "other"; return r }(),
			want: swapped(at(2 * time.Hour)),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, want := start(), start()
			if tc.setup != nil {
				tc.setup(s)
				tc.setup(want)
			}
			if tc.want != nil {
				tc.want(want)
			}
			err := s.ApplyRotation(tc.r)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("ApplyRotation: error = %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(s, want) {
				t.Errorf("ApplyRotation left\n%+v\nwant\n%+v", *s, *want)
			}
		})
	}
}
