package core_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/storetest"
)

// TestRefreshRotates: a refresh returns new tokens, and the replaced refresh token,
// presented again, ends the whole session, its newest tokens included (RFC 9700 §4.14.2).
func TestRefreshRotates(t *testing.T) {
	e := newEnv(t)
	t1 := e.issue(alice)
	e.clock.Add(time.Minute)
	t2 := e.mustRefresh(t1.RefreshToken)
	if t2.AccessToken == t1.AccessToken || t2.RefreshToken == t1.RefreshToken {
		t.Fatal("refresh returned the old tokens")
	}
	if t2.TokenType != "Bearer" || t2.ExpiresIn != 900 {
		t.Errorf("token response %+v", t2)
	}
	c1, c2 := e.mustAuth(t1.AccessToken), e.mustAuth(t2.AccessToken)
	if c2.SessionID != c1.SessionID || c2.ID == c1.ID || c2.Subject != alice.Subject || c2.Email != alice.Email {
		t.Errorf("refreshed claims %+v, first %+v", c2, c1)
	}
	if !c2.IssuedAt.Equal(base.Add(time.Minute)) || !c2.ExpiresAt.Equal(base.Add(time.Minute+accessTTL)) {
		t.Errorf("refreshed iat %v exp %v", c2.IssuedAt, c2.ExpiresAt)
	}

	e.clock.Add(time.Minute)
	t3 := e.mustRefresh(t2.RefreshToken)

	// The first refresh token is presented again: reuse.
	err := e.refreshErr(t1.RefreshToken)
	wantIs(t, "Refresh(replaced token)", err, core.ErrRefreshReused, core.ErrInvalidGrant)
	if r := core.ErrorResponse(err); r.Status != 400 || r.Code != "invalid_grant" {
		t.Errorf("ErrorResponse = %d %q, want 400 invalid_grant", r.Status, r.Code)
	}

	// Every token of the session is dead, the newest ones included.
	for name, tok := range map[string]string{"first": t1.AccessToken, "second": t2.AccessToken, "newest": t3.AccessToken} {
		wantIs(t, name+" access token after reuse", e.authErr(tok), core.ErrTokenRevoked, core.ErrInvalidToken)
	}
	for name, tok := range map[string]string{"newest": t3.RefreshToken, "second": t2.RefreshToken, "first": t1.RefreshToken} {
		wantIs(t, name+" refresh token after reuse", e.refreshErr(tok), core.ErrSessionNotFound, core.ErrInvalidGrant)
	}
	if ss := must(e.auth.Sessions(context.Background(), alice.Subject)); len(ss) != 0 {
		t.Errorf("%d sessions left after reuse", len(ss))
	}
	want := []core.EventType{core.EventLogin, core.EventRefresh, core.EventRefresh, core.EventReuseDetected}
	if got := e.events.types(); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

// TestRefreshReuseLeavesOtherSessions: reuse ends its own session only.
func TestRefreshReuseLeavesOtherSessions(t *testing.T) {
	e := newEnv(t)
	mine, other, bobs := e.issue(alice), e.issue(alice), e.issue(bob)
	e.mustRefresh(mine.RefreshToken)
	wantIs(t, "reuse", e.refreshErr(mine.RefreshToken), core.ErrRefreshReused)
	e.mustAuth(other.AccessToken)
	e.mustAuth(bobs.AccessToken)
	e.mustRefresh(other.RefreshToken)
	e.mustRefresh(bobs.RefreshToken)
}

// TestRefreshRefusals: what is not a live refresh token of a live session is refused
// with invalid_grant (or invalid_request when there is none).
func TestRefreshRefusals(t *testing.T) {
	cases := []struct {
		name  string
		token func(h *hostile) string
		want  []error
	}{
		{"empty", func(h *hostile) string { return "" }, []error{core.ErrInvalidRequest}},
		{"garbage", func(h *hostile) string { return "not a token" }, []error{core.ErrInvalidGrant, core.ErrMalformedToken}},
		{"access token at Refresh", func(h *hostile) string { return h.tok.AccessToken }, []error{core.ErrInvalidGrant, core.ErrWrongTokenType}},
		{"id_token style token", func(h *hostile) string {
			_, p, _ := split(h.t, h.tok.RefreshToken)
			return forge(hdr("alg", "HS256", "kid", "hs-1", "typ", "JWT"), p, hsSigner)
		}, []error{core.ErrInvalidGrant, core.ErrWrongTokenType}},
		{"tampered refresh token", func(h *hostile) string {
			rh, _, sig := split(h.t, h.tok.RefreshToken)
			c := payloadOf(h.t, h.tok.RefreshToken)
			c["sub"] = bob.Subject
			return rh + "." + seg(c) + "." + sig
		}, []error{core.ErrInvalidGrant, core.ErrBadSignature}},
		{"refresh token with the access audience", func(h *hostile) string {
			rh, _, _ := split(h.t, h.tok.RefreshToken)
			c := payloadOf(h.t, h.tok.RefreshToken)
			c["aud"] = testAudience
			return forge(rh, seg(c), hsSigner)
		}, []error{core.ErrInvalidGrant, core.ErrMalformedToken}},
		{"refresh token of an unknown session", func(h *hostile) string {
			rh, _, _ := split(h.t, h.tok.RefreshToken)
			c := payloadOf(h.t, h.tok.RefreshToken)
			c["sid"] = "no-such-session"
			return forge(rh, seg(c), hsSigner)
		}, []error{core.ErrInvalidGrant, core.ErrSessionNotFound}},
		{"refresh token of another subject's session", func(h *hostile) string {
			rh, _, _ := split(h.t, h.tok.RefreshToken)
			c := payloadOf(h.t, h.tok.RefreshToken)
			c["sub"] = bob.Subject
			return forge(rh, seg(c), hsSigner)
		}, []error{core.ErrInvalidGrant}},
		{"refresh token with an unknown jti", func(h *hostile) string {
			rh, _, _ := split(h.t, h.tok.RefreshToken)
			c := payloadOf(h.t, h.tok.RefreshToken)
			c["jti"] = "guessed"
			return forge(rh, seg(c), hsSigner)
		}, []error{core.ErrInvalidGrant, core.ErrRefreshReused}},
		{"refresh token of an unknown key", func(h *hostile) string {
			return forge(hdr("alg", "HS256", "kid", "hs-9", "typ", "rt+jwt"), seg(payloadOf(h.t, h.tok.RefreshToken)), hsSigner)
		}, []error{core.ErrInvalidGrant, core.ErrUnknownKey}},
		{"1 MiB token", func(h *hostile) string { return string(make([]byte, 1<<20)) }, []error{core.ErrInvalidGrant, core.ErrTokenTooLarge}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostile(t)
			tok, err := h.auth.Refresh(context.Background(), tc.token(h))
			if tok != nil {
				t.Errorf("returned tokens with the error")
			}
			wantIs(t, "Refresh", err, tc.want...)
			wantNotIs(t, "Refresh", err, core.ErrStoreUnavailable)
			r := core.ErrorResponse(err)
			if errors.Is(err, core.ErrInvalidGrant) && (r.Status != 400 || r.Code != "invalid_grant") {
				t.Errorf("ErrorResponse = %d %q, want 400 invalid_grant", r.Status, r.Code)
			}
			if errors.Is(err, core.ErrInvalidRequest) && (r.Status != 400 || r.Code != "invalid_request") {
				t.Errorf("ErrorResponse = %d %q, want 400 invalid_request", r.Status, r.Code)
			}
		})
	}
}

