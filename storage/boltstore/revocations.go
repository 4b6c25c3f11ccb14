package boltstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/core/revfilter"
	bolt "go.etcd.io/bbolt"
)

// minFilterCapacity is the smallest filter the store makes: 8 KiB at the default rate.
const minFilterCapacity = 4096

// filterCapacity is the capacity of a filter built for live ids: a quarter more, so
// that it is rebuilt (in the background, a scan of the revocations) every time the
// revocations made since the last build reach a quarter of the live ones. More
// headroom would mean fewer rebuilds and a filter that fits the CPU caches less well:
// IsRevoked reads one cache line of it, at a random place.
func filterCapacity(live int) int { return max(live+live/4, minFilterCapacity) }

// RevokeToken records that the token jti is revoked until exp, keeping the later expiry
// if it is revoked already. The revocation is durable when RevokeToken returns. An empty
// or oversized jti is refused with ErrInvalidID.
func (s *Store) RevokeToken(ctx context.Context, jti string, exp time.Time) error {
	if !validID(jti) {
		if s.closed.Load() {
			return closedError("revoke token")
		}
		return failed("revoke token", ErrInvalidID)
	}
	return s.update(ctx, "revoke token",
		func(tx *bolt.Tx) error {
			_, err := putRevocation(tx, kindToken, jti, exp, nil)
			return err
		},
		func() { s.added(kindToken, jti) })
}

// IsRevoked reports whether the token jti or the session sid is revoked. It answers
// from memory when the filters rule both out, which is the case for all but about
// WithFilterFPRate of the ids that are not revoked; otherwise it reads the file. An
// expired entry counts as revoked until Purge deletes it.
func (s *Store) IsRevoked(ctx context.Context, jti, sid string) (bool, error) {
	if s.closed.Load() {
		return false, closedError("is revoked")
	}
	maybeToken := jti != "" && s.tokens.MayContain(jti)
	maybeSession := sid != "" && s.sessions.MayContain(sid)
	if !maybeToken && !maybeSession {
		return false, nil
	}
	s.filterReads.Add(1)
	var revoked bool
	err := s.view(ctx, "is revoked", func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketRevocations)
		revoked = maybeToken && b.Get(revocationKey(kindToken, jti)) != nil ||
			maybeSession && b.Get(revocationKey(kindSession, sid)) != nil
		return nil
	})
	if err != nil {
		return false, err
	}
	return revoked, nil
}

// putRevocation records in tx that id of kind is revoked until exp, or later if it is
// already, and keeps the expiry index in step. The revocation's expiry index entry gets
// left as its value (see endSession), unless it is revoked until exp or later already
// or its entry notes leftovers of its own, which move with it; noted reports whether
// left was noted, and if not the caller deletes what it names.
func putRevocation(tx *bolt.Tx, kind byte, id string, exp time.Time, left []byte) (noted bool, err error) {
	revs, idx := tx.Bucket(bucketRevocations), tx.Bucket(bucketExpiry)
	key, at := revocationKey(kind, id), timeKey(exp)
	value, noted := left, left != nil
	if old := revs.Get(key); old != nil {
		if len(old) != 8 {
			return false, fmt.Errorf("%w: revocation of %q has a %d-byte expiry", ErrCorrupt, id, len(old))
		}
		if bytes.Compare(old, at) >= 0 {
			return false, nil // the later expiry is there already
		}
		oldKey := expiryKey(old, kind, id)
		if prev := idx.Get(oldKey); len(prev) > 0 {
			value, noted = bytes.Clone(prev), false
		}
		if err := idx.Delete(oldKey); err != nil {
			return false, err
		}
	}
	if err := revs.Put(key, at); err != nil {
		return false, err
	}
	if err := idx.Put(expiryKey(at, kind, id), value); err != nil {
		return false, err
	}
	return noted, nil
}

func validID(id string) bool { return id != "" && len(id) <= MaxIDLength }

func kindIndex(kind byte) int {
	if kind == kindToken {
		return 0
	}
	return 1
}

func (s *Store) filter(kind byte) *revfilter.Set {
	if kind == kindToken {
		return s.tokens
	}
	return s.sessions
}

// added runs after a revocation of id is durable: it puts id in the filter, and starts a
// rebuild in the background if the filter now holds more ids than it was sized for
// (purged ids included: the rebuild drops them).
// It runs on the writer, so it must not wait for anything that waits for the writer.
func (s *Store) added(kind byte, id string) {
	f := s.filter(kind)
	f.Add(id)
	if f.Count() > f.Capacity() && s.growing[kindIndex(kind)].CompareAndSwap(false, true) {
		s.bg.Go(func() {
			defer s.growing[kindIndex(kind)].Store(false)
			if err := s.rebuildFilter(kind); err != nil && !s.closed.Load() {
				s.opts.logger.Error("boltstore: growing the revocation filter failed", "path", s.path, "err", err)
			}
		})
	}
}

// rebuildFilter replaces the filter of kind by one built from the file. Revocations
// made meanwhile land in both filters (revfilter.Set).
func (s *Store) rebuildFilter(kind byte) error {
	f := s.filter(kind)
	return f.Rebuild(filterCapacity(f.Live()), func(add func(string)) error {
		return s.view(context.Background(), "rebuild filter", func(tx *bolt.Tx) error {
			return scanRevocations(tx, kind, add)
		})
	})
}

// scanRevocations calls add with every revoked id of kind. string(k) copies the key out
// of the memory map.
func scanRevocations(tx *bolt.Tx, kind byte, add func(string)) error {
	c := tx.Bucket(bucketRevocations).Cursor()
	prefix := []byte{kind}
	for k, _ := c.Seek(prefix); hasPrefix(k, prefix); k, _ = c.Next() {
		add(string(k[1:]))
	}
	return nil
}

// loadFilters builds both filters from the file at Open.
func (s *Store) loadFilters() error {
	return guard("load filters", func() error {
		return s.db.View(func(tx *bolt.Tx) error {
			for _, kind := range []byte{kindToken, kindSession} {
				n := 0
				if err := scanRevocations(tx, kind, func(string) { n++ }); err != nil {
					return err
				}
				f := revfilter.NewSet(filterCapacity(n), s.opts.fpRate)
				if err := scanRevocations(tx, kind, f.Add); err != nil {
					return err
				}
				if kind == kindToken {
					s.tokens = f
				} else {
					s.sessions = f
				}
			}
			return nil
		})
	})
}
