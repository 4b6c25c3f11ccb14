package boltstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	bolt "go.etcd.io/bbolt"
)

var _ core.Migrator = (*Store)(nil)

// Export calls fn with every key, session and revocation in the store, and stops at
// the first error fn returns, returning it. Consumed ids are not exported (see
// core.Migrator), nor are counters (Count): throttling state that lives a window of
// minutes, which a store that starts without it only forgets.
//
// It reads the whole store in one read transaction, a consistent snapshot, copying
// every entry out of the file's memory map, and calls fn after the transaction has
// ended: fn may keep the entries and may call the store, and a long-running fn (an
// Import into another store, say) holds back none of this store's writes. The price is
// memory: the snapshot is held until Export returns, about 130 bytes per revocation
// plus each session's size (a million revocations: some 130 MB).
func (s *Store) Export(ctx context.Context, fn func(core.Entry) error) error {
	var entries []core.Entry
	err := s.view(ctx, "export", func(tx *bolt.Tx) error {
		// The filters' live counts size the list (bbolt keeps no count of a bucket's
		// keys): growing it from nothing would copy it a dozen times.
		entries = make([]core.Entry, 0, s.tokens.Live()+s.sessions.Live()+64)
		err := tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
			entries = append(entries, core.Entry{Kind: core.EntryKey, ID: string(k), Value: bytes.Clone(v)})
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
			sess, err := decodeSession(v) // a copy
			if err != nil {
				return err
			}
			entries = append(entries, core.Entry{Kind: core.EntrySession, ID: string(k), Session: sess})
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketRevocations).ForEach(func(k, v []byte) error {
			if len(k) < 2 || len(v) != 8 {
				return fmt.Errorf("%w: revocation record of %d-byte key, %d-byte value", ErrCorrupt, len(k), len(v))
			}
			e := core.Entry{ID: string(k[1:]), Expires: timeFromKey(v)}
			switch k[0] {
			case kindToken:
				e.Kind = core.EntryRevokedToken
			case kindSession:
				e.Kind = core.EntryRevokedSession
			default:
				return fmt.Errorf("%w: revocation record of kind %q", ErrCorrupt, k[0])
			}
			entries = append(entries, e)
			return nil
		})
	})
	if err != nil {
		return err
	}
	for i, e := range entries {
		if i%1024 == 1023 {
			if err := ctx.Err(); err != nil {
				return failed("export", err)
			}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Import writes entries in one transaction with one commit, so that the call is
// atomic and durable when it returns: keys and sessions overwrite what has the same id
// (a session that changes subject leaves its old subject's list; of two entries of one
// id in a call, the later wins), revocations keep the later of two expiries, and the
// subject and expiry indexes and the revocation filters are kept in step. A batch of
// 50,000 revocations takes 0.1 to 1 s (more when the ids are spread over a large
// file); the writes of other callers wait for it, so import a large store in batches
// of some thousands to some tens of thousands.
//
// It refuses, before writing anything, an entry that fails core.Entry.Validate, and,
// with ErrInvalidID, a key name, session id, subject or revoked id that is oversized.
// Revocations of an empty id are skipped, as the other stores' Import does.
func (s *Store) Import(ctx context.Context, entries []core.Entry) error {
	if s.closed.Load() {
		return closedError("import")
	}
	p, err := planImport(entries)
	if err != nil {
		return err
	}
	if p.empty() {
		return nil
	}
	// The ids this import revokes that were not revoked before, by kindIndex: the
	// filters hold every revoked id already, and adding one twice counts it twice.
	var added [2][]string
	err = s.update(ctx, "import", func(tx *bolt.Tx) error {
		var err error
		added, err = p.write(tx) // fn may run again after a rollback: added is reset
		return err
	}, func() {
		for i, kind := range []byte{kindToken, kindSession} {
			f := s.filter(kind)
			for _, id := range added[i] {
				f.Add(id)
			}
		}
	})
	if err != nil {
		return err
	}
	for i, kind := range []byte{kindToken, kindSession} {
		if len(added[i]) > 0 {
			s.fitFilter(kind)
		}
	}
	return nil
}

// importPlan is an Import's entries, checked and encoded before the transaction so
// that the writer spends its time writing.
type importPlan struct {
	keys     []importItem
	sessions []importItem
	// revocations holds one item per kind and id, with the latest expiry given, in
	// key order: bbolt inserts keys into a node's sorted slice and splits nodes only
	// at commit, so inserts in key order append where random ones move half the node
	// each time (a 50,000-entry batch of random ids took seconds, not milliseconds).
	revocations []importItem
}

// importItem is one entry of an Import.
type importItem struct {
	id      string
	kind    byte      // kindToken or kindSession, for revocations
	value   []byte    // a key's value (a copy), or a session's JSON
	expires time.Time // a revocation's end
	subject string    // a session's subject
	purgeAt []byte    // a session's timeKey(PurgeAt())
}

func (p *importPlan) empty() bool {
	return len(p.keys) == 0 && len(p.sessions) == 0 && len(p.revocations) == 0
}

func planImport(entries []core.Entry) (*importPlan, error) {
	p := &importPlan{}
	for i, e := range entries {
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("boltstore: import: entry %d: %w", i, err)
		}
		switch e.Kind {
		case core.EntryKey:
			if !validID(e.ID) {
				return nil, failed("import", fmt.Errorf("entry %d: key name of %d bytes: %w", i, len(e.ID), ErrInvalidID))
			}
			v := bytes.Clone(e.Value)
			if v == nil {
				v = []byte{} // as LoadOrStoreKey stores it
			}
			p.keys = append(p.keys, importItem{id: e.ID, value: v})
		case core.EntryRevokedToken, core.EntryRevokedSession:
			if e.ID == "" {
				continue
			}
			if !validID(e.ID) {
				return nil, failed("import", fmt.Errorf("entry %d: revoked id of %d bytes: %w", i, len(e.ID), ErrInvalidID))
			}
			kind := kindToken
			if e.Kind == core.EntryRevokedSession {
				kind = kindSession
			}
			p.revocations = append(p.revocations, importItem{id: e.ID, kind: kind, expires: e.Expires})
		case core.EntrySession:
			if !validID(e.ID) || !validID(e.Session.Identity.Subject) {
				return nil, failed("import", fmt.Errorf("entry %d: session %.40q of subject %.40q: %w",
					i, e.ID, e.Session.Identity.Subject, ErrInvalidID))
			}
			data, err := encodeSession(e.Session)
			if err != nil {
				return nil, failed("import", fmt.Errorf("entry %d: %w", i, err))
			}
			// PurgeAt from the stored form, as CreateSession computes it.
			stored, err := decodeSession(data)
			if err != nil {
				return nil, failed("import", fmt.Errorf("entry %d: %w", i, err))
			}
			p.sessions = append(p.sessions, importItem{id: e.ID, value: data,
				subject: e.Session.Identity.Subject, purgeAt: timeKey(stored.PurgeAt())})
		}
	}
	// Key order; of one kind and id, the latest expiry first, which Compact keeps.
	slices.SortFunc(p.revocations, func(a, b importItem) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), strings.Compare(a.id, b.id), b.expires.Compare(a.expires))
	})
	p.revocations = slices.CompactFunc(p.revocations, func(a, b importItem) bool {
		return a.kind == b.kind && a.id == b.id
	})
	return p, nil
}

