package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchema is returned by New, when the schema is missing, older or newer than this
// package's and it was told not to migrate (WithoutMigrate), or when the schema's
// revocation trigger is missing; and by Migrate for a schema newer than this
// package's. It matches core.ErrConfig.
var ErrSchema = fmt.Errorf("%w: pgstore: schema not ready", core.ErrConfig)

// Migration is one step of the store's schema: SQL to run in one transaction, after
// which the schema is at Version.
type Migration struct {
	Version int
	Name    string // the file name, such as "0001_init.sql"
	SQL     string
}

// SchemaVersion is the version of the schema this package reads and writes.
var SchemaVersion = len(mustMigrations())

// mustMigrations reads the embedded files, which are named <version>_<name>.sql and
// numbered from 1 without gaps.
func mustMigrations() []Migration {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	list := make([]Migration, 0, len(names))
	for i, name := range names {
		base := path.Base(name)
		num, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != i+1 {
			panic("pgstore: migration " + base + " out of sequence")
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			panic(err)
		}
		list = append(list, Migration{Version: v, Name: base, SQL: string(b)})
	}
	return list
}

// Migrations returns the store's schema as migrations, with the schema, table prefix
// and channel of opts filled in, for teams that run migrations with their own tool
// (and pass WithoutMigrate to New). Each must run in a transaction of its own, in
// order, and record its version, as Migrate does, in the table
// <schema>.<prefix>schema_migrations (version int4 PRIMARY KEY, name text, applied_at
// timestamptz), which New checks; the first migration does not create that table
// nor the schema.
func Migrations(opts ...Option) ([]Migration, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	n := names{o}
	list := mustMigrations()
	for i := range list {
		list[i].SQL = n.render(list[i].SQL)
	}
	return list, nil
}

// names spells the identifiers of one schema and prefix.
type names struct{ o options }

// table is the schema-qualified, quoted name of the store's table (or function) x.
func (n names) table(x string) string { return pgx.Identifier{n.o.schema, n.o.prefix + x}.Sanitize() }

// name is the quoted, unqualified name prefix+x, for indexes and triggers.
func (n names) name(x string) string { return pgx.Identifier{n.o.prefix + x}.Sanitize() }

var placeholder = regexp.MustCompile(`\{\{(table|name):([a-z_]+)\}\}|\{\{channel\}\}`)

// render fills in the placeholders of a migration or query.
func (n names) render(sql string) string {
	return placeholder.ReplaceAllStringFunc(sql, func(m string) string {
		if m == "{{channel}}" {
			return "'" + strings.ReplaceAll(n.o.channel(), "'", "''") + "'"
		}
		kind, x, _ := strings.Cut(strings.Trim(m, "{}"), ":")
		if kind == "table" {
			return n.table(x)
		}
		return n.name(x)
	})
}

// Migrate brings the store's schema in the database pool talks to up to
// SchemaVersion: it creates the schema (WithSchema) if it does not exist, and runs the
// migrations not yet recorded in <prefix>schema_migrations, all in one transaction
// that holds an advisory lock, so that instances starting together migrate once. New
// calls it unless given WithoutMigrate. A schema newer than this package's is left
// alone and reported with ErrSchema.
func Migrate(ctx context.Context, pool *pgxpool.Pool, opts ...Option) error {
	if pool == nil {
		return fmt.Errorf("%w: pgstore: nil pool", core.ErrConfig)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return err
	}
	n := names{o}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		lock := "gatehouse pgstore " + strconv.Quote(o.schema) + " " + strconv.Quote(o.prefix)
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", lock); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", o.schema).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			// Only when missing: CREATE SCHEMA IF NOT EXISTS needs the right to create
			// schemas even when there is nothing to create.
			if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{o.schema}.Sanitize()); err != nil {
				return err
			}
		}
		// Only when missing, for the same reason: an application whose user may not
		// create tables runs against a schema migrated by another.
		var found bool
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", n.table("schema_migrations")).Scan(&found); err != nil {
			return err
		}
		if !found {
			if _, err := tx.Exec(ctx, "CREATE TABLE "+n.table("schema_migrations")+
				" (version int4 PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"); err != nil {
				return err
			}
		}
		var current int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+n.table("schema_migrations")).Scan(&current); err != nil {
			return err
		}
		if current > SchemaVersion {
			return newerSchema(o, current)
		}
		for _, m := range mustMigrations()[current:] {
			if _, err := tx.Exec(ctx, n.render(m.SQL)); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO "+n.table("schema_migrations")+" (version, name) VALUES ($1, $2)",
				m.Version, m.Name); err != nil {
				return err
			}
			o.logger.Info("pgstore: schema migrated", "schema", o.schema, "prefix", o.prefix, "version", m.Version, "migration", m.Name)
		}
		return nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrSchema):
		return err
	case isPermission(err):
		return fmt.Errorf("%w: pgstore: Migrate %s: %w; grant the rights or run the SQL of pgstore.Migrations "+
			"as a user that has them, and pass pgstore.WithoutMigrate()", ErrSchema, where(o), err)
	}
	return failed("Migrate", err)
}

// checkSchema fails with ErrSchema unless the schema is at SchemaVersion and its
// revocation trigger, without which other instances' filters would miss revocations,
// is in place, enabled and announcing on the store's channel.
func checkSchema(ctx context.Context, pool *pgxpool.Pool, o options) error {
	n := names{o}
	var version int
	err := pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+n.table("schema_migrations")).Scan(&version)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000"): // undefined table, schema
		return fmt.Errorf("%w: %s holds no gatehouse tables; run pgstore.Migrate (or New without WithoutMigrate), "+
			"or the SQL of pgstore.Migrations", ErrSchema, where(o))
	case err != nil:
		return failed("New: read the schema version", err)
	case version < SchemaVersion:
		return fmt.Errorf("%w: %s is at schema version %d, this gatehouse needs %d; run pgstore.Migrate "+
			"(or New without WithoutMigrate), or the SQL of pgstore.Migrations from version %d",
			ErrSchema, where(o), version, SchemaVersion, version+1)
	case version > SchemaVersion:
		return newerSchema(o, version)
	}
	var args []byte
	err = pool.QueryRow(ctx, `SELECT tgargs FROM pg_trigger
		WHERE tgrelid = $1::regclass AND tgname = $2 AND tgenabled <> 'D'`,
		n.table("revocations"), o.prefix+"revocations_notify").Scan(&args)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%w: %s: the trigger %s on %s is missing or disabled: other instances would not hear "+
			"of revocations; run the SQL of pgstore.Migrations again", ErrSchema, where(o),
			n.name("revocations_notify"), n.table("revocations"))
	case err != nil:
		return failed("New: read the revocation trigger", err)
	case string(args) != o.channel()+"\x00":
		return fmt.Errorf("%w: %s: the trigger %s announces on %q, not on %q: the schema was made for another "+
			"schema or prefix", ErrSchema, where(o), n.name("revocations_notify"), strings.TrimSuffix(string(args), "\x00"), o.channel())
	}
	return nil
}

func newerSchema(o options, version int) error {
	return fmt.Errorf("%w: %s is at schema version %d, newer than this gatehouse's %d: upgrade gatehouse",
		ErrSchema, where(o), version, SchemaVersion)
}

// where names a schema and prefix in messages.
func where(o options) string {
	return fmt.Sprintf("schema %q, table prefix %q,", o.schema, o.prefix)
}

// isPermission reports whether err is PostgreSQL's insufficient_privilege.
func isPermission(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501"
}
