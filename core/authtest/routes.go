package authtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

func testRefresh(t *testing.T, s *suite) {
	e := s.newEnv(t)
	ok := []struct {
		name string
		body func(rt string) opt
	}{
		{"Form", func(rt string) opt { return formBody("grant_type", "refresh_token", "refresh_token", rt) }},
		{"FormWithClientCredentials", func(rt string) opt {
			return formBody("grant_type", "refresh_token", "refresh_token", rt, "client_id", "app", "client_secret", "x")
		}},
		{"JSONAsTheTutorialSendsIt", func(rt string) opt { return jsonBody(map[string]string{"refresh_token": rt}) }},
		{"JSONWithGrantType", func(rt string) opt {
			return jsonBody(map[string]string{"grant_type": "refresh_token", "refresh_token": rt})
		}},
		{"FormCharset", func(rt string) opt {
			return rawBody("application/x-www-form-urlencoded; charset=utf-8", "grant_type=refresh_token&refresh_token="+rt)
		}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			old := e.signIn()
			r := e.do("POST", prefix+"/refresh", tc.body(old.refresh))
			got := r.tokens(t)
			if got.refresh == "" || got.refresh == old.refresh || got.access == old.access {
				t.Fatalf("refresh answered %s: want a new access and a rotated refresh token", r)
			}
			if e.email(got.access) != janeEmail {
				t.Fatal("refreshed access token does not work")
			}
			// The old refresh token is spent; presenting it again is reuse, which ends
			// the session, its newest tokens included.
			e.do("POST", prefix+"/refresh", tc.body(old.refresh)).wantError(t, 400, "invalid_grant").wantNoStore(t)
			e.do("POST", prefix+"/refresh", tc.body(got.refresh)).wantError(t, 400, "invalid_grant")
			e.do("GET", "/api/protected", bearer(got.access)).wantChallenge(t, "invalid_token")
		})
	}

	tok := e.signIn()
	bad := []struct {
		name   string
		opts   []opt
		status int
		code   string
	}{
		{"WrongGrantType", []opt{formBody("grant_type", "password", "username", "a", "password", "b")}, 400, "unsupported_grant_type"},
		{"AuthorizationCodeGrant", []opt{formBody("grant_type", "authorization_code", "code", "x")}, 400, "unsupported_grant_type"},
		{"JSONWrongGrantType", []opt{jsonBody(map[string]string{"grant_type": "client_credentials"})}, 400, "unsupported_grant_type"},
		{"FormWithoutGrantType", []opt{formBody("refresh_token", tok.refresh)}, 400, "invalid_request"},
		{"MissingToken", []opt{formBody("grant_type", "refresh_token")}, 400, "invalid_request"},
		{"EmptyRequest", nil, 400, "invalid_request"},
		{"TokenInQueryIgnored", nil, 400, "invalid_request"},
		{"RepeatedParameter", []opt{rawBody("application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=a&refresh_token=b")}, 400, "invalid_request"},
		{"NonStringJSON", []opt{rawBody("application/json", `{"refresh_token": 42}`)}, 400, "invalid_request"},
		{"MalformedJSON", []opt{rawBody("application/json", `{"refresh_token": `)}, 400, "invalid_request"},
		{"UnsupportedContentType", []opt{rawBody("text/plain", tok.refresh)}, 400, "invalid_request"},
		{"Garbage", []opt{formBody("grant_type", "refresh_token", "refresh_token", "garbage")}, 400, "invalid_grant"},
		{"AccessTokenAsRefreshToken", []opt{formBody("grant_type", "refresh_token", "refresh_token", tok.access)}, 400, "invalid_grant"},
		{"BodyAndCookie", []opt{formBody("grant_type", "refresh_token", "refresh_token", tok.refresh), withCookie(core.DefaultRefreshCookie, tok.refresh)}, 400, "invalid_request"},
		{"BodyTooLarge", []opt{formBody("grant_type", "refresh_token", "refresh_token", strings.Repeat("a", 70<<10))}, 413, "invalid_request"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			path := prefix + "/refresh"
			if tc.name == "TokenInQueryIgnored" {
				path += "?grant_type=refresh_token&refresh_token=" + tok.refresh
			}
			e.do("POST", path, tc.opts...).wantError(t, tc.status, tc.code).wantNoTokens(t, true)
		})
	}
	t.Run("StillValidAfterRefusals", func(t *testing.T) {
		e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", tok.refresh)).tokens(t)
	})

	t.Run("CrossSiteCookie", func(t *testing.T) {
		e := s.newEnv(t, core.WithAllowedOrigins("https://app.example.com"))
		b := e.browser()
		b.callback(b.authorize(b.startLogin(prefix+"/login")), false).want(t, http.StatusFound)
		for _, h := range [][2]string{
			{"Origin", "https://evil.example"},
			{"Origin", "null"},
			{"Sec-Fetch-Site", "cross-site"},
			{"Sec-Fetch-Site", "same-site"},
		} {
			b.do("POST", prefix+"/refresh", header(h[0], h[1])).wantError(t, http.StatusForbidden, "access_denied").wantNoTokens(t, true)
		}
		for _, hs := range [][]opt{
			{header("Sec-Fetch-Site", "same-origin")},
			{header("Origin", e.base)},
			{header("Origin", "https://app.example.com"), header("Sec-Fetch-Site", "same-site")},
			nil, // no browser headers at all: not a browser, no ambient cookie to abuse
		} {
			r := b.do("POST", prefix+"/refresh", hs...)
			if r.want(t, http.StatusOK).str(t, "access_token") == "" {
				t.Fatalf("same-origin cookie refresh: %s", r)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		// 50 clients present one refresh token at the same instant: exactly one gets
		// 200 and tokens, every other one 400 invalid_grant, and the reuse ends the
		// session, the winner's new tokens included (SECURITY 34).
		e := s.newEnv(t)
		tok := e.signIn()
		const n = 50
		type result struct {
			status int
			body   []byte
			err    error
		}
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			results = make([]result, n)
			// A transport of its own, without keep-alive: no connection of the burst is
			// left open to hold up the server's shutdown.
			transport = &http.Transport{DisableKeepAlives: true}
			client    = &http.Client{Transport: transport, Timeout: 20 * time.Second}
		)
		t.Cleanup(transport.CloseIdleConnections)
		for i := range n {
			wg.Go(func() {
				req, err := http.NewRequest("POST", e.base+prefix+"/refresh",
					strings.NewReader("grant_type=refresh_token&refresh_token="+url.QueryEscape(tok.refresh)))
				if err != nil {
					results[i].err = err
					return
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				<-start
				resp, err := client.Do(req)
				if err != nil {
					results[i].err = err
					return
				}
				defer resp.Body.Close()
				results[i].status = resp.StatusCode
				results[i].body, results[i].err = io.ReadAll(resp.Body)
			})
		}
		close(start)
		wg.Wait()
		var winner map[string]any
		wins := 0
		for i, r := range results {
			var m map[string]any
			switch {
			case r.err != nil:
				t.Fatalf("request %d: %v", i, r.err)
			case json.Unmarshal(r.body, &m) != nil:
				t.Fatalf("request %d: %d %s is not JSON", i, r.status, r.body)
			case r.status == http.StatusOK:
				wins++
				winner = m
			case r.status != http.StatusBadRequest || m["error"] != "invalid_grant" || m["access_token"] != nil:
				t.Fatalf("request %d: %d %s, want 200 or 400 invalid_grant", i, r.status, r.body)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d concurrent refreshes of one token answered 200, want exactly 1", wins, n)
		}
		access, _ := winner["access_token"].(string)
		refresh, _ := winner["refresh_token"].(string)
		if access == "" || refresh == "" {
			t.Fatalf("the winner got %v, want both tokens", winner)
		}
		e.do("GET", "/api/protected", bearer(access)).wantChallenge(t, "invalid_token")
		e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", refresh)).wantError(t, 400, "invalid_grant")
		e.do("GET", "/api/protected", bearer(tok.access)).wantChallenge(t, "invalid_token")
	})

	t.Run("ExpiredSession", func(t *testing.T) {
		e := s.newEnv(t, core.WithRefreshTTL(time.Hour))
		tok := e.signIn()
		e.clock.Advance(time.Hour + time.Second)
		e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", tok.refresh)).wantError(t, 400, "invalid_grant")
	})
}

func testLogout(t *testing.T, s *suite) {
	// after checks that nothing of the session of tok works any more.
	after := func(t *testing.T, e *env, tok tokens) {
		t.Helper()
		e.do("GET", "/api/protected", bearer(tok.access)).wantChallenge(t, "invalid_token")
		e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", tok.refresh)).wantError(t, 400, "invalid_grant")
	}
	cleared := func(t *testing.T, r *reply) {
		t.Helper()
		c := r.cookie(core.DefaultRefreshCookie)
		if c == nil || c.Value != "" || c.MaxAge >= 0 || c.Path != prefix {
			t.Fatalf("refresh cookie not cleared with Path=%s and Max-Age=0: %v", prefix, c)
		}
	}

	t.Run("Bearer", func(t *testing.T) {
		e := s.newEnv(t)
		tok, other := e.signIn(), e.signIn()
		r := e.do("POST", prefix+"/logout", bearer(tok.access)).want(t, http.StatusOK)
		if r.json(t)["result"] != true {
			t.Fatalf("logout answered %s", r)
		}
		cleared(t, r)
		after(t, e, tok)
		if e.email(other.access) != janeEmail {
			t.Fatal("logout ended another session of the user")
		}
	})

	t.Run("RefreshTokenInBody", func(t *testing.T) {
		e := s.newEnv(t)
		bodies := []func(string) opt{
			func(rt string) opt { return formBody("refresh_token", rt) },
			func(rt string) opt { return jsonBody(map[string]string{"refresh_token": rt}) },
		}
		for _, body := range bodies {
			tok := e.signIn()
			// A client's HTTP Basic credentials are no bearer token: ignored.
			e.do("POST", prefix+"/logout", body(tok.refresh), header("Authorization", "Basic YXBwOnNlY3JldA==")).want(t, http.StatusOK)
			after(t, e, tok)
			// Once more: nothing left to end, still a success.
			e.do("POST", prefix+"/logout", body(tok.refresh)).want(t, http.StatusOK)
		}
	})

	t.Run("Cookie", func(t *testing.T) {
		e := s.newEnv(t)
		b := e.browser()
		rc := b.callback(b.authorize(b.startLogin(prefix+"/login")), false).cookie(core.DefaultRefreshCookie)
		at := b.do("POST", prefix+"/refresh").want(t, 200).str(t, "access_token")
		rt := b.do("POST", prefix+"/refresh").want(t, 200).cookie(core.DefaultRefreshCookie).Value
		// Cross-site, the cookie-borne logout is refused and changes nothing: no cookie is
		// cleared and the session lives on (SECURITY 24).
		for _, h := range [][2]string{{"Origin", "https://evil.example"}, {"Origin", "null"}, {"Sec-Fetch-Site", "cross-site"}} {
			b.do("POST", prefix+"/logout", header(h[0], h[1])).wantError(t, http.StatusForbidden, "access_denied").wantNoTokens(t, false)
		}
		if e.email(at) != janeEmail {
			t.Fatal("a refused cross-site logout ended the session")
		}
		r := b.do("POST", prefix+"/logout", header("Origin", e.base)).want(t, http.StatusOK)
		cleared(t, r)
		after(t, e, tokens{access: at, refresh: rt})
		after(t, e, tokens{access: at, refresh: rc.Value})
		b.do("POST", prefix+"/logout").wantChallenge(t, "")
	})

	t.Run("HeaderAndCookie", func(t *testing.T) {
		e := s.newEnv(t)
		tok := e.signIn()
		e.do("POST", prefix+"/logout", bearer(tok.access), withCookie(core.DefaultRefreshCookie, tok.refresh)).
			wantError(t, http.StatusBadRequest, "invalid_request")
		if e.email(tok.access) != janeEmail {
			t.Fatal("a refused logout ended the session")
		}
		// The same for a refresh token in the body, form or JSON: one credential per
		// request (RFC 6750 §2), and a refusal clears no cookie.
		for _, body := range []opt{formBody("refresh_token", tok.refresh), jsonBody(map[string]string{"refresh_token": tok.refresh})} {
			e.do("POST", prefix+"/logout", bearer(tok.access), body).
				wantError(t, http.StatusBadRequest, "invalid_request").wantNoTokens(t, false)
		}
		if e.email(tok.access) != janeEmail {
			t.Fatal("a refused logout ended the session")
		}
		e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", tok.refresh)).tokens(t)
	})

	t.Run("ClearedLikeSet", func(t *testing.T) {
		// With a cookie Domain, every answer that clears a cookie names the Domain and
		// Path it was set with, and Max-Age=0 (SECURITY 21): the state cookie at the
		// callback; the refresh cookie at logout by bearer and by cookie, logout/all and
		// a refused cookie refresh.
		const domain = "authtest.example"
		e := s.newEnv(t, core.WithCookies(core.CookieOptions{Domain: domain}))
		// The browser's jar keeps no cookie of another domain: the state cookie is
		// carried by hand.
		signIn := func(opts ...opt) *reply {
			t.Helper()
			b := e.browser()
			login := b.do("GET", prefix+"/login").want(t, http.StatusFound)
			state := login.cookie(core.DefaultStateCookie)
			if state == nil || state.Domain != domain || state.Path != prefix {
				t.Fatalf("state cookie set as %v, want Domain=%s Path=%s", state, domain, prefix)
			}
			cb := b.do("GET", b.authorize(login.header.Get("Location")), append(opts, withCookie(state.Name, state.Value))...)
			if c := cb.cookie(core.DefaultStateCookie); c == nil || c.MaxAge >= 0 || c.Domain != domain || c.Path != prefix {
				t.Fatalf("state cookie cleared as %v, want Domain=%s Path=%s Max-Age=0", c, domain, prefix)
			}
			return cb
		}
		set := signIn().want(t, http.StatusFound).cookie(core.DefaultRefreshCookie)
		if set == nil || set.Value == "" || set.Domain != domain || set.Path != prefix {
			t.Fatalf("refresh cookie set as %v, want Domain=%s Path=%s", set, domain, prefix)
		}
		tok := signIn(header("Accept", "application/json")).tokens(t)
		other := signIn(header("Accept", "application/json")).tokens(t)
		for _, tc := range []struct {
			name string
			r    func() *reply
		}{
			{"LogoutBearer", func() *reply { return e.do("POST", prefix+"/logout", bearer(tok.access)).want(t, http.StatusOK) }},
			{"LogoutCookie", func() *reply {
				return e.do("POST", prefix+"/logout", withCookie(core.DefaultRefreshCookie, set.Value)).want(t, http.StatusOK)
			}},
			{"LogoutAll", func() *reply { return e.do("POST", prefix+"/logout/all", bearer(other.access)).want(t, http.StatusOK) }},
			{"RefusedCookieRefresh", func() *reply {
				return e.do("POST", prefix+"/refresh", withCookie(core.DefaultRefreshCookie, "garbage")).wantError(t, 400, "invalid_grant")
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.r()
				c := r.cookie(core.DefaultRefreshCookie)
				if c == nil || c.Value != "" || c.MaxAge >= 0 || c.Path != set.Path || c.Domain != set.Domain {
					t.Fatalf("refresh cookie cleared as %v, want Domain=%s Path=%s Max-Age=0", c, set.Domain, set.Path)
				}
				raw := ""
				for _, h := range r.header.Values("Set-Cookie") {
					if strings.HasPrefix(h, core.DefaultRefreshCookie+"=") {
						raw = h
					}
				}
				if !strings.Contains(raw, "Max-Age=0") {
					t.Fatalf("Set-Cookie %q lacks Max-Age=0", raw)
				}
			})
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		e := s.newEnv(t)
		tok := e.signIn()
		e.do("POST", prefix+"/logout").wantChallenge(t, "")
		e.do("POST", prefix+"/logout", bearer("garbage")).wantChallenge(t, "invalid_token")
		e.do("POST", prefix+"/logout", bearer(tok.refresh)).wantChallenge(t, "invalid_token")
		e.do("POST", prefix+"/logout?access_token="+tok.access).wantChallenge(t, "")
		e.do("GET", "/api/protected", bearer(tok.access)).want(t, http.StatusOK)
	})

	t.Run("All", func(t *testing.T) {
		e := s.newEnv(t)
		a, b := e.signIn(), e.signIn()
		e.idp.m.QueueUser(otherUser())
		c := e.signIn()
		r := e.do("POST", prefix+"/logout/all", bearer(a.access)).want(t, http.StatusOK)
		if m := r.json(t); m["result"] != true || m["sessions"] != float64(2) {
			t.Fatalf("logout/all answered %s: want result true and 2 sessions", r)
		}
		after(t, e, a)
		after(t, e, b)
		if e.email(c.access) != otherEmail {
			t.Fatal("logout/all ended another user's session")
		}
		e.do("POST", prefix+"/logout/all").wantChallenge(t, "")
		e.do("POST", prefix+"/logout/all", bearer(c.refresh)).wantChallenge(t, "invalid_token")
	})
}

func testRevoke(t *testing.T, s *suite) {
	e := s.newEnv(t)
	revoke := func(tok string) *reply { return e.do("POST", prefix+"/revoke", formBody("token", tok)) }

	t.Run("AccessToken", func(t *testing.T) {
		tok := e.signIn()
		revoke(tok.access).want(t, http.StatusOK)
		e.do("GET", "/api/protected", bearer(tok.access)).wantChallenge(t, "invalid_token")
		// Only that token: the session refreshes on.
		e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", tok.refresh)).tokens(t)
		revoke(tok.access).want(t, http.StatusOK)
	})

	t.Run("RefreshTokenEndsSession", func(t *testing.T) {
		tok := e.signIn()
		e.do("POST", prefix+"/revoke", formBody("token", tok.refresh, "token_type_hint", "refresh_token")).want(t, http.StatusOK)
		e.do("POST", prefix+"/refresh", formBody("grant_type", "refresh_token", "refresh_token", tok.refresh)).wantError(t, 400, "invalid_grant")
		e.do("GET", "/api/protected", bearer(tok.access)).wantChallenge(t, "invalid_token")
	})

	t.Run("JSON", func(t *testing.T) {
		tok := e.signIn()
		e.do("POST", prefix+"/revoke", jsonBody(map[string]string{"token": tok.access})).want(t, http.StatusOK)
		e.do("GET", "/api/protected", bearer(tok.access)).wantChallenge(t, "invalid_token")
	})

	for _, tc := range []struct{ name, token, hint string }{
		{"Garbage", "garbage", ""},
		{"GarbageJWT", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "access_token"},
		{"WrongHint", "garbage", "something_else"},
		{"Huge", strings.Repeat("x", 60<<10), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.do("POST", prefix+"/revoke", formBody("token", tc.token, "token_type_hint", tc.hint)).want(t, http.StatusOK)
		})
	}

	t.Run("Expired", func(t *testing.T) {
		e := s.newEnv(t)
		tok := e.signIn()
		e.clock.Advance(16 * time.Minute)
		revoke(tok.access).want(t, http.StatusOK)
	})

	t.Run("MissingToken", func(t *testing.T) {
		e.do("POST", prefix+"/revoke").wantError(t, http.StatusBadRequest, "invalid_request")
		e.do("POST", prefix+"/revoke", formBody("token_type_hint", "access_token")).wantError(t, http.StatusBadRequest, "invalid_request")
	})
}

func testSessions(t *testing.T, s *suite) {
	e := s.newEnv(t)
	a := e.browser()
	ta := a.signIn(prefix + "/login")
	tb := e.signIn()
	e.idp.m.QueueUser(otherUser())
	tc := e.signIn()

	list := func(at string) []map[string]any {
		t.Helper()
		r := e.do("GET", prefix+"/sessions", bearer(at), header("User-Agent", "authtest")).want(t, http.StatusOK).wantNoStore(t)
		var out []map[string]any
		for _, v := range r.json(t)["sessions"].([]any) {
			out = append(out, v.(map[string]any))
		}
		if strings.Contains(string(r.body), ta.refresh) || strings.Contains(string(r.body), "\"previous\"") {
			t.Fatalf("session list shows refresh token data: %s", r)
		}
		return out
	}
	t.Run("List", func(t *testing.T) {
		ss := list(ta.access)
		if len(ss) != 2 {
			t.Fatalf("%d sessions, want 2", len(ss))
		}
		current := 0
		for _, s := range ss {
			if s["id"] == "" || s["created_at"] == nil || s["expires_at"] == nil {
				t.Fatalf("session %v lacks id or times", s)
			}
			if s["current"] == true {
				current++
			}
		}
		if current != 1 {
			t.Fatalf("%d sessions marked current, want 1", current)
		}
	})
	t.Run("EndAnotherUsersSession", func(t *testing.T) {
		theirs := list(tc.access)[0]["id"].(string)
		e.do("DELETE", prefix+"/sessions/"+theirs, bearer(ta.access)).want(t, http.StatusNotFound)
		e.do("DELETE", prefix+"/sessions/unknown", bearer(ta.access)).want(t, http.StatusNotFound)
		if e.email(tc.access) != otherEmail {
			t.Fatal("another user's session was ended")
		}
	})
	t.Run("EndOwnSession", func(t *testing.T) {
		var sid string
		for _, s := range list(ta.access) {
			if s["current"] != true {
				sid = s["id"].(string)
			}
		}
		r := e.do("DELETE", prefix+"/sessions/"+sid, bearer(ta.access)).want(t, http.StatusOK)
		if r.json(t)["result"] != true {
			t.Fatalf("DELETE answered %s", r)
		}
		e.do("GET", "/api/protected", bearer(tb.access)).wantChallenge(t, "invalid_token")
		if n := len(list(ta.access)); n != 1 {
			t.Fatalf("%d sessions left, want 1", n)
		}
	})
	t.Run("Unauthenticated", func(t *testing.T) {
		e.do("GET", prefix+"/sessions").wantChallenge(t, "")
		e.do("DELETE", prefix+"/sessions/x").wantChallenge(t, "")
		e.do("GET", prefix+"/me").wantChallenge(t, "")
		e.do("GET", prefix+"/me", bearer(ta.refresh)).wantChallenge(t, "invalid_token")
	})
}
