package load

import (
	"context"
	"fmt"
	"runtime"

	"time"

	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
	"github.com/gatehouse-auth/gatehouse/bench/internal/measure"
	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

// Authorization is the header every load request carries, bare servers included: an
// HS256 access token the gatehouse servers take (same key, issuer and audience).
func Authorization() (string, error) {
	s := memstore.New()
	defer s.Close()
	a, err := fixture.NewAuth(s, fixture.HMACKey())
	if err != nil {
		return "", err
	}
	t, err := a.Issue(context.Background(), core.Identity{Subject: "https://accounts.google.com|110169484474386276334", Email: "ada@example.com", Name: "Ada Lovelace"}, core.Client{})
	if err != nil {
		return "", err
	}
	return "Bearer " + t.AccessToken, nil
}

// Compare starts every stack at once, then loads them one after another, runs times,
// each for warm and d, with the client on CPU 1 when Pinning. A stack and the next one
// of the same framework (bare, then with gatehouse) run back to back, in turn first,
// so that each run's ratio compares two measurements a few seconds apart. It returns
// each stack's requests per second, one per run.
func Compare(stacks []string, runs int, warm, d time.Duration) (map[string][]Result, error) {
	authorization, err := Authorization()
	if err != nil {
		return nil, err
	}
	servers := make([]*Server, 0, len(stacks))
	defer func() {
		for _, s := range servers {
			s.Stop()
		}
	}()
	for _, st := range stacks {
		s, err := Start(st)
		if err != nil {
			return nil, err
		}
		servers = append(servers, s)
	}
	if Pinning() {
		if err := PinClient("1"); err != nil {
			return nil, err
		}
		defer PinClient(fmt.Sprintf("0-%d", runtime.NumCPU()-1)) //nolint:errcheck // best effort
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	}
	out := make(map[string][]Result, len(stacks))
	for r := range runs {
		for i := 0; i < len(servers); i += 2 {
			pair := servers[i:min(i+2, len(servers))]
			if r%2 == 1 && len(pair) == 2 {
				pair = []*Server{pair[1], pair[0]}
			}
			for _, s := range pair {
				res, err := Drive(s.Addr, authorization, Conns, warm, d, s.CPU)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", s.Stack, err)
				}
				out[s.Stack] = append(out[s.Stack], res)
			}
		}
	}
	return out, nil
}

// Share is the median over runs of f(with[i]) / f(bare[i]): each run's ratio is of two
// measurements of the same round.
func Share(with, bare []Result, f func(Result) float64) float64 {
	ratios := make([]float64, 0, len(with))
	for i := range min(len(with), len(bare)) {
		ratios = append(ratios, f(with[i])/f(bare[i]))
	}
	return measure.Median(ratios)
}

// Median is the median over runs of f.
func Median(rs []Result, f func(Result) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return measure.Median(xs)
}
