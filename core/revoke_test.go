package core_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// TestLogout: logout ends the session: its access tokens → invalid_token, its refresh
// token → invalid_grant; other sessions live on.
func TestLogout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tok, other := e.issue(alice), e.issue(alice)
	refreshed := e.mustRefresh(tok.RefreshToken)
	if err := e.auth.Logout(ctx, tok.Session.ID); err != nil {
		t.Fatalf("Logout: %v", err)
	}
	for _, at := range []string{tok.AccessToken, refreshed.AccessToken} {
		err := e.authErr(at)
		wantIs(t, "access token after logout", err, core.ErrTokenRevoked, core.ErrInvalidToken)
		if r := core.ErrorResponse(err); r.Status != 401 || r.Code != "invalid_token" {
			t.Errorf("ErrorResponse = %d %q, want 401 invalid_token", r.Status, r.Code)
		}
	}
	err := e.refreshErr(refreshed.RefreshToken)
	wantIs(t, "refresh token after logout", err, core.ErrInvalidGrant, core.ErrSessionNotFound)
	if r := core.ErrorResponse(err); r.Status != 400 || r.Code != "invalid_grant" {
		t.Errorf("ErrorResponse = %d %q, want 400 invalid_grant", r.Status, r.Code)
	}
	wantIs(t, "replaced refresh token after logout", e.refreshErr(tok.RefreshToken), core.ErrSessionNotFound, core.ErrInvalidGrant)

	e.mustAuth(other.AccessToken)
	e.mustRefresh(other.RefreshToken)

	// Logging out again, or out of nothing, is not an error and reports nothing.
	for _, sid := range []string{tok.Session.ID, "no-such-session", ""} {
		if err := e.auth.Logout(ctx, sid); err != nil {
			t.Errorf("Logout(%q): %v", sid, err)
		}
	}
	want := []core.EventType{core.EventLogin, core.EventLogin, core.EventRefresh, core.EventLogout, core.EventRefresh}
	if got := e.events.types(); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

// TestRevoke: RFC 7009. An access token is revoked alone; a refresh token ends its
// session; anything that needs nothing done is not an error and writes nothing.
func TestRevoke(t *testing.T) {
	ctx := context.Background()

	t.Run("access token", func(t *testing.T) {
		e := newEnv(t)
		tok := e.issue(alice)
		sibling := e.mustRefresh(tok.RefreshToken)
		if err := e.auth.Revoke(ctx, tok.AccessToken); err != nil {
			t.Fatal(err)
		}
		wantIs(t, "revoked access token", e.authErr(tok.AccessToken), core.ErrTokenRevoked, core.ErrInvalidToken)
		e.mustAuth(sibling.AccessToken)
		e.mustRefresh(sibling.RefreshToken)
		if got := e.events.types(); !slices.Contains(got, core.EventRevoke) {
			t.Errorf("events %v lack revoke", got)
		}
	})

	t.Run("refresh token ends its session", func(t *testing.T) {
		e := newEnv(t)
		tok := e.issue(alice)
		if err := e.auth.Revoke(ctx, tok.RefreshToken); err != nil {
			t.Fatal(err)
		}
		wantIs(t, "access token of the revoked session", e.authErr(tok.AccessToken), core.ErrTokenRevoked)
		wantIs(t, "revoked refresh token", e.refreshErr(tok.RefreshToken), core.ErrSessionNotFound, core.ErrInvalidGrant)
		if ss := must(e.auth.Sessions(ctx, alice.Subject)); len(ss) != 0 {
			t.Errorf("session still listed: %+v", ss)
		}
	})

	noops := []struct {
		name  string
		token func(e *env) string
		// asks: the token verifies, so Revoke asks the store to end its (gone) session.
		asks bool
	}{
		{"empty", func(e *env) string { return "" }, false},
		{"garbage", func(e *env) string { return "garbage" }, false},
		{"1 MiB", func(e *env) string { return strings.Repeat(".", 1<<20) }, false},
		{"JWE", func(e *env) string { return "a.b.c.d.e" }, false},
		{"expired access token", func(e *env) string {
			tok := e.issue(alice)
			e.clock.Add(accessTTL)
			return tok.AccessToken
		}, false},
		{"tampered access token", func(e *env) string {
			tok := e.issue(alice)
			h, _, s := split(e.t, tok.AccessToken)
			c := payloadOf(e.t, tok.AccessToken)
			c["jti"] = "someone-elses-jti"
			return h + "." + seg(c) + "." + s
		}, false},
		{"token of an unknown key", func(e *env) string {
			tok := e.issue(alice)
			_, p, _ := split(e.t, tok.AccessToken)
			return forge(hdr("alg", "HS256", "kid", "hs-9", "typ", "at+jwt"), p, hsSigner)
		}, false},
		{"refresh token of an ended session", func(e *env) string {
			tok := e.issue(alice)
			if err := e.auth.Logout(context.Background(), tok.Session.ID); err != nil {
				e.t.Fatal(err)
			}
			return tok.RefreshToken
		}, true},
	}
	for _, tc := range noops {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			token := tc.token(e)
			writes := e.store.count("RevokeToken") + e.store.count("EndSession")
			if err := e.auth.Revoke(ctx, token); err != nil {
				t.Errorf("Revoke: %v, want nil", err)
			}
			if n := e.store.count("RevokeToken") + e.store.count("EndSession"); n != writes && !tc.asks {
				t.Errorf("Revoke wrote to the store %d times", n-writes)
			}
		})
	}

	t.Run("already revoked", func(t *testing.T) {
		e := newEnv(t)
		tok := e.issue(alice)
		for i := range 2 {
			if err := e.auth.Revoke(ctx, tok.AccessToken); err != nil {
				t.Errorf("Revoke #%d: %v", i+1, err)
			}
			if err := e.auth.Revoke(ctx, tok.RefreshToken); err != nil {
				t.Errorf("Revoke(refresh) #%d: %v", i+1, err)
			}
		}
		wantIs(t, "revoked access token", e.authErr(tok.AccessToken), core.ErrTokenRevoked)
	})
}

