package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// CreateSession stores sess, with its key expiring at sess.PurgeAt(). It fails with
// ErrSessionExists if a session with the same ID exists.
func (s *Store) CreateSession(ctx context.Context, sess *core.Session) error {
	if s.closed.Load() {
		return closedError("CreateSession")
	}
	if sess == nil {
		return errors.New("redisstore: CreateSession of a nil session")
	}
	fields, err := encodeSession(sess)
	if err != nil {
		return err
	}
	args := append([]any{s.keys.prefix, sess.ID, sess.Identity.Subject, encodeTime(sess.PurgeAt())}, fields...)
	created, err := createScript.Run(ctx, s.rdb, []string{s.keys.session(sess.ID), s.keys.sessionIndex()}, args...).Int()
	if err != nil {
		return s.fail("CreateSession", err)
	}
	if created == 0 {
		return fmt.Errorf("%w: %q", ErrSessionExists, sess.ID)
	}
	return nil
}

// Session returns the session sid, or (nil, nil) if there is none.
func (s *Store) Session(ctx context.Context, sid string) (*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("Session")
	}
	h, err := s.rdb.HGetAll(ctx, s.keys.session(sid)).Result()
	if err != nil {
		return nil, s.fail("Session", err)
	}
	if len(h) == 0 {
		return nil, nil
	}
	return decodeSession(h)
}

// Sessions returns every session of subject, in no particular order, read in one
// script.
func (s *Store) Sessions(ctx context.Context, subject string) ([]*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("Sessions")
	}
	res, err := sessionsScript.Run(ctx, s.rdb, []string{s.keys.subject(subject)}, s.keys.prefix).Slice()
	if err != nil {
		return nil, s.fail("Sessions", err)
	}
	list := make([]*core.Session, 0, len(res))
	for _, r := range res {
		h, err := hash(r)
		if err != nil {
			return nil, failed("Sessions", err)
		}
		sess, err := decodeSession(h)
		if err != nil {
			return nil, err
		}
		list = append(list, sess)
	}
	return list, nil
}

// Rotate checks r against the session and swaps its refresh token, as core.Store
// describes, in one script: of concurrent rotations, on any number of instances, one
// runs at a time. The session's key and index entries move to its new PurgeAt.
func (s *Store) Rotate(ctx context.Context, r core.Rotation) (*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("Rotate")
	}
	idle := "" // IdleTimeout 0: IdleExpiresAt = ExpiresAt
	if r.IdleTimeout != 0 {
		idle = encodeTime(r.Now.Add(r.IdleTimeout))
	}
	res, err := rotateScript.Run(ctx, s.rdb, []string{s.keys.session(r.SessionID), s.keys.sessionIndex()},
		s.keys.prefix, r.SessionID, r.Presented, r.Next, encodeTime(r.Now), encodeTime(r.Now.Add(r.Grace)),
		idle, encodeTime(r.AccessExpiresAt)).Slice()
	if err != nil {
		return nil, s.fail("Rotate", err)
	}
	code, _ := res[0].(int64)
	switch {
	case code == rotateNotFound:
		return nil, core.ErrSessionNotFound
	case code == rotateExpired:
		return nil, core.ErrSessionExpired
	case code == rotateReused:
		return nil, core.ErrRefreshReused
	case code != rotateOK || len(res) != 2:
		return nil, failed("Rotate", fmt.Errorf("unexpected reply %v", res))
	}
	h, err := hash(res[1])
	if err != nil {
		return nil, failed("Rotate", err)
	}
	return decodeSession(h)
}

// EndSession deletes the session sid and, in the same script, revokes its id until
// its AccessExpiresAt and publishes the revocation to every instance. It returns the
// session as it was, or (nil, nil) if there was none.
func (s *Store) EndSession(ctx context.Context, sid string) (*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("EndSession")
	}
	res, err := endScript.Run(ctx, s.rdb,
		[]string{s.keys.session(sid), s.keys.sessionIndex(), s.keys.revokedSession(sid), s.keys.revocations()},
		s.keys.prefix, sid, s.channel).Slice()
	if err != nil {
		// As in RevokeToken: the script may have run.
		s.sessions.Add(sid)
		return nil, s.fail("EndSession", err)
	}
	if len(res) == 0 {
		return nil, nil
	}
	s.sessions.Add(sid)
	h, err := hash(res)
	if err != nil {
		return nil, failed("EndSession", err)
	}
	return decodeSession(h)
}

