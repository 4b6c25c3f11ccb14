package redisstore_test

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/core"
	"github.com/gatehouse-auth/gatehouse/core/storetest"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore"
	"github.com/gatehouse-auth/gatehouse/storage/redisstore/redistest"
	"github.com/redis/go-redis/v9"
)

func TestConformance(t *testing.T) {
	shared(t) // one SKIP for the suite, not one per case
	storetest.Run(t, func(t *testing.T) core.Store { return conformanceStore(t) })
}

// conformanceStore is an empty store of its own prefix on the shared Redis.
func conformanceStore(t *testing.T) core.Store {
	c := newClient(t, shared(t))
	s, err := redisstore.New(context.Background(), c, redisstore.WithPrefix(uniquePrefix(t, c)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// pair returns two stores of one prefix on addr, each with its own client: two
// instances of one application.
func pair(t *testing.T, addr string, opts ...redisstore.Option) (a, b *redisstore.Store) {
	t.Helper()
	ca, cb := newClient(t, addr), newClient(t, addr)
	opts = append([]redisstore.Option{redisstore.WithPrefix(uniquePrefix(t, ca))}, opts...)
	return newStore(t, ca, opts...), newStore(t, cb, opts...)
}

// future is a time far enough ahead that Redis's own clock expires nothing during a
// test, with nanoseconds.
var future = time.Date(2100, time.March, 4, 5, 6, 7, 123456789, time.UTC)

func session(id, subject string) *core.Session {
	return &core.Session{
		ID:              id,
		Identity:        core.Identity{Subject: subject},
		CreatedAt:       future,
		LastUsedAt:      future,
		ExpiresAt:       future.Add(30 * 24 * time.Hour),
		IdleExpiresAt:   future.Add(7 * 24 * time.Hour),
		AccessExpiresAt: future.Add(16 * time.Minute),
		Current:         id + ".rt1",
	}
}

// TestShared runs the two-instance suite on two stores of one prefix on one Redis
// server, each with its own client.
func TestShared(t *testing.T) {
	shared(t) // one SKIP for the suite, not one per case
	runShared(t, func(t *testing.T) (a, b *redisstore.Store) { return pair(t, shared(t)) })
}

// runShared runs storetest.RunShared on the pairs newPair makes and checks that both
// stores answered from their filters throughout: a store that stops trusting them
// passes the suite by asking Redis every time.
func runShared(t *testing.T, newPair func(t *testing.T) (a, b *redisstore.Store)) {
	storetest.RunShared(t, func(t *testing.T) (core.Store, core.Store) {
		a, b := newPair(t)
		// Registered after the stores' Close, so run before it.
		t.Cleanup(func() {
			if !redisstore.FilterTrusted(a) || !redisstore.FilterTrusted(b) {
				t.Errorf("an instance stopped trusting its filters during the test: A %v, B %v",
					redisstore.FilterTrusted(a), redisstore.FilterTrusted(b))
			}
		})
		return a, b
	})
}

func TestPrefixIsolation(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, shared(t))
	base := uniquePrefix(t, c)
	// The third prefix holds every character SCAN patterns treat specially.
	prefixes := []string{base + "one:", base + "two:", base + `w*i?r[d]\^-:`}
	stores := make([]*redisstore.Store, len(prefixes))
	for i, p := range prefixes {
		stores[i] = newStore(t, c, redisstore.WithPrefix(p))
	}
	for i, s := range stores {
		tag := fmt.Sprint(i)
		if err := s.RevokeToken(ctx, "jti-"+tag, future); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, session("sid-"+tag, "alice")); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctx, session("ended-"+tag, "alice")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.EndSession(ctx, "ended-"+tag); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LoadOrStoreKey(ctx, "signing", []byte("key-"+tag)); err != nil {
			t.Fatal(err)
		}
		// The same id consumed under each prefix: each is the first there.
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
		var entries []string
		err = s.Export(ctx, func(e core.Entry) error {
			entries = append(entries, fmt.Sprintf("%d/%s", e.Kind, e.ID))
			return nil
		})
		if err != nil || len(entries) != 4 {
			t.Errorf("store %d: Export = %q, %v; want its own 4 entries", i, entries, err)
		}
		for _, e := range entries {
			if !strings.HasSuffix(e, tag) && !strings.HasSuffix(e, "signing") {
				t.Errorf("store %d: Export lists %s", i, e)
			}
		}
	}
	// Purging one store deletes nothing of the others.
	if n, err := stores[1].Purge(ctx, future.Add(100*365*24*time.Hour)); err != nil || n != 4 {
		t.Errorf("Purge of store 1 = %d, %v; want its 4 entries", n, err)
	}
	for _, i := range []int{0, 2} {
		if ok, err := stores[i].IsRevoked(ctx, fmt.Sprintf("jti-%d", i), ""); err != nil || !ok {
			t.Errorf("store %d lost its revocation to store 1's Purge: %v, %v", i, ok, err)
		}
		if ok, err := stores[i].Consume(ctx, "state:shared", future); err != nil || ok {
			t.Errorf("store %d lost its consumed id to store 1's Purge: %v, %v", i, ok, err)
		}
	}
	// Ending a subject's sessions in one store ends none of the others' (store 1's
	// were purged above).
	if list, err := stores[2].EndSessions(ctx, "alice"); err != nil || len(list) != 1 || list[0].ID != "sid-2" {
		t.Errorf("EndSessions(alice) of store 2 = %d sessions, %v; want its own sid-2", len(list), err)
	}
	if list, err := stores[0].Sessions(ctx, "alice"); err != nil || len(list) != 1 || list[0].ID != "sid-0" {
		t.Errorf("store 0: Sessions(alice) after store 2's EndSessions = %d sessions, %v; want its own", len(list), err)
	}
	if ok, err := stores[0].IsRevoked(ctx, "", "sid-0"); err != nil || ok {
		t.Errorf("store 0: its session revoked by store 2's EndSessions: %v, %v", ok, err)
	}
}

// Every key the store writes expires, but the keys of LoadOrStoreKey: revocations and
// consumed ids at their expiry rounded up to the second, counters at their window's
// end rounded up, sessions at their PurgeAt, indexes a second after their latest
// member.
func TestEveryKeyExpires(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, shared(t))
	prefix := uniquePrefix(t, c)
	s := newStore(t, c, redisstore.WithPrefix(prefix))

	exp := future.Add(time.Hour) // with nanoseconds: rounds up
	must(t, s.RevokeToken(ctx, "jti-1", exp))
	must(t, s.CreateSession(ctx, session("sid-1", "alice")))
	must(t, s.CreateSession(ctx, session("sid-2", "alice")))
	_, err := s.Rotate(ctx, core.Rotation{SessionID: "sid-1", Presented: "sid-1.rt1", Next: "sid-1.rt2",
		Now: future.Add(time.Hour), IdleTimeout: 48 * time.Hour, AccessExpiresAt: future.Add(2 * time.Hour)})
	must(t, err)
	_, err = s.EndSession(ctx, "sid-2")
	must(t, err)
	must(t, s.CreateSession(ctx, session("sid-4", "carol")))
	must(t, s.CreateSession(ctx, session("sid-5", "carol")))
	_, err = s.EndSessions(ctx, "carol") // leaves two revocations and no index of carol
	must(t, err)
	must(t, s.Import(ctx, []core.Entry{
		{Kind: core.EntryRevokedToken, ID: "jti-2", Expires: exp},
		{Kind: core.EntrySession, ID: "sid-3", Session: session("sid-3", "bob")},
	}))
	_, err = s.LoadOrStoreKey(ctx, "signing", []byte("k"))
	must(t, err)
	if ok, err := s.Consume(ctx, "state:1", exp); err != nil || !ok {
		t.Fatalf("Consume = %v, %v", ok, err)
	}
	for range 2 { // the second add moves nothing
		if _, _, err := s.Count(ctx, "pw:ip:192.0.2.1", 1, future, time.Hour); err != nil {
			t.Fatalf("Count: %v", err)
		}
	}
	if _, _, err := s.Count(ctx, "pw:ip:192.0.2.2", 0, future, time.Hour); err != nil { // writes nothing
		t.Fatalf("Count: %v", err)
	}

	ceil := func(t time.Time) int64 { return t.Add(time.Second - 1).Unix() }
	want := map[string]int64{
		tagged("rt:", "jti-1"):          ceil(exp),
		tagged("rt:", "jti-2"):          ceil(exp),
		tagged("rs:", "sid-2"):          ceil(future.Add(16 * time.Minute)),
		tagged("rs:", "sid-4"):          ceil(future.Add(16 * time.Minute)),
		tagged("rs:", "sid-5"):          ceil(future.Add(16 * time.Minute)),
		tagged("s:", "sid-1"):           ceil(future.Add(49 * time.Hour)), // the idle end after the rotation
		tagged("s:", "sid-3"):           ceil(future.Add(7 * 24 * time.Hour)),
		tagged("c:", "state:1"):         ceil(exp),
		tagged("n:", "pw:ip:192.0.2.1"): ceil(exp),
		"u:alice":                       future.Add(30*24*time.Hour).Unix() + 1, // sid-1's absolute end
		"u:bob":                         future.Add(30*24*time.Hour).Unix() + 1,
		"k:signing":                     -1, // no expiry
	}
	// Each shard's indexes expire a second after their latest member.
	latest := func(index string, at time.Time, ids ...string) {
		for _, id := range ids {
			k := shardTag(id) + index
			want[k] = max(want[k], at.Unix()+1)
		}
	}
	latest("xr", exp, "jti-1", "jti-2")
	latest("xr", future.Add(16*time.Minute), "sid-2", "sid-4", "sid-5")
	latest("xs", future.Add(49*time.Hour), "sid-1")
	latest("xs", future.Add(7*24*time.Hour), "sid-3")
	latest("xc", exp, "state:1")
	latest("xn", exp, "pw:ip:192.0.2.1")
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	seen := 0
	for iter.Next(ctx) {
		key := strings.TrimPrefix(iter.Val(), prefix)
		at, err := c.Do(ctx, "EXPIRETIME", iter.Val()).Int64()
		must(t, err)
		w, ok := want[key]
		switch {
		case !ok:
			t.Errorf("unexpected key %q", key)
		case at != w:
			t.Errorf("EXPIRETIME %s = %d, want %d", key, at, w)
		}
		seen++
	}
	must(t, iter.Err())
	if seen != len(want) {
		t.Errorf("%d keys, want %d", seen, len(want))
	}
}

