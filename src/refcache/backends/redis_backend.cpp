// RedisBackend (see include/refcache/redis_backend.hpp).
#include "refcache/redis_backend.hpp"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <zstd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <shared_mutex>
#include <thread>
#include <tuple>
#include <vector>

#include <boost/json/array.hpp>

#include "jsonio/json_text.hpp"
#include "refcache/backends/redis_cluster.hpp"
#include "refcache/backends/redis_connection.hpp"
#include "refcache/entry_codec.hpp"
#include "refcache/errors.hpp"

namespace refcache {

namespace {

using Clock = std::chrono::steady_clock;
using redis_detail::Reply;

struct Script {
  std::string body;
  std::string sha;
  explicit Script(std::string b) : body(std::move(b)) {
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(body.data()), body.size(), md);
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char byte : md) {
      sha += kHex[byte >> 4];
      sha += kHex[byte & 0xfU];
    }
  }
};

// Shared Lua helpers, prepended to the scripts that need them.
// In cluster mode P is a ref group's prefix ("<prefix>{g<n>}:") while binding keys live in
// their own slots ("<prefix>bind:..."): a script cannot touch them, so drop_bindings lists
// them in `foreign` as (binding key, ref) pairs, which the scripts return for the client to
// delete (if the binding still names the ref). On a single node every binding key starts
// with P and foreign stays empty.
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
  if ch ~= '' then redis.call('PUBLISH', ch, cjson.encode({origin, kind, ref, ns})) end
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

// KEYS: entry, namespace index, namespaces set, [binding, refbind] (single node) or
// [refbind] (cluster: the binding key, in another slot, is ARGV[9] and set by the client).
// ARGV: blob, ttl_ms or '', ref, ns, index score (expiry in ms, or '+inf'), prefix, events
// channel or '', origin, [binding key]
// Returns {overwrote (0/1), displaced ref or '', displaced ns or '', foreign pairs...}.
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

// KEYS: entry (for routing; unused). ARGV: prefix, ref, events channel or '', origin,
// [binding key: remove only if the ref is still bound to it (cluster displacement)].
// Returns {1, ns, foreign pairs...} when an entry was removed, else {0, '', foreign...}.
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

// KEYS: namespace index, namespaces set. ARGV: now_ms, cursor score, cursor ref ('' for the
// start), limit, prefix, ns. The index is ordered by (score, ref); a page starts after the
// cursor's position, found by adding a probe member just after it (the cursor's ref followed
// by a NUL byte, which no ref id contains), reading its rank and removing it, all inside this
// script, so that paging is exact even when the cursor's own ref is gone meanwhile.
// Returns {id, score, id, score, ..., more (0/1)}.
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

// KEYS: namespace index, namespaces set. ARGV: prefix, batch, ns.
// Returns {removed, left, foreign pairs...}.
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

// KEYS: binding. ARGV: prefix. Returns {ref, blob} or {} .
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

// Cluster: KEYS: refbind, entry of the ref a binding names; ARGV: the binding key. Returns
// the entry's blob if the ref is still bound to that key, else nil.
const Script& find_bound_script() {
  static const Script s(R"lua(
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return false end
return redis.call('GET', KEYS[2])
)lua");
  return s;
}

// Cluster: KEYS: binding. ARGV: ref, ttl_ms or ''. Binds; returns the ref bound before or ''.
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

// Cluster: KEYS: the layout key. ARGV: our layout. Records it if none is; returns the one
// recorded.
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

// KEYS: claim. ARGV: owner, ttl_ms. Returns 1 when owner holds the claim.
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

// KEYS: entry. ARGV: prefix, ref. Adds an unindexed entry to its namespace index.
// Returns 1 if it was added.
const Script& index_script() {
  static const Script s(std::string(kLuaHelpers) + R"lua(
local P, ref = ARGV[1], ARGV[2]
local blob = redis.call('GET', KEYS[1])
if not blob then return 0 end
local ok, d = pcall(cjson.decode, blob)
if not ok or type(d) ~= 'table' or type(d['namespace']) ~= 'string' then return 0 end
local ns = d['namespace']
if redis.call('ZSCORE', P .. 'idx:' .. ns, ref) then return 0 end
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

// KEYS: namespaces set. ARGV: prefix, now_ms, limit per namespace, events channel or '',
// origin. Removes due members of every expiry index (and their entries and bindings, if
// still there) and publishes one 'expired' event each. Returns {ref, ns, ref, ns, ...}.
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

// Appends every piece to `out` (no temporary strings).
void append_all(std::string& out, std::initializer_list<std::string_view> pieces) {
  for (auto p : pieces) out.append(p);
}

std::string reply_text(const redisReply* r) {
  if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
            r->type == REDIS_REPLY_ERROR))
    return std::string(r->str, r->len);
  return {};
}

long long reply_int(const redisReply* r) {
  if (r && r->type == REDIS_REPLY_INTEGER) return r->integer;
  return 0;
}

std::string ms_text(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(std::llround(v)));
  if (ec != std::errc()) return "0";
  return std::string(buf, end);
}

void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    if (sigaction(SIGPIPE, nullptr, &sa) == 0 && sa.sa_handler == SIG_DFL) {
      sa.sa_handler = SIG_IGN;
      sigaction(SIGPIPE, &sa, nullptr);
    }
  });
}

// Thread-local deadline of the current public call (set by Impl::run).
thread_local Clock::time_point tl_deadline = Clock::time_point::max();
// True on the events thread's sweeps: their commands are not counted by commands_sent().
thread_local bool tl_background = false;

constexpr char kZstdTag[] = {'\0', 'z', 's', 't'};

}  // namespace

class RedisBackend::Impl {
 public:
  explicit Impl(RedisOptions o) : opts_(std::move(o)) {
    address_ = opts_.redacted_address();
    clock_ = opts_.clock ? opts_.clock : &unix_now;
    if (opts_.tls) tls_ = std::make_unique<redis_detail::TlsContext>(opts_);
    if (opts_.pool_size == 0) opts_.pool_size = 1;
    slots_ = std::vector<Slot>(opts_.pool_size);
    P_ = opts_.key_prefix;
    if (!opts_.cluster_nodes.empty()) {
      cluster_ = true;
      if (opts_.cluster_groups < 1 || opts_.cluster_groups > redis_detail::kClusterSlots)
        throw InvalidArgument("RedisOptions::cluster_groups must be within 1 .. 16384 (is " +
                              std::to_string(opts_.cluster_groups) + ")");
      if (opts_.db != 0)
        throw InvalidArgument("Redis Cluster has database 0 only (RedisOptions::db is " +
                              std::to_string(opts_.db) + ")");
      for (int g = 0; g < opts_.cluster_groups; ++g)
        group_prefix_.push_back(P_ + "{g" + std::to_string(g) + "}:");
      slot_map_.assign(redis_detail::kClusterSlots, nullptr);
    }
    origin_ = random_origin();
    if (opts_.share_events) channel_ = P_ + "events";
    ignore_sigpipe_once();
  }

  ~Impl() { close(); }

  static std::string random_origin() {
    std::random_device rd;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (int word = 0; word < 2; ++word)
      for (unsigned v = rd(), i = 0; i < 8; ++i, v >>= 4) out += kHex[v & 0xfU];
    return out;
  }

  // --- events from other processes, expiry sweep ------------------------------------------
  // A dedicated connection SUBSCRIBEd to channel_, read with a short wait so that stopping is
  // prompt; reconnects with the same backoff as the command connections. The same thread
  // sweeps the expiry indexes every expiry_sweep_interval.
  void start_events(RedisBackend* owner) {
    owner_ = owner;
    if (!opts_.sentinels.empty()) sentinel_thread_ = std::thread([this] { watch_sentinels(); });
    if (channel_.empty() && opts_.expiry_sweep_interval.count() <= 0) return;
    events_thread_ = std::thread([this] { events_loop(); });
  }

  void stop_events() {
    stop_events_ = true;
    if (events_thread_.joinable()) events_thread_.join();
    if (sentinel_thread_.joinable()) sentinel_thread_.join();
  }

