package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
)

func testEndSessions(t *testing.T, h harness) {
	t.Run("Ends every session of the subject and only those", func(t *testing.T) {
		s := h.open(t)
		want := map[string]*core.Session{}
		others := map[string]*core.Session{}
		for _, p := range [][2]string{
			{"a1", "alice"}, {"a2", "alice"}, {"a3", "alice"},
			{"b1", "alice2"}, {"c1", "alic"}, {"d1", "Alice"}, {"e1", "bob"}, {"f1", "alice\x00x"},
		} {
			sess := newSession(p[0], p[1])
			create(t, s, sess)
			if p[1] == "alice" {
				want[p[0]] = cloneSession(sess)
			} else {
				others[p[0]] = cloneSession(sess)
			}
		}
		// Rotate one first, so that what is returned must be what was stored last.
		rotated, err := s.Rotate(context.Background(), rotation("a1", "a1.rt1", "a1.rt2", at(hour)))
		if err != nil {
			t.Fatalf("Rotate: %v", err)
		}
		want["a1"] = cloneSession(rotated)

		ended := endSessions(t, s, "alice")
		if got := idsOf(ended); !slices.Equal(got, []string{"a1", "a2", "a3"}) {
			t.Fatalf("EndSessions(alice) ended %q, want [a1 a2 a3]", got)
		}
		for _, got := range ended {
			checkSession(t, "EndSessions(alice) entry "+got.ID, got, want[got.ID])
		}
		wantSessionIDs(t, s, "alice")
		for id := range want {
			if got := get(t, s, id); got != nil {
				t.Errorf("Session(%s) after EndSessions = %q, want nil", id, got.ID)
			}
			_, err := s.Rotate(context.Background(), rotation(id, want[id].Current, id+".rt9", at(2*hour)))
			wantErr(t, "Rotate("+id+") after EndSessions", err, core.ErrSessionNotFound)
		}
		// Everyone else's sessions, subjects that share a prefix or differ in case
		// included, are untouched.
		for id, w := range others {
			checkSession(t, "Session("+id+") of "+w.Identity.Subject, get(t, s, id), w)
			wantRevoked(t, s, "", id, false)
			wantSessionIDs(t, s, w.Identity.Subject, id)
		}
	})

	t.Run("Revokes each session until its AccessExpiresAt", func(t *testing.T) {
		s := h.open(t)
		create(t, s, withLifetimes(newSession("sid-1", "alice"), at(hour), at(2*hour), at(3*hour)))
		create(t, s, withLifetimes(newSession("sid-2", "alice"), at(hour), at(2*hour), at(5*hour)))
		create(t, s, newSession("sid-3", "bob"))
		for _, sid := range []string{"sid-1", "sid-2"} {
			wantRevoked(t, s, "", sid, false)
		}
		if n := len(endSessions(t, s, "alice")); n != 2 {
			t.Fatalf("EndSessions(alice) ended %d sessions, want 2", n)
		}
		wantRevoked(t, s, "", "sid-1", true)
		wantRevoked(t, s, "", "sid-2", true)
		wantRevoked(t, s, "jti-unrelated", "sid-1", true)
		wantRevoked(t, s, "", "sid-3", false)
		// The sessions are deleted, so their revocations are the only entries due.
		purge(t, s, at(3*hour-1), 0)
		wantRevoked(t, s, "", "sid-1", true)
		purge(t, s, at(3*hour), 1)
		wantRevoked(t, s, "", "sid-1", false)
		wantRevoked(t, s, "", "sid-2", true)
		purge(t, s, at(5*hour-1), 0)
		wantRevoked(t, s, "", "sid-2", true)
		purge(t, s, at(5*hour), 1)
		wantRevoked(t, s, "", "sid-2", false)
	})

	t.Run("A subject without sessions is empty, nil", func(t *testing.T) {
		s := h.open(t)
		for _, subject := range []string{"nobody", ""} {
			if got, err := s.EndSessions(context.Background(), subject); err != nil || len(got) != 0 {
				t.Errorf("EndSessions(%q) on an empty store = %q, %v; want empty, nil", subject, idsOf(got), err)
			}
		}
		create(t, s, newSession("sid-1", "alice"))
		if got := endSessions(t, s, "alice"); len(got) != 1 {
			t.Fatalf("first EndSessions(alice) = %q, want [sid-1]", idsOf(got))
		}
		if got, err := s.EndSessions(context.Background(), "alice"); err != nil || len(got) != 0 {
			t.Errorf("second EndSessions(alice) = %q, %v; want empty, nil", idsOf(got), err)
		}
		wantRevoked(t, s, "", "sid-1", true)
	})

	t.Run("Racing CreateSession ends each session once and leaves none it returned", func(t *testing.T) {
		// Sessions created while EndSessions runs are either ended, revoked and
		// returned by exactly one call, or left stored and not revoked.
		s := h.open(t)
		const n = 60
		var (
			wg      sync.WaitGroup
			done    = make(chan struct{})
			mu      sync.Mutex
			ended   = map[string]int{}
			errs    []error
			created = make([]bool, n)
		)
		wg.Go(func() {
			defer close(done)
			for i := range n {
				sid := fmt.Sprintf("sid-%02d", i)
				err := s.CreateSession(context.Background(), newSession(sid, "alice"))
				mu.Lock()
				if created[i] = err == nil; err != nil {
					errs = append(errs, fmt.Errorf("CreateSession(%s): %w", sid, err))
				}
				mu.Unlock()
			}
		})
		for range 2 {
			wg.Go(func() {
				for stop := false; !stop; {
					select {
					case <-done:
						stop = true
					default:
					}
					list, err := s.EndSessions(context.Background(), "alice")
					mu.Lock()
					if err != nil {
						errs = append(errs, fmt.Errorf("EndSessions: %w", err))
					}
					for _, sess := range list {
						ended[sess.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			t.Error(err)
		}
		var left []string
		for i := range n {
			sid := fmt.Sprintf("sid-%02d", i)
			if !created[i] {
				continue
			}
			switch c := ended[sid]; c {
			case 0:
				left = append(left, sid)
				if get(t, s, sid) == nil {
					t.Errorf("%s was deleted but no EndSessions returned it", sid)
				}
				wantRevoked(t, s, "", sid, false)
			case 1:
				if get(t, s, sid) != nil {
					t.Errorf("%s was returned as ended but is still stored", sid)
				}
				wantRevoked(t, s, "", sid, true)
			default:
				t.Errorf("%s was returned as ended by %d calls, want 1", sid, c)
			}
		}
		if len(ended) > n {
			t.Errorf("EndSessions returned %d distinct sessions, only %d were created", len(ended), n)
		}
		wantSessionIDs(t, s, "alice", left...)
		t.Logf("%d of %d sessions ended while being created", n-len(left), n)
	})

	t.Run("Racing Rotate leaves nothing", func(t *testing.T) {
		// As with EndSession: whichever goes first, every session ends up deleted and
		// revoked, and where the rotation won, the revocation covers the access tokens
		// it allowed.
		s := h.open(t)
		const n = 20
		for i := range n {
			create(t, s, newSession(fmt.Sprintf("sid-%02d", i), "alice")) // access tokens until 16m
		}
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			rotErrs = make([]error, n)
			list    []*core.Session
			endErr  error
		)
		for i := range n {
			sid := fmt.Sprintf("sid-%02d", i)
			r := rotation(sid, sid+".rt1", sid+".rt2", at(minute))
			r.AccessExpiresAt = at(hour)
			wg.Go(func() { <-start; _, rotErrs[i] = s.Rotate(context.Background(), r) })
		}
		wg.Go(func() { <-start; list, endErr = s.EndSessions(context.Background(), "alice") })
		close(start)
		wg.Wait()
		if endErr != nil || len(list) != n {
			t.Fatalf("EndSessions = %d sessions, %v; want %d, nil", len(list), endErr, n)
		}
		rotated := make([]bool, n)
		for _, got := range list {
			var i int
			if _, err := fmt.Sscanf(got.ID, "sid-%02d", &i); err != nil || i < 0 || i >= n {
				t.Fatalf("EndSessions returned unknown session %q", got.ID)
			}
			switch err := rotErrs[i]; {
			case err == nil:
				rotated[i] = true
				if got.Current != got.ID+".rt2" || !got.AccessExpiresAt.Equal(at(hour)) {
					t.Errorf("%s: rotation succeeded but EndSessions returned Current %q, AccessExpiresAt %v",
						got.ID, got.Current, got.AccessExpiresAt)
				}
			case errors.Is(err, core.ErrSessionNotFound):
				if got.Current != got.ID+".rt1" {
					t.Errorf("%s: rotation found no session but EndSessions returned Current %q", got.ID, got.Current)
				}
			default:
				t.Errorf("%s: Rotate: %v, want success or %v", got.ID, err, core.ErrSessionNotFound)
			}
		}
		wantSessionIDs(t, s, "alice")
		for i := range n {
			wantRevoked(t, s, "", fmt.Sprintf("sid-%02d", i), true)
		}
		purge(t, s, at(30*minute), countFalse(rotated)) // revocations until 16m
		for i := range n {
			wantRevoked(t, s, "", fmt.Sprintf("sid-%02d", i), rotated[i])
		}
	})

	t.Run("Cancelled context: all or nothing", func(t *testing.T) {
		s := h.open(t)
		for i := range 3 {
			create(t, s, newSession(fmt.Sprintf("sid-%d", i), "alice"))
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		list, err := s.EndSessions(ctx, "alice")
		if err == nil && len(list) != 3 {
			t.Errorf("EndSessions with a cancelled context = %q, nil; want the 3 sessions", idsOf(list))
		}
		var gone, revoked int
		for i := range 3 {
			sid := fmt.Sprintf("sid-%d", i)
			if get(t, s, sid) == nil {
				gone++
			}
			if isRevoked(t, s, "", sid) {
				revoked++
			}
		}
		if (gone != 0 || revoked != 0) && (gone != 3 || revoked != 3) || (err == nil && gone != 3) {
			t.Errorf("after EndSessions with a cancelled context (error %v): %d of 3 deleted, %d revoked; want all or none, all on success",
				err, gone, revoked)
		}
	})
}

func endSessions(t *testing.T, s core.Store, subject string) []*core.Session {
	t.Helper()
	list, err := s.EndSessions(context.Background(), subject)
	if err != nil {
		t.Fatalf("EndSessions(%q): %v", subject, err)
	}
	for _, sess := range list {
		if sess == nil {
			t.Fatalf("EndSessions(%q) returned a nil session", subject)
		}
	}
	return list
}

// idsOf returns the sorted ids of list.
func idsOf(list []*core.Session) []string {
	ids := make([]string, 0, len(list))
	for _, sess := range list {
		if sess != nil {
			ids = append(ids, sess.ID)
		}
	}
	slices.Sort(ids)
	return ids
}