// shardTag is the hash tag of the keys of id: the first byte of its SHA-1, in hex, in
// braces.
func shardTag(id string) string {
	sum := sha1.Sum([]byte(id))
	return fmt.Sprintf("{%02x}", sum[0])
}

// tagged is the name, after the prefix, of the key of id of the given kind ("rt:").
func tagged(kind, id string) string { return shardTag(id) + kind + id }

// cardAll is the number of members of the index of every shard, such as "xr".
func cardAll(t testing.TB, c redis.UniversalClient, prefix, index string) int64 {
	t.Helper()
	ctx := context.Background()
	pipe := c.Pipeline()
	var cmds []*redis.IntCmd
	for i := range 256 {
		cmds = append(cmds, pipe.ZCard(ctx, fmt.Sprintf("%s{%02x}%s", prefix, i, index)))
	}
	_, err := pipe.Exec(ctx)
	must(t, err)
	n := int64(0)
	for _, c := range cmds {
		n += c.Val()
	}
	return n
}

// Entries Redis expires by its own clock leave nothing behind in the indexes, whether
// or not anyone calls Purge.
func TestIndexesStayBounded(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, shared(t))
	prefix := uniquePrefix(t, c)
	s := newStore(t, c, redisstore.WithPrefix(prefix))
	past := time.Now().Add(-time.Hour)
	live := session("sid-live", "alice")
	must(t, s.CreateSession(ctx, live))
	for i := range 200 {
		must(t, s.RevokeToken(ctx, fmt.Sprintf("jti-%d", i), past))
		dead := session(fmt.Sprintf("sid-%d", i), "alice")
		dead.CreatedAt, dead.ExpiresAt, dead.IdleExpiresAt, dead.AccessExpiresAt = past, past, past, past
		must(t, s.CreateSession(ctx, dead))
		ok, err := s.Consume(ctx, fmt.Sprintf("state:%d", i), past)
		if err != nil || !ok {
			t.Fatalf("Consume = %v, %v", ok, err)
		}
		if _, _, err := s.Count(ctx, fmt.Sprintf("pw:u:%d", i), 1, past, time.Minute); err != nil {
			t.Fatalf("Count: %v", err)
		}
	}
	for key, want := range map[string]int64{"xr": 0, "xs": 1, "xc": 0, "xn": 0} {
		if n := cardAll(t, c, prefix, key); n != want {
			t.Errorf("ZCARD of every shard's %s = %d; want %d", key, n, want)
		}
	}
	if n, err := c.ZCard(ctx, prefix+"u:alice").Result(); err != nil || n != 1 {
		t.Errorf("ZCARD u:alice = %d, %v; want 1", n, err)
	}
	if n, err := c.Exists(ctx, prefix+tagged("rt:", "jti-0"), prefix+tagged("s:", "sid-0"), prefix+tagged("c:", "state:0"),
		prefix+tagged("n:", "pw:u:0")).Result(); err != nil || n != 0 {
		t.Errorf("expired entries still stored: %d, %v", n, err)
	}
	list, err := s.Sessions(ctx, "alice")
	if err != nil || len(list) != 1 {
		t.Errorf("Sessions(alice) = %d sessions, %v; want the live one", len(list), err)
	}
	// Redis expired them, not Purge: Purge counts nothing.
	if n, err := s.Purge(ctx, time.Now()); err != nil || n != 0 {
		t.Errorf("Purge = %d, %v; want 0", n, err)
	}
}

