package memstore

import (
	"bytes"
	"context"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/core"
)

var _ core.Migrator = (*Store)(nil)

// Export calls fn with a copy of every key, session and revocation. The copies are
// taken under the read lock, as one snapshot, and fn runs after the lock is released,
// so fn may call the store. Consumed ids are not exported (see core.Migrator), nor are
// counters (Count): they are throttling state that lives a window of minutes, and a
// store that starts without them only forgets some failed attempts.
func (s *Store) Export(_ context.Context, fn func(core.Entry) error) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return core.ErrStoreClosed
	}
	entries := make([]core.Entry, 0, len(s.keys)+len(s.sessions)+len(s.tokens)+len(s.sids))
	for name, v := range s.keys {
		entries = append(entries, core.Entry{Kind: core.EntryKey, ID: name, Value: bytes.Clone(v)})
	}
	for id, sess := range s.sessions {
		entries = append(entries, core.Entry{Kind: core.EntrySession, ID: id, Session: cloneSession(sess)})
	}
	for jti, until := range s.tokens {
		entries = append(entries, core.Entry{Kind: core.EntryRevokedToken, ID: jti, Expires: until})
	}
	for sid, until := range s.sids {
		entries = append(entries, core.Entry{Kind: core.EntryRevokedSession, ID: sid, Expires: until})
	}
	s.mu.RUnlock()
	for _, e := range entries {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Import writes copies of entries under the write lock, so that the call is atomic:
// keys and sessions overwrite what has the same id (a session that changes subject
// leaves its old subject's list), revocations keep the later of two expiries.
//
// It refuses, before writing anything, an entry that fails core.Entry.Validate.
// Revocations of an empty id are skipped, as RevokeToken does.
func (s *Store) Import(_ context.Context, entries []core.Entry) error {
	for i, e := range entries {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("memstore: Import: entry %d: %w", i, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return core.ErrStoreClosed
	}
	for _, e := range entries {
		switch e.Kind {
		case core.EntryKey:
			s.keys[e.ID] = bytes.Clone(e.Value)
		case core.EntryRevokedToken:
			if e.ID != "" {
				s.revoke(s.tokens, kindToken, e.ID, e.Expires)
			}
		case core.EntryRevokedSession:
			if e.ID != "" {
				s.revoke(s.sids, kindSessionRevocation, e.ID, e.Expires)
			}
		case core.EntrySession:
			if old := s.sessions[e.ID]; old != nil {
				s.deleteSession(old)
			}
			s.putSession(cloneSession(e.Session))
		}
	}
	return nil
}
