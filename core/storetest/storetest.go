// Package storetest is the conformance suite of core.Store. Every store runs it with one
// line, the way a file system runs testing/fstest.TestFS:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) core.Store { return memstore.New() })
//	}
//
// A store that several processes share (a database, a Redis server) also runs
// RunShared on two instances of one backend, RunRestart with that backend stopped and
// started again, and RunSilentPartition with the network to it cut.
package storetest

import (
	"errors"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
)

// Run checks that the stores made by newStore keep every clause of the core.Store
// contract. It runs one subtest per clause:
//
//   - Revocation: RevokeToken and IsRevoked by jti, by session id (after EndSession) and
//     by both; empty ids never match; unrelated, prefixed or differently cased ids, and a
//     jti asked about as a session id or the other way round, are not revoked; revoking
//     twice keeps the later expiry, whichever comes first.
//   - Sessions: CreateSession then Session returns every field unchanged (times compared
//     with Equal, at nanosecond precision, whatever their location); values returned or
//     passed in are copies; a duplicate id is refused and changes nothing; an unknown id
//     is (nil, nil); Sessions lists exactly the subject's sessions.
//   - EndSession: returns the session as it was, deletes it, revokes its id until its
//     AccessExpiresAt (and no longer, as Purge shows); an unknown id is (nil, nil).
//   - EndSessions: ends exactly the subject's sessions (not those of subjects that
//     share a prefix, differ in case or hold a 0 byte), returns them as stored last,
//     revokes each until its own AccessExpiresAt (and no longer, as Purge shows); a
//     subject without sessions is (empty, nil); racing CreateSession, each session is
//     either returned by exactly one call, deleted and revoked, or left stored and not
//     revoked; racing Rotate, nothing of any session is left and a rotation that won
//     is covered; with a cancelled context it ends all or nothing.
//   - Rotate: every bullet of the contract, each boundary at the exact instant (at
//     ExpiresAt, IdleExpiresAt or PreviousUntil is too late, a nanosecond before is not),
//     failures change nothing, and of 50 concurrent rotations of one token exactly one
//     wins.
//   - Keys: LoadOrStoreKey keeps the first value, for sequential and concurrent callers,
//     copies values in and out, and keys survive Purge.
//   - Consume: the first call with an id gets true and every later one false (with any
//     expiry), until Purge deletes it at its exact expiry, counted with the rest, after
//     which it can be consumed again; ids are independent of each other and of
//     revocations (consuming an id never makes IsRevoked true for it as a jti or a
//     sid, and a revoked one is not consumed); of 50 concurrent calls with one id
//     exactly one gets true; an empty id is refused; with a cancelled context an
//     answer is right; after Close it fails with core.ErrStoreClosed.
//   - Count: a counter starts at its first add with the add as its count and now +
//     window as its end (to the nanosecond), accumulates while now is before the end,
//     whatever window later adds give, and starts again from the add's own now at or
//     after the end; add 0 reads (0, zero time) for a missing or ended counter and
//     writes nothing: it neither creates a counter (the add after it starts from its
//     own now) nor deletes an ended one (Purge still finds it); keys are compared byte
//     for byte; of 50 concurrent adds to one key each sees a count of its own, 1 to 50,
//     and the same end; counters are apart from consumed ids and revocations; Purge
//     deletes a counter at its exact end (the new end of one that started again),
//     counted with the rest; an empty key, add < 0 and window <= 0 are refused and
//     change nothing; with a cancelled context an answer is right; after Close it fails
//     with core.ErrStoreClosed.
//   - Purge: deletes revocations and sessions at their exact expiry (Session.PurgeAt,
//     recomputed after Rotate), keeps the rest, and counts what it deleted.
//   - Concurrency: mixed concurrent calls lose no write, and EndSession racing Rotate
//     leaves no part of the session behind.
//   - Closed: after Close every method, EndSessions and Close included, returns an
//     error matching core.ErrStoreClosed (and so core.ErrStoreUnavailable).
//   - CanceledContext: a method given a cancelled context may fail, but if it answers,
//     the answer is right, and a failure is never an answer (such as ErrRefreshReused)
//     nor a half-done write.
//   - Migrator, for a store that implements core.Migrator (skipped otherwise): Export
//     lists every key, session and revocation once, exactly, and no consumed id;
//     Import of that list into a fresh store gives a store that exports the same,
//     answers every method but Consume the same and purges every entry at the same
//     instant; importing twice changes nothing; an imported revocation keeps the
//     later of two expiries; imported keys and sessions overwrite (a session that
//     changes subject leaves the old subject's list); Export stops at and returns
//     fn's first error; both fail with core.ErrStoreClosed after Close.
//   - RefreshRace: through a core.Auth over the store, 50 concurrent refreshes of one
//     token, see RefreshRace.
//
// Run calls newStore once per subtest, one subtest at a time. Each store it returns must
// be empty and must not share state with the stores made before it. Run closes every
// store when its subtest ends; newStore may register its own cleanups on t too.
//
// All times are explicit and lie in the year 2100, so a store whose background
// housekeeping uses the real clock (a Redis TTL, say) expires nothing during the run.
// Nothing sleeps to make time pass.
//
// Not checked: persistence across a reopen, sharing between processes, and that Purge
// costs time in proportion to the expired entries only; a store tests those itself.
func Run(t *testing.T, newStore func(t *testing.T) core.Store) {
	t.Helper()
	h := harness{newStore: newStore}
	groups := []struct {
		name string
		run  func(*testing.T, harness)
	}{
		{"Revocation", testRevocation},
		{"Sessions", testSessions},
		{"EndSession", testEndSession},
		{"EndSessions", testEndSessions},
		{"Rotate", testRotate},
		{"Keys", testKeys},
		{"Consume", testConsume},
		{"Count", testCount},
		{"Purge", testPurge},
		{"Concurrency", testConcurrency},
		{"Closed", testClosed},
		{"CanceledContext", testCanceledContext},
		{"Migrator", testMigrator},
		{"RefreshRace", testRefreshRace},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, h) })
	}
}

// harness hands each subtest a fresh store and closes it afterwards.
type harness struct {
	newStore func(t *testing.T) core.Store
}

func (h harness) open(t *testing.T) core.Store {
	t.Helper()
	s := h.newStore(t)
	if s == nil {
		t.Fatal("newStore returned nil")
	}
	t.Cleanup(func() {
		// The Closed subtest has closed it already; anything else is a failure.
		if err := s.Close(); err != nil && !errors.Is(err, core.ErrStoreClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}
