package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse-auth/gatehouse/storage/boltstore"
)

func Example() {
	dir, err := os.MkdirTemp("", "gatehouse")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := boltstore.Open(filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// Logout: the token is revoked until it would have expired anyway.
	ctx := context.Background()
	exp := time.Now().Add(15 * time.Minute)
	if err := store.RevokeToken(ctx, "jti-3f2a", exp); err != nil {
		log.Fatal(err)
	}

	// Every authenticated request asks about its token and session in one call.
	revoked, err := store.IsRevoked(ctx, "jti-3f2a", "sid-91c0")
	fmt.Println("jti-3f2a revoked:", revoked, err)
	revoked, err = store.IsRevoked(ctx, "jti-77b1", "sid-91c0")
	fmt.Println("jti-77b1 revoked:", revoked, err)

	// Once the token has expired, Purge deletes its revocation.
	n, err := store.Purge(ctx, exp)
	fmt.Println("purged:", n, err)
	// Output:
	// jti-3f2a revoked: true <nil>
	// jti-77b1 revoked: false <nil>
	// purged: 1 <nil>
}

func ExampleOpen_locked() {
	dir, err := os.MkdirTemp("", "gatehouse")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "gatehouse.db")

	first, err := boltstore.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer first.Close()

	// A second opener, here or in another process, fails after the lock timeout.
	_, err = boltstore.Open(path, boltstore.WithLockTimeout(100*time.Millisecond))
	fmt.Println(errors.Is(err, boltstore.ErrLocked))
	// Output: true
}
