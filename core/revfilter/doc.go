// Package revfilter is the in-memory membership filter a store puts in front of its
// revocation list, so that IsRevoked answers the common case, nothing revoked, without
// a transaction or a round trip, at a cost that does not grow with the number of
// revoked entries.
//
// # Filter
//
// A [Filter] is a blocked Bloom filter: a key's bits all lie in one 64-byte block (eight
// uint64 words, one cache line), so a lookup touches one cache line whatever the size of
// the filter. Each key sets one bit in each of the block's eight words (more at very
// strict rates), and a lookup tests the eight words without a branch per bit. The key is hashed once with hash/maphash, with a seed chosen at random when the
// filter is made (a filter is never persisted, so the seed need not be stable); the
// block comes from the high bits of that hash and the bit positions from a splitmix64
// stream seeded with it. New sizes the filter from the number of keys expected and the
// false-positive rate wanted, using the exact rate of this layout (blocks fuller than
// average make most false positives) rather than the textbook formula, which is
// optimistic for blocked filters; measured rates match it.
//
// MayContain reading false means the key was never added; true means it may have been,
// and the store must ask its own data. A filter answers lookups and additions from any
// number of goroutines at once without a lock: words are read with atomic loads and set
// with atomic OR, so a key whose Add has returned is seen by every later MayContain.
//
// # Set
//
// A Bloom filter cannot forget a key, so a filter only ever fills up: entries the store
// purges stay behind as false positives, and a filter that holds more keys than it was
// sized for answers true more often than asked for. A [Set] holds the current filter and
// swaps in a fresh one built from the store's data by [Set.Rebuild]. Keys added while a
// rebuild runs go into both the old and the new filter, so a key the store committed
// before or during the rebuild is never missing from the filter that replaces the old
// one. [Set.NeedsRebuild] tells the store when a rebuild pays: when more keys were added
// than the filter was sized for, or when more than half of them have been removed from
// the store since the filter was built (and they are a sizeable share of it).
//
// The store must call Add after the write that it reports is durable, not before: a
// rebuild reads the store, and a key written to the store but added to the filter
// neither before the rebuild started nor during it would otherwise be lost.
//
// # Feed
//
// A store whose backend other processes share keeps one Set per process and brings it
// up to date from a feed of the others' revocations: a Redis subscription, a PostgreSQL
// LISTEN. A [Feed] says when those filters can be trusted: once the feed is up and they
// have been loaded since it came up. Every loss and every reconnection starts a new
// generation, so a load that began before one can never mark the filters trusted after
// it; [Feed.Reloader] runs the loads, retrying a failed one while the feed stays up.
//
// # What it does not do
//
// It does not delete, persist, or share a filter between processes, nor read a feed:
// the store subscribes, applies what it hears with Add, and tells the Feed when the
// connection comes and goes. Keys are compared by hash only: a true answer is never
// proof.
package revfilter
