package revfilter

import (
	"hash/maphash"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"
)

const (
	blockWords = 8                  // uint64 words per block: 64 bytes, one cache line
	blockBits  = blockWords * 64    // 512
	maxRounds  = 3                  // most bits per word per key
	golden     = 0x9e3779b97f4a7c15 // splitmix64 increment
)

// MinFPRate and MaxFPRate bound the false-positive rate New accepts; rates outside are
// clamped to them.
const (
	MinFPRate = 1e-6
	MaxFPRate = 0.5
)

// DefaultFPRate is the false-positive rate New uses when given one that is not a number.
const DefaultFPRate = 0.01

type block [blockWords]uint64

// Filter is a blocked Bloom filter of strings. It is safe for concurrent use by any
// number of goroutines, and its lookups take no lock. The zero value is not usable; make
// one with New.
type Filter struct {
	blocks   []block
	nblocks  uint64
	rounds   int // bits per word per key: each key sets 8*rounds bits
	seed     maphash.Seed
	capacity int
	fpRate   float64

	count   atomic.Int64 // Add calls
	removed atomic.Int64 // keys the owner has reported deleted from its store (see Set)
}

// New returns an empty filter sized so that, holding expected keys, it answers
// MayContain true for a key it does not hold with probability at most fpRate.
// expected below 1 counts as 1; fpRate is clamped to [MinFPRate, MaxFPRate], and a NaN
// means DefaultFPRate.
func New(expected int, fpRate float64) *Filter {
	expected = max(expected, 1)
	switch {
	case math.IsNaN(fpRate):
		fpRate = DefaultFPRate
	case fpRate < MinFPRate:
		fpRate = MinFPRate
	case fpRate > MaxFPRate:
		fpRate = MaxFPRate
	}
	rounds, perBlock := cachedPlan(fpRate)
	nblocks := uint64(math.Ceil(float64(expected) / perBlock))
	f := &Filter{
		blocks:   alignedBlocks(int(nblocks)),
		nblocks:  nblocks,
		rounds:   rounds,
		seed:     maphash.MakeSeed(),
		capacity: expected,
		fpRate:   fpRate,
	}
	return f
}

// alignedBlocks returns n zeroed blocks starting on a 64-byte boundary, so that no block
// straddles two cache lines. Go aligns a []uint64 to 8 bytes only; the slack words make
// room to move the start up to the next boundary.
func alignedBlocks(n int) []block {
	words := make([]uint64, n*blockWords+blockWords-1)
	off := (64 - int(uintptr(unsafe.Pointer(&words[0]))%64)) % 64 / 8
	return unsafe.Slice((*block)(unsafe.Pointer(&words[off])), n)
}

// Add adds key. After Add returns, MayContain(key) is true in every goroutine.
func (f *Filter) Add(key string) {
	f.addHash(maphash.String(f.seed, key))
	f.count.Add(1)
}

func (f *Filter) addHash(h uint64) {
	b := f.block(h)
	s := h
	for range f.rounds {
		s += golden
		x := mix(s)
		for i := range b {
			bit := uint64(1) << (x >> (6 * i) % 64)
			// Skip the locked OR when the bit is set already: re-adding a key, or
			// adding one whose bits other keys have set, then writes nothing, and
			// other cores reading the cache line keep their copy.
			if atomic.LoadUint64(&b[i])&bit == 0 {
				atomic.OrUint64(&b[i], bit)
			}
		}
	}
}

// MayContain reports whether key may have been added. False means it certainly was not.
func (f *Filter) MayContain(key string) bool {
	h := maphash.String(f.seed, key)
	b := f.block(h)
	// Test every word of the line without a branch per bit: whether an absent key's
	// first clear bit comes early or late is a coin toss the CPU would mispredict.
	var miss uint64
	s := h
	for range f.rounds {
		s += golden
		x := mix(s)
		miss |= 1<<(x%64)&^atomic.LoadUint64(&b[0]) |
			1<<(x>>6%64)&^atomic.LoadUint64(&b[1]) |
			1<<(x>>12%64)&^atomic.LoadUint64(&b[2]) |
			1<<(x>>18%64)&^atomic.LoadUint64(&b[3]) |
			1<<(x>>24%64)&^atomic.LoadUint64(&b[4]) |
			1<<(x>>30%64)&^atomic.LoadUint64(&b[5]) |
			1<<(x>>36%64)&^atomic.LoadUint64(&b[6]) |
			1<<(x>>42%64)&^atomic.LoadUint64(&b[7])
	}
	return miss == 0
}

