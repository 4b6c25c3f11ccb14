// Command bench runs gatehouse's benchmarks against the peers in one process and prints
// one table of ratios: the cost a middleware adds to a framework request (gatehouse
// beside gin-jwt v2, gofiber/contrib/jwt, go-chi/jwtauth and bare golang-jwt v5, HS256
// and EdDSA, reused and first-seen tokens), the library calls alone, loopback req/s of
// Gin and Fiber with gatehouse as a share of the bare framework, and durable writes on
// bbolt. `make bench` runs it; it takes about four minutes.
//
// The in-process figures are medians of interleaved rounds, each difference and ratio
// taken within a round; the loopback figures medians of interleaved runs. Compare the
// ratios: absolute figures move with the machine and whatever else runs on it.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/bench/internal/durable"
	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
	"github.com/gatehouse-auth/gatehouse/bench/internal/load"
	"github.com/gatehouse-auth/gatehouse/bench/internal/measure"
)

type options struct {
	rounds       int
	benchtime    time.Duration
	loadRuns     int
	loadTime     time.Duration
	sizes        []int
	durableTime  time.Duration
	skipLoad     bool
	skipDurable  bool
	skipInProc   bool
	verbose      bool
	durableClnts int
	durableProf  string
}

func main() {
	load.MaybeServe()
	measure.Init(100 * time.Millisecond)
	var o options
	var sizes string
	flag.IntVar(&o.rounds, "rounds", 7, "interleaved rounds of the in-process benchmarks")
	flag.DurationVar(&o.benchtime, "benchtime", 100*time.Millisecond, "time of one in-process benchmark in one round")
	flag.IntVar(&o.loadRuns, "load-runs", 10, "loopback runs of each server")
	flag.DurationVar(&o.loadTime, "load-time", time.Second, "measured time of one loopback run")
	flag.StringVar(&sizes, "sizes", "2000,20000,100000", "sessions in the bbolt store for the durable writes")
	flag.DurationVar(&o.durableTime, "durable-time", time.Second, "measured time of one durable-write figure")
	flag.IntVar(&o.durableClnts, "clients", 64, "concurrent clients of the durable writes")
	flag.BoolVar(&o.skipInProc, "skip-inprocess", false, "skip the in-process benchmarks")
	flag.BoolVar(&o.skipLoad, "skip-load", false, "skip the loopback req/s")
	flag.BoolVar(&o.skipDurable, "skip-durable", false, "skip the durable writes")
	flag.BoolVar(&o.verbose, "v", false, "also print every median")
	flag.StringVar(&o.durableProf, "durable-profile", "", "write a CPU profile of each durable-write measurement (not of its set-up) into this directory")
	flag.Parse()
	if err := flag.Set("test.benchtime", o.benchtime.String()); err != nil {
		log.Fatal(err)
	}
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < o.durableClnts {
			log.Fatalf("bench: bad -sizes %q", sizes)
		}
		o.sizes = append(o.sizes, n)
	}
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "gatehouse-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rep := &report{machine: machine(), started: start, loadStart: loadAverage()}

	if !o.skipInProc {
		log.Printf("fixture: %d tokens per algorithm", fixture.PoolSize)
		f, err := fixture.New(dir, fixture.PoolSize)
		if err != nil {
			return err
		}
		rep.inproc, err = inProcess(f, o)
		f.Close()
		if err != nil {
			return err
		}
	}
	if !o.skipLoad {
		log.Printf("loopback: %v, %d runs of %v per server, %d connections, servers pinned: %v",
			load.Stacks, o.loadRuns, o.loadTime, load.Conns, load.Pinning())
		rep.load, err = load.Compare(load.Stacks, o.loadRuns, 200*time.Millisecond, o.loadTime)
		if err != nil {
			return err
		}
		rep.pinned = load.Pinning()
	}
	if !o.skipDurable {
		if rep.durable, rep.fsync, err = durableWrites(dir, o); err != nil {
			return err
		}
	}
	rep.elapsed = time.Since(start)
	rep.print(os.Stdout, o)
	return nil
}

// durableWrites measures refreshes, logouts and sign-ins at each size, then the time
// Open takes on the file, with the fdatasync latency of the same disk.
func durableWrites(dir string, o options) ([]durable.Result, [3]time.Duration, error) {
	var fsync [3]time.Duration
	var err error
	for i, c := range []struct {
		pages      int
		contiguous bool
	}{{1, false}, {64, false}, {256, true}} {
		if fsync[i], err = durable.FsyncLatency(dir, c.pages, 100, c.contiguous); err != nil {
			return nil, fsync, err
		}
	}
	var out []durable.Result
	for _, n := range o.sizes {
		log.Printf("durable writes: %d sessions on bbolt, %d clients", n, o.durableClnts)
		bed, err := durable.Open(dir, n)
		if err != nil {
			return nil, fsync, err
		}
		for _, op := range []func(int, time.Duration) (durable.Result, error){bed.Refreshes, bed.Logouts, bed.SignIns} {
			r, err := profiled(o.durableProf, n, func() (durable.Result, error) { return op(o.durableClnts, o.durableTime) })
			if err != nil {
				bed.Close()
				return nil, fsync, err
			}
			out = append(out, r)
		}
		took, size, err := bed.OpenTime()
		if err != nil {
			bed.Close()
			return nil, fsync, err
		}
		out = append(out, durable.Result{Op: "open", Sessions: n, Elapsed: took, Written: uint64(size)})
		if err := bed.Close(); err != nil {
			return nil, fsync, err
		}
	}
	return out, fsync, nil
}

// profiled runs measure under a CPU profile written to dir (when not "") as
// OP-SIZE.pprof.
func profiled(dir string, size int, measure func() (durable.Result, error)) (durable.Result, error) {
	if dir == "" {
		return measure()
	}
	f, err := os.CreateTemp(dir, "durable-*.pprof")
	if err != nil {
		return durable.Result{}, err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return durable.Result{}, err
	}
	r, err := measure()
	pprof.StopCPUProfile()
	if err != nil {
		return r, err
	}
	name := filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", r.Op, size))
	return r, os.Rename(f.Name(), name)
}

// machine describes where the figures come from.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, nproc %d, %s %s/%s", cpu, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