// TestRefreshGrace: inside the grace window the just-replaced token gets a valid answer
// and reuse detection stays quiet; at its end it is reuse; an expired token is never
// tolerated.
func TestRefreshGrace(t *testing.T) {
	const grace = 10 * time.Second

	t.Run("inside the window", func(t *testing.T) {
		e := newEnv(t, core.WithRefreshGrace(grace))
		t1 := e.issue(alice)
		e.clock.Add(time.Minute)
		t2 := e.mustRefresh(t1.RefreshToken)
		e.clock.Add(grace - time.Second)
		t3 := e.mustRefresh(t1.RefreshToken) // a second tab
		e.mustAuth(t3.AccessToken)
		e.mustAuth(t2.AccessToken)
		if got := e.events.types(); !slices.Equal(got, []core.EventType{core.EventLogin, core.EventRefresh, core.EventRefresh}) {
			t.Errorf("events %v: reuse reported inside the grace window", got)
		}
		// Both tabs carry on from the current token.
		e.clock.Add(time.Minute)
		t4 := e.mustRefresh(t3.RefreshToken)
		e.mustAuth(t4.AccessToken)
	})

	t.Run("at the window's end", func(t *testing.T) {
		e := newEnv(t, core.WithRefreshGrace(grace))
		t1 := e.issue(alice)
		e.clock.Add(time.Minute)
		t2 := e.mustRefresh(t1.RefreshToken)
		e.clock.Add(grace)
		wantIs(t, "Refresh(replaced token) after the grace window", e.refreshErr(t1.RefreshToken), core.ErrRefreshReused, core.ErrInvalidGrant)
		wantIs(t, "newest access token after reuse", e.authErr(t2.AccessToken), core.ErrTokenRevoked)
		wantIs(t, "newest refresh token after reuse", e.refreshErr(t2.RefreshToken), core.ErrSessionNotFound, core.ErrInvalidGrant)
	})

	t.Run("older than the one just replaced", func(t *testing.T) {
		e := newEnv(t, core.WithRefreshGrace(grace))
		t1 := e.issue(alice)
		t2 := e.mustRefresh(t1.RefreshToken)
		t3 := e.mustRefresh(t2.RefreshToken)
		wantIs(t, "Refresh(token replaced two rotations ago)", e.refreshErr(t1.RefreshToken), core.ErrRefreshReused)
		wantIs(t, "newest access token after reuse", e.authErr(t3.AccessToken), core.ErrTokenRevoked)
	})

	t.Run("expired token inside the window", func(t *testing.T) {
		e := newEnv(t, core.WithRefreshGrace(grace), core.WithRefreshTTL(time.Hour))
		t1 := e.issue(alice)
		e.clock.Set(base.Add(time.Hour - 5*time.Second))
		e.mustRefresh(t1.RefreshToken)
		e.clock.Set(base.Add(time.Hour + time.Second)) // still inside the grace window
		err := e.refreshErr(t1.RefreshToken)
		wantIs(t, "Refresh(expired replaced token)", err, core.ErrInvalidGrant, core.ErrTokenExpired)
	})

	t.Run("expired session inside the window and the leeway", func(t *testing.T) {
		e := newEnv(t, core.WithRefreshGrace(grace), core.WithRefreshTTL(time.Hour), core.WithLeeway(30*time.Second))
		t1 := e.issue(alice)
		e.clock.Set(base.Add(time.Hour - 5*time.Second))
		t2 := e.mustRefresh(t1.RefreshToken)
		e.clock.Set(base.Add(time.Hour + time.Second))
		wantIs(t, "Refresh(replaced token)", e.refreshErr(t1.RefreshToken), core.ErrInvalidGrant, core.ErrSessionExpired)
		wantIs(t, "Refresh(current token)", e.refreshErr(t2.RefreshToken), core.ErrInvalidGrant, core.ErrSessionExpired)
	})

	t.Run("off by default", func(t *testing.T) {
		e := newEnv(t)
		t1 := e.issue(alice)
		e.mustRefresh(t1.RefreshToken)
		wantIs(t, "immediate second refresh", e.refreshErr(t1.RefreshToken), core.ErrRefreshReused)
	})

	t.Run("over MaxGrace refused at New", func(t *testing.T) {
		_, err := core.New(newEnv(t).store, core.WithSigningKey(hsKey(t)), core.WithRefreshGrace(core.MaxGrace+time.Second))
		wantIs(t, "New", err, core.ErrConfig)
	})
}

