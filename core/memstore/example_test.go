package memstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/core/memstore"
)

func Example() {
	ctx := context.Background()
	store := memstore.New()
	defer store.Close()

	exp := time.Date(2030, 1, 1, 12, 15, 0, 0, time.UTC)
	if err := store.RevokeToken(ctx, "jti-1", exp); err != nil {
		panic(err)
	}
	revoked, _ := store.IsRevoked(ctx, "jti-1", "")
	fmt.Println("jti-1 revoked:", revoked)
	revoked, _ = store.IsRevoked(ctx, "jti-2", "")
	fmt.Println("jti-2 revoked:", revoked)

	// Once the token has expired its revocation is no longer needed.
	n, _ := store.Purge(ctx, exp)
	fmt.Println("purged:", n)
	// Output:
	// jti-1 revoked: true
	// jti-2 revoked: false
	// purged: 1
}
