package bench

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/bench/internal/cases"
)

// BenchmarkMiddleware measures a framework request through a middleware to a trivial
// handler, and the same request without middleware (bare): the difference is what the
// middleware adds. gatehouse runs beside the peers users would pick on each framework,
// with a reused token and with a new token for every request (first-seen, from a pool
// five times gatehouse's token cache). The bench command takes medians of interleaved
// rounds of these; compare within one run.
func BenchmarkMiddleware(b *testing.B) {
	f := shared(b)
	for _, fw := range cases.Frameworks {
		for _, mode := range cases.Modes {
			bare, err := cases.NewTarget(fw, cases.Bare, nil)
			if err != nil {
				b.Fatal(err)
			}
			headers, next := cases.Headers(f.Algs[0], mode, cases.Bare)
			b.Run(name(fw, cases.Bare, mode), bare.Bench(headers, next))
			for _, alg := range f.Algs {
				for _, mw := range cases.Middlewares[fw] {
					t, err := cases.NewTarget(fw, mw, alg)
					if err != nil {
						b.Fatal(err)
					}
					headers, next := cases.Headers(alg, mode, mw)
					b.Run(name(fw, mw, alg.Name, mode), t.Bench(headers, next))
				}
			}
		}
	}
}
