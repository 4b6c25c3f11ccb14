package bench

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/bench/internal/cases"
	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
)

// TestAdapterAllocs checks that Require allocates, per request with a reused token,
// no more than its framework and core force (see bench/README.md):
//   - gin: the request copy and the context carrying the claims (2);
//   - fiber: the context carrying the claims (1); the Authorization header is read in
//     place, out of fasthttp's buffer, and only the token cache copies it, on a miss;
//   - net/http: the request copy and the context carrying the claims (2);
//
// plus what core.Auth.Authenticate allocates on a cache hit (1, the caller's copy of
// the claims). It counts allocations, never time.
func TestAdapterAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	f, err := fixture.New(t.TempDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	alg := f.Alg("HS256")
	forced := map[string]float64{"gin": 2, "fiber": 1, "net/http": 2}
	const core = 1
	for _, fw := range cases.Frameworks {
		t.Run(name(fw), func(t *testing.T) {
			bare, err := cases.NewTarget(fw, cases.Bare, nil)
			if err != nil {
				t.Fatal(err)
			}
			gh, err := cases.NewTarget(fw, "gatehouse", alg)
			if err != nil {
				t.Fatal(err)
			}
			h := alg.Headers[0]
			for _, tg := range []*cases.Target{bare, gh} {
				if err := tg.Check(h); err != nil {
					t.Fatal(err)
				}
			}
			added := testing.AllocsPerRun(1000, func() { gh.Check(h) }) - testing.AllocsPerRun(1000, func() { bare.Check(h) })
			t.Logf("Require on %s adds %v allocations per request", fw, added)
			if max := forced[fw] + core; added > max {
				t.Errorf("Require on %s adds %v allocations per request, want at most %v", fw, added, max)
			}
		})
	}
}
