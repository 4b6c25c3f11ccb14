package core

import (
	"context"
	"fmt"
	"time"
)

// Store is where gatehouse keeps sessions, revocations, generated keys, the one-time
// values (sign-in states) it has consumed and the counters of its throttles.
//
// The doc comment of each method is the contract; core/storetest checks every clause,
// and a store passes it with one line: storetest.Run(t, newStore).
//
// Errors: a missing session or key is reported the way each method says (never as a
// store failure); any other non-nil error means the store failed, and gatehouse answers
// the request with 503 instead of guessing. After Close every method returns an error
// that matches ErrStoreClosed.
//
// Times passed in are the caller's clock (Auth's WithClock), so stores never call
// time.Now to decide an outcome; only background housekeeping may.
type Store interface {
	// RevokeToken records that the token with this jti is revoked until exp.
	// Revoking an already revoked jti keeps the later of the two expiries.
	RevokeToken(ctx context.Context, jti string, exp time.Time) error

	// IsRevoked reports whether the token jti or the session sid is revoked, in one call.
	// Either may be empty, and an empty one never matches. An entry whose expiry has
	// passed may still be reported until it is purged: a token is never accepted after
	// its own exp, so the answer does not change the outcome.
	//
	// This runs on every authenticated request. A store that keeps its data away from
	// the process must answer the common case, nothing revoked, from memory without a
	// round trip (see package revfilter).
	IsRevoked(ctx context.Context, jti, sid string) (bool, error)

	// CreateSession stores a new session. A session with the same ID must not exist;
	// if one does, CreateSession returns an error and changes nothing.
	CreateSession(ctx context.Context, s *Session) error

	// Session returns the session with this id, or (nil, nil) if there is none.
	// The returned value is the caller's to keep.
	Session(ctx context.Context, sid string) (*Session, error)

	// Sessions returns every stored session of the subject, in no particular order,
	// including ones that have expired but were not purged yet.
	Sessions(ctx context.Context, subject string) ([]*Session, error)

	// Rotate is the atomic check-and-swap of a refresh: in one transaction it reads the
	// session r.SessionID and then, at r.Now:
	//   - no such session: ErrSessionNotFound, nothing changed;
	//   - r.Now is at or after ExpiresAt or IdleExpiresAt: ErrSessionExpired, nothing changed;
	//   - r.Presented == Current: Previous = Current, PreviousUntil = r.Now + r.Grace,
	//     Current = r.Next, then the updates below;
	//   - r.Grace > 0, r.Presented == Previous and r.Now is before PreviousUntil (the
	//     grace window): Current stays as it is, then the updates below;
	//   - anything else: ErrRefreshReused, nothing changed (the caller ends the session).
	//     With r.Grace 0 a replaced token is never tolerated, whatever r.Now says: two
	//     instances whose requests commit out of order must not both win.
	// The updates: if r.Now is after LastUsedAt, LastUsedAt = r.Now and IdleExpiresAt =
	// r.Now + r.IdleTimeout, but never after ExpiresAt (IdleTimeout 0 means
	// IdleExpiresAt = ExpiresAt), so an earlier clock never moves them back;
	// AccessExpiresAt = the later of itself and r.AccessExpiresAt. ExpiresAt never
	// changes.
	// It returns the session as stored after the swap. Of many concurrent calls
	// presenting the same token with no grace window, exactly one succeeds.
	// Session.ApplyRotation is this rule in Go, for a store to call in its transaction.
	Rotate(ctx context.Context, r Rotation) (*Session, error)

	// EndSession deletes the session and, in the same transaction, revokes its id until
	// its AccessExpiresAt, so that its outstanding access tokens stop working. It
	// returns the session as it was, or (nil, nil) if there was none.
	EndSession(ctx context.Context, sid string) (*Session, error)

	// EndSessions ends every session of the subject in one transaction: it deletes each
	// of them and revokes its id until its AccessExpiresAt, exactly as EndSession does for
	// one, sessions that expired but were not purged yet included. It returns the
	// sessions as they were, in no particular order; a subject without sessions gives an
	// empty list and a nil error. It is all or nothing: a failed or interrupted call
	// leaves no session deleted without its revocation, and none it returns is left
	// behind. A session created concurrently is either ended and returned or not touched.
	EndSessions(ctx context.Context, subject string) ([]*Session, error)

	// LoadOrStoreKey returns the value stored under name. If there is none it stores
	// value and returns it; of concurrent callers, and of processes sharing the store,
	// all get the same value back. Keys never expire and are never purged.
	LoadOrStoreKey(ctx context.Context, name string, value []byte) ([]byte, error)

	// Consume records that the one-time value id (a sign-in state) is used until exp,
	// and reports whether this call was the first to use it: of calls with the same id,
	// sequential or concurrent, on one store or on several instances sharing it, exactly
	// one gets true; the others get false and change nothing. The store may forget id
	// only once exp has passed; Purge(now) with now at or after exp deletes it and counts
	// it, and the id can then be consumed again. Consumed ids have a namespace of their
	// own: consuming an id never makes IsRevoked true for it, as a jti or a sid, and
	// revoking one never consumes it. An empty id is refused with an error; after an
	// error, id may or may not be recorded.
	Consume(ctx context.Context, id string, exp time.Time) (bool, error)

	// Count adds add (0 or more) to the counter key and returns the count and the end
	// of its window. A counter starts at the first add > 0 after none exists or its
	// window has ended (its end at or before now): count = add, end = now + window.
	// Within the window adds accumulate and the end does not move. add 0 only reads: a
	// missing or ended counter reads (0, zero time) and nothing is written. Of
	// concurrent adds none is lost, across instances sharing the store. Counters have a
	// namespace of their own (no effect on IsRevoked or Consume). Purge(now) deletes
	// counters whose window ended at or before now and counts them. An empty key,
	// add < 0 or window <= 0 is refused with an error (CheckCount).
	Count(ctx context.Context, key string, add int, now time.Time, window time.Duration) (int, time.Time, error)

	// Purge deletes revocations and consumed ids whose expiry is at or before now,
	// counters whose window ended at or before now, and sessions for which now is at or
	// after Session.PurgeAt(). It returns how many entries it deleted. Its cost grows
	// with the number of expired entries, not with the size of the store.
	Purge(ctx context.Context, now time.Time) (int, error)

	// Close releases the store. Calls after Close return ErrStoreClosed.
	Close() error
}