// TestRevocationKeyedByJTI: a revocation names the token's jti, never its text, so
// another spelling of the same token dies with it: the same claims signed again (ES256
// signs them differently each time), or the same claims in other bytes signed with the
// key. The store holds the jti itself (SECURITY 7).
func TestRevocationKeyedByJTI(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		key     func(t testing.TB) *core.Key
		respell func(t *testing.T, tok string) string
	}{
		{"ES256 signature made again", func(t testing.TB) *core.Key { return privKey(t, "es-1", ecPriv()) },
			func(t *testing.T, tok string) string {
				h, p, _ := split(t, tok)
				return forge(h, p, ecSigner(ecPriv()))
			}},
		{"HS256 claims in other bytes", hsKey,
			func(t *testing.T, tok string) string {
				h, p, _ := split(t, tok)
				return forge(h, padClaims(t, p), hsSigner)
			}},
	}
	for _, tc := range cases {
		for _, which := range []string{"revoke the original", "revoke the other spelling"} {
			t.Run(tc.name+"/"+which, func(t *testing.T) {
				e := newEnv(t, core.WithSigningKey(tc.key(t)))
				tok := e.issue(alice)
				original, other := tok.AccessToken, tc.respell(t, tok.AccessToken)
				if other == original {
					t.Fatal("test bug: the other spelling is the same text")
				}
				if c := e.mustAuth(other); c.ID != e.mustAuth(original).ID {
					t.Fatalf("test bug: the other spelling has jti %q", c.ID)
				}
				revoked := original
				if which != "revoke the original" {
					revoked = other
				}
				if err := e.auth.Revoke(ctx, revoked); err != nil {
					t.Fatal(err)
				}
				wantIs(t, "the original", e.authErr(original), core.ErrTokenRevoked, core.ErrInvalidToken)
				wantIs(t, "the other spelling", e.authErr(other), core.ErrTokenRevoked, core.ErrInvalidToken)
				jti := payloadOf(t, original)["jti"].(string)
				if revoked, err := e.mem.IsRevoked(ctx, jti, ""); err != nil || !revoked {
					t.Errorf("store: IsRevoked(jti %q) = %v, %v; want the jti revoked", jti, revoked, err)
				}
				// The session and its other tokens are untouched: it was one token.
				e.mustRefresh(tok.RefreshToken)
			})
		}
	}
}

