package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/bench/internal/cases"
	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
)

// BenchmarkAuthenticate measures the library calls without a framework:
// core.Auth.Authenticate (revocation check included, on bbolt) with its verified-token
// cache and without it, and golang-jwt v5's ParseWithClaims with the same strictness,
// with a reused token and with first-seen ones.
func BenchmarkAuthenticate(b *testing.B) {
	f := shared(b)
	for _, alg := range f.Algs {
		for _, mode := range cases.Modes {
			for _, lib := range cases.Libraries {
				tokens, next := cases.Tokens(alg, mode, lib)
				run, err := cases.Library(lib, alg, tokens, next)
				if err != nil {
					b.Fatal(err)
				}
				b.Run(name(lib, alg.Name, mode), run)
			}
		}
	}
}

// BenchmarkAuthenticateRevoked is Authenticate without the cache on a bbolt store
// holding a million revoked tokens: the revocation check still answers from its
// in-memory filter. The million are loaded once, through Import.
func BenchmarkAuthenticateRevoked(b *testing.B) {
	f := shared(b)
	s, err := boltstore.Open(filepath.Join(dir(b), "revoked.db"), boltstore.WithPurgeInterval(0))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const n, batch = 1_000_000, 50_000
	exp := time.Now().Add(24 * time.Hour)
	for i := 0; i < n; i += batch {
		entries := make([]core.Entry, 0, batch)
		for j := i; j < i+batch; j++ {
			entries = append(entries, core.Entry{Kind: core.EntryRevokedToken, ID: fmt.Sprintf("revoked-%09d", j), Expires: exp})
		}
		if err := s.Import(context.Background(), entries); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	for _, alg := range f.Algs {
		a, err := fixture.NewAuth(s, alg.Key, core.WithoutTokenCache())
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		tok := alg.Reused()
		b.Run(name("gatehouse-nocache", alg.Name, "revoked=1000000"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
