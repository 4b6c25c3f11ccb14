// Package boltstore is a gatehouse core.Store in one bbolt file: the embedded default,
// for an application that runs as one process on one machine.
//
//	store, err := boltstore.Open("gatehouse.db")
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//	auth, err := core.New(store, ...)
//
// It passes core/storetest. Sessions are stored as versioned binary records of the
// package's own, so that the file format does not follow changes to core.Session (the
// JSON records of files written before are read as they are); revocations, and
// consumed sign-in states (Consume) apart from them, as an id and an expiry, and the
// counters of throttles (Count) in a bucket of their own, as a key, the end of the
// window and the count, with an index by expiry so that Purge reads only what has
// expired, and a session index by user so that Sessions is a prefix scan.
//
// A logout (EndSession, EndSessions) deletes the session and revokes its id in one
// transaction, and leaves the session's two index entries, which no answer reads once
// the session is gone, to the Purge that deletes the revocation: at 100,000 sessions
// deleting them at once was more than half the pages a logout wrote, while Purge
// deletes thousands together. Until then, the lifetime of the session's access tokens
// and at most a purge interval more, they take about 200 bytes per ended session.
// Consume and Count's adds are transactions of the writer, like every write, durable
// when they return; Count's reads (add 0) are read transactions and write nothing.
//
// # Revocation checks
//
// IsRevoked runs on every authenticated request. It first asks two in-memory blocked
// Bloom filters (package revfilter), one of revoked token ids and one of revoked
// session ids, built from the file at Open and kept in step with every revocation. When
// both rule their id out, the common case, it answers without touching the file, in
// constant time whatever the number of revocations; otherwise, for revoked ids and
// about one in a thousand of the others (WithFilterFPRate), it reads the file. A filter
// is rebuilt from the file in the background when it fills up, and by Purge when most
// of its ids have been purged. The filters take about 20 bits per revocation.
//
// # Durability
//
// Every write is durable when the method returns: bbolt writes the changed pages,
// fdatasyncs, writes its meta page and fdatasyncs again. There is no option to turn
// syncing off. A process killed at any point, SIGKILL included, leaves a file that opens
// with every write that returned and passes Check; a write that had not returned may
// or may not be there, whole, never half.
//
// Writes are grouped: one goroutine makes every write queued while the previous commit
// ran in one transaction, with one commit, so concurrent logouts share the cost of the
// syncs instead of queueing for one each (at 64 concurrent logouts, about 30 writes per
// commit). Each write still runs on its own inside the transaction: of concurrent
// Rotates presenting the same token, one sees it as current and the others as reused.
// A write that fails is taken out of the group, which is made again without it; a
// commit that fails (a full disk, WithMaxSize) fails every write of the group, none
// of which happened. Failures match core.ErrStoreUnavailable, so a request that meets
// one is answered 503.
//
// # Copying a store
//
// The store implements core.Migrator. Export reads every key, session and revocation
// (not consumed sign-in states nor counters, which live minutes) in one read
// transaction, a snapshot, and copies it into memory before calling fn, so that fn may
// take its time or call the store. Import writes a batch in one transaction
// with one commit, keeping the indexes and the revocation filters in step; a filter an
// import pushes past its capacity is rebuilt, larger, before Import returns.
//
// # Locking
//
// bbolt lets one opener at a time have the file, with flock(2). That holds across
// processes and, on Linux, within one: a second Open of the same path, from anywhere,
// waits up to the lock timeout (WithLockTimeout, 1 s by default) and fails with
// ErrLocked naming the file, instead of waiting forever as bbolt does by default. To
// share revocations between several processes or machines, use a shared store (Redis).
//
// # Damaged files
//
// Open refuses a file that is not a bbolt file of this package, or is damaged, with
// ErrCorrupt, and does not panic: it checks the size of the file against its meta page
// before bbolt maps it (a truncated file would otherwise fault), checks its buckets,
// and reads every revocation to build the filters, with panics and memory faults turned
// into errors. It does not read every page; Check does. An empty file is a new store.
//
// A file of an older layout gets the buckets it lacks when it is opened: one of the
// first layout the bucket of consumed states and that of counters, one of the second
// the bucket of counters; one of the third, whose session records were JSON, only a
// new version, as a session written from then on is a binary record. Versions of this
// package from before refuse the file from then on.
//
// # What it does not do
//
//   - It does not share a store between processes: see Locking.
//   - It does not shrink the file. Pages freed by Purge are reused, so the file stops
//     growing at the size its busiest hour needs, but is not given back to the file
//     system; CompactTo writes a compacted copy.
//   - It does not encrypt the file. Sessions hold users' email addresses and names,
//     and generated signing keys are stored in it: the file is created with mode
//     0600, Open refuses one that group or others may read or write (ErrReadableFile,
//     naming the file; chmod 600 fixes it) unless given InsecureAllowReadableFile, and
//     the directory it lives in must be as private, which is not checked.
//   - It does not recover a damaged file or repair one: it refuses to open it, and
//     the application must restore a backup or start from a new file (which logs
//     every user out and, without a configured signing key, invalidates every token).
//   - It does not turn memory faults into errors outside Open and its own transactions:
//     a file truncated by another program while the store has it open can still crash
//     the process.
//   - Times are stored to the nanosecond between the years 1677 and 2262; expiries
//     outside that range are clamped to it.
package boltstore
