package main

import (
	"fmt"
	"log"
	"testing"

	"github.com/gatehouse-auth/gatehouse/bench/internal/cases"
	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
	"github.com/gatehouse-auth/gatehouse/bench/internal/measure"
)

// inproc holds every in-process sample, by case, one per round.
type inproc struct {
	rounds  int
	samples map[string][]measure.Sample
}

// key names a case: a framework route ("gin", mw, alg, mode; alg "" for bare) or a
// library call ("lib", name, alg, mode).
func key(group, name, alg, mode string) string { return group + "|" + name + "|" + alg + "|" + mode }

type benchCase struct {
	key  string
	run  func(*testing.B)
	next *int
}

// inProcess builds every case, checks that each lets its request through, then runs
// them all in o.rounds rounds, forwards and backwards in turn.
func inProcess(f *fixture.Fixture, o options) (*inproc, error) {
	var list []benchCase
	for _, fw := range cases.Frameworks {
		for _, mode := range cases.Modes {
			bare, err := cases.NewTarget(fw, cases.Bare, nil)
			if err != nil {
				return nil, err
			}
			headers, next := cases.Headers(f.Algs[0], mode, cases.Bare)
			list = append(list, benchCase{key(fw, cases.Bare, "", mode), bare.Bench(headers, next), next})
			for _, alg := range f.Algs {
				for _, mw := range cases.Middlewares[fw] {
					t, err := cases.NewTarget(fw, mw, alg)
					if err != nil {
						return nil, err
					}
					headers, next := cases.Headers(alg, mode, mw)
					if err := t.Check(headers[*next%len(headers)]); err != nil {
						return nil, fmt.Errorf("%s: %w", alg.Name, err)
					}
					list = append(list, benchCase{key(fw, mw, alg.Name, mode), t.Bench(headers, next), next})
				}
			}
		}
	}
	for _, alg := range f.Algs {
		for _, mode := range cases.Modes {
			for _, lib := range cases.Libraries {
				tokens, next := cases.Tokens(alg, mode, lib)
				run, err := cases.Library(lib, alg, tokens, next)
				if err != nil {
					return nil, err
				}
				list = append(list, benchCase{key("lib", lib, alg.Name, mode), run, next})
			}
		}
	}
	for _, alg := range f.Algs {
		for _, impl := range cases.Signatures {
			run, err := cases.Signature(impl, alg)
			if err != nil {
				return nil, err
			}
			list = append(list, benchCase{key("sig", impl, alg.Name, cases.Reused), run, nil})
		}
	}
	res := &inproc{rounds: o.rounds, samples: make(map[string][]measure.Sample, len(list))}
	for r := range o.rounds {
		log.Printf("in-process: round %d of %d, %d benchmarks of %v", r+1, o.rounds, len(list), o.benchtime)
		for i := range list {
			c := list[i]
			if r%2 == 1 {
				c = list[len(list)-1-i]
			}
			var b0, b1 int
			if c.next != nil {
				b0 = *c.next
			}
			s, err := measure.Run(c.run)
			if c.next != nil {
				b1 = *c.next
			}
			if o.verbose {
				log.Printf("  %s: %.0f ns/op, %.0f CPU ns/op, %d allocs/op, tokens %d→%d", c.key, s.Ns, s.CPUNs, s.Allocs, b0, b1)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.key, err)
			}
			res.samples[c.key] = append(res.samples[c.key], s)
		}
	}
	return res, nil
}

// figure is a median of per-round values, with allocations per op.
type figure struct {
	wall, cpu float64 // ns per op; cpu is 0 where the thread's CPU time is not read
	allocs    int64
	bytes     int64
	ok        bool
}

// ns is the figure goals and ratios are judged on: the CPU time when known.
func (f figure) ns() float64 {
	if f.cpu != 0 {
		return f.cpu
	}
	return f.wall
}

// added is what middleware mw adds to a request of fw: each round's time less the
// bare route's of the same round, the median of those.
func (p *inproc) added(fw, mw, alg, mode string) figure {
	with, bare := p.samples[key(fw, mw, alg, mode)], p.samples[key(fw, cases.Bare, "", mode)]
	if len(with) == 0 || len(bare) == 0 {
		return figure{}
	}
	var wall, cpu []float64
	for i := range min(len(with), len(bare)) {
		wall = append(wall, with[i].Ns-bare[i].Ns)
		cpu = append(cpu, with[i].CPUNs-bare[i].CPUNs)
	}
	last, lastBare := with[len(with)-1], bare[len(bare)-1]
	return figure{wall: measure.Median(wall), cpu: measure.Median(cpu), allocs: last.Allocs - lastBare.Allocs, bytes: last.Bytes - lastBare.Bytes, ok: true}
}

// lib is a library call's median time.
func (p *inproc) lib(name, alg, mode string) figure { return p.median(key("lib", name, alg, mode)) }

// median is a case's median time.
func (p *inproc) median(k string) figure {
	s := p.samples[k]
	if len(s) == 0 {
		return figure{}
	}
	var wall, cpu []float64
	for i := range s {
		wall = append(wall, s[i].Ns)
		cpu = append(cpu, s[i].CPUNs)
	}
	return figure{wall: measure.Median(wall), cpu: measure.Median(cpu), allocs: s[len(s)-1].Allocs, bytes: s[len(s)-1].Bytes, ok: true}
}

// addedRatio is what peer adds over what gatehouse adds, each the median of the
// per-round differences (a ratio per round would swing with the noise of a small
// difference).
func (p *inproc) addedRatio(fw, peer, alg, mode string) float64 {
	return p.added(fw, peer, alg, mode).ns() / p.added(fw, "gatehouse", alg, mode).ns()
}

// libRatio is the median over rounds of other's time over gatehouse's.
func (p *inproc) libRatio(gatehouse, other, alg, mode string) float64 {
	return p.ratio(key("lib", gatehouse, alg, mode), key("lib", other, alg, mode))
}

// ratio is the median over rounds of case b's time over case a's.
func (p *inproc) ratio(a, b string) float64 {
	g, q := p.samples[a], p.samples[b]
	r := make([]float64, 0, len(g))
	for i := range min(len(g), len(q)) {
		if g[i].CPUNs != 0 && q[i].CPUNs != 0 {
			r = append(r, q[i].CPUNs/g[i].CPUNs)
		} else {
			r = append(r, q[i].Ns/g[i].Ns)
		}
	}
	return measure.Median(r)
}
