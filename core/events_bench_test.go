package core_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// BenchmarkAuthenticateEvents is the per-request cost of the events hook: Authenticate
// with a reused (cached) token, with no hook set and with a hook that counts. Without a
// hook no Event is built and nothing is logged, so "none" is what Authenticate cost
// before it reported authentications.
func BenchmarkAuthenticateEvents(b *testing.B) {
	var n atomic.Int64
	for _, bc := range []struct {
		name string
		opts []core.Option
	}{
		{"none", nil},
		{"hook", []core.Option{core.WithEvents(func(context.Context, core.Event) { n.Add(1) })}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			mem := memstore.New()
			defer mem.Close()
			opts := append([]core.Option{
				core.WithSigningKey(hsKey(b)), core.WithLogger(slog.New(slog.DiscardHandler)),
			}, bc.opts...)
			a, err := core.New(mem, opts...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			t, err := a.Issue(ctx, alice, core.Client{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := a.Authenticate(ctx, t.AccessToken); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(ctx, t.AccessToken); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
