package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/bench/internal/cases"
	"github.com/gatehouse-auth/gatehouse/bench/internal/durable"
	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
	"github.com/gatehouse-auth/gatehouse/bench/internal/load"
	"github.com/gatehouse-auth/gatehouse/bench/internal/measure"
	"github.com/gatehouse-auth/gatehouse/core"
)

// The goals of issue 11.
const (
	goalReused    = 1000.0 // ns added per request with a reused token
	goalFirstSeen = 2000.0 // ns added per request with a first-seen HS256 token
	goalShare     = 0.95   // req/s as a share of the bare framework
	goalWrites    = 20_000 // durable logouts/s and refreshes/s at the largest store
)

type report struct {
	machine   string
	loadStart string
	started   time.Time
	elapsed   time.Duration
	inproc    *inproc
	load      map[string][]load.Result
	pinned    bool
	durable   []durable.Result
	fsync     [3]time.Duration // fdatasync after 1 page, 64 scattered pages, 1 MiB in one write
}

// peerModules are the peers' modules: the table names each peer with the version built in.
var peerModules = map[string]string{
	"gin-jwt":     "github.com/appleboy/gin-jwt/v2",
	"contrib/jwt": "github.com/gofiber/contrib/jwt",
	"jwtauth":     "github.com/go-chi/jwtauth/v5",
	"golang-jwt":  "github.com/golang-jwt/jwt/v5",
}

// peerName is peer p with its module's version.
func peerName(p string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == peerModules[p] {
				return p + " " + d.Version
			}
		}
	}
	return p
}

type row struct{ measure, gatehouse, peer, ratio, goal, met string }

