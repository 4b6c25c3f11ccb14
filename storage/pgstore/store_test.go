package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestConformance(t *testing.T) {
	pool := newPool(t, shared(t))
	storetest.Run(t, func(t *testing.T) core.Store {
		return newStore(t, pool, pgstore.WithSchema(recycledSchema(t, pool)))
	})
}

// TestConformanceLooseFilter runs the suite with filters that say "maybe" half the
// time, so that most answers come from the database rather than from memory.
func TestConformanceLooseFilter(t *testing.T) {
	pool := newPool(t, shared(t))
	storetest.Run(t, func(t *testing.T) core.Store {
		return newStore(t, pool, pgstore.WithSchema(recycledSchema(t, pool)), pgstore.WithFilterFPRate(0.5))
	})
}

// recycled holds schemas of the shared database that earlier tests migrated and are
// done with: the conformance suite makes a store per subtest, and emptying a schema
// costs far less than creating one.
var recycled struct {
	sync.Mutex
	free []string
}

// recycledSchema returns a schema no live store uses, empty, or new (New migrates
// it), and takes it back when t ends.
func recycledSchema(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	recycled.Lock()
	var name string
	if n := len(recycled.free); n > 0 {
		name, recycled.free = recycled.free[n-1], recycled.free[:n-1]
	}
	recycled.Unlock()
	if name == "" {
		name = fmt.Sprintf("gh_conf_%d_%d", os.Getpid(), schemas.Add(1))
	} else {
		var tables []string
		for _, tb := range []string{"sessions", "revocations", "keys", "consumed", "counters"} {
			tables = append(tables, pgx.Identifier{name, pgstore.DefaultTablePrefix + tb}.Sanitize())
		}
		if _, err := pool.Exec(context.Background(), "TRUNCATE "+joinComma(tables)); err != nil {
			t.Fatalf("emptying schema %s: %v", name, err)
		}
	}
	t.Cleanup(func() {
		recycled.Lock()
		recycled.free = append(recycled.free, name)
		recycled.Unlock()
	})
	return name
}

// dropRecycled drops the recycled schemas, for TestMain.
func dropRecycled(url string) {
	recycled.Lock()
	defer recycled.Unlock()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		return
	}
	defer c.Close(context.Background())
	for _, name := range recycled.free {
		_, _ = c.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
	}
}

func joinComma(list []string) string {
	out := ""
	for i, s := range list {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}