// TestSessionLifetimes: the idle timeout ends a session that is not refreshed; the
// absolute lifetime ends it however often it is, and no access token outlives it.
func TestSessionLifetimes(t *testing.T) {
	t.Run("idle timeout", func(t *testing.T) {
		e := newEnv(t, core.WithIdleTimeout(time.Hour), core.WithRefreshTTL(24*time.Hour))
		t1 := e.issue(alice)
		e.clock.Set(base.Add(59 * time.Minute))
		t2 := e.mustRefresh(t1.RefreshToken)
		e.clock.Set(base.Add(59*time.Minute + time.Hour - time.Second))
		t3 := e.mustRefresh(t2.RefreshToken)
		e.clock.Set(base.Add(59*time.Minute + time.Hour - time.Second + time.Hour))
		wantIs(t, "Refresh after an hour idle", e.refreshErr(t3.RefreshToken), core.ErrInvalidGrant, core.ErrSessionExpired)
		if ss := must(e.auth.Sessions(context.Background(), alice.Subject)); len(ss) != 0 {
			t.Errorf("idle session still listed: %+v", ss)
		}
	})

	t.Run("idle from sign-in", func(t *testing.T) {
		e := newEnv(t, core.WithIdleTimeout(time.Hour))
		t1 := e.issue(alice)
		e.clock.Set(base.Add(time.Hour))
		wantIs(t, "Refresh an hour after sign-in", e.refreshErr(t1.RefreshToken), core.ErrInvalidGrant, core.ErrSessionExpired)
	})

	t.Run("absolute lifetime", func(t *testing.T) {
		const lifetime = 2 * time.Hour
		e := newEnv(t, core.WithIdleTimeout(time.Hour), core.WithRefreshTTL(lifetime))
		end := base.Add(lifetime)
		tok := e.issue(alice)
		for _, at := range []time.Duration{50 * time.Minute, 100 * time.Minute, 110 * time.Minute, 119 * time.Minute} {
			e.clock.Set(base.Add(at))
			tok = e.mustRefresh(tok.RefreshToken)
			if !tok.RefreshExpiresAt.Equal(end) {
				t.Errorf("at +%v: refresh token expires %v, want %v", at, tok.RefreshExpiresAt, end)
			}
			// The session ends at the earlier of the idle and the absolute expiry.
			want := end
			if idle := base.Add(at + time.Hour); idle.Before(want) {
				want = idle
			}
			if !tok.Session.ExpiresAt.Equal(want) {
				t.Errorf("at +%v: session ends %v, want %v", at, tok.Session.ExpiresAt, want)
			}
			c := e.mustAuth(tok.AccessToken)
			wantExp := base.Add(at + accessTTL)
			if wantExp.After(end) {
				wantExp = end
			}
			if !c.ExpiresAt.Equal(wantExp) || !tok.AccessExpiresAt.Equal(wantExp) {
				t.Errorf("at +%v: access exp %v, want %v", at, c.ExpiresAt, wantExp)
			}
			if want := int(wantExp.Sub(base.Add(at)) / time.Second); tok.ExpiresIn != want {
				t.Errorf("at +%v: expires_in %d, want %d", at, tok.ExpiresIn, want)
			}
		}
		e.clock.Set(end)
		err := e.refreshErr(tok.RefreshToken)
		wantIs(t, "Refresh at the session's end", err, core.ErrTokenExpired, core.ErrInvalidGrant)
		wantIs(t, "access token at the session's end", e.authErr(tok.AccessToken), core.ErrTokenExpired)
		if ss := must(e.auth.Sessions(context.Background(), alice.Subject)); len(ss) != 0 {
			t.Errorf("ended session still listed: %+v", ss)
		}
	})
}