// TestRevocationKeptUntilExpPlusLeeway: a revocation is kept as long as the token could
// be accepted, its exp plus the leeway (SECURITY 25); a purge at exp must not bring the
// token back, and once exp + leeway has passed the entry is purged.
func TestRevocationKeptUntilExpPlusLeeway(t *testing.T) {
	const leeway = 30 * time.Second
	ctx := context.Background()
	cases := []struct {
		name string
		// revoke revokes and returns the access token to check.
		revoke func(e *env) string
	}{
		{"Revoke of the access token", func(e *env) string {
			tok := e.issue(alice)
			if err := e.auth.Revoke(ctx, tok.AccessToken); err != nil {
				e.t.Fatal(err)
			}
			return tok.AccessToken
		}},
		{"Logout", func(e *env) string {
			tok := e.issue(alice)
			if err := e.auth.Logout(ctx, tok.Session.ID); err != nil {
				e.t.Fatal(err)
			}
			return tok.AccessToken
		}},
		{"Logout after a refresh", func(e *env) string {
			tok := e.issue(alice)
			e.clock.Add(10 * time.Minute)
			next := e.mustRefresh(tok.RefreshToken)
			if err := e.auth.Logout(ctx, tok.Session.ID); err != nil {
				e.t.Fatal(err)
			}
			return next.AccessToken
		}},
		{"refresh token reuse", func(e *env) string {
			tok := e.issue(alice)
			e.clock.Add(10 * time.Minute)
			next := e.mustRefresh(tok.RefreshToken)
			wantIs(e.t, "reuse", e.refreshErr(tok.RefreshToken), core.ErrRefreshReused)
			return next.AccessToken
		}},
		{"LogoutAll", func(e *env) string {
			tok := e.issue(alice)
			if _, err := e.auth.LogoutAll(ctx, alice.Subject); err != nil {
				e.t.Fatal(err)
			}
			return tok.AccessToken
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, core.WithLeeway(leeway))
			token := tc.revoke(e)
			c := payloadOf(t, token)
			exp := time.Unix(must(c["exp"].(interface{ Int64() (int64, error) }).Int64()), 0)
			jti, sid := c["jti"].(string), c["sid"].(string)

			e.clock.Set(exp)
			if _, err := e.mem.Purge(ctx, exp); err != nil {
				t.Fatal(err)
			}
			e.clock.Set(exp.Add(leeway - time.Second)) // inside the leeway: only the revocation refuses it
			wantIs(t, "revoked token inside the leeway after a purge at exp", e.authErr(token), core.ErrTokenRevoked, core.ErrInvalidToken)

			e.clock.Set(exp.Add(leeway))
			if _, err := e.mem.Purge(ctx, exp.Add(leeway)); err != nil {
				t.Fatal(err)
			}
			if revoked := must(e.mem.IsRevoked(ctx, jti, sid)); revoked {
				t.Errorf("revocation still stored after exp + leeway and a purge")
			}
			wantIs(t, "token at exp + leeway", e.authErr(token), core.ErrTokenExpired, core.ErrInvalidToken)
		})
	}
}

// TestLogoutAll ends every session of the user and no one else's.
func TestLogoutAll(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var mine []*core.Tokens
	for range 3 {
		mine = append(mine, e.issue(alice))
	}
	mine[2] = e.mustRefresh(mine[2].RefreshToken)
	gone := e.issue(alice)
	if err := e.auth.Logout(ctx, gone.Session.ID); err != nil {
		t.Fatal(err)
	}
	bobs := e.issue(bob)

	n, err := e.auth.LogoutAll(ctx, alice.Subject)
	if err != nil || n != 3 {
		t.Fatalf("LogoutAll = %d, %v; want 3, nil", n, err)
	}
	for _, tok := range mine {
		wantIs(t, "access token after LogoutAll", e.authErr(tok.AccessToken), core.ErrTokenRevoked)
		wantIs(t, "refresh token after LogoutAll", e.refreshErr(tok.RefreshToken), core.ErrSessionNotFound, core.ErrInvalidGrant)
	}
	if ss := must(e.auth.Sessions(ctx, alice.Subject)); len(ss) != 0 {
		t.Errorf("%d sessions left", len(ss))
	}
	e.mustAuth(bobs.AccessToken)
	e.mustRefresh(bobs.RefreshToken)

	evs := e.events.all()
	i := slices.IndexFunc(evs, func(ev core.Event) bool { return ev.Type == core.EventLogoutAll })
	if i < 0 {
		t.Fatalf("no logout_all event in %v", evs)
	}
	if last := evs[i]; last.Type != core.EventLogoutAll || last.Subject != alice.Subject || last.SessionID != "" || !last.Time.Equal(e.clock.Now()) {
		t.Errorf("event %+v, want logout_all for alice", last)
	}

	if n, err := e.auth.LogoutAll(ctx, "nobody"); err != nil || n != 0 {
		t.Errorf("LogoutAll(nobody) = %d, %v", n, err)
	}
}

