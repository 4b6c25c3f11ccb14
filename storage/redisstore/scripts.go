package redisstore

import "github.com/redis/go-redis/v9"

// Every write that must be atomic is one Lua script, so that it is atomic across every
// instance sharing the Redis. Each script touches the keys of one hash slot (see
// keyspace): one shard's entries and indexes, one subject index, or one key. Keys a
// script builds from its arguments lie in the slot of the key it declares in KEYS, the
// one a cluster routes it by. The one exception, endAllScript, reads and writes every
// session of a subject; the store runs it only on a single Redis (see
// Store.EndSessions).
//
// Times travel as "<unix seconds>.<nine digits of nanoseconds>" (see encodeTime): Lua
// numbers are doubles, which hold Unix seconds exactly but not Unix nanoseconds, so
// the scripts compare times by their two parts and never round one.

// lib is prepended to every script.
const lib = `
if redis.replicate_commands then redis.replicate_commands() end

local ZERO = '` + zeroTime + `'

local function split(t)
  local i = string.find(t, '.', 1, true)
  return tonumber(string.sub(t, 1, i - 1)), tonumber(string.sub(t, i + 1))
end

-- before reports whether time a is before time b.
local function before(a, b)
  local as, an = split(a)
  local bs, bn = split(b)
  return as < bs or (as == bs and an < bn)
end

-- sec is the whole second at or before t: t's score in an index.
local function sec(t)
  return string.sub(t, 1, string.find(t, '.', 1, true) - 1)
end

-- at is the Unix second for EXAT and EXPIREAT of a key that lives until t: t rounded
-- up, so that Redis never drops it early, and at least 1, the least Redis accepts.
local function at(t)
  local s, n = split(t)
  if n > 0 then s = s + 1 end
  if s < 1 then s = 1 end
  return string.format('%d', s)
end

-- shard is the key prefix of the shard of id, p{hh}, as keyspace.tagged builds it.
local function shard(p, id)
  return p .. '{' .. string.sub(redis.sha1hex(id), 1, 2) .. '}'
end

local now
-- tidy removes from the index idx the members whose keys Redis has expired by its own
-- clock (a key expires at most a second after its member's score), then lets the
-- index expire a second after its latest member: no index outgrows what is live.
local function tidy(idx)
  if not now then now = tonumber(redis.call('TIME')[1]) end
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', '(' .. string.format('%d', now - 1))
  local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  if top[2] then
    redis.call('EXPIREAT', idx, string.format('%d', math.max(tonumber(top[2]) + 1, 1)))
  end
end

-- revoke records member (t:jti or s:sid) as revoked until exp in key, keeping a later
-- expiry already there, indexes it in idx and tells every instance on channel.
local function revoke(key, idx, member, exp, channel)
  local old = redis.call('GET', key)
  if old and not before(old, exp) then return 0 end
  redis.call('SET', key, exp, 'EXAT', at(exp))
  redis.call('ZADD', idx, sec(exp), member)
  tidy(idx)
  redis.call('PUBLISH', channel, member)
  return 1
end

-- file_session files session sid in its shard's session index under its purge time.
local function file_session(xs, sid, purge)
  redis.call('ZADD', xs, sec(purge), sid)
  tidy(xs)
end
`

// revokeScript: KEYS revocation key, its shard's revocation index; ARGV member, exp,
// channel.
var revokeScript = redis.NewScript(lib + `
return revoke(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
`)

// createScript: KEYS session key, its shard's session index; ARGV sid, purge time,
// then the hash's field/value pairs. Returns 0 if the session exists. The subject
// index is written after it (see Store.CreateSession).
var createScript = redis.NewScript(lib + `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('EXPIREAT', KEYS[1], at(ARGV[2]))
file_session(KEYS[2], ARGV[1], ARGV[2])
return 1
`)

