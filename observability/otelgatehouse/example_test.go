package otelgatehouse_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/memstore"
	"github.com/gatehouse-auth/gatehouse/observability/otelgatehouse"
)

// An Auth reporting to the global meter and tracer providers (set by the app's
// OpenTelemetry setup): the events and operations through Options, the store's calls
// through Store.
func Example() {
	otel, err := otelgatehouse.New()
	if err != nil {
		log.Fatal(err)
	}
	store := otel.Store(memstore.New())
	defer store.Close()
	opts := append(otel.Options(), core.WithHMACSecret([]byte("0123456789abcdef0123456789abcdef")))
	auth, err := core.New(store, opts...)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	t, err := auth.Issue(ctx, core.Identity{Subject: "user-1"}, core.Client{})
	if err != nil {
		log.Fatal(err)
	}
	_, err = auth.Authenticate(ctx, t.AccessToken) // gatehouse.authentications{result="ok"}
	fmt.Println(err)
	_, isMigrator := store.(core.Migrator)
	fmt.Println(isMigrator) // a measured store keeps its optional abilities
	// Output:
	// <nil>
	// true
}