// Session is one sign-in: the family of refresh tokens that came from it and the access
// tokens they minted. Its ID is the sid claim of each of those tokens.
type Session struct {
	ID       string   `json:"id"`
	Identity Identity `json:"identity"`

	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	// ExpiresAt is the absolute end of the session; refreshing never moves it.
	ExpiresAt time.Time `json:"expires_at"`
	// IdleExpiresAt is when the session ends if it is not refreshed before.
	IdleExpiresAt time.Time `json:"idle_expires_at"`
	// AccessExpiresAt is the latest exp, leeway included, of any access token issued
	// for this session: a revocation of the session must be kept until then.
	AccessExpiresAt time.Time `json:"access_expires_at"`

	// Current is the jti of the refresh token that may be presented next.
	Current string `json:"current"`
	// Previous is the jti Current replaced, tolerated until PreviousUntil.
	Previous      string    `json:"previous,omitempty"`
	PreviousUntil time.Time `json:"previous_until,omitzero"`

	UserAgent string `json:"user_agent,omitempty"`
	IP        string `json:"ip,omitempty"`
}

// PurgeAt is when a store may delete the session: once it can no longer be refreshed
// and no access token of it can still be accepted.
func (s *Session) PurgeAt() time.Time {
	end := s.endsAt()
	if s.AccessExpiresAt.After(end) {
		end = s.AccessExpiresAt
	}
	return end
}

// endsAt is when the session can no longer be refreshed: the earlier of its absolute
// and idle expiry.
func (s *Session) endsAt() time.Time {
	if !s.IdleExpiresAt.IsZero() && s.IdleExpiresAt.Before(s.ExpiresAt) {
		return s.IdleExpiresAt
	}
	return s.ExpiresAt
}

