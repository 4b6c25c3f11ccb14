package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/bench/internal/durable"
)

// BenchmarkDurableWrites measures durable writes on bbolt from 64 clients at once, on
// stores holding 2,000, 20,000 and 100,000 sessions: refreshes (the rotation written),
// logouts (the session deleted and its id revoked; the store is topped up between
// rounds, untimed) and sign-ins. Each runs for a second and reports writes per second
// and the writes each commit carried; ns/op means nothing here.
func BenchmarkDurableWrites(b *testing.B) {
	const clients = 64
	for _, n := range []int{2_000, 20_000, 100_000} {
		bed, err := durable.Open(dir(b), n)
		if err != nil {
			b.Fatal(err)
		}
		for _, op := range []struct {
			name string
			run  func(int, time.Duration) (durable.Result, error)
		}{
			{"refresh", bed.Refreshes},
			{"logout", bed.Logouts},
			{"sign-in", bed.SignIns},
		} {
			b.Run(fmt.Sprintf("%s/sessions=%d", op.name, n), func(b *testing.B) {
				r, err := op.run(clients, time.Second)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.PerSecond(), op.name+"s/s")
				b.ReportMetric(r.Batch(), "writes/commit")
				b.ReportMetric(0, "ns/op")
			})
		}
		if err := bed.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
