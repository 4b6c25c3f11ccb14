// Package memstore is an in-memory core.Store.
//
// # Use
//
// It is meant for tests and for an app that runs as one process and accepts losing
// every session on restart:
//
//	auth, err := core.New(memstore.New(), opts...)
//
// # What it keeps
//
// Everything lives in maps behind one sync.RWMutex, so a Store is safe for concurrent
// use. IsRevoked takes the read lock and does two map lookups. Sessions and keys are
// copied on the way in and on the way out, Identity.Claims, Roles and Scopes included,
// so no caller can change what another one reads. Claim values are copied deeply when
// they are JSON-shaped (map[string]any, []any, []string, map[string]string, []byte);
// any other value, such as a pointer, is kept as it was given.
//
// Purge walks a min-heap of expiries, so its cost grows with the number of entries that
// expired (and with the stale heap entries Rotate and restarted counters leave, which are
// bounded), not with the size of the store.
//
// Export and Import (core.Migrator) copy the whole content out and in, but for consumed
// sign-in states (Consume) and throttling counters (Count), which are not exported:
// Export from one snapshot taken under the read lock, Import atomically under the write
// lock.
//
// # What it does not do
//
// There is no persistence: Close, a crash or a restart loses every session, revocation
// and generated key. Refresh tokens issued before stop working (their sessions are
// gone), but an access token revoked before a restart is accepted again until its exp
// if the app gives its own signing key. Nothing is shared between processes either: two
// instances of an app each see only their own revocations. Use boltstore or redisstore
// for any of that.
//
// There is no size limit and no background purge: something must call Purge from time
// to time, or expired entries stay in memory.
//
// Context arguments are not consulted: every call completes in memory without waiting
// on anything but the store's own lock.
package memstore
