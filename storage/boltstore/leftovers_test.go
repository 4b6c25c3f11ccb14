package boltstore

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	bolt "go.etcd.io/bbolt"
)

// ended is a session of subject whose access tokens end at base+16m, refreshable until
// base+purge: its PurgeAt.
func ended(sid, subject string, purge time.Duration) *core.Session {
	return &core.Session{
		ID: sid, Identity: core.Identity{Subject: subject},
		CreatedAt: base, LastUsedAt: base, ExpiresAt: base.Add(purge), IdleExpiresAt: base.Add(purge),
		AccessExpiresAt: base.Add(16 * time.Minute), Current: sid + ".rt1",
	}
}

// indexed reports whether the subject index and the expiry index hold an entry of the
// session sess (as it is stored or was when it ended).
func indexed(t *testing.T, s *Store, sess *core.Session) (subject, expiry bool) {
	t.Helper()
	err := s.view(ctx, "test", func(tx *bolt.Tx) error {
		subject = tx.Bucket(bucketSubjects).Get(subjectKey(sess.Identity.Subject, sess.ID)) != nil
		expiry = tx.Bucket(bucketExpiry).Get(expiryKey(timeKey(sess.PurgeAt()), kindRecord, sess.ID)) != nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return subject, expiry
}

// wantEmpty fails t unless every bucket but the meta bucket is empty: nothing was left
// behind.
func wantEmpty(t *testing.T, s *Store) {
	t.Helper()
	err := s.view(ctx, "test", func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if string(name) == string(bucketMeta) {
				continue
			}
			if k, _ := tx.Bucket(name).Cursor().First(); k != nil {
				t.Errorf("bucket %s still holds %q", name, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func purgeWant(t *testing.T, s *Store, at time.Time, want int) {
	t.Helper()
	if n, err := s.Purge(ctx, at); err != nil || n != want {
		t.Fatalf("Purge(%v) = %d, %v; want %d", at.Sub(base), n, err, want)
	}
}

// TestEndSessionLeavesIndexToPurge: a logout deletes the session and revokes it at
// once, and leaves its subject and expiry index entries, which no answer shows, for
// the Purge that deletes the revocation; Purge counts the revocation only, and leaves
// nothing behind. EndSessions does the same for each session.
func TestEndSessionLeavesIndexToPurge(t *testing.T) {
	for _, name := range []string{"EndSession", "EndSessions"} {
		t.Run(name, func(t *testing.T) {
			s := openTest(t, withoutSync())
			one, other := ended("sid-1", "alice", 30*24*time.Hour), ended("sid-2", "bob", 30*24*time.Hour)
			for _, sess := range []*core.Session{one, other} {
				if err := s.CreateSession(ctx, sess); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			if name == "EndSession" {
				_, err = s.EndSession(ctx, "sid-1")
			} else {
				_, err = s.EndSessions(ctx, "alice")
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.Session(ctx, "sid-1"); err != nil || got != nil {
				t.Fatalf("Session(sid-1) after the logout = %v, %v; want none", got, err)
			}
			if list, err := s.Sessions(ctx, "alice"); err != nil || len(list) != 0 {
				t.Fatalf("Sessions(alice) after the logout = %d sessions, %v; want none", len(list), err)
			}
			if subject, expiry := indexed(t, s, one); !subject || !expiry {
				t.Fatalf("after the logout: subject entry %v, expiry entry %v; want both left for Purge", subject, expiry)
			}
			purgeWant(t, s, base.Add(16*time.Minute-1), 0)
			purgeWant(t, s, base.Add(16*time.Minute), 1) // the revocation, and with it the entries
			if subject, expiry := indexed(t, s, one); subject || expiry {
				t.Errorf("after the revocation's purge: subject entry %v, expiry entry %v; want neither", subject, expiry)
			}
			if subject, expiry := indexed(t, s, other); !subject || !expiry {
				t.Errorf("bob's session lost its entries: subject %v, expiry %v", subject, expiry)
			}
			purgeWant(t, s, base.Add(30*24*time.Hour), 1) // bob's session
			wantEmpty(t, s)
		})
	}
}

// TestLeftoversOfAReusedID: a session stored under the id of an ended one, before the
// ended one's entries are purged, keeps its own entries and is purged at its own
// PurgeAt, not at the ended one's, with the ended one's revocation moved later by an
// Import in between.
func TestLeftoversOfAReusedID(t *testing.T) {
	for _, subject := range []string{"alice", "bob"} {
		t.Run("same id, "+subject, func(t *testing.T) {
			s := openTest(t, withoutSync())
			first := ended("sid-1", "alice", time.Hour)
			if err := s.CreateSession(ctx, first); err != nil {
				t.Fatal(err)
			}
			if _, err := s.EndSession(ctx, "sid-1"); err != nil {
				t.Fatal(err)
			}
			// The revocation now outlives both sessions; its entry keeps the leftovers.
			if err := s.Import(ctx, []core.Entry{{Kind: core.EntryRevokedSession, ID: "sid-1", Expires: base.Add(10 * 24 * time.Hour)}}); err != nil {
				t.Fatal(err)
			}
			second := ended("sid-1", subject, 7*24*time.Hour)
			if err := s.CreateSession(ctx, second); err != nil {
				t.Fatal(err)
			}
			// The first session's expiry entry is due: it is not the second's.
			purgeWant(t, s, base.Add(time.Hour), 0)
			if got, err := s.Session(ctx, "sid-1"); err != nil || got == nil {
				t.Fatalf("Session(sid-1) after Purge at the first session's PurgeAt = %v, %v; want the second", got, err)
			}
			if list, err := s.Sessions(ctx, subject); err != nil || len(list) != 1 {
				t.Fatalf("Sessions(%s) = %d, %v; want the second session", subject, len(list), err)
			}
			purgeWant(t, s, base.Add(7*24*time.Hour), 1)  // the second session
			purgeWant(t, s, base.Add(10*24*time.Hour), 1) // the revocation and the leftovers
			wantEmpty(t, s)
		})
	}
	t.Run("ended again before the purge", func(t *testing.T) {
		s := openTest(t, withoutSync())
		for range 2 {
			if err := s.CreateSession(ctx, ended("sid-1", "alice", time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := s.EndSession(ctx, "sid-1"); err != nil {
				t.Fatal(err)
			}
		}
		purgeWant(t, s, base.Add(time.Hour), 1)
		wantEmpty(t, s)
	})
}

// TestEndSessionRevokedUntilLater: when the session's id is revoked until later
// already, the revocation is not written and the index entries go at once.
func TestEndSessionRevokedUntilLater(t *testing.T) {
	s := openTest(t, withoutSync())
	if err := s.Import(ctx, []core.Entry{{Kind: core.EntryRevokedSession, ID: "sid-1", Expires: base.Add(2 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	sess := ended("sid-1", "alice", time.Hour)
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndSession(ctx, "sid-1"); err != nil {
		t.Fatal(err)
	}
	if subject, expiry := indexed(t, s, sess); subject || expiry {
		t.Errorf("subject entry %v, expiry entry %v; want neither", subject, expiry)
	}
	purgeWant(t, s, base.Add(2*time.Hour), 1)
	wantEmpty(t, s)
}
