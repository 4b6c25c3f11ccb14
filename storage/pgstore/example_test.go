package pgstore_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/pgstore"
	"github.com/jackc/pgx/v5/pgxpool"
)

func Example() {
	ctx := context.Background()
	// The tests set GATEHOUSE_POSTGRES_URL; an app has its own URL, such as
	// "postgres://app:secret@db:5432/app".
	pool, err := pgxpool.New(ctx, os.Getenv("GATEHOUSE_POSTGRES_URL"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()

	// The tables go in a schema of their own; New creates and migrates them.
	store, err := pgstore.New(ctx, pool, pgstore.WithSchema("example_app"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	// The revocation lasts until the token expires, and reaches every instance.
	exp := time.Now().Add(15 * time.Minute)
	if err := store.RevokeToken(ctx, "jti-1", exp); err != nil {
		fmt.Println(err)
		return
	}
	revoked, _ := store.IsRevoked(ctx, "jti-1", "")
	fmt.Println("jti-1 revoked:", revoked)
	// A token never revoked is answered from memory, without a round trip.
	revoked, _ = store.IsRevoked(ctx, "jti-2", "")
	fmt.Println("jti-2 revoked:", revoked)
	// Output:
	// jti-1 revoked: true
	// jti-2 revoked: false
}

func ExampleOpen() {
	ctx := context.Background()
	store, err := pgstore.Open(ctx, os.Getenv("GATEHOUSE_POSTGRES_URL"), pgstore.WithSchema("example_app"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close() // closes the pool Open made

	now := time.Now()
	err = store.CreateSession(ctx, &core.Session{
		ID:              "sid-example",
		Identity:        core.Identity{Subject: "https://accounts.google.com#1234"},
		CreatedAt:       now,
		LastUsedAt:      now,
		ExpiresAt:       now.Add(24 * time.Hour),
		IdleExpiresAt:   now.Add(time.Hour),
		AccessExpiresAt: now.Add(15 * time.Minute),
		Current:         "refresh-jti-1",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Logout: the session is gone, and its id stays revoked until its last access
	// token expires, on every instance.
	ended, _ := store.EndSession(ctx, "sid-example")
	revoked, _ := store.IsRevoked(ctx, "", "sid-example")
	fmt.Println("ended:", ended.ID, "revoked:", revoked)
	// Output:
	// ended: sid-example revoked: true
}

// Teams that run migrations with their own tool take the SQL from Migrations and
// start the store with WithoutMigrate.
func ExampleMigrations() {
	list, err := pgstore.Migrations(pgstore.WithSchema("auth"), pgstore.WithTablePrefix("gh_"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range list {
		fmt.Println(m.Version, m.Name, len(m.SQL) > 0)
	}
	// Output:
	// 1 0001_init.sql true
	// 2 0002_counters.sql true
}
