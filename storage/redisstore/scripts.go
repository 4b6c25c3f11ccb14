package redisstore

import "github.com/redis/go-redis/v9"

// Every write that must be atomic is one Lua script, so that it is atomic across every
// instance sharing the Redis. Keys the scripts build from the prefix (the subject
// index, the keys of Purge and Import) are not declared in KEYS: the store needs one
// Redis, not a cluster (see the package doc).
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

-- index_session files session sid of subject sub under its purge time.
local function index_session(prefix, xs, sid, sub, purge)
  local ukey = prefix .. 'u:' .. sub
  redis.call('ZADD', ukey, sec(purge), sid)
  tidy(ukey)
  redis.call('ZADD', xs, sec(purge), sid)
  tidy(xs)
end
`

// revokeScript: KEYS revocation key, revocation index; ARGV member, exp, channel.
var revokeScript = redis.NewScript(lib + `
return revoke(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
`)

// createScript: KEYS session key, session index; ARGV prefix, sid, subject, purge
// time, then the hash's field/value pairs. Returns 0 if the session exists.
var createScript = redis.NewScript(lib + `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('EXPIREAT', KEYS[1], at(ARGV[4]))
index_session(ARGV[1], KEYS[2], ARGV[2], ARGV[3], ARGV[4])
return 1
`)

// sessionsScript: KEYS subject index; ARGV prefix. Returns the hashes of the subject's
// sessions, skipping members whose session Redis has expired.
var sessionsScript = redis.NewScript(`
local out = {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local h = redis.call('HGETALL', ARGV[1] .. 's:' .. sid)
  if #h > 0 then out[#out + 1] = h end
end
return out
`)

// rotateScript: KEYS session key, session index; ARGV prefix, sid, presented, next,
// now, now+grace, now+idle timeout ("" for none), access expiry. Returns {code} or
// {0, hash}, the codes being those of the rotate* constants. It is Store.Rotate's
// contract, line by line.
var rotateScript = redis.NewScript(lib + `
local h = redis.call('HMGET', KEYS[1], 'sub', 'exp', 'idle', 'acc', 'cur', 'prev', 'prevu', 'last')
if not h[1] then return {1} end
local sub, exp, idle, acc, cur, prev, prevu, last = h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]
local presented, nxt, now_, grace, idlecand, access = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
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
redis.call('HSET', KEYS[1], 'last', last, 'idle', idle, 'acc', acc, 'cur', cur,
  'prev', prev, 'prevu', prevu, 'purge', purge)
redis.call('EXPIREAT', KEYS[1], at(purge))
index_session(ARGV[1], KEYS[2], ARGV[2], sub, purge)
return {0, redis.call('HGETALL', KEYS[1])}
`)

// endScript: KEYS session key, session index, session revocation key, revocation
// index; ARGV prefix, sid, channel. Returns the hash as it was, empty if none.
var endScript = redis.NewScript(lib + `
local h = redis.call('HGETALL', KEYS[1])
if #h == 0 then return {} end
local sub, acc
for i = 1, #h, 2 do
  if h[i] == 'sub' then sub = h[i + 1] elseif h[i] == 'acc' then acc = h[i + 1] end
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
tidy(KEYS[2])
redis.call('ZREM', ARGV[1] .. 'u:' .. sub, ARGV[2])
tidy(ARGV[1] .. 'u:' .. sub)
revoke(KEYS[3], KEYS[4], 's:' .. ARGV[2], acc, ARGV[3])
return h
`)

// endAllScript: KEYS subject index, session index, revocation index; ARGV prefix,
// subject, channel. Ends every session of the subject as endScript ends one, all in
// this one script, and returns their hashes as they were. It reads everything before
// it writes, and revokes each session before deleting it, so that a script stopped by
// an error never leaves a session deleted but not revoked. Members of the subject index
// whose session is gone are dropped from it; a member whose session names another
// subject is left alone.
var endAllScript = redis.NewScript(lib + `
local p, subject, ch = ARGV[1], ARGV[2], ARGV[3]
local out, ids, accs, gone = {}, {}, {}, {}
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local h = redis.call('HGETALL', p .. 's:' .. sid)
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
for i, sid in ipairs(ids) do
  revoke(p .. 'rs:' .. sid, KEYS[3], 's:' .. sid, accs[i], ch)
  redis.call('DEL', p .. 's:' .. sid)
  redis.call('ZREM', KEYS[2], sid)
  redis.call('ZREM', KEYS[1], sid)
end
for _, sid in ipairs(gone) do redis.call('ZREM', KEYS[1], sid) end
tidy(KEYS[2])
tidy(KEYS[1])
return out
`)

// consumeScript: KEYS consumed key, consumed index; ARGV id, exp. Returns 1 if this
// call set the key, 0 if it was there.
var consumeScript = redis.NewScript(lib + `
if not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EXAT', at(ARGV[2])) then return 0 end
redis.call('ZADD', KEYS[2], sec(ARGV[2]), ARGV[1])
tidy(KEYS[2])
return 1
`)

// loadOrStoreScript: KEYS key; ARGV value.
var loadOrStoreScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
`)

