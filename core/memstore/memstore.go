package memstore

import (
	"bytes"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
)

// Store is an in-memory core.Store. Make one with New; the zero value is not usable.
type Store struct {
	mu       sync.RWMutex
	closed   bool
	tokens   map[string]time.Time // revoked jti → until
	sids     map[string]time.Time // revoked session id → until
	sessions map[string]*core.Session
	subjects map[string]map[string]struct{} // subject → its session ids
	keys     map[string][]byte
	consumed map[string]time.Time // consumed one-time id → until
	counters map[string]counter   // Count's key → its count and window end
	expiries expiryHeap
}

var _ core.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{
		tokens:   map[string]time.Time{},
		sids:     map[string]time.Time{},
		sessions: map[string]*core.Session{},
		subjects: map[string]map[string]struct{}{},
		keys:     map[string][]byte{},
		consumed: map[string]time.Time{},
		counters: map[string]counter{},
	}
}

// RevokeToken records that the token jti is revoked until exp, keeping the later expiry
// if it is already revoked. An empty jti is ignored: IsRevoked never matches one.
func (s *Store) RevokeToken(_ context.Context, jti string, exp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return core.ErrStoreClosed
	}
	if jti != "" {
		s.revoke(s.tokens, kindToken, jti, exp)
	}
	return nil
}

// IsRevoked reports whether the token jti or the session sid is revoked.
func (s *Store) IsRevoked(_ context.Context, jti, sid string) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return false, core.ErrStoreClosed
	}
	if jti != "" {
		if _, ok := s.tokens[jti]; ok {
			return true, nil
		}
	}
	if sid != "" {
		_, ok := s.sids[sid]
		return ok, nil
	}
	return false, nil
}

// CreateSession stores a copy of sess. It fails if a session with the same ID exists.
func (s *Store) CreateSession(_ context.Context, sess *core.Session) error {
	if sess == nil {
		return errors.New("memstore: CreateSession of a nil session")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return core.ErrStoreClosed
	}
	if _, ok := s.sessions[sess.ID]; ok {
		return fmt.Errorf("memstore: session %q already exists", sess.ID)
	}
	s.putSession(cloneSession(sess))
	return nil
}

// Session returns a copy of the session sid, or (nil, nil) if there is none.
func (s *Store) Session(_ context.Context, sid string) (*core.Session, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, core.ErrStoreClosed
	}
	return cloneSession(s.sessions[sid]), nil
}

// Sessions returns copies of every session of subject, in no particular order.
func (s *Store) Sessions(_ context.Context, subject string) ([]*core.Session, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, core.ErrStoreClosed
	}
	ids := s.subjects[subject]
	list := make([]*core.Session, 0, len(ids))
	for id := range ids {
		list = append(list, cloneSession(s.sessions[id]))
	}
	return list, nil
}

// Rotate checks r against the session and swaps its refresh token, as core.Store
// describes (by core.Session.ApplyRotation), under the write lock. It returns a copy of
// the session as stored.
func (s *Store) Rotate(_ context.Context, r core.Rotation) (*core.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, core.ErrStoreClosed
	}
	sess := s.sessions[r.SessionID]
	if sess == nil {
		return nil, core.ErrSessionNotFound
	}
	purgeAt := sess.PurgeAt()
	if err := sess.ApplyRotation(r); err != nil {
		return nil, err
	}
	if next := sess.PurgeAt(); !next.Equal(purgeAt) {
		s.push(expiry{at: next, kind: kindSession, id: sess.ID})
	}
	return cloneSession(sess), nil
}

// EndSession deletes the session sid and revokes its id until its AccessExpiresAt.
// It returns the session as it was, or (nil, nil) if there was none.
func (s *Store) EndSession(_ context.Context, sid string) (*core.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, core.ErrStoreClosed
	}
	sess := s.sessions[sid]
	if sess == nil {
		return nil, nil
	}
	s.deleteSession(sess)
	s.revoke(s.sids, kindSessionRevocation, sid, sess.AccessExpiresAt)
	// Deleted, so no one else holds it: no copy needed.
	return sess, nil
}

