package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// TestMaxSessions: past the cap a sign-in ends the subject's oldest sessions, each
// reported, and nobody else's (SECURITY.md case 46).
func TestMaxSessions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, core.WithMaxSessions(3))
	var toks []*core.Tokens
	for range 5 {
		toks = append(toks, e.issue(alice))
		e.clock.Add(time.Second)
	}
	bobs := e.issue(bob)
	live := must(e.auth.Sessions(ctx, alice.Subject))
	if len(live) != 3 {
		t.Fatalf("%d sessions after 5 sign-ins with a cap of 3", len(live))
	}
	for i, tok := range toks {
		_, err := e.auth.Authenticate(ctx, tok.AccessToken)
		if i < 2 {
			wantIs(t, "Authenticate of an evicted session", err, core.ErrTokenRevoked)
			wantIs(t, "Refresh of an evicted session", e.refreshErr(tok.RefreshToken), core.ErrInvalidGrant)
		} else if err != nil {
			t.Errorf("session %d of the newest 3 refused: %v", i, err)
		}
	}
	e.mustAuth(bobs.AccessToken)
	var evicted []string
	for _, ev := range e.events.all() {
		if ev.Type == core.EventSessionEvicted {
			if ev.Subject != alice.Subject {
				t.Errorf("eviction event for %q", ev.Subject)
			}
			evicted = append(evicted, ev.SessionID)
		}
	}
	if len(evicted) != 2 || evicted[0] != toks[0].Session.ID || evicted[1] != toks[1].Session.ID {
		t.Errorf("evicted %v, want the two oldest %s, %s", evicted, toks[0].Session.ID, toks[1].Session.ID)
	}

	t.Run("Default", func(t *testing.T) {
		e := newEnv(t)
		for range core.DefaultMaxSessions + 2 {
			e.issue(alice)
		}
		if n := len(must(e.auth.Sessions(ctx, alice.Subject))); n != core.DefaultMaxSessions {
			t.Errorf("%d sessions, want the default cap %d", n, core.DefaultMaxSessions)
		}
	})
	t.Run("NoCap", func(t *testing.T) {
		e := newEnv(t, core.WithMaxSessions(0))
		for range core.DefaultMaxSessions + 2 {
			e.issue(alice)
		}
		if n := len(must(e.auth.Sessions(ctx, alice.Subject))); n != core.DefaultMaxSessions+2 {
			t.Errorf("%d sessions without a cap, want %d", n, core.DefaultMaxSessions+2)
		}
	})
	t.Run("Negative", func(t *testing.T) {
		_, err := core.New(memstore.New(), core.WithMaxSessions(-1))
		wantIs(t, "New", err, core.ErrConfig)
	})
}
