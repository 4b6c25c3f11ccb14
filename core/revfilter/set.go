package revfilter

import (
	"sync"
	"sync/atomic"
)

// Set is the filter a store keeps in front of its revocations: a Filter that can be
// replaced by a fresh one, built from the store's data, while it is in use. It is safe
// for concurrent use; MayContain takes no lock.
type Set struct {
	fpRate float64
	cur    atomic.Pointer[Filter]

	// mu orders Add against the two moments Rebuild switches filters: Add holds it
	// shared, Rebuild exclusively, so every Add lands in the filter that survives.
	mu   sync.RWMutex
	next *Filter // the filter being built, nil outside Rebuild

	rebuilding sync.Mutex // one Rebuild at a time
}

// NewSet returns a Set holding an empty filter sized by New(expected, fpRate). Filters
// made by Rebuild have the same false-positive rate.
func NewSet(expected int, fpRate float64) *Set {
	f := New(expected, fpRate)
	s := &Set{fpRate: f.fpRate}
	s.cur.Store(f)
	return s
}

// Add adds key to the current filter and, during a Rebuild, to the one being built.
// Call it after the store's write of key is durable (see the package doc).
func (s *Set) Add(key string) {
	s.mu.RLock()
	s.cur.Load().Add(key)
	if s.next != nil {
		s.next.Add(key)
	}
	s.mu.RUnlock()
}

// MayContain reports whether key may have been added. False means it certainly was not.
func (s *Set) MayContain(key string) bool { return s.cur.Load().MayContain(key) }

// Filter returns the current filter. It stays valid after a Rebuild replaces it, but
// keys added from then on go to its successor only.
func (s *Set) Filter() *Filter { return s.cur.Load() }

// Count returns the number of Add calls the current filter has seen.
func (s *Set) Count() int { return s.cur.Load().Count() }

// Capacity returns the number of keys the current filter was sized for.
func (s *Set) Capacity() int { return s.cur.Load().Capacity() }

// Removed records that n keys of the current filter were deleted from the store, so
// that they now only make false positives. It does not change any answer; it feeds
// NeedsRebuild and Live.
func (s *Set) Removed(n int) {
	if n <= 0 {
		return
	}
	s.mu.RLock()
	s.cur.Load().removed.Add(int64(n))
	if s.next != nil {
		// The rebuild may or may not have read these keys; counting them as removed
		// there as well errs towards an earlier rebuild, never a later one.
		s.next.removed.Add(int64(n))
	}
	s.mu.RUnlock()
}

// Live estimates how many keys of the current filter are still in the store: Count
// less Removed.
func (s *Set) Live() int {
	f := s.cur.Load()
	return max(f.Count()-int(f.removed.Load()), 0)
}

// NeedsRebuild reports whether a Rebuild would pay: the current filter holds more keys
// than it was sized for, so its false-positive rate is above the one asked for; or more
// than half of its keys were removed, and they are at least a quarter of its capacity,
// so a rebuild gives back memory and false positives worth having. A few removed keys
// in a filter with room to spare cost nothing worth a rebuild.
func (s *Set) NeedsRebuild() bool {
	f := s.cur.Load()
	n, removed := f.Count(), int(f.removed.Load())
	return n > f.Capacity() || 2*removed > n && 4*removed >= f.Capacity()
}

// Rebuild replaces the current filter with a new one sized for expected keys. load is
// called once and must call add for every key the store holds; it reads the store at a
// time of its choosing after it is called. Adds made while load runs go into both
// filters, so a key written to the store and then added before, during or after the
// rebuild is in the filter that is current when Rebuild returns. Lookups keep using the
// old filter until the new one is complete.
//
// If load returns an error, the old filter stays (it has every key added meanwhile) and
// Rebuild returns that error. Rebuilds run one at a time.
func (s *Set) Rebuild(expected int, load func(add func(key string)) error) error {
	s.rebuilding.Lock()
	defer s.rebuilding.Unlock()

	nf := New(expected, s.fpRate)
	s.mu.Lock()
	s.next = nf
	s.mu.Unlock()

	err := load(nf.Add)

	s.mu.Lock()
	if err == nil {
		s.cur.Store(nf)
	}
	s.next = nil
	s.mu.Unlock()
	return err
}