// subjectScript: KEYS subject index; ARGV "+" then sid/second pairs, each member
// added or raised to the second (never lowered), or "-" then sids, removed.
var subjectScript = redis.NewScript(lib + `
if ARGV[1] == '+' then
  for i = 2, #ARGV, 2 do redis.call('ZADD', KEYS[1], 'GT', ARGV[i + 1], ARGV[i]) end
else
  for i = 2, #ARGV do redis.call('ZREM', KEYS[1], ARGV[i]) end
end
tidy(KEYS[1])
return 1
`)

// rotateScript: KEYS session key, its shard's session index; ARGV sid, presented,
// next, now, now+grace, now+idle timeout ("" for none), access expiry, and the second
// the subject index holds the session until, if the caller just raised it ("" if
// not). Returns {code}, {0, hash}, or {rotateIndex, subject, second} when the rotation
// would make the session live past the second its subject index holds it until (its
// ix field): the caller raises it and runs the script again. The codes are those of
// the rotate* constants. It is Store.Rotate's contract, line by line.
var rotateScript = redis.NewScript(lib + `
local h = redis.call('HMGET', KEYS[1], 'sub', 'exp', 'idle', 'acc', 'cur', 'prev', 'prevu', 'last', 'ix')
if not h[1] then return {1} end
local sub, exp, idle, acc, cur, prev, prevu, last = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
local ix = tonumber(h[9] or '') or -math.huge
local presented, nxt, now_, grace, idlecand, access = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
if ARGV[8] ~= '' and tonumber(ARGV[8]) > ix then ix = tonumber(ARGV[8]) end
if not before(now_, exp) or not before(now_, idle) then return {2} end
if presented ~= '' and presented == cur then
  prev, prevu, cur = cur, grace, nxt
elseif presented ~= '' and grace ~= now_ and presented == prev and before(now_, prevu) then
  -- inside the grace window (only with a grace: grace = now + Grace): Current stays
else
  return {3}
end
if before(last, now_) then
  last = now_
  idle = exp
  if idlecand ~= '' and before(idlecand, exp) then idle = idlecand end
end
if before(acc, access) then acc = access end
local purge = exp
if idle ~= ZERO and before(idle, purge) then purge = idle end
if before(purge, acc) then purge = acc end
if tonumber(sec(purge)) > ix then
  local upto = exp
  if before(upto, acc) then upto = acc end
  return {4, sub, sec(upto)}
end
redis.call('HSET', KEYS[1], 'last', last, 'idle', idle, 'acc', acc, 'cur', cur,
  'prev', prev, 'prevu', prevu, 'purge', purge, 'ix', string.format('%d', ix))
redis.call('EXPIREAT', KEYS[1], at(purge))
file_session(KEYS[2], ARGV[1], purge)
return {0, redis.call('HGETALL', KEYS[1])}
`)

// endScript: KEYS session key, its shard's session index, session revocation key,
// its shard's revocation index; ARGV sid, channel, and "1" and a subject to end the
// session only if it is that subject's, or "0". Returns the hash as it was, empty if
// there is none, nil if it is another subject's. It revokes before it deletes, so
// that a script stopped by an error never leaves a session deleted but not revoked.
var endScript = redis.NewScript(lib + `
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return {} end
local sub, acc
for i = 1, #h, 2 do
  if h[i] == 'sub' then sub = h[i + 1] elseif h[i] == 'acc' then acc = h[i + 1] end
end
if ARGV[3] == '1' and sub ~= ARGV[4] then return false end
if not acc then return redis.error_reply('session ' .. ARGV[1] .. ' has no acc field') end
revoke(KEYS[3], KEYS[4], 's:' .. ARGV[1], acc, ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
tidy(KEYS[2])
return h
`)