// EndSessions deletes every session of subject and revokes each one's id until its
// AccessExpiresAt, under one hold of the write lock. It returns the sessions as they
// were, in no particular order; none is an empty list.
func (s *Store) EndSessions(_ context.Context, subject string) ([]*core.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, core.ErrStoreClosed
	}
	ids := s.subjects[subject]
	ended := make([]*core.Session, 0, len(ids))
	for id := range ids {
		ended = append(ended, s.sessions[id])
	}
	for _, sess := range ended {
		s.deleteSession(sess)
		s.revoke(s.sids, kindSessionRevocation, sess.ID, sess.AccessExpiresAt)
	}
	// Deleted, so no one else holds them: no copies needed.
	return ended, nil
}

// LoadOrStoreKey returns a copy of the value stored under name, storing a copy of value
// first if there is none.
func (s *Store) LoadOrStoreKey(_ context.Context, name string, value []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, core.ErrStoreClosed
	}
	if v, ok := s.keys[name]; ok {
		return bytes.Clone(v), nil
	}
	s.keys[name] = bytes.Clone(value)
	return bytes.Clone(value), nil
}

// Consume records that the one-time value id is used until exp and reports whether this
// call was the first, under the write lock. Consumed ids are kept apart from
// revocations. An empty id is refused.
func (s *Store) Consume(_ context.Context, id string, exp time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, core.ErrStoreClosed
	}
	if id == "" {
		return false, errors.New("memstore: Consume of an empty id")
	}
	if _, ok := s.consumed[id]; ok {
		return false, nil
	}
	s.consumed[id] = exp
	s.push(expiry{at: exp, kind: kindConsumed, id: id})
	return true, nil
}

// Count adds add to the counter key and returns its count and window end, under the
// write lock, as core.Store describes. Counters are kept apart from revocations and
// consumed ids. A counter is filed in the expiry heap once, when its window starts:
// within the window its end does not move. An empty key, add < 0 or window <= 0 is
// refused, and so is an add that would overflow the count.
func (s *Store) Count(_ context.Context, key string, add int, now time.Time, window time.Duration) (int, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, time.Time{}, core.ErrStoreClosed
	}
	if err := core.CheckCount(key, add, window); err != nil {
		return 0, time.Time{}, fmt.Errorf("memstore: Count: %w", err)
	}
	c, ok := s.counters[key]
	live := ok && c.end.After(now)
	switch {
	case add == 0 && !live:
		return 0, time.Time{}, nil
	case add == 0:
		return c.n, c.end, nil
	case live:
		if c.n > math.MaxInt-add {
			return 0, time.Time{}, fmt.Errorf("memstore: Count of key %.40q overflows", key)
		}
		c.n += add
		s.counters[key] = c
		return c.n, c.end, nil
	}
	c = counter{n: add, end: now.Add(window)}
	s.counters[key] = c
	s.push(expiry{at: c.end, kind: kindCounter, id: key})
	return c.n, c.end, nil
}

// Purge deletes revocations and consumed ids whose expiry is at or before now, counters
// whose window ended then, and sessions whose PurgeAt is, and returns how many it
// deleted. Keys are never purged.
func (s *Store) Purge(_ context.Context, now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, core.ErrStoreClosed
	}
	n := 0
	for len(s.expiries) > 0 && !s.expiries[0].at.After(now) {
		e := heap.Pop(&s.expiries).(expiry)
		// The entry may be stale: revoked again later, rotated, ended. Only the
		// current state decides.
		switch e.kind {
		case kindToken, kindSessionRevocation:
			m := s.revocations(e.kind)
			if until, ok := m[e.id]; ok && !until.After(now) {
				delete(m, e.id)
				n++
			}
		case kindSession:
			if sess := s.sessions[e.id]; sess != nil && !sess.PurgeAt().After(now) {
				s.deleteSession(sess)
				n++
			}
		case kindConsumed:
			if until, ok := s.consumed[e.id]; ok && !until.After(now) {
				delete(s.consumed, e.id)
				n++
			}
		case kindCounter:
			if c, ok := s.counters[e.id]; ok && !c.end.After(now) {
				delete(s.counters, e.id)
				n++
			}
		}
	}
	return n, nil
}