// A miss answers from the filters without a command; a hit costs one.
func TestIsRevokedRoundTrips(t *testing.T) {
	ctx := context.Background()
	var cmds atomic.Int64
	c := newClient(t, shared(t))
	c.AddHook(countHook{&cmds})
	s := newStore(t, c, redisstore.WithPrefix(uniquePrefix(t, c)))
	must(t, s.RevokeToken(ctx, "jti-revoked", future))
	must(t, s.CreateSession(ctx, session("sid-ended", "alice")))
	_, err := s.EndSession(ctx, "sid-ended")
	must(t, err)
	if !redisstore.FilterTrusted(s) {
		t.Fatal("filters not trusted after New")
	}

	before := cmds.Load()
	const n = 10000
	for i := range n {
		revoked, err := s.IsRevoked(ctx, fmt.Sprintf("jti-%d", i), fmt.Sprintf("sid-%d", i))
		if err != nil || revoked {
			t.Fatalf("IsRevoked(miss %d) = %v, %v", i, revoked, err)
		}
	}
	// At the default false-positive rate of 0.001 per filter, about 20 of them.
	if got := cmds.Load() - before; got > n/100 {
		t.Errorf("%d misses cost %d commands, want about %d", n, got, 2*n/1000)
	}
	for _, tc := range []struct{ jti, sid string }{{"jti-revoked", ""}, {"", "sid-ended"}, {"jti-revoked", "sid-ended"}} {
		before := cmds.Load()
		if revoked, err := s.IsRevoked(ctx, tc.jti, tc.sid); err != nil || !revoked {
			t.Errorf("IsRevoked(%q, %q) = %v, %v", tc.jti, tc.sid, revoked, err)
		}
		if got := cmds.Load() - before; got != 1 {
			t.Errorf("IsRevoked(%q, %q) cost %d commands, want 1", tc.jti, tc.sid, got)
		}
	}
}

