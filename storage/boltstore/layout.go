package boltstore

import (
	"bytes"
	"encoding/binary"
	"math"
	"time"
)

// The file holds one bucket per kind of record and two indexes. Keys are built so that
// every lookup is a Get or a prefix scan, and Purge a scan from the start of the expiry
// index that stops at the first entry not yet due.
var (
	// bucketMeta holds formatKey, the layout version, so that a later layout can tell
	// an old file from a damaged one.
	bucketMeta = []byte("meta")
	// bucketRevocations maps kind ‖ id to the revocation's expiry (timeKey).
	bucketRevocations = []byte("revocations")
	// bucketExpiry indexes every revocation, session, consumed id and counter by when
	// Purge may delete it: timeKey(expiry) ‖ kind ‖ id, with an empty value, but for
	// the revocation of an ended session, whose value names the index entries its
	// session left (see endSession).
	bucketExpiry = []byte("expiry")
	// bucketSessions maps a session id to its record (see encodeSession).
	bucketSessions = []byte("sessions")
	// bucketSubjects indexes sessions by user: subject ‖ 0 ‖ session id, empty value.
	bucketSubjects = []byte("subjects")
	// bucketKeys maps a key name to its value (LoadOrStoreKey).
	bucketKeys = []byte("keys")
	// bucketConsumed maps a consumed one-time id (Consume) to its expiry (timeKey).
	// It is apart from bucketRevocations, so that the revocation filters never hold
	// one. Layout 1 had no such bucket; Open adds it to a file of layout 1.
	bucketConsumed = []byte("consumed")
	// bucketCounters maps a counter's key (Count) to timeKey(its window's end) ‖ its
	// count, 8 bytes big-endian. Layouts 1 and 2 had no such bucket; Open adds it.
	bucketCounters = []byte("counters")

	allBuckets = [][]byte{bucketMeta, bucketRevocations, bucketExpiry, bucketSessions, bucketSubjects, bucketKeys,
		bucketConsumed, bucketCounters}

	formatKey     = []byte("format")
	formatVersion = []byte("4")
)

// olderLayouts are the layouts Open upgrades, each with the buckets it lacked: Open
// adds them, empty, and sets the current version, in one transaction. Layout 4 has
// the buckets of layout 3; it writes session records of version 3, binary, which
// versions of this package from before cannot read: the version makes them refuse the
// file at Open rather than fail on each session.
var olderLayouts = []struct {
	version []byte
	lacks   [][]byte
}{
	{[]byte("1"), [][]byte{bucketConsumed, bucketCounters}},
	{[]byte("2"), [][]byte{bucketCounters}},
	{[]byte("3"), nil},
}

// Kinds of entry, the byte after the time in an expiry key and the first byte of a
// revocation key. A revoked token and a revoked session of the same id are two entries.
const (
	kindToken    byte = 't' // revoked jti
	kindSession  byte = 's' // revoked session id
	kindRecord   byte = 'r' // a stored session, in the expiry index only
	kindConsumed byte = 'c' // a consumed id, in the expiry index only
	kindCounter  byte = 'n' // a counter, in the expiry index only
)

// MaxIDLength is the longest jti, session id, subject, key name, consumed id or counter
// key the store accepts, in bytes. Longer ones are refused by the methods that write them;
// lookups of longer ones find nothing.
const MaxIDLength = 4096

var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// timeKey encodes t as 8 bytes whose byte order is time order: Unix nanoseconds with
// the sign bit flipped, big-endian. Times outside the years 1677-2262 are clamped to
// the nearest end; no token lives that long, and the zero time sorts first.
func timeKey(t time.Time) []byte {
	var n int64
	switch {
	case t.Before(minTime):
		n = math.MinInt64
	case t.After(maxTime):
		n = math.MaxInt64
	default:
		n = t.UnixNano()
	}
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(n)^(1<<63))
	return b
}

func revocationKey(kind byte, id string) []byte {
	k := make([]byte, 0, 1+len(id))
	return append(append(k, kind), id...)
}

func expiryKey(at []byte, kind byte, id string) []byte {
	k := make([]byte, 0, 9+len(id))
	return append(append(append(k, at...), kind), id...)
}

func subjectKey(subject, sid string) []byte {
	k := make([]byte, 0, len(subject)+1+len(sid))
	return append(append(append(k, subject...), 0), sid...)
}

// subjectPrefix is the prefix of every subjectKey of subject. A subject may itself
// contain a 0 byte, so a key under the prefix can belong to a longer subject; Sessions
// checks each session's subject rather than trust the key.
func subjectPrefix(subject string) []byte {
	return append([]byte(subject), 0)
}

// hasPrefix reports whether k starts with p; a nil k (end of a cursor) does not.
func hasPrefix(k, p []byte) bool { return k != nil && bytes.HasPrefix(k, p) }
