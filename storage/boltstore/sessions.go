package boltstore

import (
	"bytes"
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/core"
	bolt "go.etcd.io/bbolt"
)

// CreateSession stores a copy of sess, durably. It fails with ErrSessionExists, and
// changes nothing, if a session with its ID is stored; with ErrInvalidID if its ID or
// subject is empty or oversized.
func (s *Store) CreateSession(ctx context.Context, sess *core.Session) error {
	if s.closed.Load() {
		return closedError("create session")
	}
	if sess == nil || !validID(sess.ID) || !validID(sess.Identity.Subject) {
		return failed("create session", ErrInvalidID)
	}
	data, err := encodeSession(sess) // the copy: later changes to sess do not reach it
	if err != nil {
		return failed("create session", err)
	}
	// PurgeAt from the stored form, without monotonic clock readings, so that it is
	// the one Rotate, EndSession and Purge compute when they read the session back.
	stored, err := decodeSession(data)
	if err != nil {
		return failed("create session", err)
	}
	id, subject, purgeAt := sess.ID, sess.Identity.Subject, timeKey(stored.PurgeAt())
	var exists bool
	err = s.update(ctx, "create session", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSessions)
		if exists = b.Get([]byte(id)) != nil; exists {
			return nil
		}
		if err := b.Put([]byte(id), data); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSubjects).Put(subjectKey(subject, id), nil); err != nil {
			return err
		}
		return tx.Bucket(bucketExpiry).Put(expiryKey(purgeAt, kindRecord, id), nil)
	}, nil)
	if err != nil {
		return err
	}
	if exists {
		return failed("create session", ErrSessionExists)
	}
	return nil
}

// Session returns the session with this id, or (nil, nil) if there is none. The
// session returned is decoded afresh: the caller's to keep.
func (s *Store) Session(ctx context.Context, sid string) (*core.Session, error) {
	var sess *core.Session
	err := s.view(ctx, "session", func(tx *bolt.Tx) error {
		if sid == "" {
			return nil
		}
		raw := tx.Bucket(bucketSessions).Get([]byte(sid))
		if raw == nil {
			return nil
		}
		var err error
		sess, err = decodeSession(raw)
		return err
	})
	if err != nil {
		return nil, err
	}
	return sess, nil
}

