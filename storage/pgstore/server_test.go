package pgstore_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The tests run against a real PostgreSQL. GATEHOUSE_POSTGRES_URL names one to use;
// unset, TestMain starts its own on a free loopback port and sets the variable (the
// Examples read it). Tests that stop or restart PostgreSQL always start their own.
// Without PostgreSQL each test skips, naming the reason, or fails when CI is set; the
// Examples, which cannot skip, are left out with -test.skip.

// sharedURL is the URL of the database most tests use, empty without PostgreSQL;
// tests get it from shared.
var sharedURL string

// shared returns the URL of the database most tests use, or skips t (fails it when CI
// is set) if there is no PostgreSQL.
func shared(t testing.TB) string {
	t.Helper()
	if sharedURL == "" {
		pgtest.SkipOrFail(t, missingServer)
	}
	return sharedURL
}

const missingServer = pgtest.Missing + ", or set GATEHOUSE_POSTGRES_URL to a database to test against"

func TestMain(m *testing.M) {
	url := os.Getenv("GATEHOUSE_POSTGRES_URL")
	var srv *pgtest.Server
	if url == "" {
		var err error
		srv, err = pgtest.Launch()
		switch {
		case errors.Is(err, pgtest.ErrMissing):
			// Each test skips or fails through shared or ownServer. The Examples
			// cannot: without a URL they would talk to a server on the default port,
			// if any, and fail on the output.
			skipExamples()
		case err != nil:
			fmt.Fprintln(os.Stderr, "FAIL: pgstore tests:", err)
			os.Exit(1)
		default:
			url = srv.URL("postgres")
			os.Setenv("GATEHOUSE_POSTGRES_URL", url)
		}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, err := pgx.Connect(ctx, url)
		if err == nil {
			c.Close(ctx)
		}
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: pgstore tests: GATEHOUSE_POSTGRES_URL: %v\n", err)
			os.Exit(1)
		}
	}
	sharedURL = url
	code := m.Run()
	if url != "" {
		dropRecycled(url)
	}
	if srv != nil {
		srv.Close()
	}
	os.Exit(code)
}

// skipExamples adds the Examples to -test.skip, and says so on stdout, next to the
// tests' SKIP lines. A top-level "|" in a -test.skip pattern is an alternation.
func skipExamples() {
	flag.Parse()
	pattern := "^Example"
	if old := flag.Lookup("test.skip").Value.String(); old != "" {
		pattern = old + "|" + pattern
	}
	if err := flag.Set("test.skip", pattern); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: pgstore tests:", err)
		os.Exit(1)
	}
	fmt.Println("SKIP: the Examples:", missingServer)
}

// ownServer starts a server for t alone, or skips t (fails it when CI is set) if
// there is no PostgreSQL.
func ownServer(t *testing.T) *pgtest.Server {
	t.Helper()
	return pgtest.Start(t)
}

// newPool returns a pool of url that t closes when it ends.
func newPool(t testing.TB, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

var schemas atomic.Int64

// uniqueSchema returns a schema name no other store of this run uses, and drops the
// schema when t ends, so that a shared database is left as it was found.
func uniqueSchema(t testing.TB, url string) string {
	t.Helper()
	name := fmt.Sprintf("gh_test_%d_%d", os.Getpid(), schemas.Add(1))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			return // a test that stopped its server
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
	})
	return name
}

// testLogger logs to t, shown with -v or when t fails.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// newStore returns a store over pool that t closes when it ends, logging to t.
func newStore(t testing.TB, pool *pgxpool.Pool, opts ...pgstore.Option) *pgstore.Store {
	t.Helper()
	opts = append([]pgstore.Option{pgstore.WithLogger(testLogger(t))}, opts...)
	s, err := pgstore.New(context.Background(), pool, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pair returns two stores of one schema on url, each with its own pool: two instances
// of one application.
func pair(t *testing.T, url string, opts ...pgstore.Option) (a, b *pgstore.Store) {
	t.Helper()
	opts = append([]pgstore.Option{pgstore.WithSchema(uniqueSchema(t, url))}, opts...)
	return newStore(t, newPool(t, url), opts...), newStore(t, newPool(t, url), opts...)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const timeSecond = time.Second

// freeAddr is a loopback host:port nothing listens on.
func freeAddr(t testing.TB) string {
	addr, err := pgtest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

type coreEntry = core.Entry

type entry struct {
	id      string
	session bool
}

// importRevocations revokes each entry until exp through Import.
func importRevocations(ctx context.Context, s *pgstore.Store, list []entry, exp time.Time) error {
	entries := make([]core.Entry, len(list))
	for i, e := range list {
		kind := core.EntryRevokedToken
		if e.session {
			kind = core.EntryRevokedSession
		}
		entries[i] = core.Entry{Kind: kind, ID: e.id, Expires: exp}
	}
	return s.Import(ctx, entries)
}

// schemaOf returns the schema of s, read from its channel.
func schemaOf(t testing.TB, s *pgstore.Store) string {
	t.Helper()
	schema, _, ok := strings.Cut(pgstore.Channel(s), ".")
	if !ok {
		t.Fatal("channel without a schema")
	}
	return schema
}
