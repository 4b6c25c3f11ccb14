package revfilter

import (
	"testing"
	"unsafe"
)

func TestBlocksAreCacheLineAligned(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 100, 1000} {
		b := alignedBlocks(n)
		if len(b) != n {
			t.Fatalf("alignedBlocks(%d) has %d blocks", n, len(b))
		}
		if addr := uintptr(unsafe.Pointer(&b[0])); addr%64 != 0 {
			t.Errorf("alignedBlocks(%d) starts at %#x, not on a 64-byte boundary", n, addr)
		}
	}
}

func TestPlanMeetsRate(t *testing.T) {
	for _, rate := range []float64{MaxFPRate, 0.1, 0.01, 0.001, 1e-4, MinFPRate} {
		rounds, perBlock := plan(rate)
		if rounds < 1 || rounds > maxRounds || perBlock <= 0 {
			t.Fatalf("plan(%g) = %d, %g", rate, rounds, perBlock)
		}
		if got := blockedFPRate(perBlock, rounds); got > rate*(1+1e-6) {
			t.Errorf("plan(%g): rate at that load is %g", rate, got)
		}
		t.Logf("rate %g: %d bits per key, %.1f bits of filter per key", rate, 8*rounds, blockBits/perBlock)
	}
}

func TestKeyBitsStayInOneBlock(t *testing.T) {
	f := New(10_000, 0.001)
	f.Add("x")
	set := 0
	for i := range f.blocks {
		for _, w := range f.blocks[i] {
			if w != 0 {
				set++
				break
			}
		}
	}
	if set != 1 {
		t.Errorf("one key set bits in %d blocks, want 1", set)
	}
}
