package core_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// reqExchange is a core.Exchange over a request's values, enough for the
// authentication and the refresh route.
type reqExchange struct {
	ctx    context.Context
	header http.Header
	form   url.Values
	status int
}

func newReq(ctx context.Context) *reqExchange {
	return &reqExchange{ctx: ctx, header: http.Header{}, form: url.Values{}}
}

func (x *reqExchange) Context() context.Context      { return x.ctx }
func (x *reqExchange) Method() string                { return http.MethodPost }
func (x *reqExchange) Header(n string) string        { return x.header.Get(n) }
func (x *reqExchange) Query(string) string           { return "" }
func (x *reqExchange) PathValue(string) string       { return "" }
func (x *reqExchange) Cookies(string) []string       { return nil }
func (x *reqExchange) Body(int64) ([]byte, error)    { return []byte(x.form.Encode()), nil }
func (x *reqExchange) RemoteIP() string              { return "192.0.2.1" }
func (x *reqExchange) TLS() bool                     { return false }
func (x *reqExchange) Host() string                  { return "app.example" }
func (x *reqExchange) RequestURI() string            { return "/" }
func (x *reqExchange) SetHeader(string, string)      {}
func (x *reqExchange) SetCookie(*http.Cookie)        {}
func (x *reqExchange) Write(status int, body []byte) { x.status = status }

// lastOf returns the last event of type typ.
func lastOf(t *testing.T, e *env, typ core.EventType) core.Event {
	t.Helper()
	all := e.events.all()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Type == typ {
			return all[i]
		}
	}
	t.Fatalf("no %s event in %v", typ, e.events.types())
	return core.Event{}
}

// TestAuthenticateEvents: every authentication decision is one EventAuthenticate, with
// the category of a refusal as its Result and nothing of the token.
func TestAuthenticateEvents(t *testing.T) {
	e := newEnv(t)
	tok := e.issue(alice)
	ended := e.issue(alice)
	if err := e.auth.Logout(context.Background(), ended.Session.ID); err != nil {
		t.Fatal(err)
	}
	expiring := e.issue(bob)
	cases := []struct {
		name   string
		setup  func()
		header string // the Authorization header; "-" calls Auth.Authenticate with token
		token  string
		result string
		is     error
	}{
		{"ok", nil, "-", tok.AccessToken, core.ResultOK, nil},
		{"ok through the middleware", nil, "Bearer " + tok.AccessToken, "", core.ResultOK, nil},
		{"no token", nil, "", "", core.ResultNoToken, core.ErrNoToken},
		{"another scheme", nil, "Basic dTpw", "", core.ResultNoToken, core.ErrNoToken},
		{"empty bearer", nil, "Bearer ", "", core.ResultInvalid, core.ErrMalformedToken},
		{"garbage", nil, "-", "garbage", core.ResultInvalid, core.ErrMalformedToken},
		{"refresh token", nil, "-", tok.RefreshToken, core.ResultInvalid, core.ErrInvalidToken},
		{"revoked", nil, "-", ended.AccessToken, core.ResultRevoked, core.ErrTokenRevoked},
		{"store down", func() { e.store.failOn("IsRevoked", errors.New("disk")) }, "-", tok.AccessToken, core.ResultStoreError, core.ErrStoreUnavailable},
		{"expired", func() { e.store.heal(); e.clock.Add(accessTTL + time.Second) }, "-", expiring.AccessToken, core.ResultExpired, core.ErrTokenExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			n := len(e.events.all())
			var err error
			if tc.header == "-" {
				_, err = e.auth.Authenticate(context.Background(), tc.token)
			} else {
				x := newReq(context.Background())
				if tc.header != "" {
					x.header.Set("Authorization", tc.header)
				}
				_, err = e.auth.Adapter().Authenticate(x)
			}
			if tc.is == nil && err != nil || tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err %v, want %v", err, tc.is)
			}
			evs := e.events.all()[n:]
			if len(evs) != 1 || evs[0].Type != core.EventAuthenticate {
				t.Fatalf("events %+v, want one authenticate", evs)
			}
			ev := evs[0]
			if ev.Result != tc.result || !errors.Is(ev.Err, tc.is) && tc.is != nil || ev.Time.IsZero() {
				t.Errorf("event %+v, want result %q", ev, tc.result)
			}
			if tc.result == core.ResultOK && (ev.Subject != alice.Subject || ev.SessionID != tok.Session.ID) {
				t.Errorf("event %+v without its subject and session", ev)
			}
			if tc.result != core.ResultOK && (ev.Subject != "" || ev.SessionID != "") {
				t.Errorf("refusal %+v names a subject or session", ev)
			}
		})
	}
}