// purgeScript: KEYS an index; ARGV prefix, now, now's second, offset, limit, infix.
// Looks at one page of the index's members whose second is at or before now's: the
// entry of member m is the key prefix .. infix .. m, and its expiry the key's value,
// or for a session ("s:") the hash's purge field. It deletes the entries expired at
// or before now (and a session's member of its subject index), and drops from the index
// the members whose entry Redis has expired already. Members are of class 2 if they
// are revoked sessions (infix "r", member "s:sid"), else of class 1. Returns {deleted
// of class 1, of class 2, dropped of class 1, of class 2, kept, page length}.
var purgeScript = redis.NewScript(lib + `
local p, infix = ARGV[1], ARGV[6]
local ms = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[3], 'LIMIT', ARGV[4], ARGV[5])
local r = {0, 0, 0, 0, 0, #ms}
for _, m in ipairs(ms) do
  local key = p .. infix .. m
  local v, sub
  if infix == 's:' then
    local h = redis.call('HMGET', key, 'sub', 'purge')
    if h[1] then sub, v = h[1], h[2] end
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
    if sub then redis.call('ZREM', p .. 'u:' .. sub, m) end
    r[k] = r[k] + 1
  else
    r[5] = r[5] + 1
  end
end
return r
`)

// importScript: KEYS revocation index, session index; ARGV prefix, channel, then one
// record per entry: kind, id, n, and n arguments. Kinds: k (a key; its value), t and
// s (a revoked token or session; its expiry), S (a session; subject, purge time, then
// the hash's field/value pairs).
var importScript = redis.NewScript(lib + `
local p, ch = ARGV[1], ARGV[2]
local i = 3
while i <= #ARGV do
  local kind, id, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local a = i + 3
  if kind == 'k' then
    redis.call('SET', p .. 'k:' .. id, ARGV[a])
  elseif kind == 't' or kind == 's' then
    revoke(p .. 'r' .. kind .. ':' .. id, KEYS[1], kind .. ':' .. id, ARGV[a], ch)
  elseif kind == 'S' then
    local skey = p .. 's:' .. id
    local sub, purge = ARGV[a], ARGV[a + 1]
    local old = redis.call('HGET', skey, 'sub')
    if old and old ~= sub then redis.call('ZREM', p .. 'u:' .. old, id) end
    redis.call('DEL', skey)
    redis.call('HSET', skey, unpack(ARGV, a + 2, a + n - 1))
    redis.call('EXPIREAT', skey, at(purge))
    index_session(p, KEYS[2], id, sub, purge)
  else
    return redis.error_reply('unknown entry kind ' .. kind)
  end
  i = a + n
end
return 1
`)

// The answers of rotateScript.
const (
	rotateOK       = 0
	rotateNotFound = 1
	rotateExpired  = 2
	rotateReused   = 3
)