  // Sentinel mode: stays subscribed to "+switch-master" on one of the sentinels; when our
  // primary moves, drops every connection (commands and events) so that the next call asks
  // the sentinels again, instead of writing to the old primary until it is demoted.
  void watch_sentinels() {
    std::size_t next = 0;
    std::chrono::milliseconds backoff = opts_.reconnect_backoff_min;
    while (!stop_events_) {
      const auto& sentinel = opts_.sentinels[next++ % opts_.sentinels.size()];
      RedisOptions so;
      so.host = sentinel.host;
      so.port = sentinel.port;
      so.password = opts_.sentinel_password;
      try {
        auto deadline = Clock::now() + opts_.connect_timeout;
        auto s = redis_detail::RedisSocket::connect(so, tls_.get(), deadline);
        if (redis_detail::handshake(*s, so, deadline).empty()) {
          Reply r = s->call({"SUBSCRIBE", "+switch-master"}, deadline);
          if (r && r->type == REDIS_REPLY_ARRAY) {
            backoff = opts_.reconnect_backoff_min;
            while (!stop_events_) {
              Reply m = s->next_reply();
              if (!m) {
                s->fill(Clock::now() + std::chrono::milliseconds(100));
                continue;
              }
              if (m->type != REDIS_REPLY_ARRAY || m->elements != 3) continue;
              std::string text = reply_text(m->element[2]);  // "<name> <old ip> <old port> ..."
              if (text.substr(0, text.find(' ')) != opts_.sentinel_primary) continue;
              drop_connections();
              events_reconnect_ = true;
            }
          }
        }
      } catch (const std::exception&) {
      }
      auto until = Clock::now() + backoff;
      while (!stop_events_ && Clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      backoff = std::min(backoff * 2, opts_.reconnect_backoff_max);
    }
  }

  void maybe_sweep() {
    if (cluster_ && Clock::now() >= next_topology_check_) {
      // Cluster: a periodic look at the slot map, beside the refreshes that MOVED and failed
      // nodes trigger, so that a failover or resharding is seen before a call trips on it.
      next_topology_check_ = Clock::now() + std::chrono::seconds(5);
      try {
        refresh_topology(false);
      } catch (const std::exception&) {
      }
    }
    if (opts_.expiry_sweep_interval.count() <= 0 || Clock::now() < next_sweep_) return;
    next_sweep_ = Clock::now() + opts_.expiry_sweep_interval;
    try {
      tl_background = true;
      owner_->sweep_expired();
    } catch (const std::exception&) {
      // Redis unreachable or closing: the next sweep catches up.
    }
  }

  void events_loop() {
    std::chrono::milliseconds backoff = opts_.reconnect_backoff_min;
    while (!stop_events_) {
      if (channel_.empty()) {
        maybe_sweep();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      std::unique_ptr<redis_detail::RedisSocket> s;
      try {
        auto deadline = Clock::now() + opts_.connect_timeout;
        std::string err;
        s = open_socket(deadline, err);
        if (err.empty()) {
          Reply r = s->call({"SUBSCRIBE", channel_}, deadline);
          if (r && r->type == REDIS_REPLY_ARRAY) {
            events_ready_ = true;
            backoff = opts_.reconnect_backoff_min;
            read_events(*s);
          }
        }
      } catch (const std::exception&) {
      }
      events_ready_ = false;
      s.reset();
      // Wait (in small steps, to stop promptly) before reconnecting.
      auto until = Clock::now() + backoff;
      while (!stop_events_ && Clock::now() < until) {
        maybe_sweep();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      backoff = std::min(backoff * 2, opts_.reconnect_backoff_max);
    }
  }

  // Reads messages until the connection fails or stop is requested.
  void read_events(redis_detail::RedisSocket& s) {
    events_reconnect_ = false;
    while (!stop_events_ && !events_reconnect_) {
      maybe_sweep();
      Reply r = s.next_reply();
      if (!r) {
        s.fill(Clock::now() + std::chrono::milliseconds(100));  // throws when the link dies
        continue;
      }
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) continue;
      if (reply_text(r->element[0]) != "message") continue;
      deliver(reply_text(r->element[2]));
    }
  }

  void deliver(const std::string& text) {
    std::error_code ec;
    auto v = jsonio::parse(text, ec);
    if (ec || !v.is_array() || v.as_array().size() != 4) return;
    const auto& a = v.as_array();
    for (const auto& x : a)
      if (!x.is_string()) return;
    if (a[0].as_string() == origin_) return;  // our own change, already delivered
    std::string_view kind = a[1].as_string();
    ChangeEvent e;
    if (kind == "updated")
      e.kind = ChangeKind::kUpdated;
    else if (kind == "deleted")
      e.kind = ChangeKind::kDeleted;
    else if (kind == "cleared")
      e.kind = ChangeKind::kCleared;
    else if (kind == "expired")
      e.kind = ChangeKind::kExpired;
    else
      return;
    e.ref_id = std::string(a[2].as_string());
    e.ns = std::string(a[3].as_string());
    owner_->emit(e);
  }

  // --- connections ----------------------------------------------------------------------
  // A new authenticated socket, honouring the reconnect backoff. Throws BackendUnavailable.
  std::unique_ptr<redis_detail::RedisSocket> connect() {
    {
      std::lock_guard lock(mu_);
      if (closed_) throw BackendUnavailable("redis " + address_ + ": backend is closed");
      if (backoff_.count() > 0 && Clock::now() < next_connect_) {
        throw BackendUnavailable(
            "redis " + address_ + ": unavailable (" + last_error_ +
            "); next reconnect attempt in " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::milliseconds>(next_connect_ - Clock::now())
                    .count()) +
            " ms");
      }
    }
    std::string err;
    std::unique_ptr<redis_detail::RedisSocket> s;
    auto deadline = Clock::now() + std::min(opts_.connect_timeout, remaining());
    try {
      s = open_socket(deadline, err);
    } catch (const redis_detail::TransportError& e) {
      err = e.what();
    }
    if (!err.empty()) {
      std::lock_guard lock(mu_);
      backoff_ = backoff_.count() == 0 ? opts_.reconnect_backoff_min
                                       : std::min(backoff_ * 2, opts_.reconnect_backoff_max);
      next_connect_ = Clock::now() + backoff_;
      last_error_ = err;
      ++errors_;
      throw BackendUnavailable("redis " + address_ + ": " + err);
    }
    std::lock_guard lock(mu_);
    if (had_failure_ || backoff_.count() > 0) ++reconnects_;
    backoff_ = std::chrono::milliseconds(0);
    had_failure_ = false;
    return s;
  }

  // An authenticated socket to the server (with sentinels: to the current primary, checked
  // with ROLE). Throws TransportError; a refusal (AUTH, SELECT, not a primary) goes to `err`.
  std::unique_ptr<redis_detail::RedisSocket> open_socket(Clock::time_point deadline,
                                                         std::string& err) {
    if (cluster_) {
      // Events: classic pub/sub reaches every node of a cluster, so any node will do.
      std::vector<std::pair<std::string, int>> candidates;
      {
        std::shared_lock lock(topo_mu_);
        for (const auto& [name, n] : nodes_) candidates.emplace_back(n->host, n->port);
      }
      for (const auto& seed : opts_.cluster_nodes) candidates.emplace_back(seed.host, seed.port);
      std::string why;
      std::size_t start = events_rr_++;
      for (std::size_t k = 0; k < candidates.size(); ++k) {
        const auto& [host, port] = candidates[(start + k) % candidates.size()];
        RedisOptions o = opts_;
        o.host = host;
        o.port = port;
        o.db = 0;
        try {
          auto s = redis_detail::RedisSocket::connect(
              o, tls_.get(), std::min(deadline, Clock::now() + std::chrono::milliseconds(500)));
          err = redis_detail::handshake(*s, o, deadline);
          if (err.empty()) return s;
          append_all(why, {" ", host, ":", std::to_string(port), ": ", err, ";"});
        } catch (const redis_detail::TransportError& e) {
          why += std::string(" ") + e.what() + ";";
        }
      }
      throw redis_detail::TransportError("no cluster node reachable:" + why);
    }
    if (opts_.sentinels.empty()) {
      auto s = redis_detail::RedisSocket::connect(opts_, tls_.get(), deadline);
      err = redis_detail::handshake(*s, opts_, deadline);
      return s;
    }
    RedisOptions at = opts_;
    std::string why;
    bool found = false;
    for (const auto& sentinel : opts_.sentinels) {
      RedisOptions so;
      so.host = sentinel.host;
      so.port = sentinel.port;
      so.password = opts_.sentinel_password;
      try {
        auto s = redis_detail::RedisSocket::connect(so, tls_.get(), deadline);
        std::string e = redis_detail::handshake(*s, so, deadline);
        if (!e.empty()) {
          why += " " + sentinel.host + ":" + std::to_string(sentinel.port) + ": " + e + ";";
          continue;
        }
        Reply r =
            s->call({"SENTINEL", "get-master-addr-by-name", opts_.sentinel_primary}, deadline);
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
          why += " " + sentinel.host + ":" + std::to_string(sentinel.port) + ": " +
                 (r->type == REDIS_REPLY_ERROR ? reply_text(r.get())
                                               : std::string("unknown primary")) +
                 ";";
          continue;
        }
        at.host = reply_text(r->element[0]);
        {
          const std::string port = reply_text(r->element[1]);
          auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), at.port);
          if (ec != std::errc() || end != port.data() + port.size() || at.port <= 0) {
            why += " " + sentinel.host + ":" + std::to_string(sentinel.port) +
                   ": the primary's port is not a number: '" + port + "';";
            continue;
          }
        }
        found = true;
        break;
      } catch (const redis_detail::TransportError& e) {
        why += std::string(" ") + e.what() + ";";
      }
    }
    if (!found)
      throw redis_detail::TransportError("no sentinel gave the address of primary '" +
                                         opts_.sentinel_primary + "':" + why);
    auto s = redis_detail::RedisSocket::connect(at, tls_.get(), deadline);
    err = redis_detail::handshake(*s, at, deadline);
    if (err.empty()) {
      Reply role = s->call({"ROLE"}, deadline);
      std::string r = role->type == REDIS_REPLY_ARRAY && role->elements > 0
                          ? reply_text(role->element[0])
                          : reply_text(role.get());
      if (r != "master")
        err = at.host + ":" + std::to_string(at.port) + " (named by the sentinels as primary '" +
              opts_.sentinel_primary + "') is not a primary (role " + r + ")";
    }
    {
      std::lock_guard lock(mu_);
      primary_ = at.host + ":" + std::to_string(at.port);
    }
    return s;
  }

  // Drops every command connection (after READONLY: the primary moved).
  void drop_connections() {
    for (auto& slot : slots_) {
      std::shared_ptr<redis_detail::MuxConnection> c;
      {
        std::lock_guard lock(slot.mu);
        c = slot.conn;
      }
      if (c) c->fail("the server became a replica (failover)");
    }
  }

  struct Slot {
    std::mutex mu;
    std::shared_ptr<redis_detail::MuxConnection> conn;
    std::atomic<int> users{0};  // calls on this slot now
  };

  // A slot's connection, held for one call.
  struct Lease {
    explicit Lease(Slot& s) : slot(&s) { slot->users.fetch_add(1, std::memory_order_relaxed); }
    ~Lease() { slot->users.fetch_sub(1, std::memory_order_relaxed); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Slot* slot;
    std::shared_ptr<redis_detail::MuxConnection> conn;
  };

  // The slot for a call: the calling thread's own slot if no call uses it, else the next
  // unused one (opened on demand), else the thread's own, shared. So up to pool_size threads
  // each get a connection to themselves, where a call is one write and one read on the
  // caller's thread; beyond that, calls pipeline on shared connections.
  static Slot& pick_slot(std::vector<Slot>& slots) {
    static std::atomic<std::size_t> next_home{0};
    thread_local const std::size_t home = next_home.fetch_add(1, std::memory_order_relaxed);
    const std::size_t n = slots.size(), h = home % n;
    for (std::size_t k = 0; k < n; ++k) {
      Slot& s = slots[(h + k) % n];
      if (s.users.load(std::memory_order_relaxed) == 0) return s;
    }
    return slots[h];
  }

  // The lease's slot's connection, (re)opened on demand.
  void connection(Lease& lease) {
    Slot& slot = *lease.slot;
    std::lock_guard lock(slot.mu);
    if (slot.conn && !slot.conn->dead()) {
      lease.conn = slot.conn;
      return;
    }
    if (slot.conn) {
      std::lock_guard l(mu_);
      had_failure_ = true;
    }
    slot.conn.reset();
    slot.conn = std::make_shared<redis_detail::MuxConnection>(connect());
    lease.conn = slot.conn;
  }

  // --- Redis Cluster ----------------------------------------------------------------------
  // One pool of pool_size connections per node, each node with its own reconnect
  // backoff (a dead primary must not slow the calls that go to the others). slot_map_ names
  // the primary of every hash slot, from CLUSTER SLOTS; MOVED updates one slot at once and asks
  // for a refresh, ASK sends ASKING + the command to the named node without changing the map.
  struct Node {
    Node(std::string h, int p, std::size_t pool) : host(std::move(h)), port(p), slots(pool) {
      name = host + ":" + std::to_string(port);
    }
    std::string host;
    int port;
    std::string name;  // "host:port"
    std::vector<Slot> slots;
    std::mutex mu;  // guards the backoff fields
    std::chrono::milliseconds backoff{0};
    Clock::time_point next_connect{};
    std::string last_error;
    bool had_failure = false;
  };
  using NodePtr = std::shared_ptr<Node>;

  // The node at host:port, created on first use.
  NodePtr node_at(const std::string& host, int port) {
    std::string name = host + ":" + std::to_string(port);
    {
      std::shared_lock lock(topo_mu_);
      auto it = nodes_.find(name);
      if (it != nodes_.end()) return it->second;
    }
    std::unique_lock lock(topo_mu_);
    auto& n = nodes_[name];
    if (!n) n = std::make_shared<Node>(host, port, opts_.pool_size);
    return n;
  }

  // The primary serving `hslot` (-1: any known primary), refreshing the map first when a
  // failure or a redirection asked for it. Throws BackendUnavailable.
  NodePtr node_for(int hslot) {
    if (refresh_wanted_.load(std::memory_order_relaxed) && refresh_wanted_.exchange(false)) {
      try {
        // Skipped (another thread refreshes, or one did just now): ask again later.
        if (!refresh_topology(false)) refresh_wanted_ = true;
      } catch (const BackendUnavailable&) {
        // keep the map we have; the call below fails or succeeds on its own
      }
    }
    for (int pass = 0; pass < 2; ++pass) {
      {
        std::shared_lock lock(topo_mu_);
        if (hslot >= 0) {
          if (slot_map_[static_cast<std::size_t>(hslot)])
            return slot_map_[static_cast<std::size_t>(hslot)];
        } else {
          for (const auto& n : slot_map_)
            if (n) return n;
        }
      }
      if (pass == 0) refresh_topology(true);
    }
    ++errors_;
    throw BackendUnavailable("redis " + address_ + ": no primary serves hash slot " +
                             std::to_string(hslot) + " (cluster not fully covered)");
  }

  // Asks a node (known primaries first, then the other known nodes, then the seeds) for
  // CLUSTER SLOTS and installs the answer. Unless `force`, does nothing if the map was
  // refreshed in the last 100 ms (then returns false). Throws BackendUnavailable naming the
  // seeds when none answers.
  bool refresh_topology(bool force) {
    // One refresh at a time. A caller that only wants a fresher map does not wait for another
    // thread's refresh (which may be stuck connecting to a dead host); one that has no node
    // for its slot waits, within its own deadline.
    // (Polling rather than a timed mutex: ThreadSanitizer does not see
    // pthread_mutex_clocklock, which std::timed_mutex uses.)
    std::unique_lock guard(refresh_mu_, std::defer_lock);
    if (!force) {
      if (!guard.try_lock()) return false;
    } else {
      auto until = Clock::now() + remaining();
      while (!guard.try_lock()) {
        if (Clock::now() >= until) {
          ++errors_;
          throw BackendUnavailable("redis " + address_ +
                                   ": no slot map yet (another thread is still asking the nodes)");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    auto now = Clock::now();
    if (!force && now - last_refresh_ < std::chrono::milliseconds(100)) return false;
    // Nodes that failed lately go last (a dead host may cost a whole connect_timeout).
    std::vector<std::pair<std::string, int>> candidates, failing;
    auto add = [&](const std::string& h, int p, bool failed) {
      for (const auto* list : {&candidates, &failing})
        for (const auto& c : *list)
          if (c.first == h && c.second == p) return;
      (failed ? failing : candidates).emplace_back(h, p);
    };
    auto failed = [](Node& n) {
      std::lock_guard lock(n.mu);
      return n.backoff.count() > 0 || n.had_failure;
    };
    {
      std::shared_lock lock(topo_mu_);
      for (const auto& n : slot_map_)
        if (n) add(n->host, n->port, failed(*n));
      for (const auto& [name, n] : nodes_) add(n->host, n->port, failed(*n));
    }
    for (const auto& seed : opts_.cluster_nodes) add(seed.host, seed.port, false);
    candidates.insert(candidates.end(), failing.begin(), failing.end());
    std::string why;
    for (const auto& [host, port] : candidates) {
      RedisOptions o = opts_;
      o.host = host;
      o.port = port;
      o.db = 0;
      auto left = remaining();
      if (left.count() <= 0) left = std::chrono::milliseconds(1);
      auto deadline = Clock::now() + std::min(opts_.connect_timeout, left);
      try {
        auto s = redis_detail::RedisSocket::connect(o, tls_.get(), deadline);
        std::string err = redis_detail::handshake(*s, o, deadline);
        if (!err.empty()) {
          append_all(why, {" ", host, ":", std::to_string(port), ": ", err, ";"});
          if (err.rfind("authentication", 0) == 0) {
            // A wrong password is wrong on every node: say so at once.
            ++errors_;
            std::string what = "redis ";
            append_all(what, {address_, ": ", host, ":", std::to_string(port), ": ", err});
            throw BackendUnavailable(what);
          }
          continue;
        }
        Reply r = s->call({"CLUSTER", "SLOTS"}, deadline);
        if (r->type != REDIS_REPLY_ARRAY) {
          append_all(
              why, {" ", host, ":", std::to_string(port), ": CLUSTER SLOTS: ",
                    r->type == REDIS_REPLY_ERROR ? reply_text(r.get()) : "unexpected reply", ";"});
          continue;
        }
        std::vector<std::tuple<int, int, std::string, int>> ranges;
        for (std::size_t i = 0; i < r->elements; ++i) {
          const redisReply* e = r->element[i];
          if (e->type != REDIS_REPLY_ARRAY || e->elements < 3) continue;
          const redisReply* primary = e->element[2];
          if (primary->type != REDIS_REPLY_ARRAY || primary->elements < 2) continue;
          std::string h = reply_text(primary->element[0]);
          if (h.empty() || h == "?") h = host;  // the node does not know its address
          ranges.emplace_back(static_cast<int>(reply_int(e->element[0])),
                              static_cast<int>(reply_int(e->element[1])), h,
                              static_cast<int>(reply_int(primary->element[1])));
        }
        if (ranges.empty()) {
          why += " " + host + ":" + std::to_string(port) + ": no slot is assigned;";
          continue;
        }
        std::vector<NodePtr> map(redis_detail::kClusterSlots);
        for (const auto& [lo, hi, h, p] : ranges) {
          NodePtr n = node_at(h, p);
          for (int k = std::max(lo, 0); k <= hi && k < redis_detail::kClusterSlots; ++k)
            map[static_cast<std::size_t>(k)] = n;
        }
        {
          std::unique_lock lock(topo_mu_);
          slot_map_.swap(map);
        }
        last_refresh_ = Clock::now();
        return true;
      } catch (const redis_detail::TransportError& e) {
        why += std::string(" ") + e.what() + ";";
      }
    }
    last_refresh_ = Clock::now();
    ++errors_;
    throw BackendUnavailable("redis " + address_ +
                             ": no cluster node answered CLUSTER SLOTS:" + why);
  }

  // A new authenticated socket to `n`, honouring its reconnect backoff.
  std::unique_ptr<redis_detail::RedisSocket> node_connect(Node& n) {
    {
      std::lock_guard lock(mu_);
      if (closed_) throw BackendUnavailable("redis " + address_ + ": backend is closed");
    }
    {
      std::lock_guard lock(n.mu);
      if (n.backoff.count() > 0 && Clock::now() < n.next_connect) {
        ++errors_;
        throw BackendUnavailable(
            "redis " + address_ + ": node " + n.name + " unavailable (" + n.last_error +
            "); next reconnect attempt in " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::milliseconds>(n.next_connect - Clock::now())
                    .count()) +
            " ms");
      }
    }
    RedisOptions o = opts_;
    o.host = n.host;
    o.port = n.port;
    o.db = 0;
    std::string err;
    std::unique_ptr<redis_detail::RedisSocket> s;
    auto deadline = Clock::now() + std::min(opts_.connect_timeout, remaining());
    try {
      s = redis_detail::RedisSocket::connect(o, tls_.get(), deadline);
      err = redis_detail::handshake(*s, o, deadline);
    } catch (const redis_detail::TransportError& e) {
      err = e.what();
    }
    if (!err.empty()) {
      {
        std::lock_guard lock(n.mu);
        n.backoff = n.backoff.count() == 0 ? opts_.reconnect_backoff_min
                                           : std::min(n.backoff * 2, opts_.reconnect_backoff_max);
        n.next_connect = Clock::now() + n.backoff;
        n.last_error = err;
      }
      refresh_wanted_ = true;  // the node may have failed: its replica may have taken over
      ++errors_;
      throw BackendUnavailable("redis " + address_ + ": node " + n.name + ": " + err);
    }
    std::lock_guard lock(n.mu);
    if (n.had_failure || n.backoff.count() > 0) ++reconnects_;
    n.backoff = std::chrono::milliseconds(0);
    n.had_failure = false;
    return s;
  }

  void node_connection(Node& n, Lease& lease) {
    Slot& slot = *lease.slot;
    std::lock_guard lock(slot.mu);
    if (slot.conn && !slot.conn->dead()) {
      lease.conn = slot.conn;
      return;
    }
    if (slot.conn) {
      std::lock_guard l(n.mu);
      n.had_failure = true;
    }
    slot.conn.reset();
    slot.conn = std::make_shared<redis_detail::MuxConnection>(node_connect(n));
    lease.conn = slot.conn;
  }

  // Sends `bytes` (n commands) to node `n`; throws BackendUnavailable on I/O failure.
  std::vector<Reply> send_to(Node& n, std::string_view bytes, std::size_t count) {
    if (remaining().count() <= 0) {
      ++errors_;
      throw BackendUnavailable("redis " + address_ + ": call deadline (call_timeout " +
                               std::to_string(opts_.call_timeout.count()) + " ms) exceeded");
    }
    auto p = std::make_shared<redis_detail::Pending>(count);
    auto wait = std::min(opts_.socket_timeout, remaining());
    try {
      // A connection the node closed while it was idle is noticed before anything is sent:
      // then the commands go on a new one.
      for (int attempt = 0;; ++attempt) {
        Lease lease(pick_slot(n.slots));
        node_connection(n, lease);
        try {
          lease.conn->call(bytes, p, Clock::now() + wait);
          break;
        } catch (const redis_detail::StaleConnection&) {
          if (attempt >= 2) throw;
        }
      }
    } catch (const redis_detail::TransportError& e) {
      ++errors_;
      std::string what =
          e.timeout() ? "no reply within " + std::to_string(wait.count()) + " ms" +
                            (wait < opts_.socket_timeout ? " (the rest of call_timeout)" : "")
                      : std::string(e.what());
      {
        std::lock_guard lock(n.mu);
        n.last_error = what;
        n.had_failure = true;
      }
      refresh_wanted_ = true;
      throw BackendUnavailable("redis " + address_ + ": node " + n.name + ": " + what);
    }
    return std::move(p->replies);
  }

  // Sends `bytes` to the primary of `hslot`, following MOVED and ASK, and waiting out
  // TRYAGAIN (a multi-key command during a slot migration) and CLUSTERDOWN (a failover in
  // progress) within the call's deadline. These replies mean the command was not executed,
  // so resending is safe for writes too.
  std::vector<Reply> cluster_send(int hslot, std::string_view bytes, std::size_t count) {
    NodePtr target = node_for(hslot);
    bool asking = false;
    std::chrono::milliseconds pause{5};
    std::string last;
    for (int hop = 0;; ++hop) {
      std::vector<Reply> replies;
      if (asking) {
        std::string with;
        redis_detail::format_command(with, {"ASKING"});
        with.append(bytes);
        replies = send_to(*target, with, count + 1);
        replies.erase(replies.begin());
      } else {
        replies = send_to(*target, bytes, count);
      }
      std::optional<redis_detail::Redirect> redirect;
      bool wait = false;
      for (const auto& r : replies) {
        if (r->type != REDIS_REPLY_ERROR) continue;
        std::string_view text(r->str, r->len);
        if ((redirect = redis_detail::parse_redirect(text))) {
          last = std::string(text);
          break;
        }
        // A script that touches a key of a slot in mid-migration which has already left
        // this node fails with "...non local key..." (before or after some of its writes;
        // our scripts are safe to run again): wait for the migration, as for TRYAGAIN.
        if (text.rfind("TRYAGAIN", 0) == 0 || text.rfind("CLUSTERDOWN", 0) == 0 ||
            text.find("non local key") != std::string_view::npos) {
          last = std::string(text);
          wait = true;
          break;
        }
      }
      if (!redirect && !wait) return replies;
      ++redirections_;
      if (hop >= 50 || remaining().count() <= 0) {
        ++errors_;
        throw BackendUnavailable("redis " + address_ + ": hash slot " + std::to_string(hslot) +
                                 " still unavailable after " + std::to_string(hop + 1) +
                                 " attempts (last reply: " + last + ")");
      }
      if (redirect) {
        NodePtr to =
            node_at(redirect->host.empty() ? target->host : redirect->host, redirect->port);
        if (redirect->ask) {
          asking = true;
        } else {
          asking = false;
          std::unique_lock lock(topo_mu_);
          slot_map_[static_cast<std::size_t>(redirect->slot)] = to;
          refresh_wanted_ = true;  // other slots probably moved as well
        }
        target = to;
        continue;
      }
      auto nap = std::min(pause, remaining());
      std::this_thread::sleep_for(nap);
      pause = std::min(pause * 2, std::chrono::milliseconds(200));
      if (last.rfind("CLUSTERDOWN", 0) == 0) refresh_wanted_ = true;
      asking = false;
      target = node_for(hslot);
    }
  }

  // Cluster: every server sharing the cluster must group refs the same way, or they would
  // look for an entry under another hash tag. The first one records its layout in
  // "<prefix>cluster-layout"; a server with another cluster_groups is refused at start-up.
  void check_layout() {
    std::string want = "groups=" + std::to_string(group_prefix_.size());
    std::string key = P_ + "cluster-layout";
    std::string have =
        run(true, [&] { return reply_text(eval(layout_script(), {key}, {want}).get()); });
    if (have != want)
      throw InvalidArgument("redis " + address_ + ": the cache under '" + P_ +
                            "' in this cluster uses " + have + " (key " + key + "), this backend " +
                            want + ": every server sharing it must have the same cluster_groups");
  }

  // The hash slot a command goes to: its first key (for EVAL/EVALSHA the first of KEYS).
  int route_slot(const std::vector<std::string_view>& args) const {
    if (args.size() < 2) return -1;
    if (args[0] == "EVALSHA" || args[0] == "EVAL") {
      if (args.size() < 4 || args[2] == "0") return -1;
      return redis_detail::key_hash_slot(args[3]);
    }
    if (args[0] == "PUBLISH") return -1;
    return redis_detail::key_hash_slot(args[1]);
  }

  // Cluster: the (binding key, ref) pairs a script returned after its fixed `head` elements
  // are deleted where the binding still names the ref. Failures are ignored: such a binding
  // is not trusted by find_by_key (the ref's binding set decides) and expires with its entry.
  void drop_foreign(const redisReply* r, std::size_t head) {
    if (!cluster_ || !r || r->type != REDIS_REPLY_ARRAY) return;
    for (std::size_t i = head; i + 1 < r->elements; i += 2) {
      std::string b = reply_text(r->element[i]), ref = reply_text(r->element[i + 1]);
      try {
        eval(release_script(), {b}, {ref});
      } catch (const std::exception&) {
      }
    }
  }

  // Cluster: one command per ref group, pipelined per node; a command whose reply is an
  // error (MOVED, ASK, TRYAGAIN, NOSCRIPT, ...) is sent again alone through `redo`, which
  // handles it or throws.
  std::vector<Reply> per_group(const std::vector<std::vector<std::string>>& cmds,
                               const std::function<Reply(std::size_t)>& redo) {
    std::vector<Reply> out(cmds.size());
    std::map<Node*, std::pair<NodePtr, std::vector<std::size_t>>> by_node;
    for (std::size_t i = 0; i < cmds.size(); ++i) {
      std::vector<std::string_view> args(cmds[i].begin(), cmds[i].end());
      NodePtr n = node_for(route_slot(args));
      auto& e = by_node[n.get()];
      e.first = n;
      e.second.push_back(i);
    }
    for (auto& [raw, entry] : by_node) {
      std::string bytes;
      for (std::size_t i : entry.second) {
        std::vector<std::string_view> args(cmds[i].begin(), cmds[i].end());
        redis_detail::format_command(bytes, args);
      }
      std::vector<Reply> replies;
      try {
        if (!tl_background) commands_ += entry.second.size();
        replies = send_to(*entry.first, bytes, entry.second.size());
      } catch (const BackendUnavailable&) {
        replies.clear();  // each one again below, through the normal path
      }
      for (std::size_t k = 0; k < entry.second.size(); ++k) {
        std::size_t i = entry.second[k];
        if (k < replies.size() && replies[k]->type != REDIS_REPLY_ERROR)
          out[i] = std::move(replies[k]);
        else
          out[i] = redo(i);
      }
    }
    return out;
  }

  // Cluster: the same script run in every ref group (argument lists built by `make`).
  std::vector<Reply> eval_groups(
      const Script& script,
      const std::function<void(const std::string& prefix, std::vector<std::string>& keys,
                               std::vector<std::string>& argv)>& make) {
    std::size_t g = group_prefix_.size();
    std::vector<std::vector<std::string>> keys(g), argv(g), cmds(g);
    for (std::size_t i = 0; i < g; ++i) {
      make(group_prefix_[i], keys[i], argv[i]);
      cmds[i] = {"EVALSHA", script.sha, std::to_string(keys[i].size())};
      cmds[i].insert(cmds[i].end(), keys[i].begin(), keys[i].end());
      cmds[i].insert(cmds[i].end(), argv[i].begin(), argv[i].end());
    }
    return per_group(cmds, [&](std::size_t i) {
      std::vector<std::string_view> k(keys[i].begin(), keys[i].end()),
          a(argv[i].begin(), argv[i].end());
      return eval(script, k, a);
    });
  }

  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    for (auto& s : slots_) {
      std::shared_ptr<redis_detail::MuxConnection> c;
      {
        std::lock_guard lock(s.mu);
        c.swap(s.conn);
      }
      c.reset();
    }
    std::vector<NodePtr> nodes;
    {
      std::shared_lock lock(topo_mu_);
      for (const auto& [name, n] : nodes_) nodes.push_back(n);
    }
    for (auto& n : nodes)
      for (auto& s : n->slots) {
        std::shared_ptr<redis_detail::MuxConnection> c;
        {
          std::lock_guard lock(s.mu);
          c.swap(s.conn);
        }
        c.reset();
      }
  }

  std::chrono::milliseconds remaining() const {
    if (tl_deadline == Clock::time_point::max()) return opts_.call_timeout;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(tl_deadline - Clock::now());
    return std::max(left, std::chrono::milliseconds(0));
  }

  // --- resilience: retries, deadline, circuit breaker -------------------------------------
  enum class Circuit { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

  // Throws BackendUnavailable at once while the circuit is open; lets one probe through
  // once breaker_open_time has passed.
  void admit() {
    if (opts_.breaker_threshold <= 0) return;
    std::lock_guard lock(breaker_mu_);
    if (circuit_ == Circuit::kClosed) return;
    auto now = Clock::now();
    if (circuit_ == Circuit::kOpen && now >= probe_at_) {
      circuit_ = Circuit::kHalfOpen;
      probing_ = false;
    }
    if (circuit_ == Circuit::kHalfOpen && !probing_) {
      probing_ = true;  // this call is the probe
      return;
    }
    ++errors_;
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(probe_at_ - now).count();
    throw BackendUnavailable(
        "redis " + address_ + ": circuit open after " + std::to_string(consecutive_failures_) +
        " consecutive failures (last: " + breaker_last_error_ + "); failing fast, next probe in " +
        std::to_string(std::max<long long>(wait, 0)) + " ms");
  }

  void on_success() {
    if (opts_.breaker_threshold <= 0) return;
    std::lock_guard lock(breaker_mu_);
    consecutive_failures_ = 0;
    circuit_ = Circuit::kClosed;
    probing_ = false;
  }

  void on_failure(const std::string& what) {
    if (opts_.breaker_threshold <= 0) return;
    std::lock_guard lock(breaker_mu_);
    ++consecutive_failures_;
    breaker_last_error_ = what;
    if (circuit_ == Circuit::kHalfOpen || consecutive_failures_ >= opts_.breaker_threshold) {
      circuit_ = Circuit::kOpen;
      probing_ = false;
      probe_at_ = Clock::now() + opts_.breaker_open_time;
    }
  }

  int circuit_state() const {
    if (opts_.breaker_threshold <= 0) return 0;
    std::lock_guard lock(breaker_mu_);
    return static_cast<int>(circuit_);
  }

  // Runs one public call: breaker, overall deadline, retries of idempotent calls with
  // exponential backoff and jitter.
  template <class F>
  auto run(bool idempotent, F&& f) -> decltype(f()) {
    struct DeadlineScope {
      Clock::time_point saved = tl_deadline;
      bool outer = tl_deadline == Clock::time_point::max();
      ~DeadlineScope() { tl_deadline = saved; }
    } scope;
    if (scope.outer) tl_deadline = Clock::now() + opts_.call_timeout;
    if (!scope.outer) return f();  // nested: the outer call decides
    thread_local std::minstd_rand rng{std::random_device{}()};
    for (int attempt = 0;; ++attempt) {
      admit();
      try {
        if constexpr (std::is_void_v<decltype(f())>) {
          f();
          on_success();
          return;
        } else {
          auto r = f();
          on_success();
          return r;
        }
      } catch (const BackendUnavailable& e) {
        on_failure(e.what());
        if (!idempotent || attempt >= opts_.max_retries) throw;
        auto base = opts_.retry_backoff_min * (1LL << std::min(attempt, 20));
        base = std::min<std::chrono::milliseconds>(base, opts_.retry_backoff_max);
        std::uniform_int_distribution<long long> d(base.count() / 2,
                                                   std::max<long long>(base.count(), 1));
        auto wait = std::chrono::milliseconds(d(rng));
        if (Clock::now() + wait >= tl_deadline) throw;
        std::this_thread::sleep_for(wait);
      } catch (...) {
        // Anything else (an error reply, a corrupt entry) means the server answered: for the
        // breaker that is a success, and a half-open probe must not stay pending.
        on_success();
        throw;
      }
    }
  }

  // --- commands -------------------------------------------------------------------------
  // Sends one command and returns its reply. Error replies are returned, not thrown.
  // I/O failures and timeouts throw BackendUnavailable.
  Reply command(const std::vector<std::string_view>& args) {
    thread_local std::string out;
    out.clear();
    redis_detail::format_command(out, args);
    return std::move(send(out, 1, cluster_ ? route_slot(args) : -1).front());
  }

  // Sends several commands in one write and returns their replies, in order.
  std::vector<Reply> pipeline(const std::vector<std::vector<std::string_view>>& cmds) {
    thread_local std::string out;
    out.clear();
    int hslot = -1;
    for (const auto& c : cmds) {
      redis_detail::format_command(out, c);
      if (cluster_ && hslot < 0) hslot = route_slot(c);
    }
    return send(out, cmds.size(), hslot);
  }

  // `hslot`: the hash slot of the commands' keys in cluster mode (-1: any node).
  std::vector<Reply> send(std::string_view bytes, std::size_t n, int hslot) {
    if (cluster_) {
      if (!tl_background) commands_ += n;
      return cluster_send(hslot, bytes, n);
    }
    if (remaining().count() <= 0) {
      ++errors_;
      throw BackendUnavailable("redis " + address_ + ": call deadline (call_timeout " +
                               std::to_string(opts_.call_timeout.count()) + " ms) exceeded");
    }
    if (!tl_background) commands_ += n;
    auto p = std::make_shared<redis_detail::Pending>(n);
    auto wait = std::min(opts_.socket_timeout, remaining());
    try {
      // A connection Redis closed while it was idle (a restart, its idle timeout) is noticed
      // before anything is sent: then the commands go on a new one.
      for (int attempt = 0;; ++attempt) {
        Lease lease(pick_slot(slots_));
        connection(lease);
        try {
          lease.conn->call(bytes, p, Clock::now() + wait);
          break;
        } catch (const redis_detail::StaleConnection&) {
          if (attempt >= 2) throw;
        }
      }
    } catch (const redis_detail::TransportError& e) {
      ++errors_;
      std::string what =
          e.timeout() ? "no reply within " + std::to_string(wait.count()) + " ms" +
                            (wait < opts_.socket_timeout ? " (the rest of call_timeout)" : "")
                      : std::string(e.what());
      {
        std::lock_guard lock(mu_);
        last_error_ = what;
        had_failure_ = true;
      }
      throw BackendUnavailable("redis " + address_ + ": " + what);
    }
    return std::move(p->replies);
  }

  [[noreturn]] void error_reply(const redisReply* r, std::string_view what) {
    ++errors_;
    std::string text = reply_text(r);
    if (text.rfind("READONLY", 0) == 0) {
      // We are talking to a replica: after a failover, the old primary. Find the new one.
      drop_connections();
      throw BackendUnavailable("redis " + address_ + ": " + text);
    }
    // Commands answer NOPERM; scripts "... can't access at least one of the keys ...".
    if (text.find("NOPERM") != std::string::npos ||
        text.find("can't access at least one of the keys") != std::string::npos ||
        text.find("no permissions to") != std::string::npos)
      throw BackendError("redis " + address_ +
                         ": permission denied by the server's ACL for user '" +
                         (opts_.user.empty() ? std::string("default") : opts_.user) +
                         "' (keys under '" + P_ + "' must be allowed): " + text);
    throw BackendError("redis " + address_ + ": " + std::string(what) + ": " + text);
  }

  // Every reply of a MULTI ... EXEC pipeline checked; returns EXEC's array reply.
  Reply transaction(const std::vector<std::vector<std::string_view>>& cmds) {
    thread_local std::string out;
    out.clear();
    redis_detail::format_command(out, {"MULTI"});
    int hslot = -1;
    for (const auto& c : cmds) {
      redis_detail::format_command(out, c);
      if (cluster_ && hslot < 0) hslot = route_slot(c);
    }
    redis_detail::format_command(out, {"EXEC"});
    auto replies = send(out, cmds.size() + 2, hslot);
    for (auto& r : replies)
      if (r->type == REDIS_REPLY_ERROR) error_reply(r.get(), "transaction");
    Reply exec = std::move(replies.back());
    if (exec->type != REDIS_REPLY_ARRAY || exec->elements != cmds.size())
      error_reply(exec.get(), "transaction aborted");
    return exec;
  }

  Reply checked(const std::vector<std::string_view>& args) {
    Reply r = command(args);
    if (r->type == REDIS_REPLY_ERROR) error_reply(r.get(), args.empty() ? "" : args[0]);
    return r;
  }

  Reply eval(const Script& s, const std::vector<std::string_view>& keys,
             const std::vector<std::string_view>& argv) {
    std::string nkeys = std::to_string(keys.size());
    std::vector<std::string_view> args;
    args.reserve(3 + keys.size() + argv.size());
    args.emplace_back("EVALSHA");
    args.emplace_back(s.sha);
    args.push_back(nkeys);
    args.insert(args.end(), keys.begin(), keys.end());
    args.insert(args.end(), argv.begin(), argv.end());
    Reply r = command(args);
    if (r->type == REDIS_REPLY_ERROR && reply_text(r.get()).rfind("NOSCRIPT", 0) == 0) {
      args[0] = "EVAL";
      args[1] = s.body;
      r = command(args);
    }
    if (r->type == REDIS_REPLY_ERROR) error_reply(r.get(), "script");
    return r;
  }

  // --- compression ----------------------------------------------------------------------
  // A compressed blob is "\0zst<len>:<namespace><zstd frame of the JSON blob>": the NUL
  // can never start JSON, and the namespace stays readable by the Lua scripts.
  std::string pack(std::string blob, std::string_view ns) const {
    if (opts_.compress_min_bytes == 0 || blob.size() < opts_.compress_min_bytes) return blob;
    std::string out(kZstdTag, sizeof kZstdTag);
    out += std::to_string(ns.size());
    out += ':';
    out.append(ns);
    std::size_t head = out.size();
    std::size_t bound = ZSTD_compressBound(blob.size());
    out.resize(head + bound);
    std::size_t n =
        ZSTD_compress(out.data() + head, bound, blob.data(), blob.size(), opts_.compression_level);
    if (ZSTD_isError(n) || head + n >= blob.size()) return blob;
    out.resize(head + n);
    return out;
  }

  // The JSON text of a stored blob (decompressed when needed) decoded into an entry.
  static CacheEntry unpack(std::string_view ref_id, std::string_view blob) {
    if (blob.size() < sizeof kZstdTag ||
        blob.compare(0, sizeof kZstdTag, std::string_view(kZstdTag, sizeof kZstdTag)) != 0)
      return decode_entry_blob(ref_id, blob);
    auto bad = [&](const char* what) -> CacheEntry {
      throw CorruptEntry("corrupt cache entry '" + std::string(ref_id) + "': compressed blob " +
                         what);
    };
    std::string_view rest = blob.substr(sizeof kZstdTag);
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return bad("has no namespace header");
    std::size_t nslen = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + colon, nslen);
    if (ec != std::errc() || p != rest.data() + colon || colon + 1 + nslen > rest.size())
      return bad("has a bad namespace header");
    std::string_view frame = rest.substr(colon + 1 + nslen);
    unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
    constexpr unsigned long long kMax = 1ULL << 31;
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMax)
      return bad("is not a zstd frame of known size");
    std::string text(static_cast<std::size_t>(size), '\0');
    std::size_t n = ZSTD_decompress(text.data(), text.size(), frame.data(), frame.size());
    if (ZSTD_isError(n) || n != size) return bad("does not decompress");
    return decode_entry_blob(ref_id, text);
  }
  // --- keys -----------------------------------------------------------------------------
  // The prefix of a ref's keys: the key prefix, or in cluster mode the prefix of the ref's
  // group, "<prefix>{g<n>}:" with n = CRC16(ref) mod cluster_groups, so that the entry, its
  // namespace index shards, its binding set and its task record share one hash slot.
  const std::string& pfx(std::string_view ref) const {
    if (!cluster_) return P_;
    return group_prefix_[redis_detail::crc16(ref) % group_prefix_.size()];
  }
  std::string entry_key(std::string_view ref) const {
    return pfx(ref) + "entry:" + std::string(ref);
  }
  // The namespace's index: its ref ids scored by expiry in ms ("+inf" for none).
  std::string idx_key(std::string_view ns, const std::string& p) const {
    return p + "idx:" + std::string(ns);
  }
  std::string namespaces_key(const std::string& p) const { return p + "namespaces"; }
  std::string binding_key(std::string_view ns, std::string_view key) const {
    return P_ + "bind:" + std::to_string(ns.size()) + ":" + std::string(ns) + ":" +
           std::string(key);
  }
  std::string refbind_key(std::string_view ref) const {
    return pfx(ref) + "refbind:" + std::string(ref);
  }
  std::string claim_key(std::string_view name) const { return P_ + "claim:" + std::string(name); }
  std::string task_key(std::string_view ref) const { return pfx(ref) + "task:" + std::string(ref); }

  // Milliseconds until `expires_at` (at least 1, so that an already expired entry is
  // stored for a moment and invisible meanwhile).
  std::string ttl_ms(double expires_at) const {
    double ms = std::ceil((expires_at - clock_()) * 1000.0);
    if (ms < 1) ms = 1;
    return ms_text(ms);
  }

  // A position in a namespace index: a ref id and its score, as Redis writes it ("inf" for
  // no expiry). Ordered as the index orders its members: by score, then by ref id.
  struct IndexPos {
    std::string score;
    std::string ref;
    double value() const { return std::strtod(score.c_str(), nullptr); }
    bool operator<(const IndexPos& o) const {
      double a = value(), b = o.value();
      return a < b || (a == b && ref < o.ref);
    }
  };
  // Listing cursors of one namespace are "<score> <ref id>" (the last position returned).
  static IndexPos parse_cursor(std::string_view cursor) {
    auto space = cursor.find(' ');
    if (space == std::string_view::npos || space == 0 || space + 1 == cursor.size())
      throw InvalidArgument("invalid listing cursor");
    IndexPos pos{std::string(cursor.substr(0, space)), std::string(cursor.substr(space + 1))};
    char* end = nullptr;
    const double score = std::strtod(pos.score.c_str(), &end);
    if (end != pos.score.c_str() + pos.score.size() || std::isnan(score))
      throw InvalidArgument("invalid listing cursor");
    return pos;
  }

  ListPage list_ns(std::string_view ns, std::string_view cursor, std::size_t limit) {
    std::string now = ms_text(std::floor(clock_() * 1000.0));
    IndexPos after = cursor.empty() ? IndexPos{} : parse_cursor(cursor);
    // One group's answer: its positions in index order, and whether it has more.
    auto positions_of = [](const redisReply* r, std::vector<IndexPos>& out) {
      if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return false;
      for (size_t i = 0; i + 2 < r->elements; i += 2)
        out.push_back({reply_text(r->element[i + 1]), reply_text(r->element[i])});
      return reply_int(r->element[r->elements - 1]) == 1;
    };
    auto page_from = [](std::vector<IndexPos>& got, bool more) {
      ListPage page;
      for (auto& p : got) page.ref_ids.push_back(p.ref);
      if (more && !got.empty()) page.next_cursor = got.back().score + " " + got.back().ref;
      return page;
    };
    std::string ns_s(ns);
    if (!cluster_) {
      std::string k1 = idx_key(ns, P_), k2 = namespaces_key(P_);
      Reply r = eval(list_script(), {k1, k2},
                     {now, after.score, after.ref, std::to_string(limit), P_, ns_s});
      std::vector<IndexPos> got;
      bool more = positions_of(r.get(), got);
      return page_from(got, more);
    }
    // Cluster: the namespace's index is sharded over the ref groups. Each round asks every
    // group (pipelined per node) for a small batch of its members after the cursor: about
    // twice the page's share per group, since ref ids spread evenly over the groups. The
    // union, in index order, is complete up to the smallest last position of the groups that
    // have more (beyond it a group may hold members it did not send); the page takes from
    // there, and another round follows from its last position when it is not full yet. So a
    // page reads about 2·limit members, not cluster_groups·limit.
    std::vector<IndexPos> page;
    bool more = false;
    const std::size_t groups = group_prefix_.size();
    for (int round = 0; round < 1000; ++round) {
      std::size_t want = limit - page.size();
      std::size_t per = std::max<std::size_t>(1, (2 * want + groups - 1) / groups);
      std::string per_s = std::to_string(per);
      auto replies = eval_groups(list_script(), [&](const std::string& p, auto& keys, auto& argv) {
        keys = {idx_key(ns_s, p), namespaces_key(p)};
        argv = {now, after.score, after.ref, per_s, p, ns_s};
      });
      std::vector<IndexPos> got;
      std::optional<IndexPos> cutoff;  // smallest last position of a group that has more
      for (const auto& r : replies) {
        std::vector<IndexPos> one;
        if (positions_of(r.get(), one) && !one.empty() && (!cutoff || one.back() < *cutoff))
          cutoff = one.back();
        got.insert(got.end(), std::make_move_iterator(one.begin()),
                   std::make_move_iterator(one.end()));
      }
      std::sort(got.begin(), got.end());
      if (cutoff) got.erase(std::upper_bound(got.begin(), got.end(), *cutoff), got.end());
      more = cutoff.has_value();
      if (got.size() > want) {
        got.resize(want);
        more = true;
      }
      page.insert(page.end(), std::make_move_iterator(got.begin()),
                  std::make_move_iterator(got.end()));
      if (!more || page.size() >= limit || page.empty()) break;
      after = page.back();
    }
    return page_from(page, more);
  }

  std::vector<std::string> namespaces() {
    std::vector<std::string> out;
    auto collect = [&](const redisReply* r) {
      for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i)
        out.push_back(reply_text(r->element[i]));
    };
    if (!cluster_) {
      collect(checked({"SMEMBERS", namespaces_key(P_)}).get());
    } else {
      std::vector<std::vector<std::string>> cmds;
      for (const auto& p : group_prefix_) cmds.push_back({"SMEMBERS", namespaces_key(p)});
      auto replies = per_group(cmds, [&](std::size_t i) {
        return checked({cmds[i][0], cmds[i][1]});
      });
      for (const auto& r : replies) collect(r.get());
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  RedisOptions opts_;
  std::string address_;
  std::string origin_;   // identifies this object's own published events
  std::string channel_;  // "" when events are not shared
  RedisBackend* owner_ = nullptr;
  std::thread events_thread_;
  std::thread sentinel_thread_;
  std::atomic<bool> events_reconnect_{false};
  std::atomic<bool> stop_events_{false};
  std::atomic<bool> events_ready_{false};
  std::string P_;
  ClockFn clock_ = nullptr;

  std::unique_ptr<redis_detail::TlsContext> tls_;
  std::vector<Slot> slots_;
  Clock::time_point next_sweep_{};
  Clock::time_point next_topology_check_{};

  mutable std::mutex breaker_mu_;
  Circuit circuit_ = Circuit::kClosed;
  bool probing_ = false;
  int consecutive_failures_ = 0;
  Clock::time_point probe_at_{};
  std::string breaker_last_error_;

  std::mutex mu_;
  std::string primary_;  // host:port of the server connected last (sentinel mode)
  bool closed_ = false;
  std::chrono::milliseconds backoff_{0};
  Clock::time_point next_connect_{};
  std::string last_error_;
  bool had_failure_ = false;

  // Cluster mode (RedisOptions::cluster_nodes).
  bool cluster_ = false;
  std::vector<std::string> group_prefix_;  // "<prefix>{g<n>}:" per ref group
  mutable std::shared_mutex topo_mu_;      // guards nodes_ and slot_map_
  std::map<std::string, NodePtr> nodes_;   // by "host:port"
  std::vector<NodePtr> slot_map_;          // primary of each hash slot
  std::mutex refresh_mu_;
  Clock::time_point last_refresh_{};
  std::atomic<bool> refresh_wanted_{false};
  std::atomic<std::size_t> events_rr_{0};
  std::atomic<std::uint64_t> redirections_{0};

  std::atomic<std::uint64_t> commands_{0};
  std::atomic<std::uint64_t> gets_{0}, hits_{0}, misses_{0}, sets_{0}, deletes_{0};
  std::atomic<std::uint64_t> errors_{0}, reconnects_{0}, expirations_{0};
};

RedisBackend::RedisBackend(RedisOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  if (impl_->opts_.connect_on_start) {
    if (impl_->cluster_) {
      impl_->refresh_topology(true);  // reaches a seed, authenticates, reads the slot map
      impl_->check_layout();
    } else {
      Impl::Lease lease(Impl::pick_slot(impl_->slots_));
      impl_->connection(lease);  // connects and authenticates
    }
  }
  impl_->start_events(this);
}

RedisBackend::~RedisBackend() {
  impl_->stop_events();
  impl_->close();
}

const std::string& RedisBackend::address() const {
  return impl_->address_;
}

EntryPtr RedisBackend::get(std::string_view ref_id) {
  auto& im = *impl_;
  return im.run(true, [&]() -> EntryPtr {
    ++im.gets_;
    std::string k = im.entry_key(ref_id);
    Reply r = im.checked({"GET", k});
    if (r->type != REDIS_REPLY_STRING) {
      ++im.misses_;
      return nullptr;
    }
    CacheEntry e;
    try {
      e = Impl::unpack(ref_id, std::string_view(r->str, r->len));
    } catch (const CorruptEntry&) {
      ++im.errors_;
      throw;
    }
    if (e.is_expired(im.clock_())) {
      ++im.misses_;
      return nullptr;
    }
    ++im.hits_;
    return std::make_shared<const CacheEntry>(std::move(e));
  });
}

std::optional<std::string> RedisBackend::set(std::string_view ref_id, EntryPtr entry,
                                             const KeyBinding* binding) {
  auto& im = *impl_;
  return im.run(false, [&]() -> std::optional<std::string> {
    if (!entry) throw InvalidArgument("RedisBackend::set: null entry");
    std::string blob = im.pack(encode_entry_blob(*entry), entry->ns);
    std::string ttl = entry->expires_at ? im.ttl_ms(*entry->expires_at) : std::string();
    // The index orders by expiry; an entry that never expires sorts last.
    std::string score =
        entry->expires_at ? ms_text(std::ceil(*entry->expires_at * 1000.0)) : "+inf";
    const std::string& gp = im.pfx(ref_id);  // P_, or the ref's group prefix (cluster)
    std::string k1 = im.entry_key(ref_id), k2 = im.idx_key(entry->ns, gp),
                k3 = im.namespaces_key(gp);
    if (!binding) {
      // Entry and index in one MULTI/EXEC (cheaper for Redis than a script).
      std::vector<std::string_view> set_cmd{"SET", k1, blob};
      if (!ttl.empty()) {
        set_cmd.emplace_back("PX");
        set_cmd.emplace_back(ttl);
      }
      set_cmd.emplace_back("GET");
      Reply exec = im.transaction({set_cmd, {"ZADD", k2, score, ref_id}, {"SADD", k3, entry->ns}});
      ++im.sets_;
      const redisReply* old = exec->element[0];
      if (old->type == REDIS_REPLY_STRING) {
        // An overwrite: leave the old namespace's index if the namespace changed.
        try {
          CacheEntry before = Impl::unpack(ref_id, std::string_view(old->str, old->len));
          if (before.ns != entry->ns) {
            im.checked({"ZREM", im.idx_key(before.ns, gp), ref_id});
          }
        } catch (const CorruptEntry&) {
          // The old value was unreadable; listings drop stale members by themselves.
        }
        if (!im.channel_.empty()) {
          boost::json::array msg{im.origin_, "updated", ref_id, entry->ns};
          im.checked({"PUBLISH", im.channel_, jsonio::to_string(msg)});
        }
        emit({ChangeKind::kUpdated, std::string(ref_id), entry->ns});
      }
      return std::nullopt;
    }
    std::string k4 = im.binding_key(binding->ns, binding->key), k5 = im.refbind_key(ref_id);
    std::optional<std::string> displaced;
    if (!im.cluster_) {
      Reply r = im.eval(set_script(), {k1, k2, k3, k4, k5},
                        {blob, ttl, ref_id, entry->ns, score, im.P_, im.channel_, im.origin_});
      ++im.sets_;
      if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3) {
        if (reply_int(r->element[0]) == 1)
          emit({ChangeKind::kUpdated, std::string(ref_id), entry->ns});
        std::string d = reply_text(r->element[1]);
        if (!d.empty()) {
          ++im.deletes_;
          emit({ChangeKind::kDeleted, d, reply_text(r->element[2])});
          displaced = std::move(d);
        }
      }
      return displaced;
    }
    // Cluster: the binding key has its own slot. 1. the entry, its index and its binding set
    // (naming the binding) in the ref's group; 2. the binding itself, which says which ref it
    // named before; 3. that ref removed if it was still bound to the key. A reader trusts a
    // binding only if the ref's binding set names it (find_by_key), so the steps in between
    // and a failure half-way never show a wrong ref.
    Reply r = im.eval(set_script(), {k1, k2, k3, k5},
                      {blob, ttl, ref_id, entry->ns, score, gp, im.channel_, im.origin_, k4});
    ++im.sets_;
    bool overwrote =
        r->type == REDIS_REPLY_ARRAY && r->elements >= 3 && reply_int(r->element[0]) == 1;
    Reply b = im.eval(bind_script(), {k4}, {ref_id, ttl});
    im.drop_foreign(r.get(), 3);
    if (overwrote) emit({ChangeKind::kUpdated, std::string(ref_id), entry->ns});
    std::string prev = reply_text(b.get());
    if (!prev.empty() && prev != ref_id) {
      std::string pk = im.entry_key(prev);
      Reply d = im.eval(remove_script(), {pk}, {im.pfx(prev), prev, im.channel_, im.origin_, k4});
      if (d->type == REDIS_REPLY_ARRAY && d->elements >= 2 && reply_int(d->element[0]) == 1) {
        ++im.deletes_;
        emit({ChangeKind::kDeleted, prev, reply_text(d->element[1])});
        displaced = prev;
      }
      im.drop_foreign(d.get(), 2);
    }
    return displaced;
  });
}