// Close releases the memory. Every call after it, Close included, returns
// core.ErrStoreClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return core.ErrStoreClosed
	}
	s.closed = true
	s.tokens, s.sids, s.sessions, s.subjects, s.keys, s.consumed, s.counters, s.expiries = nil, nil, nil, nil, nil, nil, nil, nil
	return nil
}

// revoke records id in m until exp, keeping a later expiry already there.
func (s *Store) revoke(m map[string]time.Time, k kind, id string, exp time.Time) {
	if old, ok := m[id]; ok && !exp.After(old) {
		return
	}
	m[id] = exp
	s.push(expiry{at: exp, kind: k, id: id})
}

func (s *Store) revocations(k kind) map[string]time.Time {
	if k == kindToken {
		return s.tokens
	}
	return s.sids
}

// putSession stores c, which the store owns from now on, and files it under its
// subject and its PurgeAt.
func (s *Store) putSession(c *core.Session) {
	s.sessions[c.ID] = c
	ids := s.subjects[c.Identity.Subject]
	if ids == nil {
		ids = map[string]struct{}{}
		s.subjects[c.Identity.Subject] = ids
	}
	ids[c.ID] = struct{}{}
	s.push(expiry{at: c.PurgeAt(), kind: kindSession, id: c.ID})
}

func (s *Store) deleteSession(sess *core.Session) {
	delete(s.sessions, sess.ID)
	ids := s.subjects[sess.Identity.Subject]
	delete(ids, sess.ID)
	if len(ids) == 0 {
		delete(s.subjects, sess.Identity.Subject)
	}
}

// push adds e to the expiry heap. Entries are never removed when what they point to
// changes, only skipped by Purge, so when stale ones outnumber live ones the heap is
// rebuilt from the maps: amortised, each push stays O(log n).
func (s *Store) push(e expiry) {
	heap.Push(&s.expiries, e)
	live := len(s.tokens) + len(s.sids) + len(s.sessions) + len(s.consumed) + len(s.counters)
	if len(s.expiries) <= 2*live+64 {
		return
	}
	h := make(expiryHeap, 0, live)
	for id, until := range s.tokens {
		h = append(h, expiry{at: until, kind: kindToken, id: id})
	}
	for id, until := range s.sids {
		h = append(h, expiry{at: until, kind: kindSessionRevocation, id: id})
	}
	for id, sess := range s.sessions {
		h = append(h, expiry{at: sess.PurgeAt(), kind: kindSession, id: id})
	}
	for id, until := range s.consumed {
		h = append(h, expiry{at: until, kind: kindConsumed, id: id})
	}
	for key, c := range s.counters {
		h = append(h, expiry{at: c.end, kind: kindCounter, id: key})
	}
	heap.Init(&h)
	s.expiries = h
}

type kind uint8

const (
	kindToken kind = iota
	kindSessionRevocation
	kindSession
	kindConsumed
	kindCounter
)

// counter is one counter of Count: its count and the end of its window.
type counter struct {
	n   int
	end time.Time
}

// expiry says that the entry id of kind may be purged from at on.
type expiry struct {
	at   time.Time
	kind kind
	id   string
}

// expiryHeap is a min-heap on at, for container/heap.
type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = expiry{} // let the id be collected
	*h = old[:len(old)-1]
	return e
}

// cloneSession returns a deep copy of sess, or nil.
func cloneSession(sess *core.Session) *core.Session {
	if sess == nil {
		return nil
	}
	c := *sess
	c.Identity.Roles = slices.Clone(sess.Identity.Roles)
	c.Identity.Scopes = slices.Clone(sess.Identity.Scopes)
	if sess.Identity.Claims != nil {
		c.Identity.Claims = make(map[string]any, len(sess.Identity.Claims))
		for k, v := range sess.Identity.Claims {
			c.Identity.Claims[k] = cloneValue(v)
		}
	}
	return &c
}

// cloneValue deep-copies the JSON-shaped values a claim may hold; anything else is
// returned as it is.
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return x
		}
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = cloneValue(e)
		}
		return c
	case []any:
		if x == nil {
			return x
		}
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = cloneValue(e)
		}
		return c
	case []string:
		return slices.Clone(x)
	case map[string]string:
		return maps.Clone(x)
	case []byte:
		return bytes.Clone(x)
	default:
		return v
	}
}