// TestRefreshEvents: a refresh ends as EventRefresh (ok), EventReuseDetected (reuse)
// or EventRefreshRefused (invalid, expired, store_error).
func TestRefreshEvents(t *testing.T) {
	e := newEnv(t, core.WithRefreshTTL(time.Hour))
	t1 := e.issue(alice)
	t2 := e.mustRefresh(t1.RefreshToken)
	if ev := lastOf(t, e, core.EventRefresh); ev.Result != core.ResultOK || ev.SessionID != t1.Session.ID {
		t.Errorf("refresh event %+v", ev)
	}
	e.refreshErr(t1.RefreshToken)
	if ev := lastOf(t, e, core.EventReuseDetected); ev.Result != core.ResultReuse {
		t.Errorf("reuse event %+v", ev)
	}
	for _, ev := range e.events.all() {
		if ev.Type == core.EventRefreshRefused {
			t.Errorf("reuse also reported as %+v", ev)
		}
	}
	live := e.issue(bob)
	cases := []struct {
		name   string
		setup  func()
		token  string
		result string
	}{
		{"garbage", nil, "garbage", core.ResultInvalid},
		{"empty", nil, "", core.ResultInvalid},
		{"ended session", nil, t2.RefreshToken, core.ResultInvalid},
		{"access token", nil, live.AccessToken, core.ResultInvalid},
		{"store down", func() { e.store.failOn("Session", errors.New("disk")) }, live.RefreshToken, core.ResultStoreError},
		{"expired", func() { e.store.heal(); e.clock.Add(2 * time.Hour) }, live.RefreshToken, core.ResultExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
			}
			n := len(e.events.all())
			err := e.refreshErr(tc.token)
			evs := e.events.all()[n:]
			if len(evs) != 1 || evs[0].Type != core.EventRefreshRefused {
				t.Fatalf("events %+v, want one refresh_refused", evs)
			}
			if ev := evs[0]; ev.Result != tc.result || ev.Err != err || ev.Subject != "" || ev.SessionID != "" {
				t.Errorf("event %+v, want result %q, err %v, no subject", ev, tc.result, err)
			}
		})
	}
}

// TestRateLimitEvent: a request the rate limit refuses is an EventRateLimited.
func TestRateLimitEvent(t *testing.T) {
	e := newEnv(t, core.WithRateLimit(1))
	refresh := routeOf(t, e.auth, http.MethodPost, "/refresh")
	for range 2 {
		refresh(newReq(context.Background()))
	}
	ev := lastOf(t, e, core.EventRateLimited)
	if !errors.Is(ev.Err, core.ErrRateLimited) || ev.Time.IsZero() {
		t.Errorf("event %+v", ev)
	}
	if n := strings.Count(strings.Join(typeNames(e.events.all()), " "), string(core.EventRateLimited)); n != 1 {
		t.Errorf("%d rate_limited events, want 1", n)
	}
}

func typeNames(evs []core.Event) []string {
	var s []string
	for _, ev := range evs {
		s = append(s, string(ev.Type))
	}
	return s
}

func routeOf(t *testing.T, a *core.Auth, method, pattern string) func(core.Exchange) {
	t.Helper()
	for _, r := range a.Adapter().Routes() {
		if r.Method == method && r.Pattern == pattern {
			return r.Handle
		}
	}
	t.Fatalf("no route %s %s", method, pattern)
	return nil
}

// spanKey marks the context a tracing hook returned.
type spanKey struct{}

// TestTracing: the WithTracing hook runs around refresh, logout, logout everywhere and
// revocation, the operation runs with the context it returns (the store sees it, and
// so does the events hook), and its end gets the operation's error.
func TestTracing(t *testing.T) {
	var (
		mu   sync.Mutex
		ops  []string
		seen []string // events that came with the hook's context
	)
	hook := func(ctx context.Context, op core.Operation) (context.Context, func(error)) {
		mu.Lock()
		ops = append(ops, "start "+string(op))
		mu.Unlock()
		return context.WithValue(ctx, spanKey{}, op), func(err error) {
			mu.Lock()
			defer mu.Unlock()
			outcome := "ok"
			if err != nil {
				outcome = core.ErrorResponse(err).Code
			}
			ops = append(ops, "end "+string(op)+" "+outcome)
		}
	}
	events := func(ctx context.Context, ev core.Event) {
		if op, ok := ctx.Value(spanKey{}).(core.Operation); ok {
			mu.Lock()
			seen = append(seen, string(op)+":"+string(ev.Type))
			mu.Unlock()
		}
	}
	e := newEnv(t, core.WithTracing(hook), core.WithEvents(events))
	ctx := context.Background()
	t1 := e.issue(alice)
	t2 := e.mustRefresh(t1.RefreshToken)
	e.refreshErr("garbage")
	must(0, e.auth.Revoke(ctx, t2.AccessToken))
	must(0, e.auth.Revoke(ctx, t2.RefreshToken))
	must(e.auth.LogoutAll(ctx, alice.Subject))
	want := []string{
		"start refresh", "end refresh ok",
		"start refresh", "end refresh invalid_grant",
		"start revoke", "end revoke ok",
		"start revoke", "start logout", "end logout ok", "end revoke ok",
		"start logout_all", "end logout_all ok",
	}
	if !slices.Equal(ops, want) {
		t.Errorf("operations\n%q\nwant\n%q", ops, want)
	}
	wantSeen := []string{"refresh:refresh", "refresh:refresh_refused", "revoke:revoke", "logout:logout", "logout_all:logout_all"}
	if !slices.Equal(seen, wantSeen) {
		t.Errorf("events in the operation's context %q, want %q", seen, wantSeen)
	}
}

// TestProviderTransport: WithProviderTransport refuses nil.
func TestProviderTransport(t *testing.T) {
	_, err := core.New(memstore.New(), core.WithSigningKey(hsKey(t)), core.WithProviderTransport(nil))
	wantIs(t, "WithProviderTransport(nil)", err, core.ErrConfig)
}
