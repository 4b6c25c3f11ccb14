package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/redis/go-redis/v9"
)

// A session lives in its shard (keyed by its id, so that Session, Rotate and
// EndSession find it from the id alone), and is filed under its subject in the
// subject index, which lies in another slot. The index is kept so that every
// session whose tokens may be out is in it, whatever fails when:
//
//   - CreateSession stores the session first, then files it: a session not filed yet
//     has not been handed out (CreateSession has not returned), and a member whose
//     session is gone is gone for good, which is what lets Sessions and EndSessions
//     drop such members.
//   - A member's score is the second until which its session may live at most
//     (indexSecond, kept in the session's ix field): the index drops members whose
//     second has passed. A rotation that would make the session live longer (an
//     access token outliving the session's absolute end) raises the member first.
//   - EndSession and Purge delete the session, then drop the member.

// CreateSession stores sess, with its key expiring at sess.PurgeAt(), then files it
// under its subject. It fails with ErrSessionExists if a session with the same ID
// exists.
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
	args := append([]any{sess.ID, encodeTime(sess.PurgeAt())}, fields...)
	created, err := createScript.Run(ctx, s.rdb,
		[]string{s.keys.session(sess.ID), s.keys.sessionIndex(shardOf(sess.ID))}, args...).Int()
	if err != nil {
		return s.fail("CreateSession", err)
	}
	if created == 0 {
		return fmt.Errorf("%w: %q", ErrSessionExists, sess.ID)
	}
	// On failure the session stays stored but unfiled, its refresh token never handed
	// out; it expires at its PurgeAt.
	err = subjectScript.Run(ctx, s.rdb, []string{s.keys.subject(sess.Identity.Subject)},
		"+", sess.ID, indexSecond(sess)).Err()
	if err != nil {
		return s.fail("CreateSession", err)
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

// Sessions returns every session of subject, in no particular order: the members of
// its subject index, read in one pipeline. It is not a snapshot: a session created or
// ended meanwhile may or may not be listed. Members whose session is gone are dropped
// from the index.
func (s *Store) Sessions(ctx context.Context, subject string) ([]*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("Sessions")
	}
	ids, err := s.rdb.ZRange(ctx, s.keys.subject(subject), 0, -1).Result()
	if err != nil {
		return nil, s.fail("Sessions", err)
	}
	list := make([]*core.Session, 0, len(ids))
	if len(ids) == 0 {
		return list, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, sid := range ids {
		cmds[i] = pipe.HGetAll(ctx, s.keys.session(sid))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, s.fail("Sessions", err)
	}
	var gone []any
	for i, c := range cmds {
		h := c.Val()
		switch {
		case len(h) == 0:
			gone = append(gone, ids[i])
			continue
		case h["sub"] != subject:
			continue // filed under another subject before an Import moved it
		}
		sess, err := decodeSession(h)
		if err != nil {
			return nil, err
		}
		list = append(list, sess)
	}
	if len(gone) > 0 {
		err := subjectScript.Run(ctx, s.rdb, []string{s.keys.subject(subject)}, append([]any{"-"}, gone...)...).Err()
		if err != nil {
			return nil, s.fail("Sessions", err)
		}
	}
	return list, nil
}

// Rotate checks r against the session and swaps its refresh token, as core.Store
// describes, in one script: of concurrent rotations, on any number of instances, one
// runs at a time. The session's key and index entries move to its new PurgeAt. A
// rotation that would make the session outlive the second its subject index holds it
// until raises that second first, and runs the script again.
func (s *Store) Rotate(ctx context.Context, r core.Rotation) (*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("Rotate")
	}
	idle := "" // IdleTimeout 0: IdleExpiresAt = ExpiresAt
	if r.IdleTimeout != 0 {
		idle = encodeTime(r.Now.Add(r.IdleTimeout))
	}
	keys := []string{s.keys.session(r.SessionID), s.keys.sessionIndex(shardOf(r.SessionID))}
	filed := ""
	// Another raise is needed only when a concurrent rotation lengthened the session
	// further in between: a few tries are plenty.
	for range 4 {
		res, err := rotateScript.Run(ctx, s.rdb, keys, r.SessionID, r.Presented, r.Next, encodeTime(r.Now),
			encodeTime(r.Now.Add(r.Grace)), idle, encodeTime(r.AccessExpiresAt), filed).Slice()
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
		case code == rotateIndex && len(res) == 3:
			sub, _ := res[1].(string)
			upto, _ := res[2].(string)
			if err := subjectScript.Run(ctx, s.rdb, []string{s.keys.subject(sub)}, "+", r.SessionID, upto).Err(); err != nil {
				return nil, s.fail("Rotate", err)
			}
			filed = upto
			continue
		case code != rotateOK || len(res) != 2:
			return nil, failed("Rotate", fmt.Errorf("unexpected reply %v", res))
		}
		h, err := hash(res[1])
		if err != nil {
			return nil, failed("Rotate", err)
		}
		return decodeSession(h)
	}
	return nil, failed("Rotate", errors.New("concurrent rotations kept lengthening the session"))
}

