package redisstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
)

// BenchmarkIsRevoked compares the two paths of IsRevoked, with 10,000 revocations
// stored: a miss, answered by the in-memory filters, and a hit, which costs one round
// trip (EXISTS) to Redis.
func BenchmarkIsRevoked(b *testing.B) {
	ctx := context.Background()
	c := newClient(b, shared(b))
	s := newStore(b, c, redisstore.WithPrefix(uniquePrefix(b, c)))
	entries := make([]core.Entry, 10_000)
	for i := range entries {
		entries[i] = core.Entry{Kind: core.EntryRevokedToken, ID: fmt.Sprintf("revoked-%d", i), Expires: future}
	}
	must(b, s.Import(ctx, entries))
	const n = 1024
	var misses [n]string
	for i := range misses {
		misses[i] = fmt.Sprintf("jti-%d", i)
	}

	b.Run("miss", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if ok, err := s.IsRevoked(ctx, misses[i%n], "sid-live"); ok || err != nil {
				b.Fatal(ok, err)
			}
			i++
		}
	})
	b.Run("miss-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if ok, err := s.IsRevoked(ctx, misses[i%n], "sid-live"); ok || err != nil {
					b.Error(ok, err)
					return
				}
				i++
			}
		})
	})
	b.Run("hit", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if ok, err := s.IsRevoked(ctx, entries[i%len(entries)].ID, "sid-live"); !ok || err != nil {
				b.Fatal(ok, err)
			}
			i++
		}
	})
}