bool RedisBackend::remove(std::string_view ref_id) {
  auto& im = *impl_;
  return im.run(false, [&]() -> bool {
    std::string k = im.entry_key(ref_id);
    Reply r = im.eval(remove_script(), {k}, {im.pfx(ref_id), ref_id, im.channel_, im.origin_});
    im.drop_foreign(r.get(), 2);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || reply_int(r->element[0]) != 1)
      return false;
    ++im.deletes_;
    emit({ChangeKind::kDeleted, std::string(ref_id), reply_text(r->element[1])});
    return true;
  });
}

bool RedisBackend::exists(std::string_view ref_id) {
  auto& im = *impl_;
  return im.run(true, [&]() -> bool {
    std::string k = im.entry_key(ref_id);
    Reply r = im.checked({"GET", k});
    if (r->type != REDIS_REPLY_STRING) return false;
    CacheEntry e = Impl::unpack(ref_id, std::string_view(r->str, r->len));
    return !e.is_expired(im.clock_());
  });
}

std::size_t RedisBackend::clear(std::optional<std::string_view> ns) {
  auto& im = *impl_;
  return im.run(false, [&]() -> std::size_t {
    std::size_t n = 0;
    auto clear_one = [&](std::string_view one) {
      if (im.cluster_) {
        std::string ns_s(one);
        auto keys_of = [&](const std::string& p) {
          return std::vector<std::string>{im.idx_key(ns_s, p), im.namespaces_key(p)};
        };
        auto replies =
            im.eval_groups(clear_script(), [&](const std::string& p, auto& keys, auto& argv) {
              keys = keys_of(p);
              argv = {p, "1000", ns_s};
            });
        for (std::size_t g = 0; g < replies.size(); ++g) {
          Reply r = std::move(replies[g]);
          const std::string& p = im.group_prefix_[g];
          auto ks = keys_of(p);
          for (int round = 0; round < 1000; ++round) {
            if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) break;
            n += static_cast<std::size_t>(reply_int(r->element[0]));
            im.drop_foreign(r.get(), 2);
            if (reply_int(r->element[1]) == 0) break;
            r = im.eval(clear_script(), {ks[0], ks[1]}, {p, "1000", ns_s});
          }
        }
        return;
      }
      std::string k1 = im.idx_key(one, im.P_), k2 = im.namespaces_key(im.P_);
      // Bounded: each round removes up to 1000 members; a namespace that keeps growing
      // meanwhile is cleared as far as 1000 rounds go.
      for (int round = 0; round < 1000; ++round) {
        Reply r = im.eval(clear_script(), {k1, k2}, {im.P_, "1000", one});
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) break;
        n += static_cast<std::size_t>(reply_int(r->element[0]));
        if (reply_int(r->element[1]) == 0) break;
      }
    };
    if (ns) {
      clear_one(*ns);
    } else {
      for (const auto& one : im.namespaces()) clear_one(one);
      // Entries that carry no index (written by Python servers): one SCAN over the entries.
      // (Python servers have no cluster support: in cluster mode every entry is indexed.)
      std::string cursor = "0";
      std::string match = im.P_ + "entry:*";
      while (!im.cluster_) {
        Reply r = im.checked({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) break;
        cursor = reply_text(r->element[0]);
        const redisReply* batch = r->element[1];
        for (size_t i = 0; i < batch->elements; ++i) {
          std::string key = reply_text(batch->element[i]);
          std::string ref = key.substr(im.P_.size() + 6);
          Reply d = im.eval(remove_script(), {key}, {im.P_, ref, "", im.origin_});
          if (d->type == REDIS_REPLY_ARRAY && d->elements >= 2 && reply_int(d->element[0]) == 1)
            ++n;
        }
        if (cursor == "0") break;
      }
    }
    im.deletes_ += n;
    std::string cleared_ns = ns ? std::string(*ns) : std::string();
    if (!im.channel_.empty()) {
      boost::json::array msg{im.origin_, "cleared", "", cleared_ns};
      im.checked({"PUBLISH", im.channel_, jsonio::to_string(msg)});
    }
    emit({ChangeKind::kCleared, "", cleared_ns});
    return n;
  });
}

