package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// rotation presents presented for sid at now and asks for next, with a 30 s grace
// window, a one-day idle timeout and a new access token until now+16m.
func rotation(sid, presented, next string, now time.Time) core.Rotation {
	return core.Rotation{
		SessionID:       sid,
		Presented:       presented,
		Next:            next,
		Now:             now,
		Grace:           30 * time.Second,
		IdleTimeout:     day,
		AccessExpiresAt: now.Add(16 * minute),
	}
}

// rotateOK runs r, which must succeed, and checks that the session it returns is the
// one stored.
func rotateOK(t *testing.T, s core.Store, r core.Rotation) *core.Session {
	t.Helper()
	got, err := s.Rotate(context.Background(), r)
	if err != nil {
		t.Fatalf("Rotate(%s presents %q at %v): %v", r.SessionID, r.Presented, r.Now, err)
	}
	if got == nil {
		t.Fatalf("Rotate(%s presents %q) = nil session, nil error", r.SessionID, r.Presented)
	}
	checkSession(t, "Session after Rotate, against what Rotate returned", get(t, s, r.SessionID), got)
	return got
}

// rotateFails runs r, which must fail with target, and checks that nothing changed.
func rotateFails(t *testing.T, s core.Store, r core.Rotation, target error) {
	t.Helper()
	before := get(t, s, r.SessionID)
	got, err := s.Rotate(context.Background(), r)
	what := fmt.Sprintf("Rotate(%s presents %q at %v)", r.SessionID, r.Presented, r.Now)
	if !errors.Is(err, target) {
		t.Errorf("%s: error = %v, want %v", what, err, target)
	}
	if err != nil && got != nil {
		t.Errorf("%s: returned a session with error %v", what, err)
	}
	checkSession(t, "Session after failed "+what, get(t, s, r.SessionID), before)
}

