package pgstore_test

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
)

// PostgreSQL shuts down at once (immediate shutdown: every backend killed, nothing
// checkpointed, crash recovery at the next start) in the middle of traffic, and comes
// back on the same port and data directory: while it is down every call fails with
// core.ErrStoreUnavailable, core.Auth answers 503 and no IsRevoked passes a token, the
// stores recover by themselves, and no acknowledged revocation is lost.
func TestPostgresRestart(t *testing.T) {
	srv := ownServer(t)
	a, b := pair(t, srv.URL("postgres"), pgstore.WithHealthCheck(200*time.Millisecond))
	storetest.RunRestart(t, storetest.RestartOptions{
		A: a, B: b,
		Backend: "PostgreSQL",
		Trusted: trusted,
		// Both instances notice the lost listener at once: the server closes the
		// connection.
		Stop:    func(t *testing.T) { srv.Stop() },
		Start:   func(t *testing.T) { must(t, srv.Restart()) },
		Recover: 10 * time.Second,
	})
}

// trusted is pgstore.FilterTrusted of a core.Store.
func trusted(s core.Store) bool { return pgstore.FilterTrusted(s.(*pgstore.Store)) }