ListPage RedisBackend::list(std::optional<std::string_view> ns, std::string_view cursor,
                            std::size_t limit) {
  auto& im = *impl_;
  return im.run(true, [&]() -> ListPage {
    if (limit == 0) limit = 1;
    if (ns) return im.list_ns(*ns, cursor, limit);
    // All namespaces, in namespace order; the cursor is "<namespace>\n<its cursor>", or
    // "<namespace>\n\xff" once that namespace is done.
    std::string cur_ns, cur_ref;
    if (!cursor.empty()) {
      auto nl = cursor.find('\n');
      if (nl == std::string_view::npos) throw InvalidArgument("invalid listing cursor");
      cur_ns = std::string(cursor.substr(0, nl));
      cur_ref = std::string(cursor.substr(nl + 1));
    }
    ListPage out;
    auto all = im.namespaces();
    for (const auto& one : all) {
      if (!cursor.empty() && (one < cur_ns || (one == cur_ns && cur_ref == "\xff"))) continue;
      std::string_view from = (!cursor.empty() && one == cur_ns) ? std::string_view(cur_ref) : "";
      ListPage p = im.list_ns(one, from, limit - out.ref_ids.size());
      out.ref_ids.insert(out.ref_ids.end(), p.ref_ids.begin(), p.ref_ids.end());
      if (!p.next_cursor.empty()) {
        out.next_cursor = one + "\n" + p.next_cursor;
        return out;
      }
      if (out.ref_ids.size() >= limit) {
        // This namespace is done; continue after it next time.
        out.next_cursor = one + "\n\xff";
        return out;
      }
    }
    return out;
  });
}

