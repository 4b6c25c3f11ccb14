package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestSchemaChecks(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t, shared(t))
	newErrOn := func(pool *pgxpool.Pool, opts ...pgstore.Option) error {
		s, err := pgstore.New(ctx, pool, append([]pgstore.Option{pgstore.WithLogger(testLogger(t))}, opts...)...)
		if err == nil {
			s.Close()
		}
		return err
	}
	newErr := func(opts ...pgstore.Option) error { return newErrOn(pool, opts...) }
	table := func(schema, name string) string {
		return pgx.Identifier{schema, pgstore.DefaultTablePrefix + name}.Sanitize()
	}

	t.Run("Missing", func(t *testing.T) {
		schema := uniqueSchema(t, shared(t))
		err := newErr(pgstore.WithSchema(schema), pgstore.WithoutMigrate())
		if !errors.Is(err, pgstore.ErrSchema) || !errors.Is(err, core.ErrConfig) {
			t.Fatalf("New without migrating, no schema: %v, want %v", err, pgstore.ErrSchema)
		}
		if !strings.Contains(err.Error(), "Migrate") {
			t.Errorf("the error does not say what to do: %v", err)
		}
		// Nothing was created.
		var n int
		must(t, pool.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n))
		if n != 0 {
			t.Error("New without migrating created the schema")
		}
	})

	t.Run("Migrate, then New without migrating", func(t *testing.T) {
		schema := uniqueSchema(t, shared(t))
		must(t, pgstore.Migrate(ctx, pool, pgstore.WithSchema(schema)))
		must(t, pgstore.Migrate(ctx, pool, pgstore.WithSchema(schema))) // nothing to do
		must(t, newErr(pgstore.WithSchema(schema), pgstore.WithoutMigrate()))
		var versions int
		must(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+table(schema, "schema_migrations")).Scan(&versions))
		if versions != pgstore.SchemaVersion {
			t.Errorf("%d versions recorded, want %d", versions, pgstore.SchemaVersion)
		}
	})

	t.Run("Older", func(t *testing.T) {
		schema := uniqueSchema(t, shared(t))
		must(t, pgstore.Migrate(ctx, pool, pgstore.WithSchema(schema)))
		_, err := pool.Exec(ctx, "DELETE FROM "+table(schema, "schema_migrations")+" WHERE version = $1", pgstore.SchemaVersion)
		must(t, err)
		err = newErr(pgstore.WithSchema(schema), pgstore.WithoutMigrate())
		if !errors.Is(err, pgstore.ErrSchema) || !strings.Contains(err.Error(), fmt.Sprintf("version %d", pgstore.SchemaVersion-1)) {
			t.Errorf("New without migrating, older schema: %v, want %v naming the version", err, pgstore.ErrSchema)
		}
	})

	t.Run("Newer", func(t *testing.T) {
		schema := uniqueSchema(t, shared(t))
		must(t, pgstore.Migrate(ctx, pool, pgstore.WithSchema(schema)))
		_, err := pool.Exec(ctx, "INSERT INTO "+table(schema, "schema_migrations")+" (version, name) VALUES ($1, 'future.sql')",
			pgstore.SchemaVersion+1)
		must(t, err)
		for _, opts := range [][]pgstore.Option{{pgstore.WithSchema(schema)}, {pgstore.WithSchema(schema), pgstore.WithoutMigrate()}} {
			if err := newErr(opts...); !errors.Is(err, pgstore.ErrSchema) || !strings.Contains(err.Error(), "newer") {
				t.Errorf("New, newer schema: %v, want %v saying it is newer", err, pgstore.ErrSchema)
			}
		}
	})

	t.Run("Trigger disabled", func(t *testing.T) {
		// Without the trigger no other instance would hear of a revocation: refused.
		schema := uniqueSchema(t, shared(t))
		must(t, pgstore.Migrate(ctx, pool, pgstore.WithSchema(schema)))
		_, err := pool.Exec(ctx, "ALTER TABLE "+table(schema, "revocations")+" DISABLE TRIGGER ALL")
		must(t, err)
		if err := newErr(pgstore.WithSchema(schema)); !errors.Is(err, pgstore.ErrSchema) || !strings.Contains(err.Error(), "trigger") {
			t.Errorf("New with the trigger disabled: %v, want %v naming the trigger", err, pgstore.ErrSchema)
		}
	})

	t.Run("Instances starting together migrate once", func(t *testing.T) {
		schema := uniqueSchema(t, shared(t))
		var wg sync.WaitGroup
		errs := make([]error, 6)
		for i := range errs {
			wg.Go(func() { errs[i] = newErr(pgstore.WithSchema(schema)) })
		}
		wg.Wait()
		must(t, errors.Join(errs...))
		var versions int
		must(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+table(schema, "schema_migrations")).Scan(&versions))
		if versions != pgstore.SchemaVersion {
			t.Errorf("%d versions recorded, want %d", versions, pgstore.SchemaVersion)
		}
	})

	t.Run("A user that may not create tables", func(t *testing.T) {
		// Production setups often migrate as one role and run as another: New migrates
		// nothing when nothing is missing, and says what to do when something is.
		schema := uniqueSchema(t, shared(t))
		must(t, pgstore.Migrate(ctx, pool, pgstore.WithSchema(schema), pgstore.WithLogger(testLogger(t))))
		role := fmt.Sprintf("gh_app_%d", schemas.Add(1))
		if _, err := pool.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil {
			t.Skipf("cannot create a role: %v", err)
		}
		t.Cleanup(func() {
			_, _ = pool.Exec(context.Background(), "DROP OWNED BY "+role+"; DROP ROLE "+role)
		})
		q := pgx.Identifier{schema}.Sanitize()
		_, err := pool.Exec(ctx, "GRANT USAGE ON SCHEMA "+q+" TO "+role+
			"; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "+q+" TO "+role)
		must(t, err)
		cfg, err := pgxpool.ParseConfig(shared(t))
		must(t, err)
		cfg.ConnConfig.User = role
		app, err := pgxpool.NewWithConfig(ctx, cfg)
		must(t, err)
		t.Cleanup(app.Close)
		s := newStore(t, app, pgstore.WithSchema(schema))
		must(t, s.RevokeToken(ctx, "jti-1", future))
		if ok, err := s.IsRevoked(ctx, "jti-1", ""); err != nil || !ok {
			t.Errorf("IsRevoked = %v, %v", ok, err)
		}
		err = newErrOn(app, pgstore.WithSchema(schema), pgstore.WithTablePrefix("other_"))
		if !errors.Is(err, pgstore.ErrSchema) || !strings.Contains(err.Error(), "WithoutMigrate") {
			t.Errorf("New where the role may not create the tables: %v, want %v saying what to do", err, pgstore.ErrSchema)
		}
	})

	t.Run("Migrations run by the team's own tool", func(t *testing.T) {
		schema := uniqueSchema(t, shared(t))
		opts := []pgstore.Option{pgstore.WithSchema(schema), pgstore.WithTablePrefix("auth_")}
		list, err := pgstore.Migrations(opts...)
		must(t, err)
		if len(list) != pgstore.SchemaVersion {
			t.Fatalf("%d migrations, want %d", len(list), pgstore.SchemaVersion)
		}
		// What a migration tool would do: the schema, the bookkeeping table, then each
		// migration in a transaction with its version.
		_, err = pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()+"; CREATE TABLE "+
			pgx.Identifier{schema, "auth_schema_migrations"}.Sanitize()+
			" (version int4 PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
		must(t, err)
		for _, m := range list {
			if strings.Contains(m.SQL, "{{") {
				t.Fatalf("%s: placeholder left: %s", m.Name, m.SQL)
			}
			if !strings.Contains(m.SQL, pgx.Identifier{schema}.Sanitize()+`."auth_`) {
				t.Errorf("%s names no table %s.auth_*", m.Name, schema)
			}
			must(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, m.SQL); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, "INSERT INTO "+pgx.Identifier{schema, "auth_schema_migrations"}.Sanitize()+
					" (version, name) VALUES ($1, $2)", m.Version, m.Name)
				return err
			}))
		}
		s := newStore(t, pool, append(opts, pgstore.WithoutMigrate())...)
		must(t, s.RevokeToken(ctx, "jti-1", future))
		if ok, err := s.IsRevoked(ctx, "jti-1", ""); err != nil || !ok {
			t.Errorf("IsRevoked = %v, %v", ok, err)
		}
		if n, _, err := s.Count(ctx, "pw:ip:192.0.2.1", 1, future, time.Minute); err != nil || n != 1 {
			t.Errorf("Count = %d, %v; want 1", n, err)
		}
	})

	t.Run("Version 1 is migrated with its data", func(t *testing.T) {
		// A schema made by the first release, with a revocation in it: New runs the
		// migrations after the first and keeps what is there.
		schema := uniqueSchema(t, shared(t))
		list, err := pgstore.Migrations(pgstore.WithSchema(schema))
		must(t, err)
		_, err = pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()+"; CREATE TABLE "+
			table(schema, "schema_migrations")+
			" (version int4 PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
		must(t, err)
		must(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, list[0].SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO "+table(schema, "schema_migrations")+" (version, name) VALUES (1, $1)", list[0].Name)
			return err
		}))
		_, err = pool.Exec(ctx, "INSERT INTO "+table(schema, "revocations")+" (kind, id, expires_ns) VALUES ('t', 'jti-1', $1)",
			future.UnixNano())
		must(t, err)
		if err := newErr(pgstore.WithSchema(schema), pgstore.WithoutMigrate()); !errors.Is(err, pgstore.ErrSchema) {
			t.Errorf("New without migrating, version 1: %v, want %v", err, pgstore.ErrSchema)
		}
		s := newStore(t, pool, pgstore.WithSchema(schema))
		if ok, err := s.IsRevoked(ctx, "jti-1", ""); err != nil || !ok {
			t.Errorf("IsRevoked(jti-1) after the migration = %v, %v; want true", ok, err)
		}
		if n, _, err := s.Count(ctx, "pw:ip:192.0.2.1", 1, future, time.Minute); err != nil || n != 1 {
			t.Errorf("Count = %d, %v; want 1", n, err)
		}
		var versions int
		must(t, pool.QueryRow(ctx, "SELECT count(*) FROM "+table(schema, "schema_migrations")).Scan(&versions))
		if versions != pgstore.SchemaVersion {
			t.Errorf("%d versions recorded, want %d", versions, pgstore.SchemaVersion)
		}
	})
}

