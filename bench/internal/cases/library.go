package cases

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
	"github.com/gatehouse-auth/gatehouse/bench/internal/measure"
	"github.com/golang-jwt/jwt/v5"
)

// Libraries are the library calls measured without a framework: core.Auth.Authenticate
// with its verified-token cache (the default) and without it, and golang-jwt v5's
// ParseWithClaims with the same strictness.
var Libraries = []string{"gatehouse", "gatehouse-nocache", "golang-jwt"}

// Library measures one call of lib per token, cycling through tokens from *next on as
// Target.Bench does.
func Library(lib string, alg *fixture.Alg, tokens []string, next *int) (func(b *testing.B), error) {
	ctx := context.Background()
	var call func(tok string) error
	switch lib {
	case "gatehouse", "gatehouse-nocache":
		a := alg.Auth
		if lib == "gatehouse-nocache" {
			a = alg.NoCache
		}
		call = func(tok string) error {
			_, err := a.Authenticate(ctx, tok)
			return err
		}
	case "golang-jwt":
		p := JWTParser(alg.Name)
		keyFunc := func(*jwt.Token) (any, error) { return alg.PeerKey, nil }
		call = func(tok string) error {
			_, err := p.ParseWithClaims(tok, new(JWTClaims), keyFunc)
			return err
		}
	default:
		return nil, fmt.Errorf("unknown library %q", lib)
	}
	if err := call(tokens[0]); err != nil {
		return nil, fmt.Errorf("%s refuses the token: %w", lib, err)
	}
	return func(b *testing.B) {
		b.ReportAllocs()
		n := len(tokens)
		i := *next % n
		var err error
		measure.Loop(b, func() {
			if e := call(tokens[i]); e != nil && err == nil {
				err = e
			}
			if i++; i == n {
				i = 0
			}
		})
		*next = i
		if err != nil {
			b.Fatal(err)
		}
	}, nil
}

// The token modes: one token sent again and again, or a new token for every request,
// drawn from a pool five times the size of gatehouse's cache.
const (
	Reused    = "reused"
	FirstSeen = "first-seen"
)

// Modes are the token modes, in the order measured.
var Modes = []string{Reused, FirstSeen}

// Headers returns the Authorization headers of mode for middleware mw and the cursor
// to move through them. Only gatehouse's first-seen measurements move fixture.Alg.Next:
// they share the token cache of the algorithm's Auth, and a token comes round again
// only after the whole pool has been put in the cache, by which time it has almost
// surely been evicted. Every other measurement has a cursor of its own.
func Headers(alg *fixture.Alg, mode, mw string) ([][]string, *int) {
	switch {
	case mode == Reused:
		return alg.Headers[:1], new(int)
	case mw == "gatehouse":
		return alg.Headers, &alg.Next
	}
	return alg.Headers, new(int)
}

// Tokens is Headers for the library calls.
func Tokens(alg *fixture.Alg, mode, lib string) ([]string, *int) {
	switch {
	case mode == Reused:
		return alg.Pool[:1], new(int)
	case lib == "gatehouse":
		return alg.Pool, &alg.Next
	}
	return alg.Pool, new(int)
}