std::optional<std::string> RedisBackend::find_by_key(std::string_view ns, std::string_view key) {
  auto& im = *impl_;
  return im.run(true, [&]() -> std::optional<std::string> {
    std::string k = im.binding_key(ns, key);
    if (im.cluster_) {
      // The binding, then (in the ref's slot) the ref's binding set and entry: a binding the
      // set does not name is stale (its entry was removed or rebound) and deleted.
      Reply b = im.checked({"GET", k});
      if (b->type != REDIS_REPLY_STRING) return std::nullopt;
      std::string ref = reply_text(b.get());
      std::string rb = im.refbind_key(ref), ek = im.entry_key(ref);
      Reply e = im.eval(find_bound_script(), {rb, ek}, {k});
      if (e->type != REDIS_REPLY_STRING) {
        im.eval(release_script(), {k}, {ref});
        return std::nullopt;
      }
      CacheEntry entry = Impl::unpack(ref, std::string_view(e->str, e->len));
      if (entry.is_expired(im.clock_())) return std::nullopt;
      return ref;
    }
    Reply r = im.eval(find_script(), {k}, {im.P_});
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return std::nullopt;
    std::string ref = reply_text(r->element[0]);
    CacheEntry e = Impl::unpack(ref, reply_text(r->element[1]));
    if (e.is_expired(im.clock_())) return std::nullopt;
    return ref;
  });
}

