// The Lua scripts of RedisBackend (see redis_scripts.hpp).
#include "refcache/backends/redis_scripts.hpp"

#include <openssl/sha.h>

#include <utility>

namespace refcache::redis_detail {

Script::Script(std::string text) : body(std::move(text)) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(body.data()), body.size(), md);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char byte : md) {
    sha += kHex[byte >> 4];
    sha += kHex[byte & 0xfU];
  }
}

namespace {

// Shared Lua helpers, prepended to the scripts that need them.
// In cluster mode P is a ref group's prefix ("<prefix>{g<n>}:") while binding keys live in
// their own slots ("<prefix>bind:..."): a script cannot touch them, so drop_bindings lists
// them in `foreign` as (binding key, ref) pairs, which the scripts return for the client to
// delete (if the binding still names the ref). On a single node every binding key starts
// with P and foreign stays empty.
// publish(ch, ...) appends a change event to the events stream in the script's own atomic
// step: `ch` is "<cap>:<stream key>" ("" = no event; on a cluster the stream has a slot of
// its own and the client appends the events after the script).
const char* const kLuaHelpers = R"lua(
local foreign = {}
local function drop_bindings(P, ref)
  local rb = P .. 'refbind:' .. ref
  for _, b in ipairs(redis.call('SMEMBERS', rb)) do
    if string.sub(b, 1, #P) ~= P then
      foreign[#foreign + 1] = b
      foreign[#foreign + 1] = ref
    elseif redis.call('GET', b) == ref then
      redis.call('DEL', b)
    end
  end
  redis.call('DEL', rb)
end
local function with_foreign(out)
  for _, x in ipairs(foreign) do out[#out + 1] = x end
  return out
end
local function publish(ch, origin, kind, ref, ns)
  if ch == '' then return end
  local colon = string.find(ch, ':', 1, true)
  redis.call('XADD', string.sub(ch, colon + 1), 'MAXLEN', '~', string.sub(ch, 1, colon - 1),
             '*', 'e', cjson.encode({origin, kind, ref, ns}))
end
local function ns_of(blob)
  if string.byte(blob, 1) == 0 then
    -- compressed: "\0zst<len>:<namespace><zstd frame>"
    local colon = string.find(blob, ':', 5, true)
    if not colon then return nil end
    local n = tonumber(string.sub(blob, 5, colon - 1))
    if not n then return nil end
    return string.sub(blob, colon + 1, colon + n)
  end
  local ok, d = pcall(cjson.decode, blob)
  if ok and type(d) == 'table' and type(d['namespace']) == 'string' then return d['namespace'] end
  return nil
end
local function remove_entry(P, ref)
  local ek = P .. 'entry:' .. ref
  local old = redis.call('GET', ek)
  drop_bindings(P, ref)
  if not old then return nil end
  redis.call('DEL', ek)
  local ns = ns_of(old)
  if ns then
    redis.call('ZREM', P .. 'idx:' .. ns, ref)
    return ns
  end
  return ''
end
)lua";

}  // namespace

const Script& set_script() {
  static const Script s(std::string(kLuaHelpers) + R"lua(
local P, ref, ns, ttl = ARGV[6], ARGV[3], ARGV[4], ARGV[2]
local old
if ttl ~= '' then
  old = redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl, 'GET')
else
  old = redis.call('SET', KEYS[1], ARGV[1], 'GET')
end
local overwrote = 0
-- An overwrite that moves the entry to another namespace leaves the old namespace's index
-- (the old blob names it).
if old then
  overwrote = 1
  if not redis.call('ZSCORE', KEYS[2], ref) then
    local oldns = ns_of(old)
    if oldns and oldns ~= ns then redis.call('ZREM', P .. 'idx:' .. oldns, ref) end
  end
end
redis.call('ZADD', KEYS[2], ARGV[5], ref)
redis.call('SADD', KEYS[3], ns)
local displaced, dns = '', ''
if #KEYS >= 5 then
  local prev = redis.call('GET', KEYS[4])
  for _, b in ipairs(redis.call('SMEMBERS', KEYS[5])) do
    if b ~= KEYS[4] and redis.call('GET', b) == ref then redis.call('DEL', b) end
  end
  redis.call('DEL', KEYS[5])
  if ttl ~= '' then
    redis.call('SET', KEYS[4], ref, 'PX', ttl)
    redis.call('SADD', KEYS[5], KEYS[4])
    redis.call('PEXPIRE', KEYS[5], ttl)
  else
    redis.call('SET', KEYS[4], ref)
    redis.call('SADD', KEYS[5], KEYS[4])
  end
  if prev and prev ~= ref then
    local r = remove_entry(P, prev)
    if r then displaced, dns = prev, r end
  end
elseif #KEYS == 4 then
  -- cluster: the ref's other bindings are foreign; the client sets the binding itself
  for _, b in ipairs(redis.call('SMEMBERS', KEYS[4])) do
    if b ~= ARGV[9] then
      foreign[#foreign + 1] = b
      foreign[#foreign + 1] = ref
    end
  end
  redis.call('DEL', KEYS[4])
  redis.call('SADD', KEYS[4], ARGV[9])
  if ttl ~= '' then redis.call('PEXPIRE', KEYS[4], ttl) end
end
if overwrote == 1 then publish(ARGV[7], ARGV[8], 'updated', ref, ns) end
if displaced ~= '' then publish(ARGV[7], ARGV[8], 'deleted', displaced, dns) end
return with_foreign({overwrote, displaced, dns})
)lua");
  return s;
}

const Script& remove_script() {
  static const Script s(std::string(kLuaHelpers) + R"lua(
if ARGV[5] and ARGV[5] ~= '' and
   redis.call('SISMEMBER', ARGV[1] .. 'refbind:' .. ARGV[2], ARGV[5]) == 0 then
  return {0, ''}
end
local r = remove_entry(ARGV[1], ARGV[2])
if r then
  publish(ARGV[3], ARGV[4], 'deleted', ARGV[2], r)
  return with_foreign({1, r})
end
return with_foreign({0, ''})
)lua");
  return s;
}

const Script& list_script() {
  static const Script s(R"lua(
local K, P, limit = KEYS[1], ARGV[5], tonumber(ARGV[4])
for _, m in ipairs(redis.call('ZRANGEBYSCORE', K, '-inf', ARGV[1], 'LIMIT', 0, 1000)) do
  redis.call('ZREM', K, m)
end
local start = 0
if ARGV[3] ~= '' then
  local probe = ARGV[3] .. '\0'
  redis.call('ZADD', K, ARGV[2], probe)
  start = redis.call('ZRANK', K, probe)
  redis.call('ZREM', K, probe)
end
local out, n, more = {}, 0, 0
while true do
  local want = limit - n + 1
  local batch = redis.call('ZRANGE', K, start, start + want - 1, 'WITHSCORES')
  local got, removed = #batch / 2, 0
  for i = 1, #batch, 2 do
    if n == limit then more = 1 break end
    local m = batch[i]
    if redis.call('EXISTS', P .. 'entry:' .. m) == 1 then
      out[#out + 1] = m
      out[#out + 1] = batch[i + 1]
      n = n + 1
    else
      redis.call('ZREM', K, m)
      removed = removed + 1
    end
  end
  if more == 1 or got < want then break end
  start = start + got - removed
end
if redis.call('ZCARD', K) == 0 then redis.call('SREM', KEYS[2], ARGV[6]) end
out[#out + 1] = more
return out
)lua");
  return s;
}

const Script& clear_script() {
  static const Script s(std::string(kLuaHelpers) + R"lua(
local P = ARGV[1]
local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local n = 0
for _, m in ipairs(members) do
  if redis.call('DEL', P .. 'entry:' .. m) == 1 then n = n + 1 end
  drop_bindings(P, m)
  redis.call('ZREM', KEYS[1], m)
end
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then redis.call('SREM', KEYS[2], ARGV[3]) end
return with_foreign({n, left})
)lua");
  return s;
}

const Script& find_script() {
  static const Script s(R"lua(
local r = redis.call('GET', KEYS[1])
if not r then return {} end
local b = redis.call('GET', ARGV[1] .. 'entry:' .. r)
if not b then return {} end
return {r, b}
)lua");
  return s;
}

const Script& find_bound_script() {
  static const Script s(R"lua(
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return false end
return redis.call('GET', KEYS[2])
)lua");
  return s;
}

const Script& bind_script() {
  static const Script s(R"lua(
local prev = redis.call('GET', KEYS[1])
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return prev or ''
)lua");
  return s;
}

const Script& layout_script() {
  static const Script s(R"lua(
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1])
  return ARGV[1]
end
return v
)lua");
  return s;
}

const Script& claim_script() {
  static const Script s(R"lua(
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
)lua");
  return s;
}

const Script& release_script() {
  static const Script s(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
)lua");
  return s;
}

const Script& index_script() {
  static const Script s(std::string(kLuaHelpers) + R"lua(
local P, ref = ARGV[1], ARGV[2]
local blob = redis.call('GET', KEYS[1])
if not blob then return 0 end
local ok, d = pcall(cjson.decode, blob)
if not ok or type(d) ~= 'table' or type(d['namespace']) ~= 'string' then return 0 end
local ns = d['namespace']
if redis.call('ZSCORE', P .. 'idx:' .. ns, ref) then return 0 end
if ARGV[3] == '1' then return 1 end  -- dry run: would be added
-- The expiry is the blob's expires_at (a Python writer's TTL may outlive it), else the TTL.
local score = '+inf'
if type(d['expires_at']) == 'number' then
  score = math.ceil(d['expires_at'] * 1000)
else
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl > 0 then
    local t = redis.call('TIME')
    score = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + pttl
  end
end
redis.call('ZADD', P .. 'idx:' .. ns, score, ref)
redis.call('SADD', P .. 'namespaces', ns)
return 1
)lua");
  return s;
}

const Script& sweep_script() {
  static const Script s(std::string(kLuaHelpers) + R"lua(
local P, now, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
for _, ns in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local ek = P .. 'idx:' .. ns
  local due = redis.call('ZRANGEBYSCORE', ek, '-inf', now, 'LIMIT', 0, limit)
  for _, ref in ipairs(due) do
    redis.call('ZREM', ek, ref)
    redis.call('DEL', P .. 'entry:' .. ref)
    drop_bindings(P, ref)
    publish(ARGV[4], ARGV[5], 'expired', ref, ns)
    out[#out + 1] = ref
    out[#out + 1] = ns
  end
end
return out
)lua");
  return s;
}

}  // namespace refcache::redis_detail
