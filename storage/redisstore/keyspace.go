package redisstore

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// shards is how many shards the per-id keys and their indexes are spread over: the
// shard of an id is the first byte of its SHA-1, written as two lowercase hex digits,
// and its keys carry the hash tag {<shard>}, so that on a Redis Cluster an id's keys and
// the indexes they are filed in share one hash slot. 256 shards spread the keys over
// clusters of up to a few dozen masters. The scripts compute the same shard with
// redis.sha1hex; changing it changes the key layout.
const shards = 256

// shardOf returns the shard of id.
func shardOf(id string) string {
	sum := sha1.Sum([]byte(id))
	return hex.EncodeToString(sum[:1])
}

// allShards lists every shard, in order.
var allShards = func() []string {
	list := make([]string, shards)
	for i := range list {
		list[i] = fmt.Sprintf("%02x", i)
	}
	return list
}()

// keyspace names the keys of one prefix p. h is the shard of the id the key is named
// by (see shardOf); {h} is the key's hash tag:
//
//	p{h}rt:<jti>   revoked token: its expiry; EXAT the expiry
//	p{h}rs:<sid>   revoked session: its expiry; EXAT the expiry
//	p{h}s:<sid>    session: a hash (see encodeSession); EXPIREAT its PurgeAt
//	p{h}c:<id>     consumed one-time id: its expiry; EXAT the expiry
//	p{h}n:<key>    counter (Count): a hash of its count, n, and its window's end, end;
//	               EXPIREAT the end
//	p{h}xr         the shard's revocations by expiry second: members t:<jti> and s:<sid>
//	p{h}xs         the shard's sessions by PurgeAt second
//	p{h}xc         the shard's consumed ids by expiry second
//	p{h}xn         the shard's counters by end second
//	pu:<sub>       the subject's sessions: sorted set of ids by the second until which
//	               each may live (the session's ix field, see indexSecond)
//	pk:<name>      a key: its value, no expiry
//
// Every key but the k: ones expires: entries with their expiry, indexes a second after
// their latest member. Each script touches the keys of one shard, one subject index or
// one key: on a cluster, one hash slot.
type keyspace struct{ prefix string }

func (k keyspace) tagged(id, kind string) string {
	return k.prefix + "{" + shardOf(id) + "}" + kind + id
}
func (k keyspace) token(jti string) string          { return k.tagged(jti, "rt:") }
func (k keyspace) revokedSession(sid string) string { return k.tagged(sid, "rs:") }
func (k keyspace) session(sid string) string        { return k.tagged(sid, "s:") }
func (k keyspace) consumed(id string) string        { return k.tagged(id, "c:") }
func (k keyspace) counter(key string) string        { return k.tagged(key, "n:") }
func (k keyspace) shard(h string) string            { return k.prefix + "{" + h + "}" }
func (k keyspace) revocations(h string) string      { return k.shard(h) + "xr" }
func (k keyspace) sessionIndex(h string) string     { return k.shard(h) + "xs" }
func (k keyspace) consumedIndex(h string) string    { return k.shard(h) + "xc" }
func (k keyspace) counterIndex(h string) string     { return k.shard(h) + "xn" }
func (k keyspace) subject(sub string) string        { return k.prefix + "u:" + sub }
func (k keyspace) key(name string) string           { return k.prefix + "k:" + name }

// shardLen is the length of "{hh}", the tag after the prefix.
const shardLen = 4

// match is the SCAN pattern of the keys that start with the prefix and then with tail,
// itself a pattern.
func (k keyspace) match(tail string) string {
	var b strings.Builder
	for _, r := range k.prefix {
		if strings.ContainsRune(`*?[]\^-`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String() + tail
}

// encodeTime writes t as "<unix seconds>.<nanoseconds, nine digits>", the form the
// scripts compare exactly.
func encodeTime(t time.Time) string {
	return strconv.FormatInt(t.Unix(), 10) + "." + fmt.Sprintf("%09d", t.Nanosecond())
}

// zeroTime is encodeTime(time.Time{}).
const zeroTime = "-62135596800.000000000"

func decodeTime(v string) (time.Time, error) {
	sec, nsec, ok := strings.Cut(v, ".")
	if !ok || len(nsec) != 9 {
		return time.Time{}, fmt.Errorf("redisstore: bad time %q", v)
	}
	s, err1 := strconv.ParseInt(sec, 10, 64)
	n, err2 := strconv.ParseInt(nsec, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, fmt.Errorf("redisstore: bad time %q", v)
	}
	return time.Unix(s, n).UTC(), nil
}