bool RedisBackend::try_claim(std::string_view name, std::string_view owner,
                             std::chrono::milliseconds ttl) {
  auto& im = *impl_;
  return im.run(false, [&]() -> bool {
    std::string k = im.claim_key(name);
    std::string t = std::to_string(std::max<long long>(1, ttl.count()));
    Reply r = im.eval(claim_script(), {k}, {owner, t});
    return reply_int(r.get()) == 1;
  });
}

void RedisBackend::release_claim(std::string_view name, std::string_view owner) {
  auto& im = *impl_;
  return im.run(false, [&]() {
    std::string k = im.claim_key(name);
    im.eval(release_script(), {k}, {owner});
  });
}

std::optional<std::string> RedisBackend::claim_holder(std::string_view name) {
  auto& im = *impl_;
  return im.run(true, [&]() -> std::optional<std::string> {
    Reply r = im.checked({"GET", im.claim_key(name)});  // PX expiry: only a live claim
    if (r->type != REDIS_REPLY_STRING) return std::nullopt;
    return std::string(r->str, r->len);
  });
}

void RedisBackend::put_task(const TaskRecord& task) {
  auto& im = *impl_;
  return im.run(false, [&]() {
    std::string k = im.task_key(task.ref_id);
    std::string text = jsonio::to_string(to_json(task));
    if (task.expires_at) {
      std::string ttl = im.ttl_ms(*task.expires_at);
      im.checked({"SET", k, text, "PX", ttl});
    } else {
      im.checked({"SET", k, text});
    }
  });
}