// EndSessions deletes every session of subject and, in the same script, revokes each
// one's id until its AccessExpiresAt and publishes each revocation to every instance,
// as EndSession does for one. It returns the sessions as they were, in no particular
// order; none is an empty list. When the reply is lost the script may have run: the
// revocations then reach this instance's filters through the channel, as they reach
// every other instance's (and while the subscription is down, IsRevoked asks Redis).
func (s *Store) EndSessions(ctx context.Context, subject string) ([]*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("EndSessions")
	}
	res, err := endAllScript.Run(ctx, s.rdb,
		[]string{s.keys.subject(subject), s.keys.sessionIndex(), s.keys.revocations()},
		s.keys.prefix, subject, s.channel).Slice()
	if err != nil {
		return nil, s.fail("EndSessions", err)
	}
	hashes := make([]map[string]string, 0, len(res))
	for _, r := range res {
		h, err := hash(r)
		if err != nil {
			return nil, failed("EndSessions", err)
		}
		// This instance sees its own revocations at once, before the channel brings them.
		s.sessions.Add(h["id"])
		hashes = append(hashes, h)
	}
	list := make([]*core.Session, 0, len(hashes))
	for _, h := range hashes {
		sess, err := decodeSession(h)
		if err != nil {
			return nil, err
		}
		list = append(list, sess)
	}
	return list, nil
}

// A session is a hash: its id, its subject, meta (the JSON of what no script reads:
// identity, user agent and IP), its times in encodeTime's form, its refresh token ids,
// and purge, its PurgeAt, which the scripts keep current.
type sessionMeta struct {
	Identity  core.Identity `json:"identity"`
	UserAgent string        `json:"ua,omitempty"`
	IP        string        `json:"ip,omitempty"`
}

// encodeSession returns the field/value pairs of the hash of sess.
func encodeSession(sess *core.Session) ([]any, error) {
	meta, err := json.Marshal(sessionMeta{sess.Identity, sess.UserAgent, sess.IP})
	if err != nil {
		return nil, fmt.Errorf("redisstore: session %q: %w", sess.ID, err)
	}
	return []any{
		"id", sess.ID,
		"sub", sess.Identity.Subject,
		"meta", meta,
		"created", encodeTime(sess.CreatedAt),
		"last", encodeTime(sess.LastUsedAt),
		"exp", encodeTime(sess.ExpiresAt),
		"idle", encodeTime(sess.IdleExpiresAt),
		"acc", encodeTime(sess.AccessExpiresAt),
		"cur", sess.Current,
		"prev", sess.Previous,
		"prevu", encodeTime(sess.PreviousUntil),
		"purge", encodeTime(sess.PurgeAt()),
	}, nil
}

// decodeSession reads the hash of a session. A hash it cannot read is a store failure.
func decodeSession(h map[string]string) (*core.Session, error) {
	var meta sessionMeta
	if err := json.Unmarshal([]byte(h["meta"]), &meta); err != nil {
		return nil, failed("decode session", fmt.Errorf("session %q: %w", h["id"], err))
	}
	sess := &core.Session{
		ID:        h["id"],
		Identity:  meta.Identity,
		Current:   h["cur"],
		Previous:  h["prev"],
		UserAgent: meta.UserAgent,
		IP:        meta.IP,
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{
		{"created", &sess.CreatedAt},
		{"last", &sess.LastUsedAt},
		{"exp", &sess.ExpiresAt},
		{"idle", &sess.IdleExpiresAt},
		{"acc", &sess.AccessExpiresAt},
		{"prevu", &sess.PreviousUntil},
	} {
		t, err := decodeTime(h[f.name])
		if err != nil {
			return nil, failed("decode session", fmt.Errorf("session %q: %s: %w", h["id"], f.name, err))
		}
		*f.dst = t
	}
	return sess, nil
}

// hash turns a script's HGETALL reply, a flat list of fields and values, into a map.
func hash(v any) (map[string]string, error) {
	list, ok := v.([]any)
	if !ok || len(list)%2 != 0 {
		return nil, fmt.Errorf("unexpected hash reply %T", v)
	}
	h := make(map[string]string, len(list)/2)
	for i := 0; i < len(list); i += 2 {
		k, ok1 := list[i].(string)
		v, ok2 := list[i+1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("unexpected hash reply %T, %T", list[i], list[i+1])
		}
		h[k] = v
	}
	return h, nil
}
