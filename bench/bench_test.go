package bench

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/bench/internal/fixture"
)

var (
	fixtureOnce sync.Once
	fx          *fixture.Fixture
	fxErr       error
	tmpDir      string
)

// TestMain removes what the benchmarks wrote; the fixture is built by the first
// benchmark that needs it, so that `go test` without -bench costs nothing.
func TestMain(m *testing.M) {
	code := m.Run()
	if fx != nil {
		fx.Close()
	}
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// dir is one temporary directory for the whole run.
func dir(b *testing.B) string {
	b.Helper()
	if tmpDir == "" {
		d, err := os.MkdirTemp("", "gatehouse-bench-")
		if err != nil {
			b.Fatal(err)
		}
		tmpDir = d
	}
	return tmpDir
}

// shared returns the fixture: keys, instances and token pools (see fixture.New).
func shared(b *testing.B) *fixture.Fixture {
	b.Helper()
	fixtureOnce.Do(func() { fx, fxErr = fixture.New(dir(b), fixture.PoolSize) })
	if fxErr != nil {
		b.Fatal(fxErr)
	}
	return fx
}

// name makes a sub-benchmark name of parts, without the slashes of "net/http".
func name(parts ...string) string {
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(p, "/", "")
	}
	return strings.Join(parts, "/")
}
