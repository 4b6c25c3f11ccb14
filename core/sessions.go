package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Refresh exchanges a refresh token for a new access token and a new refresh token
// (RFC 6749 §6). The presented token stops working: the store swaps the session's
// current token atomically, so of concurrent refreshes with one token exactly one wins.
// Presenting a token that was already replaced is reuse (RFC 9700 §4.14.2): the whole
// session is ended, its newest tokens included, unless the token was replaced less than
// the WithRefreshGrace window ago, in which case the caller gets a fresh access token
// and the session's current refresh token. Refusals match ErrInvalidGrant.
func (a *Auth) Refresh(ctx context.Context, refreshTok string) (*Tokens, error) {
	ctx, end := a.startOp(ctx, OpRefresh)
	t, err := a.refresh(ctx, refreshTok)
	if err != nil {
		a.refreshRefused(ctx, err)
	}
	end(err)
	return t, err
}

func (a *Auth) refresh(ctx context.Context, refreshTok string) (*Tokens, error) {
	if refreshTok == "" {
		return nil, fmt.Errorf("%w: no refresh token", ErrInvalidRequest)
	}
	w, _, err := a.parse(refreshTok, refreshToken, a.refreshAud)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidGrant, err)
	}
	now := a.cfg.now()
	// Everything that can fail for reasons of ours happens before the rotation commits:
	// a client whose refresh failed retries with the same token, and that must not look
	// like reuse.
	s0, err := a.store.Session(ctx, w.Sid)
	if err != nil {
		return nil, storeErr(err)
	}
	if s0 == nil {
		return nil, ErrSessionNotFound
	}
	if s0.Identity.Subject != w.Sub {
		return nil, fmt.Errorf("%w: session does not belong to the token's subject", ErrInvalidGrant)
	}
	extra, err := a.extraClaims(ctx, s0.Identity)
	if err != nil {
		return nil, err
	}
	// Grants are decided again at every refresh, from the identity stored with the
	// session: what the hook takes away is gone from the next access token.
	grants, err := a.grants(ctx, s0.Identity)
	if err != nil {
		return nil, err
	}
	at, accessExp, err := a.mintAccess(s0, now, grants, extra)
	if err != nil {
		return nil, err
	}
	s, err := a.store.Rotate(ctx, Rotation{
		SessionID:       w.Sid,
		Presented:       w.Jti,
		Next:            newID(),
		Now:             now,
		Grace:           a.cfg.grace,
		IdleTimeout:     a.cfg.idleTimeout,
		AccessExpiresAt: accessExp.Add(a.cfg.leeway),
	})
	switch {
	case errors.Is(err, ErrRefreshReused):
		a.cfg.logger.WarnContext(ctx, "gatehouse: refresh token reuse, ending session", "sub", w.Sub, "sid", w.Sid)
		if _, endErr := a.store.EndSession(ctx, w.Sid); endErr != nil {
			return nil, storeErr(endErr)
		}
		a.emit(ctx, Event{Type: EventReuseDetected, Subject: w.Sub, SessionID: w.Sid, Time: now, Result: ResultReuse})
		return nil, err
	case errors.Is(err, ErrInvalidGrant):
		return nil, err
	case err != nil:
		return nil, storeErr(err)
	}
	rt, err := a.mintRefresh(s, now)
	if err != nil {
		return nil, err
	}
	t := a.tokens(s, now, at, accessExp, rt)
	a.emit(ctx, Event{Type: EventRefresh, Subject: s.Identity.Subject, SessionID: s.ID, Time: now, Result: ResultOK})
	return t, nil
}

// Revoke revokes one token (RFC 7009): an access token until its exp, a refresh token
// together with its whole session. A token that does not verify, has expired or is
// already revoked needs nothing done and is not an error, as RFC 7009 §2.2 asks; only a
// store failure is.
func (a *Auth) Revoke(ctx context.Context, token string) (err error) {
	ctx, end := a.startOp(ctx, OpRevoke)
	defer func() { end(err) }()
	if w, _, err := a.parse(token, accessToken, a.cfg.audience); err == nil {
		if err := a.store.RevokeToken(ctx, w.Jti, time.Unix(w.Exp, 0).Add(a.cfg.leeway)); err != nil {
			return storeErr(err)
		}
		a.emit(ctx, Event{Type: EventRevoke, Subject: w.Sub, SessionID: w.Sid, Time: a.cfg.now()})
		return nil
	}
	if w, _, err := a.parse(token, refreshToken, a.refreshAud); err == nil {
		return a.Logout(ctx, w.Sid)
	}
	return nil
}