func testRotate(t *testing.T, h harness) {
	t.Run("Unknown session", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		rotateFails(t, s, rotation("sid-2", "sid-1.rt1", "x", at(hour)), core.ErrSessionNotFound)
		rotateFails(t, s, rotation("", "sid-1.rt1", "x", at(hour)), core.ErrSessionNotFound)
		checkSession(t, "the other session", get(t, s, "sid-1"), newSession("sid-1", "alice"))
	})

	t.Run("Swap", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		now := at(hour)
		want := newSession("sid-1", "alice")
		want.Previous, want.PreviousUntil, want.Current = "sid-1.rt1", now.Add(30*time.Second), "sid-1.rt2"
		want.LastUsedAt, want.IdleExpiresAt, want.AccessExpiresAt = now, now.Add(day), now.Add(16*minute)
		got := rotateOK(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt2", now))
		checkSession(t, "Rotate", got, want)
		// The new token rotates in turn; ExpiresAt never moves.
		now2 := at(2 * hour)
		want.Previous, want.PreviousUntil, want.Current = "sid-1.rt2", now2.Add(30*time.Second), "sid-1.rt3"
		want.LastUsedAt, want.IdleExpiresAt, want.AccessExpiresAt = now2, now2.Add(day), now2.Add(16*minute)
		checkSession(t, "second Rotate", rotateOK(t, s, rotation("sid-1", "sid-1.rt2", "sid-1.rt3", now2)), want)
	})

	t.Run("Idle expiry is capped at ExpiresAt", func(t *testing.T) {
		s := h.open(t)
		create(t, s, withLifetimes(newSession("sid-1", "alice"), at(hour), at(2*hour), at(16*minute)))
		got := rotateOK(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt2", at(30*minute))) // +1 day
		if !got.IdleExpiresAt.Equal(at(2 * hour)) {
			t.Errorf("IdleExpiresAt = %v, want ExpiresAt %v", got.IdleExpiresAt, at(2*hour))
		}
		if !got.ExpiresAt.Equal(at(2 * hour)) {
			t.Errorf("ExpiresAt = %v, want %v unchanged", got.ExpiresAt, at(2*hour))
		}
	})

	t.Run("IdleTimeout 0 means ExpiresAt", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		r := rotation("sid-1", "sid-1.rt1", "sid-1.rt2", at(hour))
		r.IdleTimeout = 0
		if got := rotateOK(t, s, r); !got.IdleExpiresAt.Equal(at(30 * day)) {
			t.Errorf("IdleExpiresAt = %v, want ExpiresAt %v", got.IdleExpiresAt, at(30*day))
		}
	})

	t.Run("AccessExpiresAt never goes back", func(t *testing.T) {
		s := h.open(t)
		create(t, s, withLifetimes(newSession("sid-1", "alice"), at(7*day), at(30*day), at(3*hour)))
		got := rotateOK(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt2", at(hour))) // 1h16m
		if !got.AccessExpiresAt.Equal(at(3 * hour)) {
			t.Errorf("AccessExpiresAt = %v, want %v kept", got.AccessExpiresAt, at(3*hour))
		}
		got = rotateOK(t, s, rotation("sid-1", "sid-1.rt2", "sid-1.rt3", at(3*hour))) // 3h16m
		if !got.AccessExpiresAt.Equal(at(3*hour + 16*minute)) {
			t.Errorf("AccessExpiresAt = %v, want %v", got.AccessExpiresAt, at(3*hour+16*minute))
		}
	})

	t.Run("Expired", func(t *testing.T) {
		// Idle end at 1h, absolute end at 2h; and the other way round.
		idleFirst := func() *core.Session {
			return withLifetimes(newSession("sid-1", "alice"), at(hour), at(2*hour), at(16*minute))
		}
		absoluteFirst := func() *core.Session {
			return withLifetimes(newSession("sid-1", "alice"), at(3*hour), at(2*hour), at(16*minute))
		}
		noIdle := func() *core.Session {
			return withLifetimes(newSession("sid-1", "alice"), time.Time{}, at(2*hour), at(16*minute))
		}
		for _, tc := range []struct {
			name      string
			session   func() *core.Session
			now       time.Time
			presented string
		}{
			{"at IdleExpiresAt", idleFirst, at(hour), "sid-1.rt1"},
			{"after IdleExpiresAt", idleFirst, at(90 * minute), "sid-1.rt1"},
			{"at ExpiresAt", absoluteFirst, at(2 * hour), "sid-1.rt1"},
			{"after ExpiresAt", absoluteFirst, at(2*hour + 1), "sid-1.rt1"},
			{"at both", idleFirst, at(2 * hour), "sid-1.rt1"},
			// The contract reads "at or after IdleExpiresAt": a zero one has passed.
			{"zero IdleExpiresAt", noIdle, at(hour), "sid-1.rt1"},
			// Expiry is checked before the token: an expired session answers expired
			// whatever is presented.
			{"unknown token", idleFirst, at(hour), "sid-1.rt0"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := h.open(t)
				create(t, s, tc.session())
				rotateFails(t, s, rotation("sid-1", tc.presented, "sid-1.rt2", tc.now), core.ErrSessionExpired)
			})
		}
		t.Run("a nanosecond before", func(t *testing.T) {
			for _, sess := range []*core.Session{idleFirst(), absoluteFirst()} {
				s := h.open(t)
				create(t, s, sess)
				end := sess.ExpiresAt
				if sess.IdleExpiresAt.Before(end) {
					end = sess.IdleExpiresAt
				}
				rotateOK(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt2", end.Add(-1)))
			}
		})
		t.Run("grace token", func(t *testing.T) {
			// Rotated 1 s before the idle end with a long grace: the replaced token is
			// inside its grace window, but the session has ended.
			s := h.open(t)
			create(t, s, idleFirst())
			r := rotation("sid-1", "sid-1.rt1", "sid-1.rt2", at(30*minute))
			r.IdleTimeout = 30 * minute // idle end stays at 1h
			r.Grace = 2 * hour
			rotateOK(t, s, r)
			rotateFails(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt3", at(hour)), core.ErrSessionExpired)
			rotateFails(t, s, rotation("sid-1", "sid-1.rt2", "sid-1.rt3", at(hour)), core.ErrSessionExpired)
		})
	})

	t.Run("Grace window", func(t *testing.T) {
		s := h.open(t)
		create(t, s, withLifetimes(newSession("sid-1", "alice"), at(7*day), at(30*day), at(3*hour)))
		t0 := at(hour)
		want := rotateOK(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt2", t0))
		for _, now := range []time.Time{t0, t0.Add(10 * time.Second), t0.Add(30*time.Second - 1)} {
			// Current, Previous and PreviousUntil stay; the updates happen.
			want.LastUsedAt, want.IdleExpiresAt = now, now.Add(day)
			got := rotateOK(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt-other", now))
			checkSession(t, fmt.Sprintf("Rotate with the replaced token at %v", now), got, want)
		}
		// AccessExpiresAt grows inside the grace window too.
		r := rotation("sid-1", "sid-1.rt1", "sid-1.rt-other", t0.Add(20*time.Second))
		r.AccessExpiresAt = at(5 * hour)
		if got := rotateOK(t, s, r); !got.AccessExpiresAt.Equal(at(5 * hour)) {
			t.Errorf("AccessExpiresAt in grace = %v, want %v", got.AccessExpiresAt, at(5*hour))
		}
		// At PreviousUntil and after, the replaced token is reuse.
		rotateFails(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt3", t0.Add(30*time.Second)), core.ErrRefreshReused)
		rotateFails(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt3", t0.Add(hour)), core.ErrRefreshReused)
		// The current token still rotates.
		rotateOK(t, s, rotation("sid-1", "sid-1.rt2", "sid-1.rt3", t0.Add(hour)))
	})

	t.Run("No grace", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		r := rotation("sid-1", "sid-1.rt1", "sid-1.rt2", at(hour))
		r.Grace = 0
		if got := rotateOK(t, s, r); !got.PreviousUntil.Equal(at(hour)) {
			t.Errorf("PreviousUntil = %v, want Now %v", got.PreviousUntil, at(hour))
		}
		// Even at the same instant, the replaced token is reuse; and so it is for a
		// request whose clock read earlier (another instance, committing later): it
		// must not fall into a grace window nobody asked for.
		for _, now := range []time.Time{at(hour), at(hour - time.Millisecond), at(hour - time.Minute)} {
			late := rotation("sid-1", "sid-1.rt1", "sid-1.rt3", now)
			late.Grace = 0
			rotateFails(t, s, late, core.ErrRefreshReused)
		}
	})

	t.Run("An earlier clock never moves LastUsedAt back", func(t *testing.T) {
		s := h.open(t)
		create(t, s, withLifetimes(newSession("sid-1", "alice"), at(7*day), at(30*day), at(3*hour)))
		first := rotateOK(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt2", at(hour+time.Minute)))
		got := rotateOK(t, s, rotation("sid-1", "sid-1.rt2", "sid-1.rt3", at(hour)))
		if !got.LastUsedAt.Equal(first.LastUsedAt) || !got.IdleExpiresAt.Equal(first.IdleExpiresAt) {
			t.Errorf("after a rotation at an earlier time: LastUsedAt %v, IdleExpiresAt %v; want %v, %v",
				got.LastUsedAt, got.IdleExpiresAt, first.LastUsedAt, first.IdleExpiresAt)
		}
		if got.Current != "sid-1.rt3" {
			t.Errorf("Current = %q, want sid-1.rt3", got.Current)
		}
	})

	t.Run("Only the last replaced token has grace", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		rotateOK(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt2", at(hour)))
		rotateOK(t, s, rotation("sid-1", "sid-1.rt2", "sid-1.rt3", at(hour+time.Second)))
		// rt1 is still inside its own 30 s, but rt2 replaced it as Previous.
		rotateFails(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt4", at(hour+2*time.Second)), core.ErrRefreshReused)
		rotateOK(t, s, rotation("sid-1", "sid-1.rt2", "sid-1.rt4", at(hour+2*time.Second)))
	})

	t.Run("Unknown token is reuse", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		create(t, s, newSession("sid-2", "alice"))
		rotateOK(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt2", at(hour)))
		for _, jti := range []string{"", "garbage", "sid-2.rt1", "sid-1.rt", "sid-1.rt2 ", "SID-1.RT2", "sid-1.rt3"} {
			rotateFails(t, s, rotation("sid-1", jti, "sid-1.rt9", at(hour+time.Second)), core.ErrRefreshReused)
		}
	})

	t.Run("Returned value is the caller's", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		got := rotateOK(t, s, rotation("sid-1", "sid-1.rt1", "sid-1.rt2", at(hour)))
		want := cloneSession(got)
		scribble(got)
		checkSession(t, "Session after changing what Rotate returned", get(t, s, "sid-1"), want)
	})

	t.Run("Race", func(t *testing.T) {
		s := h.open(t)
		create(t, s, newSession("sid-1", "alice"))
		const n = 50
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results = make([]error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				// Each caller's clock reads a little differently, as on several
				// instances: whatever order they commit in, one wins.
				r := rotation("sid-1", "sid-1.rt1", fmt.Sprintf("sid-1.rt2-%02d", i), at(hour+time.Duration(i)*time.Millisecond))
				r.Grace = 0
				_, results[i] = s.Rotate(context.Background(), r)
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range results {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("rotations %d and %d both succeeded", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, core.ErrRefreshReused):
				t.Errorf("rotation %d: error = %v, want %v", i, err, core.ErrRefreshReused)
			}
		}
		if winner < 0 {
			t.Fatal("no rotation succeeded")
		}
		got := get(t, s, "sid-1")
		if want := fmt.Sprintf("sid-1.rt2-%02d", winner); got.Current != want {
			t.Errorf("Current = %q, want the winner's %q", got.Current, want)
		}
		if got.Previous != "sid-1.rt1" {
			t.Errorf("Previous = %q, want %q", got.Previous, "sid-1.rt1")
		}
	})
}
