package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

func testConcurrency(t *testing.T, h harness) {
	t.Run("Mixed calls lose no write", func(t *testing.T) {
		s := h.open(t)
		const workers, rounds = 8, 10
		ctx := context.Background()
		var wg sync.WaitGroup
		errs := make(chan error, workers*rounds*8)
		for w := range workers {
			wg.Go(func() {
				sid := fmt.Sprintf("sid-%d", w)
				if err := s.CreateSession(ctx, newSession(sid, "alice")); err != nil {
					errs <- fmt.Errorf("CreateSession(%s): %w", sid, err)
					return
				}
				for i := range rounds {
					now := at(time.Duration(i+1) * minute)
					r := rotation(sid, fmt.Sprintf("%s.rt%d", sid, i+1), fmt.Sprintf("%s.rt%d", sid, i+2), now)
					if _, err := s.Rotate(ctx, r); err != nil {
						errs <- fmt.Errorf("Rotate(%s) round %d: %w", sid, i, err)
					}
					jti := fmt.Sprintf("jti-%d-%d", w, i)
					if err := s.RevokeToken(ctx, jti, at(hour)); err != nil {
						errs <- fmt.Errorf("RevokeToken(%s): %w", jti, err)
					}
					if ok, err := s.IsRevoked(ctx, jti, sid); err != nil || !ok {
						errs <- fmt.Errorf("IsRevoked(%s) right after revoking = %v, %v", jti, ok, err)
					}
					if _, err := s.Sessions(ctx, "alice"); err != nil {
						errs <- fmt.Errorf("Sessions: %w", err)
					}
					if _, err := s.LoadOrStoreKey(ctx, "k", fmt.Appendf(nil, "%d", w)); err != nil {
						errs <- fmt.Errorf("LoadOrStoreKey: %w", err)
					}
					if _, err := s.Purge(ctx, base); err != nil {
						errs <- fmt.Errorf("Purge: %w", err)
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		var ids []string
		for w := range workers {
			sid := fmt.Sprintf("sid-%d", w)
			ids = append(ids, sid)
			got := get(t, s, sid)
			if want := fmt.Sprintf("%s.rt%d", sid, rounds+1); got == nil || got.Current != want {
				t.Errorf("Session(%s) = %v, want Current %q", sid, got, want)
			}
			for i := range rounds {
				wantRevoked(t, s, fmt.Sprintf("jti-%d-%d", w, i), "", true)
			}
		}
		wantSessionIDs(t, s, "alice", ids...)
	})

	t.Run("EndSession racing Rotate leaves nothing", func(t *testing.T) {
		// Whichever goes first, the session ends up deleted and revoked, and if the
		// rotation won, the revocation covers the access tokens it allowed.
		s := h.open(t)
		const n = 20
		rotated := make([]bool, n)
		for i := range n {
			sid := fmt.Sprintf("sid-%02d", i)
			create(t, s, newSession(sid, "alice")) // access tokens until 16m
			r := rotation(sid, sid+".rt1", sid+".rt2", at(minute))
			r.AccessExpiresAt = at(hour)
			var (
				wg     sync.WaitGroup
				start  = make(chan struct{})
				rotErr error
				ended  *core.Session
				endErr error
			)
			wg.Go(func() { <-start; _, rotErr = s.Rotate(context.Background(), r) })
			wg.Go(func() { <-start; ended, endErr = s.EndSession(context.Background(), sid) })
			close(start)
			wg.Wait()
			if endErr != nil || ended == nil {
				t.Fatalf("%s: EndSession = %v, %v; want the session", sid, ended, endErr)
			}
			switch {
			case rotErr == nil:
				rotated[i] = true
				if ended.Current != sid+".rt2" {
					t.Errorf("%s: rotation succeeded but EndSession returned Current %q", sid, ended.Current)
				}
			case errors.Is(rotErr, core.ErrSessionNotFound):
				if ended.Current != sid+".rt1" {
					t.Errorf("%s: rotation found no session but EndSession returned Current %q", sid, ended.Current)
				}
			default:
				t.Errorf("%s: Rotate: %v, want success or %v", sid, rotErr, core.ErrSessionNotFound)
			}
			if got := get(t, s, sid); got != nil {
				t.Errorf("%s: session exists after EndSession", sid)
			}
			wantRevoked(t, s, "", sid, true)
		}
		wantSessionIDs(t, s, "alice")
		purge(t, s, at(30*minute), countFalse(rotated)) // sessions gone, revocations until 16m
		for i := range n {
			wantRevoked(t, s, "", fmt.Sprintf("sid-%02d", i), rotated[i])
		}
	})
}

func countFalse(b []bool) int {
	n := 0
	for _, v := range b {
		if !v {
			n++
		}
	}
	return n
}

func testClosed(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	create(t, s, newSession("sid-1", "alice"))
	revoke(t, s, "jti-1", at(hour))
	loadOrStore(t, s, "k", []byte("v"))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	check := func(method string, err error) {
		t.Helper()
		if !errors.Is(err, core.ErrStoreClosed) || !errors.Is(err, core.ErrStoreUnavailable) {
			t.Errorf("%s after Close: error = %v, want %v", method, err, core.ErrStoreClosed)
		}
	}
	check("RevokeToken", s.RevokeToken(ctx, "jti-2", at(hour)))
	_, err := s.IsRevoked(ctx, "jti-1", "sid-1")
	check("IsRevoked(revoked)", err)
	_, err = s.IsRevoked(ctx, "jti-2", "sid-2")
	check("IsRevoked(not revoked)", err)
	check("CreateSession", s.CreateSession(ctx, newSession("sid-2", "alice")))
	_, err = s.Session(ctx, "sid-1")
	check("Session", err)
	_, err = s.Session(ctx, "sid-2")
	check("Session(unknown)", err)
	_, err = s.Sessions(ctx, "alice")
	check("Sessions", err)
	_, err = s.Rotate(ctx, rotation("sid-1", "sid-1.rt1", "sid-1.rt2", at(minute)))
	check("Rotate", err)
	_, err = s.EndSession(ctx, "sid-1")
	check("EndSession", err)
	_, err = s.EndSessions(ctx, "alice")
	check("EndSessions", err)
	_, err = s.EndSessions(ctx, "nobody")
	check("EndSessions(no sessions)", err)
	_, err = s.LoadOrStoreKey(ctx, "k", []byte("w"))
	check("LoadOrStoreKey", err)
	_, err = s.Consume(ctx, "state-1", at(hour))
	check("Consume", err)
	_, err = s.Purge(ctx, at(day))
	check("Purge", err)
	check("second Close", s.Close())
}

func testCanceledContext(t *testing.T, h harness) {
	// Each call gets a cancelled context. It may fail; if it does not, its answer and
	// its effect must be those of the same call with a live context. A failure is never
	// one of the answers (ErrRefreshReused would end a session that did nothing wrong).
	s := h.open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	live := newSession("sid-1", "alice")
	create(t, s, newSession("sid-1", "alice"))
	revoke(t, s, "jti-1", at(hour))
	loadOrStore(t, s, "k", []byte("v"))
	noAnswer := func(method string, err error) {
		t.Helper()
		for _, answer := range []error{core.ErrSessionNotFound, core.ErrSessionExpired, core.ErrRefreshReused} {
			if errors.Is(err, answer) {
				t.Errorf("%s with a cancelled context: error %v is an answer, and the wrong one", method, err)
			}
		}
	}

	for _, tc := range []struct {
		jti, sid string
		want     bool
	}{{"jti-1", "", true}, {"jti-2", "", false}, {"", "sid-1", false}} {
		if ok, err := s.IsRevoked(ctx, tc.jti, tc.sid); err == nil && ok != tc.want {
			t.Errorf("IsRevoked(%q, %q) with a cancelled context = %v, want %v", tc.jti, tc.sid, ok, tc.want)
		}
	}

	if got, err := s.Session(ctx, "sid-1"); err == nil {
		checkSession(t, "Session with a cancelled context", got, live)
	}
	if got, err := s.Session(ctx, "sid-2"); err == nil && got != nil {
		t.Errorf("Session(unknown) with a cancelled context = %q, want nil", got.ID)
	}
	if list, err := s.Sessions(ctx, "alice"); err == nil && (len(list) != 1 || list[0] == nil || list[0].ID != "sid-1") {
		t.Errorf("Sessions with a cancelled context = %d sessions, want sid-1 only", len(list))
	}
	if got, err := s.LoadOrStoreKey(ctx, "k", []byte("w")); err == nil && !bytes.Equal(got, []byte("v")) {
		t.Errorf("LoadOrStoreKey with a cancelled context = %q, want %q", got, "v")
	}

	if err := s.RevokeToken(ctx, "jti-2", at(hour)); err == nil {
		wantRevoked(t, s, "jti-2", "", true)
	}
	if err := s.CreateSession(ctx, newSession("sid-2", "bob")); err == nil {
		checkSession(t, "Session after CreateSession with a cancelled context", get(t, s, "sid-2"), newSession("sid-2", "bob"))
	} else if got := get(t, s, "sid-2"); got != nil {
		checkSession(t, "Session after a failed CreateSession (half written?)", got, newSession("sid-2", "bob"))
	}

	r := rotation("sid-1", "sid-1.rt1", "sid-1.rt2", at(minute))
	want := cloneSession(live)
	want.Previous, want.PreviousUntil, want.Current = "sid-1.rt1", r.Now.Add(r.Grace), "sid-1.rt2"
	want.LastUsedAt, want.IdleExpiresAt, want.AccessExpiresAt = r.Now, r.Now.Add(r.IdleTimeout), r.AccessExpiresAt
	got, err := s.Rotate(ctx, r)
	noAnswer("Rotate", err)
	stored := get(t, s, "sid-1")
	switch {
	case err == nil:
		checkSession(t, "Rotate with a cancelled context", got, want)
		checkSession(t, "Session after Rotate with a cancelled context", stored, want)
	case len(sessionDiff(live, stored)) != 0:
		// A failed rotation is all or nothing.
		checkSession(t, "Session after a failed Rotate with a cancelled context (half written?)", stored, want)
	}
	before := cloneSession(stored)

	ended, err := s.EndSession(ctx, "sid-1")
	if err == nil {
		checkSession(t, "EndSession with a cancelled context", ended, before)
	}
	gone, revoked := get(t, s, "sid-1") == nil, isRevoked(t, s, "", "sid-1")
	if gone != revoked || (err == nil && !gone) {
		t.Errorf("after EndSession with a cancelled context (error %v): deleted = %v, revoked = %v; want both or neither, both on success",
			err, gone, revoked)
	}

	if n, err := s.Purge(ctx, at(100*365*day)); err == nil {
		if get(t, s, "sid-2") != nil || isRevoked(t, s, "jti-1", "") {
			t.Errorf("Purge with a cancelled context = %d, nil but left entries behind", n)
		}
	}
}