// Logout ends the session sid: its refresh token stops working and so does every access
// token issued for it. Ending a session that does not exist is not an error.
func (a *Auth) Logout(ctx context.Context, sid string) (err error) {
	ctx, end := a.startOp(ctx, OpLogout)
	defer func() { end(err) }()
	s, err := a.store.EndSession(ctx, sid)
	if err != nil {
		return storeErr(err)
	}
	if s != nil {
		a.emit(ctx, Event{Type: EventLogout, Subject: s.Identity.Subject, SessionID: sid, Time: a.cfg.now()})
	}
	return nil
}

// LogoutAll ends every session of the subject, as "log out everywhere" or when the app
// disables a user, and returns how many it ended. It is one store transaction
// (Store.EndSessions): a failure ends all of them or none.
func (a *Auth) LogoutAll(ctx context.Context, subject string) (n int, err error) {
	ctx, end := a.startOp(ctx, OpLogoutAll)
	defer func() { end(err) }()
	ended, err := a.store.EndSessions(ctx, subject)
	if err != nil {
		return 0, storeErr(err)
	}
	a.emit(ctx, Event{Type: EventLogoutAll, Subject: subject, Time: a.cfg.now()})
	return len(ended), nil
}

// Sessions returns the subject's sessions that can still be refreshed, oldest first.
func (a *Auth) Sessions(ctx context.Context, subject string) ([]SessionInfo, error) {
	all, err := a.store.Sessions(ctx, subject)
	if err != nil {
		return nil, storeErr(err)
	}
	now := a.cfg.now()
	live := make([]SessionInfo, 0, len(all))
	for _, s := range all {
		if info := s.Info(); now.Before(info.ExpiresAt) {
			live = append(live, info)
		}
	}
	slices.SortFunc(live, func(x, y SessionInfo) int {
		return cmp.Or(x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.ID, y.ID))
	})
	return live, nil
}

// SessionInfo is a session as the app and its users see it: who, from where, since
// when and until when. It holds none of the session's refresh token ids.
type SessionInfo struct {
	ID         string    `json:"id"`
	Subject    string    `json:"sub"`
	Email      string    `json:"email,omitempty"`
	Name       string    `json:"name,omitempty"`
	Provider   string    `json:"provider,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	// ExpiresAt is when the session ends unless refreshed: the earlier of its absolute
	// end and its idle timeout.
	ExpiresAt time.Time `json:"expires_at"`
	UserAgent string    `json:"user_agent,omitempty"`
	IP        string    `json:"ip,omitempty"`
}

// Info returns the session as SessionInfo shows it.
func (s *Session) Info() SessionInfo {
	return SessionInfo{
		ID: s.ID, Subject: s.Identity.Subject, Email: s.Identity.Email, Name: s.Identity.Name,
		Provider: s.Identity.Provider, CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt,
		ExpiresAt: s.endsAt(), UserAgent: s.UserAgent, IP: s.IP,
	}
}

// evict ends the subject's oldest sessions while it has more than WithMaxSessions,
// never the one just started (keep).
func (a *Auth) evict(ctx context.Context, subject, keep string) error {
	limit := a.cfg.maxSessions
	if limit == 0 {
		return nil
	}
	all, err := a.store.Sessions(ctx, subject)
	if err != nil || len(all) <= limit {
		return err
	}
	excess := len(all) - limit
	all = slices.DeleteFunc(all, func(s *Session) bool { return s.ID == keep })
	slices.SortFunc(all, func(x, y *Session) int {
		return cmp.Or(x.CreatedAt.Compare(y.CreatedAt), strings.Compare(x.ID, y.ID))
	})
	for _, s := range all[:min(excess, len(all))] {
		ended, err := a.store.EndSession(ctx, s.ID)
		if err != nil {
			return err
		}
		if ended != nil {
			a.emit(ctx, Event{Type: EventSessionEvicted, Subject: subject, SessionID: s.ID, Time: a.cfg.now()})
		}
	}
	return nil
}