// Sessions returns every stored session of subject, expired ones not yet purged
// included, by a prefix scan of the subject index.
func (s *Store) Sessions(ctx context.Context, subject string) ([]*core.Session, error) {
	var list []*core.Session
	err := s.view(ctx, "sessions", func(tx *bolt.Tx) error {
		list = nil
		if subject == "" {
			return nil
		}
		sessions := tx.Bucket(bucketSessions)
		c := tx.Bucket(bucketSubjects).Cursor()
		prefix := subjectPrefix(subject)
		for k, _ := c.Seek(prefix); hasPrefix(k, prefix); k, _ = c.Next() {
			raw := sessions.Get(k[len(prefix):])
			if raw == nil {
				continue
			}
			sess, err := decodeSession(raw)
			if err != nil {
				return err
			}
			// A longer subject containing a 0 byte shares the prefix: skip its sessions.
			if sess.Identity.Subject == subject {
				list = append(list, sess)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// Rotate is the atomic check-and-swap of a refresh, in one transaction, exactly as
// core.Store documents it (by core.Session.ApplyRotation). The writer makes writes one after another, also within a
// shared commit, so of concurrent rotations presenting the same token one sees it as
// Current and the others see it replaced.
func (s *Store) Rotate(ctx context.Context, r core.Rotation) (*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("rotate")
	}
	if !validID(r.SessionID) {
		return nil, core.ErrSessionNotFound
	}
	// Compare and store wall-clock times only, as they are read back (see CreateSession).
	r.Now, r.AccessExpiresAt = r.Now.Round(0), r.AccessExpiresAt.Round(0)
	var (
		out    *core.Session
		answer error
	)
	err := s.update(ctx, "rotate", func(tx *bolt.Tx) error {
		out, answer = nil, nil
		b := tx.Bucket(bucketSessions)
		raw := b.Get([]byte(r.SessionID))
		if raw == nil {
			answer = core.ErrSessionNotFound
			return nil
		}
		sess, err := decodeSession(raw)
		if err != nil {
			return err
		}
		oldPurge := timeKey(sess.PurgeAt())
		if answer = sess.ApplyRotation(r); answer != nil {
			return nil
		}
		data, err := encodeSession(sess)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(r.SessionID), data); err != nil {
			return err
		}
		if newPurge := timeKey(sess.PurgeAt()); !bytes.Equal(oldPurge, newPurge) {
			idx := tx.Bucket(bucketExpiry)
			if err := idx.Delete(expiryKey(oldPurge, kindRecord, r.SessionID)); err != nil {
				return err
			}
			if err := idx.Put(expiryKey(newPurge, kindRecord, r.SessionID), nil); err != nil {
				return err
			}
		}
		out = sess
		return nil
	}, nil)
	switch {
	case err != nil:
		return nil, err
	case answer != nil:
		return nil, answer
	}
	return out, nil
}

// EndSession deletes the session and, in the same transaction, revokes its id until
// its AccessExpiresAt (or later, if it is revoked until later already). It returns the
// session as it was, or (nil, nil) if there was none.
func (s *Store) EndSession(ctx context.Context, sid string) (*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("end session")
	}
	if !validID(sid) {
		return nil, nil
	}
	var out *core.Session
	err := s.update(ctx, "end session", func(tx *bolt.Tx) error {
		out = nil
		raw := tx.Bucket(bucketSessions).Get([]byte(sid))
		if raw == nil {
			return nil
		}
		sess, err := decodeSession(raw)
		if err != nil {
			return err
		}
		if err := endSession(tx, sid, sess); err != nil {
			return err
		}
		out = sess
		return nil
	}, func() {
		if out != nil {
			s.added(kindSession, sid)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EndSessions deletes every session of subject and revokes each one's id until its
// AccessExpiresAt (or later, if it is revoked until later already), in one transaction
// with one commit, found by a prefix scan of the subject index. It returns the
// sessions as they were, in no particular order; none is an empty list.
func (s *Store) EndSessions(ctx context.Context, subject string) ([]*core.Session, error) {
	if s.closed.Load() {
		return nil, closedError("end sessions")
	}
	if !validID(subject) {
		return []*core.Session{}, nil // never stored: CreateSession refuses it
	}
	var out []*core.Session
	err := s.update(ctx, "end sessions", func(tx *bolt.Tx) error {
		out = []*core.Session{}
		sessions := tx.Bucket(bucketSessions)
		prefix := subjectPrefix(subject)
		// The ids first: deleting under a bbolt cursor makes it skip keys.
		var ids []string
		c := tx.Bucket(bucketSubjects).Cursor()
		for k, _ := c.Seek(prefix); hasPrefix(k, prefix); k, _ = c.Next() {
			ids = append(ids, string(k[len(prefix):]))
		}
		for _, sid := range ids {
			raw := sessions.Get([]byte(sid))
			if raw == nil {
				continue
			}
			sess, err := decodeSession(raw)
			if err != nil {
				return err
			}
			// A longer subject containing a 0 byte shares the prefix: not its sessions.
			if sess.Identity.Subject != subject {
				continue
			}
			if err := endSession(tx, sid, sess); err != nil {
				return err
			}
			out = append(out, sess)
		}
		return nil
	}, func() {
		for _, sess := range out {
			s.added(kindSession, sess.ID)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// deleteSession deletes the session sid, stored as sess, with its subject index entry
// and its expiry index entry.
func deleteSession(tx *bolt.Tx, sid string, sess *core.Session) error {
	if err := tx.Bucket(bucketSessions).Delete([]byte(sid)); err != nil {
		return err
	}
	return deleteIndexEntries(tx, sid, sess.Identity.Subject, timeKey(sess.PurgeAt()))
}

// endSession deletes the session sid, stored as sess, and revokes its id until its
// AccessExpiresAt, in tx. It leaves the session's subject and expiry index entries
// for Purge to delete with the revocation, in whose expiry index entry it notes them
// (leftovers): at 100,000 sessions each of the two is a leaf page and a branch page of
// its own, at a random place, 60 % of the pages a logout's commit wrote, while Purge
// deletes thousands of them in one transaction, where neighbours share pages. The
// session itself is gone at once, in the same transaction as its revocation, so no
// answer changes: every reader of the indexes skips an entry whose session is gone.
func endSession(tx *bolt.Tx, sid string, sess *core.Session) error {
	if err := tx.Bucket(bucketSessions).Delete([]byte(sid)); err != nil {
		return err
	}
	purgeAt := timeKey(sess.PurgeAt())
	noted, err := putRevocation(tx, kindSession, sid, sess.AccessExpiresAt, leftovers(purgeAt, sess.Identity.Subject))
	if err != nil || noted {
		return err
	}
	// The id was revoked until later already, or its entry notes the leftovers of an
	// earlier session of the same id: delete these now.
	return deleteIndexEntries(tx, sid, sess.Identity.Subject, purgeAt)
}

// deleteIndexEntries deletes the subject index entry of the session sid of subject,
// and its expiry index entry at purgeAt (a timeKey).
func deleteIndexEntries(tx *bolt.Tx, sid, subject string, purgeAt []byte) error {
	if err := tx.Bucket(bucketSubjects).Delete(subjectKey(subject, sid)); err != nil {
		return err
	}
	return tx.Bucket(bucketExpiry).Delete(expiryKey(purgeAt, kindRecord, sid))
}

// leftovers is what the expiry index entry of a session's revocation notes of the
// index entries endSession left: timeKey(PurgeAt) ‖ subject. An entry without them is
// empty, as every entry was before.
func leftovers(purgeAt []byte, subject string) []byte {
	return append(append(make([]byte, 0, len(purgeAt)+len(subject)), purgeAt...), subject...)
}

// deleteLeftovers deletes the index entries that leftovers v notes for the session id,
// ended, unless they are those of a session stored under the same id since.
func deleteLeftovers(tx *bolt.Tx, id string, v []byte) error {
	if len(v) < 9 {
		return fmt.Errorf("%w: expiry index entry of session %q has a %d-byte value", ErrCorrupt, id, len(v))
	}
	purgeAt, subject := v[:8], string(v[8:])
	if raw := tx.Bucket(bucketSessions).Get([]byte(id)); raw != nil {
		sess, err := decodeSession(raw)
		if err != nil {
			return err
		}
		if sess.Identity.Subject == subject {
			subject = "" // its own entry: keep it
		}
		if bytes.Equal(timeKey(sess.PurgeAt()), purgeAt) {
			purgeAt = nil
		}
	}
	if subject != "" {
		if err := tx.Bucket(bucketSubjects).Delete(subjectKey(subject, id)); err != nil {
			return err
		}
	}
	if purgeAt != nil {
		return tx.Bucket(bucketExpiry).Delete(expiryKey(purgeAt, kindRecord, id))
	}
	return nil
}