// endAllScript: KEYS subject index; ARGV prefix, subject, channel. Ends every session
// of the subject as endScript ends one, all in this one script, and returns their
// hashes as they were. It builds the keys of each session's shard itself, so it runs
// on a single Redis only, never on a cluster. It reads everything before it writes,
// and revokes each session before deleting it, so that a script stopped by an error
// never leaves a session deleted but not revoked. Members of the subject index whose
// session is gone are dropped from it; a member whose session names another subject
// is left alone.
var endAllScript = redis.NewScript(lib + `
local p, subject, ch = ARGV[1], ARGV[2], ARGV[3]
local out, ids, accs, gone = {}, {}, {}, {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local h = redis.call('HGETALL', shard(p, sid) .. 's:' .. sid)
  local sub, acc
  for i = 1, #h, 2 do
    if h[i] == 'sub' then sub = h[i + 1] elseif h[i] == 'acc' then acc = h[i + 1] end
  end
  if #h == 0 then
    gone[#gone + 1] = sid
  elseif sub == subject then
    if not acc then return redis.error_reply('session ' .. sid .. ' has no acc field') end
    out[#out + 1], ids[#ids + 1], accs[#accs + 1] = h, sid, acc
  end
end
local touched = {}
for i, sid in ipairs(ids) do
  local sk = shard(p, sid)
  revoke(sk .. 'rs:' .. sid, sk .. 'xr', 's:' .. sid, accs[i], ch)
  redis.call('DEL', sk .. 's:' .. sid)
  redis.call('ZREM', sk .. 'xs', sid)
  touched[sk .. 'xs'] = true
  redis.call('ZREM', KEYS[1], sid)
end
for _, sid in ipairs(gone) do redis.call('ZREM', KEYS[1], sid) end
for idx in pairs(touched) do tidy(idx) end
tidy(KEYS[1])
return out
`)

// consumeScript: KEYS consumed key, its shard's consumed index; ARGV id, exp. Returns
// 1 if this call set the key, 0 if it was there.
var consumeScript = redis.NewScript(lib + `
if not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EXAT', at(ARGV[2])) then return 0 end
redis.call('ZADD', KEYS[2], sec(ARGV[2]), ARGV[1])
tidy(KEYS[2])
return 1
`)

// countScript: KEYS counter key, its shard's counter index; ARGV key, add (decimal,
// 0 or more), now, now + window. Returns {count, end}, end "" for a missing or ended
// counter read with add 0. The caller's now decides whether the window has ended,
// never Redis's clock, and add 0 writes nothing. A new window sets the hash, its
// expiry at the end (housekeeping: Purge deletes it by the caller's clock) and its
// member in the index; an add within the window is one HINCRBY, so of concurrent adds,
// on every instance, none is lost.
var countScript = redis.NewScript(lib + `
local h = redis.call('HMGET', KEYS[1], 'n', 'end')
local live = h[1] and h[2] and before(ARGV[3], h[2])
if ARGV[2] == '0' then
  if live then return {tonumber(h[1]), h[2]} end
  return {0, ''}
end
if live then return {redis.call('HINCRBY', KEYS[1], 'n', ARGV[2]), h[2]} end
redis.call('HSET', KEYS[1], 'n', ARGV[2], 'end', ARGV[4])
redis.call('EXPIREAT', KEYS[1], at(ARGV[4]))
redis.call('ZADD', KEYS[2], sec(ARGV[4]), ARGV[1])
tidy(KEYS[2])
return {tonumber(ARGV[2]), ARGV[4]}
`)