// TestSessions lists the user's sessions that can still be refreshed, and nothing else.
func TestSessions(t *testing.T) {
	e := newEnv(t, core.WithIdleTimeout(time.Hour), core.WithRefreshTTL(2*time.Hour))
	ctx := context.Background()
	idle := e.issue(alice) // at base: idle at +1h
	e.clock.Set(base.Add(30 * time.Minute))
	live := e.issue(alice)
	loggedOut := e.issue(alice)
	if err := e.auth.Logout(ctx, loggedOut.Session.ID); err != nil {
		t.Fatal(err)
	}
	e.issue(bob)
	e.clock.Set(base.Add(40 * time.Minute))
	refreshed := e.mustRefresh(e.issue(alice).RefreshToken)

	e.clock.Set(base.Add(time.Hour))
	got := must(e.auth.Sessions(ctx, alice.Subject))
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
		if s.Subject != alice.Subject {
			t.Errorf("session of %q listed for alice", s.Subject)
		}
	}
	slices.Sort(ids)
	want := []string{live.Session.ID, refreshed.Session.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("Sessions = %v, want %v (idle %s, logged out %s)", ids, want, idle.Session.ID, loggedOut.Session.ID)
	}
	for _, s := range got {
		if s.ID == refreshed.Session.ID && !s.LastUsedAt.Equal(base.Add(40*time.Minute)) {
			t.Errorf("LastUsedAt %v", s.LastUsedAt)
		}
	}

	// The absolute end removes the rest.
	e.clock.Set(base.Add(2 * time.Hour))
	if got := must(e.auth.Sessions(ctx, alice.Subject)); len(got) != 0 {
		t.Errorf("%d sessions listed after the absolute end", len(got))
	}
	if got := must(e.auth.Sessions(ctx, "nobody")); len(got) != 0 {
		t.Errorf("sessions of nobody: %v", got)
	}
}

// TestStoreFailures: a store failure is ErrStoreUnavailable (503), keeping its cause,
// never a pass and never a token or grant error.
func TestStoreFailures(t *testing.T) {
	boom := errors.New("redis: connection refused")
	ctx := context.Background()
	cases := []struct {
		name   string
		method string
		call   func(e *env, tok *core.Tokens) error
	}{
		{"Authenticate", "IsRevoked", func(e *env, tok *core.Tokens) error {
			c, err := e.auth.Authenticate(ctx, tok.AccessToken)
			if c != nil {
				e.t.Errorf("Authenticate returned claims with a store failure")
			}
			return err
		}},
		{"Refresh", "Rotate", func(e *env, tok *core.Tokens) error {
			_, err := e.auth.Refresh(ctx, tok.RefreshToken)
			return err
		}},
		{"Refresh detecting reuse", "EndSession", func(e *env, tok *core.Tokens) error {
			e.store.heal()
			e.mustRefresh(tok.RefreshToken)
			e.store.failOn("EndSession", boom)
			_, err := e.auth.Refresh(ctx, tok.RefreshToken)
			return err
		}},
		{"Logout", "EndSession", func(e *env, tok *core.Tokens) error { return e.auth.Logout(ctx, tok.Session.ID) }},
		{"LogoutAll", "EndSessions", func(e *env, tok *core.Tokens) error {
			_, err := e.auth.LogoutAll(ctx, alice.Subject)
			return err
		}},
		{"Sessions", "Sessions", func(e *env, tok *core.Tokens) error {
			_, err := e.auth.Sessions(ctx, alice.Subject)
			return err
		}},
		{"Revoke access token", "RevokeToken", func(e *env, tok *core.Tokens) error { return e.auth.Revoke(ctx, tok.AccessToken) }},
		{"Revoke refresh token", "EndSession", func(e *env, tok *core.Tokens) error { return e.auth.Revoke(ctx, tok.RefreshToken) }},
		{"Issue", "CreateSession", func(e *env, tok *core.Tokens) error {
			_, err := e.auth.Issue(ctx, bob, core.Client{})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tok := e.issue(alice)
			e.store.failOn(tc.method, boom)
			err := tc.call(e, tok)
			wantIs(t, tc.name, err, core.ErrStoreUnavailable, boom)
			wantNotIs(t, tc.name, err, core.ErrInvalidToken, core.ErrInvalidGrant, core.ErrNoToken)
			if r := core.ErrorResponse(err); r.Status != 503 || r.RetryAfter <= 0 {
				t.Errorf("ErrorResponse = %+v, want 503 with Retry-After", r)
			}
			// Once the store is back, nothing was half-done: the access token still works.
			e.store.heal()
			if tc.method != "EndSession" && tc.method != "EndSessions" && tc.method != "RevokeToken" {
				e.mustAuth(tok.AccessToken)
			}
		})
	}

	t.Run("closed store", func(t *testing.T) {
		e := newEnv(t)
		tok := e.issue(alice)
		e.mem.Close()
		_, err := e.auth.Authenticate(ctx, tok.AccessToken)
		wantIs(t, "Authenticate", err, core.ErrStoreUnavailable, core.ErrStoreClosed)
		_, err = e.auth.Refresh(ctx, tok.RefreshToken)
		wantIs(t, "Refresh", err, core.ErrStoreUnavailable, core.ErrStoreClosed)
		wantNotIs(t, "Refresh", err, core.ErrInvalidGrant)
		wantIs(t, "Logout", e.auth.Logout(ctx, tok.Session.ID), core.ErrStoreUnavailable)
		wantIs(t, "Revoke", e.auth.Revoke(ctx, tok.AccessToken), core.ErrStoreUnavailable)
	})

	t.Run("cancelled context", func(t *testing.T) {
		// memstore ignores the context; what matters is that a store's ctx error is
		// reported as a store failure.
		e := newEnv(t)
		tok := e.issue(alice)
		e.store.failOn("IsRevoked", context.Canceled)
		_, err := e.auth.Authenticate(ctx, tok.AccessToken)
		wantIs(t, "Authenticate", err, core.ErrStoreUnavailable, context.Canceled)
	})
}