type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

func TestNewRefuses(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, shared(t))
	for _, tc := range []struct {
		name   string
		client *redis.Client
		opts   []redisstore.Option
		target error
	}{
		{"nil client", nil, nil, core.ErrConfig},
		{"empty prefix", c, []redisstore.Option{redisstore.WithPrefix("")}, core.ErrConfig},
		{"false-positive rate 0", c, []redisstore.Option{redisstore.WithFilterFPRate(0)}, core.ErrConfig},
		{"health check 0", c, []redisstore.Option{redisstore.WithHealthCheck(0)}, core.ErrConfig},
		{"nil logger", c, []redisstore.Option{redisstore.WithLogger(nil)}, core.ErrConfig},
		{"unreachable", unreachable(t), nil, core.ErrStoreUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := redisstore.New(ctx, tc.client, tc.opts...)
			if !errors.Is(err, tc.target) {
				t.Errorf("New = %v, want %v", err, tc.target)
			}
			if s != nil {
				t.Error("New returned a store with its error")
			}
		})
	}
	if _, err := redisstore.Open(ctx, "http://example.com"); !errors.Is(err, core.ErrConfig) {
		t.Errorf("Open(bad url) = %v, want %v", err, core.ErrConfig)
	}
}

// unreachable is a client of a loopback port nothing listens on.
func unreachable(t *testing.T) *redis.Client {
	addr, err := redistest.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	s, err := redisstore.Open(ctx, "redis://"+shared(t)+"/0", redisstore.WithPrefix(uniquePrefix(t, newClient(t, shared(t)))))
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
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
