package core

import (
	"fmt"
	"testing"
	"time"
	"unsafe"
)

func TestTokenCacheBounded(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	ks := &keyset{}
	c := newTokenCache(64)
	for i := range 1000 {
		c.put(fmt.Sprintf("token-%d", i), &cached{claims: Claims{}, until: now.Add(time.Hour), keys: ks})
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].items)
	}
	if n > 64+cacheShards { // each shard rounds its share up
		t.Fatalf("%d entries in a cache of 64", n)
	}
	if _, ok := c.get("token-999", ks, now); !ok {
		t.Error("the latest entry is missing")
	}
	if _, ok := c.get("token-999", &keyset{}, now); ok {
		t.Error("an entry verified with other keys was returned")
	}
	if _, ok := c.get("token-999", ks, now.Add(time.Hour)); ok {
		t.Error("an entry was returned at its until")
	}
	var off *tokenCache
	if _, ok := off.get("token-999", ks, now); ok {
		t.Error("a nil cache hit")
	}
}

// TestTokenCacheKeepsItsOwnKey: the token put receives may live in a framework's
// buffer (see transientHeaders) that the next request overwrites; the cache must hold
// a copy, or its key would change under it.
func TestTokenCacheKeepsItsOwnKey(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	ks := &keyset{}
	c := newTokenCache(8)
	buf := []byte("token-a")
	c.put(unsafe.String(&buf[0], len(buf)), &cached{claims: Claims{Subject: "a"}, until: now.Add(time.Hour), keys: ks})
	copy(buf, "token-b") // the next request on the connection
	if got, ok := c.get("token-a", ks, now); !ok || got.Subject != "a" {
		t.Errorf(`get("token-a") = %+v, %v; want the claims put for it`, got, ok)
	}
	if got, ok := c.get("token-b", ks, now); ok {
		t.Errorf(`get("token-b") = %+v; want nothing, it was never put`, got)
	}
}

// TestTokenCacheCollision: an entry is found by the hash of its token but must hold
// that very token; another token with the same hash (here made by putting an entry in
// its place by hand) misses.
func TestTokenCacheCollision(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	ks := &keyset{}
	c := newTokenCache(8)
	s, h := c.shard("token-a")
	s.items[h] = &cached{token: "token-b", claims: Claims{Subject: "b"}, until: now.Add(time.Hour), keys: ks}
	if got, ok := c.get("token-a", ks, now); ok {
		t.Errorf(`get("token-a") = %+v from the entry of "token-b", which has its hash`, got)
	}
	c.put("token-a", &cached{claims: Claims{Subject: "a"}, until: now.Add(time.Hour), keys: ks})
	if got, ok := c.get("token-a", ks, now); !ok || got.Subject != "a" {
		t.Errorf(`get("token-a") after its put = %+v, %v`, got, ok)
	}
}
