package revfilter_test

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core/revfilter"
)

// fakeStore is the store a Set sits in front of: a map under a lock. Like a real store,
// its writers put a key in it first and add it to the filter after.
type fakeStore struct {
	mu   sync.Mutex
	keys map[string]bool
	set  *revfilter.Set
}

func newFakeStore(expected int) *fakeStore {
	return &fakeStore{keys: map[string]bool{}, set: revfilter.NewSet(expected, 0.01)}
}

func (s *fakeStore) put(k string) {
	s.mu.Lock()
	s.keys[k] = true
	s.mu.Unlock()
	s.set.Add(k)
}

func (s *fakeStore) del(k string) {
	s.mu.Lock()
	delete(s.keys, k)
	s.mu.Unlock()
	s.set.Removed(1)
}

// load reads the store the way a store's read transaction would: a snapshot taken
// after it is called. between, if set, runs after the snapshot and before the keys are
// added, to let writes land in the middle of a rebuild.
func (s *fakeStore) load(between func()) func(add func(string)) error {
	return func(add func(string)) error {
		s.mu.Lock()
		snapshot := make([]string, 0, len(s.keys))
		for k := range s.keys {
			snapshot = append(snapshot, k)
		}
		s.mu.Unlock()
		if between != nil {
			between()
		}
		for i, k := range snapshot {
			add(k)
			if i%64 == 0 {
				runtime.Gosched()
			}
		}
		return nil
	}
}

func TestSetRebuildDropsRemovedKeys(t *testing.T) {
	s := newFakeStore(2000)
	for i := range 1000 {
		s.put(key(i))
	}
	for i := range 900 {
		s.del(key(i))
	}
	if !s.set.NeedsRebuild() {
		t.Fatal("NeedsRebuild() = false with 900 of 1000 keys removed")
	}
	if got := s.set.Live(); got != 100 {
		t.Errorf("Live() = %d, want 100", got)
	}
	if err := s.set.Rebuild(200, s.load(nil)); err != nil {
		t.Fatal(err)
	}
	if s.set.NeedsRebuild() {
		t.Error("NeedsRebuild() = true right after Rebuild")
	}
	if got := s.set.Count(); got != 100 {
		t.Errorf("Count() after Rebuild = %d, want 100", got)
	}
	stale := 0
	for i := range 1000 {
		in := s.set.MayContain(key(i))
		if i >= 900 && !in {
			t.Fatalf("kept key %q missing after Rebuild", key(i))
		}
		if i < 900 && in {
			stale++
		}
	}
	if stale > 40 { // 1% of 900 expected; 40 is far out
		t.Errorf("%d of 900 removed keys still match after Rebuild", stale)
	}
}

func TestSetNeedsRebuildWhenStale(t *testing.T) {
	s := revfilter.NewSet(1000, 0.01)
	for i := range 10 {
		s.Add(key(i))
	}
	s.Removed(10)
	if s.NeedsRebuild() {
		t.Error("NeedsRebuild() = true for 10 removed keys in a filter sized for 1000")
	}
	for i := range 600 {
		s.Add(key(i))
	}
	s.Removed(290)
	if s.NeedsRebuild() {
		t.Error("NeedsRebuild() = true with 300 of 610 keys removed: not more than half")
	}
	s.Removed(20)
	if !s.NeedsRebuild() {
		t.Error("NeedsRebuild() = false with 320 of 610 keys removed, a third of the capacity")
	}
}

func TestSetNeedsRebuildWhenFull(t *testing.T) {
	s := revfilter.NewSet(100, 0.01)
	for i := range 100 {
		s.Add(key(i))
	}
	if s.NeedsRebuild() {
		t.Fatal("NeedsRebuild() = true at capacity")
	}
	s.Add(key(100))
	if !s.NeedsRebuild() {
		t.Fatal("NeedsRebuild() = false past capacity")
	}
}

// TestSetAddDuringRebuild adds a key after the rebuild's snapshot was taken: the key is
// not in what load reads, so only the double Add keeps it.
func TestSetAddDuringRebuild(t *testing.T) {
	s := newFakeStore(100)
	s.put("before")
	err := s.set.Rebuild(100, s.load(func() { s.put("during") }))
	if err != nil {
		t.Fatal(err)
	}
	s.put("after")
	for _, k := range []string{"before", "during", "after"} {
		if !s.set.MayContain(k) {
			t.Errorf("MayContain(%q) = false after Rebuild", k)
		}
	}
}

func TestSetFailedRebuildKeepsFilter(t *testing.T) {
	s := newFakeStore(100)
	s.put("before")
	old := s.set.Filter()
	boom := errors.New("read failed")
	err := s.set.Rebuild(100, func(add func(string)) error {
		s.put("during")
		add("before")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Rebuild error = %v, want %v", err, boom)
	}
	if s.set.Filter() != old {
		t.Error("a failed Rebuild replaced the filter")
	}
	for _, k := range []string{"before", "during"} {
		if !s.set.MayContain(k) {
			t.Errorf("MayContain(%q) = false after a failed Rebuild", k)
		}
	}
}

// TestSetRebuildRace runs writers, readers and back-to-back rebuilds together. A key
// whose Add has returned must be found by every later lookup, whichever filter is
// current, and -race must stay quiet.
func TestSetRebuildRace(t *testing.T) {
	const writers, perWriter = 3, 3000
	s := newFakeStore(64) // small: the rebuilds also grow it
	var published [writers]atomic.Int64
	var failed atomic.Bool
	stop := make(chan struct{})
	var bg sync.WaitGroup

	rebuilds := 0
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.set.Rebuild(2*s.set.Live()+64, s.load(runtime.Gosched)); err != nil {
				t.Error(err)
				return
			}
			rebuilds++
		}
	})
	bg.Go(func() {
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			w := n % writers
			upTo := published[w].Load()
			if upTo == 0 {
				runtime.Gosched()
				continue
			}
			k := fmt.Sprintf("w%d-%d", w, int64(n*7919)%upTo)
			if !s.set.MayContain(k) {
				failed.Store(true)
				t.Errorf("MayContain(%q) = false after its Add returned", k)
				return
			}
		}
	})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				k := fmt.Sprintf("w%d-%d", w, i)
				s.put(k)
				if i%3 == 0 {
					// Purge an older key now and then, as a store does.
					s.del(fmt.Sprintf("w%d-%d-gone", w, i))
				}
				if !s.set.MayContain(k) {
					failed.Store(true)
					t.Errorf("MayContain(%q) = false right after Add", k)
					return
				}
				published[w].Store(int64(i + 1))
			}
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	if failed.Load() {
		return
	}
	if rebuilds == 0 {
		t.Fatal("no rebuild ran during the writes")
	}
	for w := range writers {
		for i := range perWriter {
			if k := fmt.Sprintf("w%d-%d", w, i); !s.set.MayContain(k) {
				t.Fatalf("MayContain(%q) = false at the end", k)
			}
		}
	}
	t.Logf("%d rebuilds; final filter holds %d keys, capacity %d", rebuilds, s.set.Count(), s.set.Capacity())
}
