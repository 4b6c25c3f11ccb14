package revfilter_test

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core/revfilter"
)

func key(i int) string { return "jti-" + strconv.Itoa(i) }

func TestNoFalseNegatives(t *testing.T) {
	for _, tc := range []struct {
		name     string
		expected int
		fpRate   float64
		add      int
	}{
		{"tiny", 1, 0.01, 50},
		{"sized", 10_000, 0.01, 10_000},
		{"strict rate", 10_000, 1e-6, 10_000},
		{"loose rate", 10_000, 0.5, 10_000},
		{"ten times over capacity", 1_000, 0.001, 10_000},
		{"zero expected", 0, 0.001, 100},
		{"NaN rate", 100, math.NaN(), 100},
		{"rate above one", 100, 2, 100},
		{"negative rate", 100, -1, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := revfilter.New(tc.expected, tc.fpRate)
			for i := range tc.add {
				f.Add(key(i))
			}
			for i := range tc.add {
				if !f.MayContain(key(i)) {
					t.Fatalf("MayContain(%q) = false after Add", key(i))
				}
			}
			if got := f.Count(); got != tc.add {
				t.Errorf("Count() = %d, want %d", got, tc.add)
			}
		})
	}
}

func TestEmptyFilterContainsNothing(t *testing.T) {
	f := revfilter.New(1000, 0.01)
	for i := range 10_000 {
		if f.MayContain(key(i)) {
			t.Fatalf("empty filter: MayContain(%q) = true", key(i))
		}
	}
	if f.MayContain("") {
		t.Fatal(`empty filter: MayContain("") = true`)
	}
}

// TestFalsePositiveRate fills filters to their capacity with 1e5 keys and measures the
// rate at which keys never added come back true.
func TestFalsePositiveRate(t *testing.T) {
	const n = 100_000
	probes := 1_000_000
	if testing.Short() {
		probes = 200_000
	}
	for _, rate := range []float64{0.05, 0.01, 0.001} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			f := revfilter.New(n, rate)
			for i := range n {
				f.Add(key(i))
			}
			fp := 0
			for i := range probes {
				if f.MayContain("other-" + strconv.Itoa(i)) {
					fp++
				}
			}
			got := float64(fp) / float64(probes)
			t.Logf("target %g, measured %.5f (%d of %d), model %.5f, %d hashes, %.1f bits/key",
				rate, got, fp, probes, f.EstimatedFPRate(), f.Hashes(),
				float64(8*f.SizeBytes())/n)
			// The filter is sized to the rate; allow sampling noise (the expected count
			// is at least 200, so ±30% is beyond four standard deviations) and a
			// filter well below the target would waste memory.
			if got > rate*1.3 || got < rate*0.5 {
				t.Errorf("false-positive rate %.5f, want near %g", got, rate)
			}
		})
	}
}

func TestOverfilledFilterDegrades(t *testing.T) {
	// Past capacity the rate climbs, which is why stores rebuild; the estimate says so.
	f := revfilter.New(1000, 0.01)
	for i := range 4000 {
		f.Add(key(i))
	}
	if est := f.EstimatedFPRate(); est < 0.05 {
		t.Errorf("EstimatedFPRate at 4x capacity = %g, want well above 0.01", est)
	}
}

// TestConcurrentAddMayContain has writers adding keys while readers check every key
// whose Add has returned: none may be missing, and -race must stay quiet.
func TestConcurrentAddMayContain(t *testing.T) {
	const writers, perWriter = 4, 5_000
	f := revfilter.New(writers*perWriter/4, 0.01) // overfill on purpose: more collisions
	var published [writers]atomic.Int64           // keys [0, published) of each writer are in
	var wg sync.WaitGroup
	var failed atomic.Bool
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				k := fmt.Sprintf("w%d-%d", w, i)
				f.Add(k)
				if !f.MayContain(k) {
					failed.Store(true)
					t.Errorf("MayContain(%q) = false right after Add", k)
					return
				}
				published[w].Store(int64(i + 1))
			}
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				w := (n + r) % writers
				upTo := published[w].Load()
				if upTo == 0 {
					runtime.Gosched()
					continue
				}
				i := int64(n*7919) % upTo
				k := fmt.Sprintf("w%d-%d", w, i)
				if !f.MayContain(k) {
					failed.Store(true)
					t.Errorf("MayContain(%q) = false after its Add returned", k)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	readers.Wait()
	if failed.Load() {
		return
	}
	for w := range writers {
		for i := range perWriter {
			if k := fmt.Sprintf("w%d-%d", w, i); !f.MayContain(k) {
				t.Fatalf("MayContain(%q) = false at the end", k)
			}
		}
	}
	if got := f.Count(); got != writers*perWriter {
		t.Errorf("Count() = %d, want %d", got, writers*perWriter)
	}
}

var sink bool

// BenchmarkMayContain looks up keys that are not in the filter, the common case of a
// revocation check, in an empty filter of the size a store starts with and in one
// holding a million keys. Both cost one cache line and one hash.
func BenchmarkMayContain(b *testing.B) {
	const queries = 1 << 16
	q := make([]string, queries)
	for i := range q {
		q[i] = fmt.Sprintf("d5a0c3a6-%08x-absent", i)
	}
	for _, tc := range []struct {
		name           string
		expected, keys int
	}{
		{"keys=0", 4096, 0},
		{"keys=1000000", 1_000_000, 1_000_000},
	} {
		f := revfilter.New(tc.expected, 0.001)
		for i := range tc.keys {
			f.Add(fmt.Sprintf("d5a0c3a6-%08x-present", i))
		}
		b.Run(tc.name, func(b *testing.B) {
			hits := 0
			i := 0
			for b.Loop() {
				if f.MayContain(q[i&(queries-1)]) {
					hits++
				}
				i++
			}
			sink = hits > 0
			b.ReportMetric(float64(f.SizeBytes()), "filter-bytes")
		})
	}
}

func BenchmarkAdd(b *testing.B) {
	f := revfilter.New(1_000_000, 0.001)
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = fmt.Sprintf("d5a0c3a6-%08x", i)
	}
	i := 0
	for b.Loop() {
		f.Add(keys[i&(len(keys)-1)])
		i++
	}
}