// Stores of other schemas or prefixes in one database share nothing, and names that
// need quoting work.
func TestIsolation(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t, shared(t))
	base := uniqueSchema(t, shared(t))
	weird := uniqueSchema(t, shared(t)) + ` "We'ird" Schema`
	t.Cleanup(func() { _, _ = pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{weird}.Sanitize()+" CASCADE") })
	long := strings.Repeat("p", 63-len("revocations_expires_idx"))
	optsList := [][]pgstore.Option{
		{pgstore.WithSchema(base), pgstore.WithTablePrefix("one_")},
		{pgstore.WithSchema(base), pgstore.WithTablePrefix("two_")},
		{pgstore.WithSchema(base), pgstore.WithTablePrefix("")},
		{pgstore.WithSchema(weird), pgstore.WithTablePrefix(`x"y'z `)},
		{pgstore.WithSchema(weird), pgstore.WithTablePrefix(long)}, // its channel is hashed
	}
	stores := make([]*pgstore.Store, len(optsList))
	for i, opts := range optsList {
		stores[i] = newStore(t, pool, opts...)
		if c := pgstore.Channel(stores[i]); len(c) > 63 {
			t.Errorf("store %d: channel %q is longer than PostgreSQL allows", i, c)
		}
	}
	for i, s := range stores {
		tag := fmt.Sprint(i)
		must(t, s.RevokeToken(ctx, "jti-"+tag, future))
		must(t, s.CreateSession(ctx, session("sid-"+tag, "alice")))
		must(t, s.CreateSession(ctx, session("ended-"+tag, "alice")))
		_, err := s.EndSession(ctx, "ended-"+tag)
		must(t, err)
		_, err = s.LoadOrStoreKey(ctx, "signing", []byte("key-"+tag))
		must(t, err)
		if ok, err := s.Consume(ctx, "state:shared", future); err != nil || !ok {
			t.Fatalf("store %d: Consume(state:shared) = %v, %v; want true", i, ok, err)
		}
	}
	for i, s := range stores {
		tag := fmt.Sprint(i)
		for j := range stores {
			other := fmt.Sprint(j)
			revoked, err := s.IsRevoked(ctx, "jti-"+other, "ended-"+other)
			if err != nil || revoked != (i == j) {
				t.Errorf("store %d: IsRevoked of store %d's ids = %v, %v", i, j, revoked, err)
			}
		}
		list, err := s.Sessions(ctx, "alice")
		if err != nil || len(list) != 1 || list[0].ID != "sid-"+tag {
			t.Errorf("store %d: Sessions(alice) = %d sessions, %v; want its own sid-%s", i, len(list), err, tag)
		}
		if v, err := s.LoadOrStoreKey(ctx, "signing", []byte("other")); err != nil || string(v) != "key-"+tag {
			t.Errorf("store %d: key = %q, %v; want its own", i, v, err)
		}
		n := 0
		must(t, s.Export(ctx, func(core.Entry) error { n++; return nil }))
		if n != 4 {
			t.Errorf("store %d: Export listed %d entries, want its own 4", i, n)
		}
	}
	// A second instance of each store hears only its own store's revocations.
	for i, opts := range optsList {
		other := newStore(t, newPool(t, shared(t)), opts...)
		must(t, stores[i].RevokeToken(ctx, fmt.Sprintf("late-%d", i), future))
		storetest.WaitFor(t, timeSecond, "the revocation reaches the second instance", func() bool {
			ok, err := other.IsRevoked(ctx, fmt.Sprintf("late-%d", i), "")
			return err == nil && ok
		})
	}
	if n, err := stores[1].Purge(ctx, future.AddDate(100, 0, 0)); err != nil || n != 5 {
		t.Errorf("Purge of store 1 = %d, %v; want its 5 entries", n, err)
	}
	if ok, err := stores[0].IsRevoked(ctx, "jti-0", ""); err != nil || !ok {
		t.Errorf("store 0 lost its revocation to store 1's Purge: %v, %v", ok, err)
	}
}