// TestConcurrentRefresh: 50 goroutines present one refresh token at once; exactly one
// gets tokens. The others are reuse, so the session ends (no grace window). storetest
// runs the same race over every store.
func TestConcurrentRefresh(t *testing.T) {
	storetest.RefreshRace(t, 1, newEnv(t).auth)
}

// TestConcurrentRefreshWithGrace: with a grace window, tabs racing one token all get
// tokens and the session lives on.
func TestConcurrentRefreshWithGrace(t *testing.T) {
	const n = 50
	e := newEnv(t, core.WithRefreshGrace(5*time.Second))
	tok := e.issue(alice)
	var wg sync.WaitGroup
	errs := make([]error, n)
	results := make([]*core.Tokens, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = e.auth.Refresh(context.Background(), tok.RefreshToken) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("refresh %d: %v", i, errs[i])
		}
		e.mustAuth(results[i].AccessToken)
	}
	e.mustRefresh(results[0].RefreshToken)
}

// TestLogoutRacingRefresh: whichever wins, no token of the session survives.
func TestLogoutRacingRefresh(t *testing.T) {
	e := newEnv(t)
	for range 100 {
		tok := e.issue(alice)
		var (
			wg        sync.WaitGroup
			refreshed *core.Tokens
			rerr      error
		)
		wg.Go(func() { refreshed, rerr = e.auth.Refresh(context.Background(), tok.RefreshToken) })
		wg.Go(func() {
			if err := e.auth.Logout(context.Background(), tok.Session.ID); err != nil {
				t.Errorf("Logout: %v", err)
			}
		})
		wg.Wait()
		wantIs(t, "first access token", e.authErr(tok.AccessToken), core.ErrTokenRevoked)
		wantIs(t, "first refresh token", e.refreshErr(tok.RefreshToken), core.ErrSessionNotFound, core.ErrInvalidGrant)
		if rerr != nil {
			wantIs(t, "losing Refresh", rerr, core.ErrSessionNotFound, core.ErrInvalidGrant)
			continue
		}
		wantIs(t, "refreshed access token", e.authErr(refreshed.AccessToken), core.ErrTokenRevoked)
		wantIs(t, "refreshed refresh token", e.refreshErr(refreshed.RefreshToken), core.ErrSessionNotFound, core.ErrInvalidGrant)
	}
}