// loadOrStoreScript: KEYS key; ARGV value.
var loadOrStoreScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`)

// purgeScript: KEYS a shard's index; ARGV the shard's key prefix (p{hh}), now, now's
// second, offset, limit, infix. Looks at one page of the index's members whose second
// is at or before now's: the entry of member m is the key shard prefix .. infix .. m,
// and its expiry the key's value, or for a session ("s:") the hash's purge field and
// for a counter ("n:") the hash's end field. It
// deletes the entries expired at or before now, and drops from the index the members
// whose entry Redis has expired already. Members are of class 2 if they are revoked
// sessions (infix "r", member "s:sid"), else of class 1. Returns {deleted of class 1,
// of class 2, dropped of class 1, of class 2, kept, page length}, followed, for each
// session it deleted, by its subject and id: the caller drops them from the subject
// indexes, which lie in other slots.
var purgeScript = redis.NewScript(lib + `
local sk, infix = ARGV[1], ARGV[6]
local ms = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', ARGV[4], ARGV[5])
local r = {0, 0, 0, 0, 0, #ms}
for _, m in ipairs(ms) do
  local key = sk .. infix .. m
  local v, sub
  if infix == 's:' then
    local h = redis.call('HMGET', key, 'sub', 'purge')
    if h[1] then sub, v = h[1], h[2] end
  elseif infix == 'n:' then
    v = redis.call('HGET', key, 'end')
  else
    v = redis.call('GET', key)
  end
  local k = 1
  if infix == 'r' and string.sub(m, 1, 1) == 's' then k = 2 end
  if not v then
    redis.call('ZREM', KEYS[1], m)
    r[k + 2] = r[k + 2] + 1
  elseif not before(ARGV[2], v) then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], m)
    if sub then r[#r + 1], r[#r + 2] = sub, m end
    r[k] = r[k] + 1
  else
    r[5] = r[5] + 1
  end
end
return r
`)

// importScript: KEYS a key of the slot of the records (for the cluster to route the
// script by); ARGV prefix, channel, "1" if the script may write any key (a single
// Redis) or "0" (a cluster), then records: kind, shard, id, n, and n arguments. Kinds:
// k (a key; its value), t and s (a revoked token or session; its expiry), S (a
// session; subject, purge time, then the hash's field/value pairs), U and R (add the
// session id to, or remove it from, a subject index; the subject, and for U the
// second). A session that changes subject leaves the old subject's index: here if the
// script may write any key, else the script returns the old subjects and session ids,
// in pairs, for the caller to remove with R records.
var importScript = redis.NewScript(lib + `
local p, ch, any = ARGV[1], ARGV[2], ARGV[3] == '1'
local out = {}
local i = 4
while i <= #ARGV do
  local kind, sk, id, n = ARGV[i], p .. '{' .. ARGV[i + 1] .. '}', ARGV[i + 2], tonumber(ARGV[i + 3])
  local a = i + 4
  if kind == 'k' then
    redis.call('SET', p .. 'k:' .. id, ARGV[a])
  elseif kind == 't' or kind == 's' then
    revoke(sk .. 'r' .. kind .. ':' .. id, sk .. 'xr', kind .. ':' .. id, ARGV[a], ch)
  elseif kind == 'S' then
    local skey = sk .. 's:' .. id
    local sub, purge = ARGV[a], ARGV[a + 1]
    local old = redis.call('HGET', skey, 'sub')
    if old and old ~= sub then
      if any then
        redis.call('ZREM', p .. 'u:' .. old, id)
        tidy(p .. 'u:' .. old)
      else
        out[#out + 1], out[#out + 2] = old, id
      end
    end
    redis.call('DEL', skey)
    redis.call('HSET', skey, unpack(ARGV, a + 2, a + n - 1))
    redis.call('EXPIREAT', skey, at(purge))
    file_session(sk .. 'xs', id, purge)
  elseif kind == 'U' then
    redis.call('ZADD', p .. 'u:' .. ARGV[a], 'GT', ARGV[a + 1], id)
    tidy(p .. 'u:' .. ARGV[a])
  elseif kind == 'R' then
    redis.call('ZREM', p .. 'u:' .. ARGV[a], id)
    tidy(p .. 'u:' .. ARGV[a])
  else
    return redis.error_reply('unknown entry kind ' .. kind)
  end
  i = a + n
end
return out
`)

// The answers of rotateScript.
const (
	rotateOK       = 0
	rotateNotFound = 1
	rotateExpired  = 2
	rotateReused   = 3
	rotateIndex    = 4
)