func (r *report) print(w io.Writer, o options) {
	fmt.Fprintf(w, "gatehouse bench, %s; %s; load average %s at the start, %s at the end; took %v\n\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), r.machine, r.loadStart, loadAverage(), r.elapsed.Round(time.Second))
	var notes []string
	var rows []row
	if p := r.inproc; p != nil {
		notes = append(notes, fmt.Sprintf("in-process: medians of %d interleaved rounds of %v per benchmark; \"added\" is a request through the middleware less the same request without it, in the same round; times are the CPU time of the benchmark's thread (the wall-clock time beside it also counts waiting for a CPU on a shared machine), and goals and ratios are judged on them; first-seen tokens are drawn from %d distinct ones (%d× the token cache)",
			p.rounds, o.benchtime, fixture.PoolSize, fixture.PoolSize/core.DefaultTokenCache))
		for _, fw := range cases.Frameworks {
			for _, peer := range cases.Middlewares[fw][1:] {
				for _, alg := range fixture.Algs {
					for _, mode := range cases.Modes {
						rows = append(rows, r.addedRow(fw, peer, alg, mode))
					}
				}
			}
		}
		for _, alg := range fixture.Algs {
			for _, mode := range cases.Modes {
				for _, lib := range []string{"gatehouse", "gatehouse-nocache"} {
					g, q := p.lib(lib, alg, mode), p.lib("golang-jwt", alg, mode)
					what := "Authenticate"
					if lib == "gatehouse-nocache" {
						what = "Authenticate, WithoutTokenCache"
					}
					rows = append(rows, row{
						measure:   fmt.Sprintf("%s vs ParseWithClaims, %s, %s", what, alg, mode),
						gatehouse: fig(g), peer: fig(q) + " (" + peerName("golang-jwt") + ")",
						ratio: ratio(p.libRatio(lib, "golang-jwt", alg, mode)), goal: "—",
					})
				}
			}
		}
	}
	if p := r.inproc; p != nil {
		for _, alg := range fixture.Algs {
			g, s := key("sig", "golang-jwt", alg, cases.Reused), key("sig", "stdlib", alg, cases.Reused)
			std := "crypto/hmac, keyed hashes pooled"
			if alg != "HS256" {
				std = "crypto/ed25519"
			}
			rows = append(rows, row{
				measure:   fmt.Sprintf("%s signature check: golang-jwt's Verify (gatehouse) vs %s", alg, std),
				gatehouse: fig(p.median(g)), peer: fig(p.median(s)) + " (" + std + ")",
				ratio: ratio(p.ratio(g, s)), goal: "—",
			})
		}
	}
	if r.load != nil {
		how := "servers unpinned (no taskset), GOMAXPROCS=1"
		if r.pinned {
			how = "each server pinned to CPU 0 with GOMAXPROCS=1, the client on CPU 1"
		}
		notes = append(notes, fmt.Sprintf("loopback: medians of %d runs of %v, bare and gatehouse back to back, %d keep-alive connections, HS256 reused token, %s; a share is the median of the runs' ratios; requests per CPU-second of the server (its threads' time on a CPU, /proc/PID/task/*/schedstat) is what one CPU serves fully busy, whether the client or the machine's other work let it be, and the goal is judged on it",
			o.loadRuns, o.loadTime, load.Conns, how))
		for _, st := range load.Stacks {
			fw, _, ok := strings.Cut(st, "+")
			if !ok {
				continue
			}
			with, bare := r.load[st], r.load[fw]
			perCPU := load.Share(with, bare, load.Result.PerCPUSecond)
			raw := load.Share(with, bare, load.Result.PerSecond)
			rows = append(rows, row{
				measure: fmt.Sprintf("req/s of %s + gatehouse as a share of bare %s, per server CPU-second (raw req/s)", fw, fw),
				gatehouse: fmt.Sprintf("%.0f vs %.0f req per CPU-s; raw %.0f vs %.0f req/s (%.3f), server busy %.0f%% / %.0f%%",
					load.Median(with, load.Result.PerCPUSecond), load.Median(bare, load.Result.PerCPUSecond),
					load.Median(with, load.Result.PerSecond), load.Median(bare, load.Result.PerSecond), raw,
					100*load.Median(with, load.Result.Busy), 100*load.Median(bare, load.Result.Busy)),
				peer: "—", ratio: fmt.Sprintf("%.3f", perCPU),
				goal: fmt.Sprintf("≥ %.2f", goalShare), met: yes(perCPU >= goalShare),
			})
		}
	}
	if r.durable != nil {
		notes = append(notes, fmt.Sprintf("durable writes: bbolt, %d clients at once, about %v each; logouts draw a random tenth of the sessions at a time and the store keeps its size within 10%%; KB per commit is what the process wrote to storage (/proc/self/io); open is Open of the file the measurements left, in the page cache; on the same disk, overwriting 1 page of 4 KiB then fdatasync takes %v, 64 scattered pages then fdatasync %v, 1 MiB in one write then fdatasync %v (a commit makes two fdatasyncs)",
			o.durableClnts, o.durableTime, r.fsync[0].Round(time.Microsecond), r.fsync[1].Round(time.Microsecond), r.fsync[2].Round(time.Microsecond)))
		largest := 0
		for _, d := range r.durable {
			largest = max(largest, d.Sessions)
		}
		for _, d := range r.durable {
			if d.Op == "open" {
				rows = append(rows, row{
					measure:   fmt.Sprintf("Open of the bbolt file, %d sessions", d.Sessions),
					gatehouse: fmt.Sprintf("%v (%d MiB)", d.Elapsed.Round(time.Millisecond), d.Written>>20),
					peer:      "—", ratio: "—", goal: "—",
				})
				continue
			}
			rw := row{
				measure:   fmt.Sprintf("%s/s on bbolt, %d sessions", plural(d.Op), d.Sessions),
				gatehouse: fmt.Sprintf("%.0f/s (%.0f per commit, %.0f commits/s, %.0f KB per commit)", d.PerSecond(), d.Batch(), float64(d.Commits)/d.Elapsed.Seconds(), d.KBPerCommit()),
				peer:      "—", ratio: "—", goal: "—",
			}
			if d.Sessions == largest && d.Op != "sign-in" {
				rw.goal, rw.met = fmt.Sprintf("≥ %d/s", goalWrites), yes(d.PerSecond() >= goalWrites)
			}
			rows = append(rows, rw)
		}
	}
	fmt.Fprintln(w, "| measure | gatehouse | peer | peer ÷ gatehouse | goal | met |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---|---|")
	for _, rw := range rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", rw.measure, rw.gatehouse, rw.peer, rw.ratio, rw.goal, rw.met)
	}
	fmt.Fprintln(w)
	for _, n := range notes {
		fmt.Fprintln(w, "- "+n)
	}
	if o.verbose && r.inproc != nil {
		fmt.Fprintln(w, "\nmedians (wall ns/op, CPU ns/op, allocs/op of the last round):")
		keys := make([]string, 0, len(r.inproc.samples))
		for k := range r.inproc.samples {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s := r.inproc.samples[k]
			ns := make([]float64, len(s))
			for i := range s {
				ns[i] = s[i].Ns
			}
			cpu := make([]float64, len(s))
			for i := range s {
				cpu[i] = s[i].CPUNs
			}
			fmt.Fprintf(w, "  %-50s %10.0f %10.0f %4d\n", k, measure.Median(ns), measure.Median(cpu), s[len(s)-1].Allocs)
		}
	}
}

func (r *report) addedRow(fw, peer, alg, mode string) row {
	p := r.inproc
	g, q := p.added(fw, "gatehouse", alg, mode), p.added(fw, peer, alg, mode)
	rw := row{
		measure:   fmt.Sprintf("added per request, %s, %s, %s", fw, alg, mode),
		gatehouse: fig(g), peer: fig(q) + " (" + peerName(peer) + ")",
		ratio: ratio(p.addedRatio(fw, peer, alg, mode)), goal: "—",
	}
	switch {
	case mode == cases.Reused:
		rw.goal, rw.met = "≤ 1 µs", yes(g.ns() <= goalReused)
	case alg == "HS256":
		rw.goal, rw.met = "≤ 2 µs", yes(g.ns() <= goalFirstSeen)
	}
	return rw
}

func fig(f figure) string {
	if !f.ok {
		return "—"
	}
	if f.cpu == 0 {
		return fmt.Sprintf("%.2f µs, %d allocs", f.wall/1000, f.allocs)
	}
	return fmt.Sprintf("%.2f µs (wall %.2f), %d allocs", f.cpu/1000, f.wall/1000, f.allocs)
}

func ratio(x float64) string { return fmt.Sprintf("%.1f×", x) }

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func plural(op string) string {
	if strings.HasSuffix(op, "sh") {
		return op + "es"
	}
	return op + "s"
}

// loadAverage is the 1-minute load average, from /proc/loadavg.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
