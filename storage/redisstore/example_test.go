package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/redis/go-redis/v9"
)

func Example() {
	ctx := context.Background()
	// The tests set GATEHOUSE_REDIS_ADDR; an app has its own address, such as
	// "127.0.0.1:6379".
	client := redis.NewClient(&redis.Options{Addr: os.Getenv("GATEHOUSE_REDIS_ADDR")})
	defer client.Close()

	// One prefix per application sharing the Redis.
	store, err := redisstore.New(ctx, client, redisstore.WithPrefix("example-app:"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()

	// The revocation expires with the token, on every instance at once.
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
	url := "redis://" + os.Getenv("GATEHOUSE_REDIS_ADDR") + "/0"
	store, err := redisstore.Open(ctx, url, redisstore.WithPrefix("example-app:"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close() // closes the connection Open made

	now := time.Now()
	err = store.CreateSession(ctx, &core.Session{
		ID:              "sid-example",
		Identity:        core.Identity{Subject: "https://accounts.google.com|1234"},
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
