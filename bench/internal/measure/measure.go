// Package measure runs testing.B benchmark functions outside `go test`, in interleaved
// rounds, and takes medians: on a shared, noisy machine only figures measured side by
// side in one run can be compared.
package measure

import (
	"flag"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"
)

// Init sets up the testing package for Run, each benchmark running for about
// benchtime. Call it before flag.Parse.
func Init(benchtime time.Duration) {
	testing.Init()
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		panic(err)
	}
}

// Sample is one benchmark's result.
type Sample struct {
	Ns     float64 // wall-clock time per op
	CPUNs  float64 // CPU time of the benchmark's thread per op (see Loop); 0 if unknown
	Allocs int64   // per op
	Bytes  int64   // per op
}

// CPUMetric is the unit of the CPU time Loop reports.
const CPUMetric = "cpu-ns/op"

// Loop runs body in b.Loop with the goroutine locked to its thread, and reports the
// thread's CPU time per op besides the wall-clock time: on a machine shared with other
// work, the wall clock also counts the time the thread waited for a CPU, the CPU time
// only what the operation cost. Work done on other threads (the garbage collector's
// background marking) is not counted.
func Loop(b *testing.B, body func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := ThreadCPU()
	for b.Loop() {
		body()
	}
	if start != 0 {
		b.ReportMetric(float64(ThreadCPU()-start)/float64(b.N), CPUMetric)
	}
}

// Run runs fn as `go test -bench` would, once.
func Run(fn func(*testing.B)) (Sample, error) {
	r := testing.Benchmark(fn)
	if r.N == 0 {
		return Sample{}, fmt.Errorf("the benchmark failed")
	}
	return Sample{
		Ns: float64(r.T.Nanoseconds()) / float64(r.N), CPUNs: r.Extra[CPUMetric],
		Allocs: r.AllocsPerOp(), Bytes: r.AllocedBytesPerOp(),
	}, nil
}

// Median is the median of xs (the mean of the middle two for an even count).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