// TestRefreshStoreFailureMidRotation: a failed rotation writes nothing; the old refresh
// token still works once the store is back (SECURITY 20).
func TestRefreshStoreFailureMidRotation(t *testing.T) {
	e := newEnv(t)
	tok := e.issue(alice)
	boom := errors.New("connection reset")
	e.store.failOn("Rotate", boom)
	_, err := e.auth.Refresh(context.Background(), tok.RefreshToken)
	wantIs(t, "Refresh with the store down", err, core.ErrStoreUnavailable, boom)
	wantNotIs(t, "Refresh with the store down", err, core.ErrInvalidGrant)
	if r := core.ErrorResponse(err); r.Status != 503 || r.RetryAfter <= 0 {
		t.Errorf("ErrorResponse = %+v, want 503 with Retry-After", r)
	}
	e.store.heal()
	next := e.mustRefresh(tok.RefreshToken)
	e.mustAuth(next.AccessToken)

	// Reuse detected while the store cannot end the session: a store error, and the
	// reuse is still caught once the store is back.
	e.mustRefresh(next.RefreshToken)
	e.store.failOn("EndSession", boom)
	err = e.refreshErr(next.RefreshToken)
	wantIs(t, "reuse with the store down", err, core.ErrStoreUnavailable, boom)
	e.store.heal()
	wantIs(t, "reuse with the store back", e.refreshErr(next.RefreshToken), core.ErrRefreshReused)
}

// TestRefreshClaimsHookFailure: a claims hook that fails during a refresh must not cost
// the user the session: the client never received new tokens, so presenting its refresh
// token again is a retry, not reuse.
func TestRefreshClaimsHookFailure(t *testing.T) {
	var (
		mu   sync.Mutex
		fail error
	)
	hook := func(context.Context, core.Identity) (map[string]any, error) {
		mu.Lock()
		defer mu.Unlock()
		if fail != nil {
			return nil, fail
		}
		return map[string]any{"role": "admin"}, nil
	}
	e := newEnv(t, core.WithClaims(hook))
	tok := e.issue(alice)
	boom := errors.New("roles database unavailable")
	mu.Lock()
	fail = boom
	mu.Unlock()
	_, err := e.auth.Refresh(context.Background(), tok.RefreshToken)
	wantIs(t, "Refresh with the hook failing", err, boom)
	mu.Lock()
	fail = nil
	mu.Unlock()
	next, err := e.auth.Refresh(context.Background(), tok.RefreshToken)
	if err != nil {
		t.Fatalf("retrying the refresh after a hook failure: %v (the session was lost)", err)
	}
	e.mustAuth(next.AccessToken)
	e.mustAuth(tok.AccessToken)
}