// Identity is the user a session belongs to, as the sign-in established it.
type Identity struct {
	// Subject is the stable user key and the sub claim of every token. Sign-in builds it
	// from the provider's issuer and subject, never from the email alone.
	Subject string `json:"sub"`
	Email   string `json:"email,omitempty"`
	Name    string `json:"name,omitempty"`
	// Provider names the provider the user signed in with, for display.
	Provider string `json:"provider,omitempty"`
	// Claims are extra claims added to every access token of the session.
	Claims map[string]any `json:"claims,omitempty"`
	// Roles and Scopes are written into every access token of the session as the
	// "roles" and "scope" claims, unless a WithGrants hook replaces them. A store keeps
	// them with the session, as it keeps Claims.
	Roles  []string `json:"roles,omitempty"`
	Scopes []string `json:"scopes,omitempty"`
}

// Rotation is the input of Store.Rotate.
type Rotation struct {
	SessionID string
	// Presented is the jti of the refresh token the client sent.
	Presented string
	// Next is the jti of the refresh token that replaces it.
	Next            string
	Now             time.Time
	Grace           time.Duration
	IdleTimeout     time.Duration
	AccessExpiresAt time.Time
}

// Migrator is implemented by stores whose whole content can be read out and written in,
// for copying from one store to another (gatehouse migrate) and for loading large data
// sets quickly.
type Migrator interface {
	// Export calls fn with every key, session and revocation in the store, in no
	// particular order, stopping at the first error fn returns. Consumed ids
	// (Store.Consume) are not exported: they live minutes, and a store they are not
	// copied to takes them for unused. Nor are counters (Store.Count): they are
	// throttling state of minutes, and a copy without them starts each window afresh.
	Export(ctx context.Context, fn func(Entry) error) error
	// Import writes entries as they are, overwriting what has the same kind and id; an
	// import is atomic per call where the store can make it so. Revocations keep the
	// later of two expiries, as RevokeToken does. It refuses the whole call, before
	// writing anything, if an entry fails Entry.Validate.
	Import(ctx context.Context, entries []Entry) error
}

// EntryKind says what an Entry holds.
type EntryKind uint8

// The kinds of Entry.
const (
	EntryKey            EntryKind = iota + 1 // ID is the key name, Value the key
	EntrySession                             // Session is set, ID is its id
	EntryRevokedToken                        // ID is a jti, Expires its revocation's end
	EntryRevokedSession                      // ID is a sid, Expires its revocation's end
)

// Entry is one item of a store's content.
type Entry struct {
	Kind    EntryKind
	ID      string
	Expires time.Time
	Session *Session
	Value   []byte
}

// Validate reports whether e is an entry a Migrator's Import can write, by the rules
// every store shares: a known kind; a key with a name; a session entry whose Session
// is set, has e.ID as its ID, that ID not empty, and a subject. A revocation of an
// empty ID is valid and means nothing: IsRevoked never matches an empty id, and stores
// skip it. The error matches ErrInvalidRequest. Limits of one store (the length of an
// id, say) are that store's to check.
func (e Entry) Validate() error {
	switch e.Kind {
	case EntryKey:
		if e.ID == "" {
			return fmt.Errorf("%w: key entry without a name", ErrInvalidRequest)
		}
	case EntrySession:
		switch {
		case e.Session == nil:
			return fmt.Errorf("%w: session entry %.40q without its session", ErrInvalidRequest, e.ID)
		case e.Session.ID != e.ID:
			return fmt.Errorf("%w: session entry %.40q holds session %.40q", ErrInvalidRequest, e.ID, e.Session.ID)
		case e.ID == "":
			return fmt.Errorf("%w: session entry without an id", ErrInvalidRequest)
		case e.Session.Identity.Subject == "":
			return fmt.Errorf("%w: session entry %.40q without a subject", ErrInvalidRequest, e.ID)
		}
	case EntryRevokedToken, EntryRevokedSession:
	default:
		return fmt.Errorf("%w: entry %.40q of unknown kind %d", ErrInvalidRequest, e.ID, e.Kind)
	}
	return nil
}

// CheckCount refuses the arguments Store.Count refuses: an empty key, add < 0, and
// window <= 0. Every store calls it first; the error matches ErrInvalidRequest. Limits
// of one store (the length of a key, say) are that store's to check.
func CheckCount(key string, add int, window time.Duration) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: counter with an empty key", ErrInvalidRequest)
	case add < 0:
		return fmt.Errorf("%w: counter %.40q: add %d is negative", ErrInvalidRequest, key, add)
	case window <= 0:
		return fmt.Errorf("%w: counter %.40q: window %v is not positive", ErrInvalidRequest, key, window)
	}
	return nil
}