std::optional<TaskRecord> RedisBackend::get_task(std::string_view ref_id) {
  auto& im = *impl_;
  return im.run(true, [&]() -> std::optional<TaskRecord> {
    std::string k = im.task_key(ref_id);
    Reply r = im.checked({"GET", k});
    if (r->type != REDIS_REPLY_STRING) return std::nullopt;
    std::error_code ec;
    jsonio::ParseLimits limits;
    limits.max_depth = kMaxStoredJsonDepth;
    auto v = jsonio::parse(std::string_view(r->str, r->len), ec, limits);
    if (ec) throw CorruptEntry("corrupt task record '" + std::string(ref_id) + "': not JSON");
    TaskRecord t;
    try {
      t = task_from_json(v);
    } catch (const std::exception& e) {
      throw CorruptEntry("corrupt task record '" + std::string(ref_id) + "': " + e.what());
    }
    if (t.expires_at && im.clock_() >= *t.expires_at) return std::nullopt;
    return t;
  });
}

bool RedisBackend::remove_task(std::string_view ref_id) {
  auto& im = *impl_;
  return im.run(false, [&]() -> bool {
    std::string k = im.task_key(ref_id);
    return reply_int(im.checked({"DEL", k}).get()) > 0;
  });
}

Health RedisBackend::health() {
  try {
    if (impl_->cluster_) {
      // Cluster: every primary of the slot map answers PING.
      std::size_t n = 0;
      impl_->run(true, [&] {
        impl_->node_for(-1);  // a slot map (refreshed if a failure asked for it)
        std::vector<Impl::NodePtr> primaries;
        {
          std::shared_lock lock(impl_->topo_mu_);
          for (const auto& p : impl_->slot_map_)
            if (p && std::find(primaries.begin(), primaries.end(), p) == primaries.end())
              primaries.push_back(p);
        }
        std::string ping;
        redis_detail::format_command(ping, {"PING"});
        for (const auto& p : primaries) {
          Reply r = std::move(impl_->send_to(*p, ping, 1).front());
          if (r->type == REDIS_REPLY_ERROR) impl_->error_reply(r.get(), "PING " + p->name);
        }
        n = primaries.size();
      });
      return {true, "ok (" + std::to_string(n) + " primaries)"};
    }
    impl_->run(true, [&] { impl_->checked({"PING"}); });
    return {true, "ok"};
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
}

BackendStats RedisBackend::stats() const {
  auto& im = *impl_;
  BackendStats s;
  s.gets = im.gets_;
  s.hits = im.hits_;
  s.misses = im.misses_;
  s.sets = im.sets_;
  s.deletes = im.deletes_;
  s.errors = im.errors_;
  s.reconnects = im.reconnects_;
  s.expirations = im.expirations_;
  s.circuit_state = im.circuit_state();
  return s;
}

void RedisBackend::close() {
  impl_->stop_events();
  impl_->close();
}

std::size_t RedisBackend::sweep_expired() {
  auto& im = *impl_;
  std::vector<ChangeEvent> events;
  im.run(false, [&] {
    std::string now = ms_text(std::floor(im.clock_() * 1000.0));
    std::vector<Reply> replies;
    if (im.cluster_) {
      replies = im.eval_groups(sweep_script(), [&](const std::string& p, auto& keys, auto& argv) {
        keys = {im.namespaces_key(p)};
        argv = {p, now, "1000", im.channel_, im.origin_};
      });
    } else {
      std::string k = im.namespaces_key(im.P_);
      replies.push_back(
          im.eval(sweep_script(), {k}, {im.P_, now, "1000", im.channel_, im.origin_}));
    }
    for (const auto& r : replies)
      for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        events.push_back(
            {ChangeKind::kExpired, reply_text(r->element[i]), reply_text(r->element[i + 1])});
  });
  im.expirations_ += events.size();
  for (const auto& e : events) emit(e);
  return events.size();
}

bool RedisBackend::sharing_events() const {
  return impl_->events_ready_;
}

std::size_t RedisBackend::reindex() {
  auto& im = *impl_;
  return im.run(false, [&]() -> std::size_t {
    std::size_t added = 0;
    // Python servers have no cluster support: in cluster mode every entry is indexed.
    if (im.cluster_) return added;
    std::string cursor = "0";
    std::string match = im.P_ + "entry:*";
    do {
      Reply r = im.checked({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) break;
      cursor = reply_text(r->element[0]);
      const redisReply* batch = r->element[1];
      for (size_t i = 0; i < batch->elements; ++i) {
        std::string key = reply_text(batch->element[i]);
        std::string ref = key.substr(im.P_.size() + 6);
        Reply a = im.eval(index_script(), {key}, {im.P_, ref});
        added += static_cast<std::size_t>(reply_int(a.get()));
      }
    } while (cursor != "0");
    return added;
  });
}

std::string RedisBackend::connected_to() const {
  if (impl_->cluster_) {
    std::vector<std::string> names;
    {
      std::shared_lock lock(impl_->topo_mu_);
      for (const auto& n : impl_->slot_map_)
        if (n && std::find(names.begin(), names.end(), n->name) == names.end())
          names.push_back(n->name);
    }
    std::sort(names.begin(), names.end());
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
    return out;
  }
  std::lock_guard lock(impl_->mu_);
  if (impl_->opts_.sentinels.empty() && impl_->primary_.empty())
    return impl_->opts_.host + ":" + std::to_string(impl_->opts_.port);
  return impl_->primary_;
}

std::uint64_t RedisBackend::commands_sent() const {
  return impl_->commands_;
}

std::uint64_t RedisBackend::cluster_redirections() const {
  return impl_->redirections_;
}

}  // namespace refcache