// write makes the plan's writes in tx and returns the ids it newly revoked.
func (p *importPlan) write(tx *bolt.Tx) (added [2][]string, err error) {
	keys := tx.Bucket(bucketKeys)
	for _, it := range p.keys {
		if err := keys.Put([]byte(it.id), it.value); err != nil {
			return added, err
		}
	}
	for _, it := range p.sessions {
		if err := putSession(tx, it); err != nil {
			return added, err
		}
	}
	// The revocations in key order, and then the expiry index's changes in its own
	// key order, as putRevocation makes them one by one: a moved entry keeps its value,
	// the leftovers of an ended session (endSession).
	revs, idx := tx.Bucket(bucketRevocations), tx.Bucket(bucketExpiry)
	var unindex [][]byte
	var index []indexEntry
	for _, it := range p.revocations {
		key, at := revocationKey(it.kind, it.id), timeKey(it.expires)
		old := revs.Get(key)
		var value []byte
		switch {
		case old == nil:
			added[kindIndex(it.kind)] = append(added[kindIndex(it.kind)], it.id)
		case len(old) != 8:
			return added, fmt.Errorf("%w: revocation of %q has a %d-byte expiry", ErrCorrupt, it.id, len(old))
		case bytes.Compare(old, at) >= 0:
			continue // the later expiry is there already
		default:
			oldKey := expiryKey(old, it.kind, it.id)
			value = bytes.Clone(idx.Get(oldKey))
			unindex = append(unindex, oldKey)
		}
		if err := revs.Put(key, at); err != nil {
			return added, err
		}
		index = append(index, indexEntry{expiryKey(at, it.kind, it.id), value})
	}
	slices.SortFunc(unindex, bytes.Compare)
	for _, k := range unindex {
		if err := idx.Delete(k); err != nil {
			return added, err
		}
	}
	slices.SortFunc(index, func(a, b indexEntry) int { return bytes.Compare(a.key, b.key) })
	for _, e := range index {
		if err := idx.Put(e.key, e.value); err != nil {
			return added, err
		}
	}
	return added, nil
}

// indexEntry is an expiry index entry Import writes.
type indexEntry struct{ key, value []byte }

// putSession stores the session of it, replacing the one of the same id with its index
// entries.
func putSession(tx *bolt.Tx, it importItem) error {
	b := tx.Bucket(bucketSessions)
	if raw := b.Get([]byte(it.id)); raw != nil {
		old, err := decodeSession(raw)
		if err != nil {
			return err
		}
		if err := deleteSession(tx, it.id, old); err != nil {
			return err
		}
	}
	if err := b.Put([]byte(it.id), it.value); err != nil {
		return err
	}
	if err := tx.Bucket(bucketSubjects).Put(subjectKey(it.subject, it.id), nil); err != nil {
		return err
	}
	return tx.Bucket(bucketExpiry).Put(expiryKey(it.purgeAt, kindRecord, it.id), nil)
}

// fitFilter rebuilds the filter of kind, larger, when an Import has pushed it past its
// capacity, before Import returns: a bulk load then leaves a filter that answers at
// its false-positive rate, rather than one whose background growth is still to come.
// Every id is in the filter already, so a failed rebuild costs false positives only,
// until the next one; it is logged, not returned.
func (s *Store) fitFilter(kind byte) {
	f := s.filter(kind)
	if f.Count() <= f.Capacity() {
		return
	}
	// If a growth rebuild started by RevokeToken is running, it was sized before this
	// import: rebuild anyway, after it (revfilter.Set runs rebuilds one at a time).
	took := s.growing[kindIndex(kind)].CompareAndSwap(false, true)
	err := s.rebuildFilter(kind)
	if took {
		s.growing[kindIndex(kind)].Store(false)
	}
	if err != nil && !s.closed.Load() {
		s.opts.logger.Error("boltstore: growing the revocation filter after an import failed", "path", s.path, "err", err)
	}
}

// timeFromKey decodes a timeKey, in UTC.
func timeFromKey(b []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(b)^(1<<63))).UTC()
}