// block returns the block of hash h, chosen by its high bits (multiply-shift, no
// division). The bits inside the block come from a splitmix64 stream seeded with h:
// each output gives one 6-bit position in each of the eight words, so they do not
// reuse the bits that chose the block.
func (f *Filter) block(h uint64) *block {
	hi, _ := bits.Mul64(h, f.nblocks)
	return &f.blocks[hi]
}

// mix is the splitmix64 output function.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Count returns how many times Add was called: the number of keys, if each was added
// once.
func (f *Filter) Count() int { return int(f.count.Load()) }

// Capacity returns the number of keys the filter was sized for. Past it, the
// false-positive rate climbs above FPRate.
func (f *Filter) Capacity() int { return f.capacity }

// FPRate returns the false-positive rate the filter was sized for.
func (f *Filter) FPRate() float64 { return f.fpRate }

// Hashes returns the number of bits set per key.
func (f *Filter) Hashes() int { return blockWords * f.rounds }

// SizeBytes returns the memory the filter's bits take.
func (f *Filter) SizeBytes() int { return len(f.blocks) * blockWords * 8 }

// EstimatedFPRate returns the false-positive rate expected at the filter's current
// Count, computed the way New sizes filters.
func (f *Filter) EstimatedFPRate() float64 {
	return blockedFPRate(float64(f.Count())/float64(f.nblocks), f.rounds)
}

// plans caches plan by false-positive rate: a store asks for the same rate at every
// rebuild.
var plans sync.Map // float64 -> planned

type planned struct {
	rounds   int
	perBlock float64
}

func cachedPlan(fpRate float64) (int, float64) {
	if p, ok := plans.Load(fpRate); ok {
		return p.(planned).rounds, p.(planned).perBlock
	}
	rounds, perBlock := plan(fpRate)
	plans.Store(fpRate, planned{rounds, perBlock})
	return rounds, perBlock
}

// plan returns the bits per word per key and the keys per block that reach fpRate with
// the fewest bits, the fewer rounds among equals.
func plan(fpRate float64) (rounds int, perBlock float64) {
	for r := 1; r <= maxRounds; r++ {
		// blockedFPRate grows with the load; find the largest load that still meets
		// fpRate by bisection, between 1 and 512 bits per key.
		lo, hi := float64(blockBits)/512, float64(blockBits)/1
		if blockedFPRate(lo, r) > fpRate {
			continue
		}
		for range 40 {
			mid := (lo + hi) / 2
			if blockedFPRate(mid, r) <= fpRate {
				lo = mid
			} else {
				hi = mid
			}
		}
		if lo > perBlock*(1+1e-9) {
			rounds, perBlock = r, lo
		}
	}
	return rounds, perBlock
}

// blockedFPRate is the false-positive rate of the filter's layout, 512-bit blocks of
// eight words in which each key sets rounds bits per word, when the blocks hold load keys
// on average. The keys of one block are Poisson distributed; in a block holding j keys
// each bit of a word is set with probability 1-(1-1/64)^(rounds*j), and a key not in the
// filter is a false positive when its 8*rounds bits are all set. The textbook
// (1-e^(-kn/m))^k ignores that spread, and blocks fuller than average are where most
// false positives come from.
func blockedFPRate(load float64, rounds int) float64 {
	if load <= 0 {
		return 0
	}
	clear := math.Log1p(-1.0 / 64) // log of the chance one bit of a word stays clear
	end := int(load + 12*math.Sqrt(load) + 30)
	var fp float64
	pj := math.Exp(-load) // Poisson probability of j keys, from j = 0; load <= 512
	for j := 0; j <= end; j++ {
		if j > 0 {
			pj *= load / float64(j)
		}
		fill := -math.Expm1(float64(rounds*j) * clear)
		fp += pj * math.Pow(fill, float64(blockWords*rounds))
	}
	return fp
}