// EndSession deletes the session sid and, in the same script, revokes its id until
// its AccessExpiresAt and publishes the revocation to every instance. It returns the
// session as it was, or (nil, nil) if there was none. The session's member of its
// subject index is dropped after; if that fails the failure is logged, not returned,
// since the session is ended: the member goes with the next Sessions or EndSessions of
// the subject, or when its second passes.
func (s *Store) EndSession(ctx context.Context, sid string) (*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("EndSession")
	}
	h := shardOf(sid)
	res, err := endScript.Run(ctx, s.rdb,
		[]string{s.keys.session(sid), s.keys.sessionIndex(h), s.keys.revokedSession(sid), s.keys.revocations(h)},
		sid, s.channel, "0", "").Slice()
	if err != nil {
		// As in RevokeToken: the script may have run.
		s.sessions.Add(sid)
		return nil, s.fail("EndSession", err)
	}
	if len(res) == 0 {
		return nil, nil
	}
	s.sessions.Add(sid)
	m, err := hash(res)
	if err != nil {
		return nil, failed("EndSession", err)
	}
	if err := subjectScript.Run(ctx, s.rdb, []string{s.keys.subject(m["sub"])}, "-", sid).Err(); err != nil {
		s.opts.logger.Warn("redisstore: EndSession: the session is ended, but its subject index still lists it",
			"sid", sid, "err", err)
	}
	return decodeSession(m)
}

// EndSessions deletes every session of subject and revokes each one's id until its
// AccessExpiresAt, publishing each revocation to every instance, as EndSession does
// for one. It returns the sessions as they were, in no particular order; none is an
// empty list.
//
// On one Redis it is one script: all the sessions or none. On a cluster the sessions
// lie in many slots, and each is ended by a script of its own, all sent at once: each
// session is ended whole or not at all, but a failure part-way leaves the sessions not
// reached yet live, and EndSessions returns an error (a second call ends them).
//
// When the reply is lost the scripts may have run: the revocations then reach this
// instance's filters through the channel, as they reach every other instance's (and
// while the subscription is down, IsRevoked asks Redis).
func (s *Store) EndSessions(ctx context.Context, subject string) ([]*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("EndSessions")
	}
	var (
		hashes []map[string]string
		err    error
	)
	if s.cluster == nil {
		hashes, err = s.endAll(ctx, subject)
	} else {
		hashes, err = s.endEach(ctx, subject)
	}
	if err != nil {
		return nil, err
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

// endAll is EndSessions in one script, on one Redis.
func (s *Store) endAll(ctx context.Context, subject string) ([]map[string]string, error) {
	res, err := endAllScript.Run(ctx, s.rdb, []string{s.keys.subject(subject)}, s.keys.prefix, subject, s.channel).Slice()
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
	return hashes, nil
}

// endEach is EndSessions on a cluster: it reads the subject index, ends each session
// listed with endScript, which checks that it is the subject's, all pipelined, then
// drops the members of the sessions ended or gone.
func (s *Store) endEach(ctx context.Context, subject string) ([]map[string]string, error) {
	ids, err := s.rdb.ZRange(ctx, s.keys.subject(subject), 0, -1).Result()
	if err != nil {
		return nil, s.fail("EndSessions", err)
	}
	calls := make([]call, len(ids))
	for i, sid := range ids {
		h := shardOf(sid)
		calls[i] = call{
			keys: []string{s.keys.session(sid), s.keys.sessionIndex(h), s.keys.revokedSession(sid), s.keys.revocations(h)},
			args: []any{sid, s.channel, "1", subject},
		}
	}
	var (
		hashes  []map[string]string
		drop    = []any{"-"}
		failure error
		unsure  int
	)
	for i, c := range s.runAll(ctx, endScript, calls) {
		sid := ids[i]
		res, err := c.Slice()
		switch {
		case errors.Is(err, redis.Nil):
			continue // another subject's session, filed here before an Import moved it
		case err != nil:
			s.sessions.Add(sid) // as in RevokeToken: the script may have run
			unsure++
			if failure == nil {
				failure = err
			}
			continue
		case len(res) == 0: // gone
		default:
			h, err := hash(res)
			if err != nil {
				return nil, failed("EndSessions", err)
			}
			s.sessions.Add(sid)
			hashes = append(hashes, h)
		}
		drop = append(drop, sid)
	}
	if failure != nil {
		return nil, s.fail("EndSessions", fmt.Errorf("%d of %d sessions may not be ended; "+
			"ending them again completes it: %w", unsure, len(ids), failure))
	}
	if len(drop) > 1 {
		if err := subjectScript.Run(ctx, s.rdb, []string{s.keys.subject(subject)}, drop...).Err(); err != nil {
			s.opts.logger.Warn("redisstore: EndSessions: the sessions are ended, but the subject index still lists them",
				"err", err)
		}
	}
	return hashes, nil
}

// A session is a hash: its id, its subject, meta (the JSON of what no script reads:
// identity, user agent and IP), its times in encodeTime's form, its refresh token ids,
// purge, its PurgeAt, which the scripts keep current, and ix, the second its subject
// index holds it until (see indexSecond).
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
		"ix", indexSecond(sess),
	}, nil
}

// indexSecond is the score of sess in its subject index: the Unix second of the latest
// its key can expire without a rotation lengthening its access tokens past its
// absolute end, max(ExpiresAt, AccessExpiresAt), which is at or after its PurgeAt
// whatever its idle expiry does.
func indexSecond(sess *core.Session) string {
	t := sess.ExpiresAt
	if sess.AccessExpiresAt.After(t) {
		t = sess.AccessExpiresAt
	}
	if p := sess.PurgeAt(); p.After(t) {
		t = p
	}
	return strconv.FormatInt(t.Unix(), 10)
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