func TestNewRefuses(t *testing.T) {
	ctx := context.Background()
	pool := newPool(t, shared(t))
	for _, tc := range []struct {
		name string
		opts []pgstore.Option
	}{
		{"empty schema", []pgstore.Option{pgstore.WithSchema("")}},
		{"long schema", []pgstore.Option{pgstore.WithSchema(strings.Repeat("s", 64))}},
		{"long prefix", []pgstore.Option{pgstore.WithTablePrefix(strings.Repeat("p", 41))}},
		{"NUL in prefix", []pgstore.Option{pgstore.WithTablePrefix("a\x00")}},
		{"false-positive rate 0", []pgstore.Option{pgstore.WithFilterFPRate(0)}},
		{"health check 0", []pgstore.Option{pgstore.WithHealthCheck(0)}},
		{"negative purge interval", []pgstore.Option{pgstore.WithPurgeInterval(-1)}},
		{"purge batch 0", []pgstore.Option{pgstore.WithPurgeBatch(0)}},
		{"nil clock", []pgstore.Option{pgstore.WithClock(nil)}},
		{"nil logger", []pgstore.Option{pgstore.WithLogger(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := pgstore.New(ctx, pool, tc.opts...)
			if !errors.Is(err, core.ErrConfig) {
				t.Errorf("New = %v, want %v", err, core.ErrConfig)
			}
			if s != nil {
				t.Error("New returned a store with its error")
			}
		})
	}
	if _, err := pgstore.New(ctx, nil); !errors.Is(err, core.ErrConfig) {
		t.Errorf("New(nil pool) = %v, want %v", err, core.ErrConfig)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	schema := pgstore.WithSchema(uniqueSchema(t, shared(t)))
	s, err := pgstore.Open(ctx, shared(t), schema)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	must(t, s.RevokeToken(ctx, "jti-1", future))
	if ok, err := s.IsRevoked(ctx, "jti-1", ""); err != nil || !ok {
		t.Errorf("IsRevoked = %v, %v", ok, err)
	}
	must(t, s.Close())
	if err := s.Close(); !errors.Is(err, core.ErrStoreClosed) {
		t.Errorf("second Close = %v, want %v", err, core.ErrStoreClosed)
	}

	// URLs pgx cannot read: configuration errors that do not quote the password.
	for _, bad := range []string{
		"postgres://user:sekrit@127.0.0.1:5432/db?sslmode=bogus",
		"postgres://user:sekrit@127.0.0.1:port/db",
		"postgres://user:sekrit@[::1/db",
	} {
		_, err = pgstore.Open(ctx, bad)
		if !errors.Is(err, core.ErrConfig) || strings.Contains(err.Error(), "sekrit") {
			t.Errorf("Open(%s) = %v, want %v without the password", bad, err, core.ErrConfig)
		}
	}
	// Nothing listening: unavailable, not a configuration error.
	addr := freeAddr(t)
	_, err = pgstore.Open(ctx, "postgres://postgres:sekrit@"+addr+"/postgres?sslmode=disable&connect_timeout=2")
	if !errors.Is(err, core.ErrStoreUnavailable) || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("Open(nothing listening) = %v, want %v without the password", err, core.ErrStoreUnavailable)
	}
}
