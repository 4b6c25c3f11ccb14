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
		tok := fmt.Sprintf("token-%d", i)
		_, h, _ := c.get(tok, ks, now)
		c.put(h, tok, &cached{claims: Claims{}, until: now.Add(time.Hour), keys: ks})
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].items)
	}
	if n > 64+cacheShards { // each shard rounds its share up
		t.Fatalf("%d entries in a cache of 64", n)
	}
	if _, _, ok := c.get("token-999", ks, now); !ok {
		t.Error("the latest entry is missing")
	}
	if _, _, ok := c.get("token-999", &keyset{}, now); ok {
		t.Error("an entry verified with other keys was returned")
	}
	if _, _, ok := c.get("token-999", ks, now.Add(time.Hour)); ok {
		t.Error("an entry was returned at its until")
	}
	var off *tokenCache
	if _, _, ok := off.get("token-999", ks, now); ok {
		t.Error("a nil cache hit")
	}
}

// TestKeep: a token read in place from a framework's buffer (see transientHeaders),
// which the next request overwrites, is copied before the cache keeps it; any other is
// kept as it is, without an allocation.
func TestKeep(t *testing.T) {
	buf := []byte("token-a")
	kept := keep(unsafe.String(&buf[0], len(buf)), true)
	copy(buf, "token-b") // the next request on the connection
	if kept != "token-a" {
		t.Errorf("a borrowed token kept as %q after its buffer changed, want %q", kept, "token-a")
	}
	owned := "token-c"
	if n := testing.AllocsPerRun(100, func() { kept = keep(owned, false) }); n != 0 || kept != owned {
		t.Errorf("keep of an owned token = %q with %v allocations, want it as it is", kept, n)
	}
}

// TestTokenCacheCollision: an entry is found by the hash of its token but must hold
// that very token; another token with the same hash (here made by putting an entry in
// its place by hand) misses.
func TestTokenCacheCollision(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	ks := &keyset{}
	c := newTokenCache(8)
	_, h, _ := c.get("token-a", ks, now)
	c.shards[h%cacheShards].items[h] = &cached{token: "token-b", claims: Claims{Subject: "b"}, until: now.Add(time.Hour), keys: ks}
	if got, _, ok := c.get("token-a", ks, now); ok {
		t.Errorf(`get("token-a") = %+v from the entry of "token-b", which has its hash`, got)
	}
	c.put(h, "token-a", &cached{claims: Claims{Subject: "a"}, until: now.Add(time.Hour), keys: ks})
	if got, _, ok := c.get("token-a", ks, now); !ok || got.Subject != "a" {
		t.Errorf(`get("token-a") after its put = %+v, %v`, got, ok)
	}
}