// TestEvents: the hook hears of login, refresh, revoke, logout, reuse and logout-all,
// with the subject, the session and the injected time.
func TestEvents(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	t1 := e.issue(alice)
	e.clock.Add(time.Minute)
	t2 := e.mustRefresh(t1.RefreshToken)
	e.clock.Add(time.Minute)
	if err := e.auth.Revoke(ctx, t2.AccessToken); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	if err := e.auth.Logout(ctx, t1.Session.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	t3 := e.issue(alice)
	e.mustRefresh(t3.RefreshToken)
	e.clock.Add(time.Minute)
	wantIs(t, "reuse", e.refreshErr(t3.RefreshToken), core.ErrRefreshReused)
	e.clock.Add(time.Minute)
	if _, err := e.auth.LogoutAll(ctx, alice.Subject); err != nil {
		t.Fatal(err)
	}

	s1, s3 := t1.Session.ID, t3.Session.ID
	m := time.Minute
	want := []core.Event{
		{Type: core.EventLogin, Subject: alice.Subject, SessionID: s1, Time: base},
		{Type: core.EventRefresh, Subject: alice.Subject, SessionID: s1, Time: base.Add(m)},
		{Type: core.EventRevoke, Subject: alice.Subject, SessionID: s1, Time: base.Add(2 * m)},
		{Type: core.EventLogout, Subject: alice.Subject, SessionID: s1, Time: base.Add(3 * m)},
		{Type: core.EventLogin, Subject: alice.Subject, SessionID: s3, Time: base.Add(4 * m)},
		{Type: core.EventRefresh, Subject: alice.Subject, SessionID: s3, Time: base.Add(4 * m)},
		{Type: core.EventReuseDetected, Subject: alice.Subject, SessionID: s3, Time: base.Add(5 * m)},
		{Type: core.EventLogoutAll, Subject: alice.Subject, Time: base.Add(6 * m)},
	}
	got := e.events.all()
	if len(got) != len(want) {
		t.Fatalf("events:\n%v\nwant:\n%v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Type != w.Type || g.Subject != w.Subject || g.SessionID != w.SessionID || !g.Time.Equal(w.Time) {
			t.Errorf("event %d = %+v, want %+v", i, g, w)
		}
	}

	// No hook, no trouble.
	a := must(core.New(memstore.New(), core.WithSigningKey(hsKey(t))))
	tok := must(a.Issue(ctx, alice, core.Client{}))
	if err := a.Logout(ctx, tok.Session.ID); err != nil {
		t.Fatal(err)
	}
}
