// RedisBackend (see include/refcache/redis_backend.hpp).
#include "refcache/redis_backend.hpp"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <poll.h>

#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <boost/json/array.hpp>

#include "jsonio/json_text.hpp"
#include "refcache/entry_codec.hpp"
#include "refcache/errors.hpp"

namespace refcache {

namespace {

using Clock = std::chrono::steady_clock;

struct ReplyFree {
  void operator()(redisReply* r) const {
    if (r) freeReplyObject(r);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

struct Script {
  std::string body;
  std::string sha;
  explicit Script(std::string b) : body(std::move(b)) {
    unsigned char md[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(body.data()), body.size(), md);
    char hex[2 * SHA_DIGEST_LENGTH + 1];
    for (int i = 0; i < SHA_DIGEST_LENGTH; ++i) std::snprintf(hex + 2 * i, 3, "%02x", md[i]);
    sha.assign(hex, 2 * SHA_DIGEST_LENGTH);
  }
};

// Shared Lua helpers, prepended to the scripts that need them.
const char* const kLuaHelpers = R"lua(
local function drop_bindings(P, ref)
  local rb = P .. 'refbind:' .. ref
  for _, b in ipairs(redis.call('SMEMBERS', rb)) do
    if redis.call('GET', b) == ref then redis.call('DEL', b) end
  end
  redis.call('DEL', rb)
end
local function publish(ch, origin, kind, ref, ns)
  if ch ~= '' then redis.call('PUBLISH', ch, cjson.encode({origin, kind, ref, ns})) end
end
local function ns_of(blob)
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
    redis.call('ZREM', P .. 'ns:' .. ns, ref)
    redis.call('ZREM', P .. 'nsexp:' .. ns, ref)
    return ns
  end
  return ''
end
)lua";

// KEYS: entry, ns zset, nsexp zset, namespaces set, [binding, refbind]
// ARGV: blob, ttl_ms or '', ref, ns, expiry score (ms), prefix, events channel or '', origin
// Returns {overwrote (0/1), displaced ref or '', displaced ns or ''}.
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
-- An overwrite in the same namespace leaves the index as it is; otherwise the old blob says
-- which namespace index to leave.
if old then
  overwrote = 1
  if not redis.call('ZSCORE', KEYS[2], ref) then
    local oldns = ns_of(old)
    if oldns and oldns ~= ns then
      redis.call('ZREM', P .. 'ns:' .. oldns, ref)
      redis.call('ZREM', P .. 'nsexp:' .. oldns, ref)
    end
    redis.call('ZADD', KEYS[2], 0, ref)
    redis.call('SADD', KEYS[4], ns)
  end
else
  redis.call('ZADD', KEYS[2], 0, ref)
  redis.call('SADD', KEYS[4], ns)
end
if ttl ~= '' then redis.call('ZADD', KEYS[3], ARGV[5], ref) else redis.call('ZREM', KEYS[3], ref) end
local displaced, dns = '', ''
if #KEYS >= 6 then
  local prev = redis.call('GET', KEYS[5])
  for _, b in ipairs(redis.call('SMEMBERS', KEYS[6])) do
    if b ~= KEYS[5] and redis.call('GET', b) == ref then redis.call('DEL', b) end
  end
  redis.call('DEL', KEYS[6])
  if ttl ~= '' then
    redis.call('SET', KEYS[5], ref, 'PX', ttl)
    redis.call('SADD', KEYS[6], KEYS[5])
    redis.call('PEXPIRE', KEYS[6], ttl)
  else
    redis.call('SET', KEYS[5], ref)
    redis.call('SADD', KEYS[6], KEYS[5])
  end
  if prev and prev ~= ref then
    local r = remove_entry(P, prev)
    if r then displaced, dns = prev, r end
  end
end
if overwrote == 1 then publish(ARGV[7], ARGV[8], 'updated', ref, ns) end
if displaced ~= '' then publish(ARGV[7], ARGV[8], 'deleted', displaced, dns) end
return {overwrote, displaced, dns}
)lua");
  return s;
}

// ARGV: prefix, ref, events channel or '', origin.
// Returns {1, ns} when an entry was removed, else {0, ''}.
const Script& remove_script() {
  static const Script s(std::string(kLuaHelpers) + R"lua(
local r = remove_entry(ARGV[1], ARGV[2])
if r then
  publish(ARGV[3], ARGV[4], 'deleted', ARGV[2], r)
  return {1, r}
end
return {0, ''}
)lua");
  return s;
}

// KEYS: ns zset, nsexp zset, namespaces set. ARGV: now_ms, cursor, limit, prefix, ns.
// Returns {ids..., next_cursor} (next_cursor '' at the end).
const Script& list_script() {
  static const Script s(R"lua(
local P, limit = ARGV[4], tonumber(ARGV[3])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)
for _, m in ipairs(expired) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZREM', KEYS[2], m)
end
local out = {}
local start = '-'
if ARGV[2] ~= '' then start = '(' .. ARGV[2] end
local more = false
while true do
  local want = limit - #out + 1
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], start, '+', 'LIMIT', 0, want)
  for _, m in ipairs(batch) do
    if #out == limit then more = true break end
    if redis.call('EXISTS', P .. 'entry:' .. m) == 1 then
      out[#out + 1] = m
    else
      redis.call('ZREM', KEYS[1], m)
      redis.call('ZREM', KEYS[2], m)
    end
  end
  if more or #batch < want then break end
  start = '(' .. batch[#batch]
end
if redis.call('ZCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  redis.call('SREM', KEYS[3], ARGV[5])
end
if more then out[#out + 1] = out[#out] else out[#out + 1] = '' end
return out
)lua");
  return s;
}

// KEYS: ns zset, nsexp zset, namespaces set. ARGV: prefix, batch, ns.
// Returns {removed, left}.
const Script& clear_script() {
  static const Script s(std::string(kLuaHelpers) + R"lua(
local P = ARGV[1]
local members = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local n = 0
for _, m in ipairs(members) do
  if redis.call('DEL', P .. 'entry:' .. m) == 1 then n = n + 1 end
  drop_bindings(P, m)
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZREM', KEYS[2], m)
end
local left = redis.call('ZCARD', KEYS[1])
if left == 0 then
  redis.call('DEL', KEYS[2])
  redis.call('SREM', KEYS[3], ARGV[3])
end
return {n, left}
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
if redis.call('ZSCORE', P .. 'ns:' .. ns, ref) then return 0 end
-- The expiry is the blob's expires_at (a Python writer's TTL may outlive it), else the TTL.
local score = nil
if type(d['expires_at']) == 'number' then
  score = math.ceil(d['expires_at'] * 1000)
else
  local pttl = redis.call('PTTL', KEYS[1])
  if pttl > 0 then
    local t = redis.call('TIME')
    score = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + pttl
  end
end
redis.call('ZADD', P .. 'ns:' .. ns, 0, ref)
if score then redis.call('ZADD', P .. 'nsexp:' .. ns, score, ref) end
redis.call('SADD', P .. 'namespaces', ns)
return 1
)lua");
  return s;
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
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
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

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

class RedisBackend::Impl {
 public:
  explicit Impl(RedisOptions o) : opts_(std::move(o)) {
    address_ = opts_.redacted_address();
    clock_ = opts_.clock ? opts_.clock : &unix_now;
    if (opts_.tls)
      throw InvalidArgument("redis " + address_ +
                            ": TLS (rediss://) is not supported yet; use redis:// through a TLS "
                            "tunnel such as stunnel");
    if (opts_.pool_size == 0) opts_.pool_size = 1;
    P_ = opts_.key_prefix;
    origin_ = random_origin();
    if (opts_.share_events) channel_ = P_ + "events";
    ignore_sigpipe_once();
  }

  ~Impl() { close(); }

  static std::string random_origin() {
    std::random_device rd;
    char buf[24];
    std::snprintf(buf, sizeof buf, "%08x%08x", static_cast<unsigned>(rd()),
                  static_cast<unsigned>(rd()));
    return buf;
  }

  // --- events from other processes ------------------------------------------------------
  // A dedicated connection SUBSCRIBEd to channel_, read with poll() so that stopping is
  // prompt; reconnects with the same backoff as the pool.
  void start_events(RedisBackend* owner) {
    if (channel_.empty()) return;
    owner_ = owner;
    events_thread_ = std::thread([this] { events_loop(); });
  }

  void stop_events() {
    stop_events_ = true;
    if (events_thread_.joinable()) events_thread_.join();
  }

  void events_loop() {
    std::chrono::milliseconds backoff = opts_.reconnect_backoff_min;
    while (!stop_events_) {
      redisContext* c = redisConnectWithTimeout(opts_.host.c_str(), opts_.port,
                                                to_timeval(opts_.connect_timeout));
      bool ok = c && !c->err;
      if (ok) {
        redisSetTimeout(c, to_timeval(opts_.connect_timeout));
        ok = handshake(c).empty();
      }
      if (ok) {
        const char* argv[2] = {"SUBSCRIBE", channel_.c_str()};
        size_t lens[2] = {9, channel_.size()};
        Reply r(static_cast<redisReply*>(redisCommandArgv(c, 2, argv, lens)));
        ok = r && r->type == REDIS_REPLY_ARRAY;
      }
      if (ok) {
        events_ready_ = true;
        backoff = opts_.reconnect_backoff_min;
        read_events(c);
        events_ready_ = false;
      }
      if (c) redisFree(c);
      // Wait (in small steps, to stop promptly) before reconnecting.
      auto until = Clock::now() + backoff;
      while (!stop_events_ && Clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      backoff = std::min(backoff * 2, opts_.reconnect_backoff_max);
    }
  }

  // Reads messages until the connection fails or stop is requested.
  void read_events(redisContext* c) {
    while (!stop_events_) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(c, &raw) != REDIS_OK) return;
      if (raw == nullptr) {
        pollfd p{c->fd, POLLIN, 0};
        int n = ::poll(&p, 1, 100);
        if (n < 0 && errno != EINTR) return;
        if (n > 0 && redisBufferRead(c) != REDIS_OK) return;
        continue;
      }
      Reply r(static_cast<redisReply*>(raw));
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
  redisContext* connect() {
    {
      std::lock_guard lock(mu_);
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
    redisContext* c =
        redisConnectWithTimeout(opts_.host.c_str(), opts_.port, to_timeval(opts_.connect_timeout));
    if (c == nullptr) {
      err = "cannot allocate a connection";
    } else if (c->err) {
      err = std::string("cannot connect to ") + opts_.host + ":" + std::to_string(opts_.port) +
            ": " + c->errstr;
    } else {
      redisSetTimeout(c, to_timeval(opts_.connect_timeout));
      redisEnableKeepAlive(c);
      err = handshake(c);
      if (err.empty()) redisSetTimeout(c, to_timeval(opts_.socket_timeout));
    }
    if (!err.empty()) {
      if (c) redisFree(c);
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
    return c;
  }

  // AUTH and SELECT; returns an error text or "".
  std::string handshake(redisContext* c) {
    auto run = [&](std::vector<std::string> args) -> std::string {
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      for (auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
      }
      Reply r(static_cast<redisReply*>(
          redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
      if (!r) return std::string("I/O error during handshake: ") + c->errstr;
      if (r->type == REDIS_REPLY_ERROR) return reply_text(r.get());
      return {};
    };
    if (!opts_.password.empty()) {
      std::string e = opts_.user.empty() ? run({"AUTH", opts_.password})
                                         : run({"AUTH", opts_.user, opts_.password});
      if (!e.empty()) return "authentication failed: " + e;
    }
    if (opts_.db != 0) {
      std::string e = run({"SELECT", std::to_string(opts_.db)});
      if (!e.empty()) return "cannot select database " + std::to_string(opts_.db) + ": " + e;
    }
    std::string e = run({"PING"});
    if (!e.empty()) {
      if (e.rfind("NOAUTH", 0) == 0) return "authentication required: " + e;
      return "PING failed: " + e;
    }
    return {};
  }

  struct Lease {
    Impl* impl = nullptr;
    redisContext* ctx = nullptr;
    bool reused = false;
    bool broken = false;
    Lease() = default;
    Lease(Impl* i, redisContext* c, bool r) : impl(i), ctx(c), reused(r) {}
    Lease(Lease&& o) noexcept : impl(o.impl), ctx(o.ctx), reused(o.reused), broken(o.broken) {
      o.ctx = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (ctx) impl->release(ctx, broken);
    }
  };

  Lease acquire() {
    std::unique_lock lock(mu_);
    auto deadline = Clock::now() + opts_.pool_wait_timeout;
    for (;;) {
      if (closed_) throw BackendUnavailable("redis " + address_ + ": backend is closed");
      if (!idle_.empty()) {
        redisContext* c = idle_.back();
        idle_.pop_back();
        return Lease(this, c, true);
      }
      if (open_ < opts_.pool_size) {
        ++open_;
        lock.unlock();
        try {
          return Lease(this, connect(), false);
        } catch (...) {
          lock.lock();
          --open_;
          cv_.notify_one();
          throw;
        }
      }
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
          open_ >= opts_.pool_size) {
        ++errors_;
        throw BackendUnavailable("redis " + address_ + ": no free connection within " +
                                 std::to_string(opts_.pool_wait_timeout.count()) +
                                 " ms (pool_size " + std::to_string(opts_.pool_size) + ")");
      }
    }
  }

  void release(redisContext* c, bool broken) {
    std::lock_guard lock(mu_);
    if (broken || c->err || closed_) {
      redisFree(c);
      --open_;
      if (broken) {
        // The server probably went away: the idle connections are as dead as this one.
        for (auto* i : idle_) redisFree(i);
        open_ -= idle_.size();
        idle_.clear();
        had_failure_ = true;
      }
    } else {
      idle_.push_back(c);
    }
    cv_.notify_one();
  }

  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (auto* i : idle_) redisFree(i);
    open_ -= idle_.size();
    idle_.clear();
    cv_.notify_all();
  }

  // --- commands -------------------------------------------------------------------------
  // Sends one command and returns its reply. Error replies are returned, not thrown.
  // I/O failures throw BackendUnavailable; a failure on a reused connection that is not a
  // timeout is retried once on a fresh connection (the server may have restarted).
  Reply command(const std::vector<std::string_view>& args) {
    return std::move(pipeline({args}).front());
  }

  // Sends several commands in one write and returns their replies, in order.
  std::vector<Reply> pipeline(const std::vector<std::vector<std::string_view>>& cmds) {
    std::vector<std::vector<const char*>> argvs(cmds.size());
    std::vector<std::vector<size_t>> lens(cmds.size());
    for (size_t i = 0; i < cmds.size(); ++i) {
      for (auto a : cmds[i]) {
        argvs[i].push_back(a.data());
        lens[i].push_back(a.size());
      }
    }
    for (int attempt = 0;; ++attempt) {
      Lease lease = acquire();
      commands_ += cmds.size();
      std::vector<Reply> replies;
      bool failed = false;
      for (size_t i = 0; i < cmds.size() && !failed; ++i)
        failed = redisAppendCommandArgv(lease.ctx, static_cast<int>(argvs[i].size()),
                                        argvs[i].data(), lens[i].data()) != REDIS_OK;
      for (size_t i = 0; i < cmds.size() && !failed; ++i) {
        void* raw = nullptr;
        failed = redisGetReply(lease.ctx, &raw) != REDIS_OK || raw == nullptr;
        if (!failed) replies.emplace_back(static_cast<redisReply*>(raw));
      }
      if (!failed) return replies;
      lease.broken = true;
      bool timeout = lease.ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
      std::string what =
          timeout ? "no reply within " + std::to_string(opts_.socket_timeout.count()) + " ms"
                  : std::string(lease.ctx->errstr);
      if (attempt == 0 && lease.reused && !timeout) continue;
      ++errors_;
      {
        std::lock_guard lock(mu_);
        last_error_ = what;
      }
      throw BackendUnavailable("redis " + address_ + ": " + what);
    }
  }

  [[noreturn]] void error_reply(const redisReply* r, std::string_view what) {
    ++errors_;
    throw BackendError("redis " + address_ + ": " + std::string(what) + ": " + reply_text(r));
  }

  // Every reply of a MULTI ... EXEC pipeline checked; returns EXEC's array reply.
  Reply transaction(const std::vector<std::vector<std::string_view>>& cmds) {
    std::vector<std::vector<std::string_view>> all;
    all.reserve(cmds.size() + 2);
    all.push_back({"MULTI"});
    all.insert(all.end(), cmds.begin(), cmds.end());
    all.push_back({"EXEC"});
    auto replies = pipeline(all);
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
    args.push_back("EVALSHA");
    args.push_back(s.sha);
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

  // --- keys -----------------------------------------------------------------------------
  std::string entry_key(std::string_view ref) const { return P_ + "entry:" + std::string(ref); }
  std::string ns_key(std::string_view ns) const { return P_ + "ns:" + std::string(ns); }
  std::string nsexp_key(std::string_view ns) const { return P_ + "nsexp:" + std::string(ns); }
  std::string namespaces_key() const { return P_ + "namespaces"; }
  std::string binding_key(std::string_view ns, std::string_view key) const {
    return P_ + "bind:" + std::to_string(ns.size()) + ":" + std::string(ns) + ":" +
           std::string(key);
  }
  std::string refbind_key(std::string_view ref) const { return P_ + "refbind:" + std::string(ref); }
  std::string claim_key(std::string_view name) const { return P_ + "claim:" + std::string(name); }
  std::string task_key(std::string_view ref) const { return P_ + "task:" + std::string(ref); }

  // Milliseconds until `expires_at` (at least 1, so that an already expired entry is
  // stored for a moment and invisible meanwhile).
  std::string ttl_ms(double expires_at) const {
    double ms = std::ceil((expires_at - clock_()) * 1000.0);
    if (ms < 1) ms = 1;
    return ms_text(ms);
  }

  ListPage list_ns(std::string_view ns, std::string_view cursor, std::size_t limit) {
    std::string k1 = ns_key(ns), k2 = nsexp_key(ns), k3 = namespaces_key();
    std::string now = ms_text(std::floor(clock_() * 1000.0));
    std::string lim = std::to_string(limit);
    Reply r = eval(list_script(), {k1, k2, k3}, {now, cursor, lim, P_, ns});
    ListPage page;
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return page;
    for (size_t i = 0; i + 1 < r->elements; ++i) page.ref_ids.push_back(reply_text(r->element[i]));
    page.next_cursor = reply_text(r->element[r->elements - 1]);
    return page;
  }

  std::vector<std::string> namespaces() {
    Reply r = checked({"SMEMBERS", namespaces_key()});
    std::vector<std::string> out;
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i)
      out.push_back(reply_text(r->element[i]));
    std::sort(out.begin(), out.end());
    return out;
  }

  RedisOptions opts_;
  std::string address_;
  std::string origin_;   // identifies this object's own published events
  std::string channel_;  // "" when events are not shared
  RedisBackend* owner_ = nullptr;
  std::thread events_thread_;
  std::atomic<bool> stop_events_{false};
  std::atomic<bool> events_ready_{false};
  std::string P_;
  ClockFn clock_ = nullptr;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<redisContext*> idle_;
  std::size_t open_ = 0;
  bool closed_ = false;
  std::chrono::milliseconds backoff_{0};
  Clock::time_point next_connect_{};
  std::string last_error_;
  bool had_failure_ = false;

  std::atomic<std::uint64_t> commands_{0};
  std::atomic<std::uint64_t> gets_{0}, hits_{0}, misses_{0}, sets_{0}, deletes_{0};
  std::atomic<std::uint64_t> errors_{0}, reconnects_{0};
};

RedisBackend::RedisBackend(RedisOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  if (impl_->opts_.connect_on_start) {
    auto lease = impl_->acquire();  // connects, authenticates, returns to the pool
    (void)lease;
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
  ++im.gets_;
  std::string k = im.entry_key(ref_id);
  Reply r = im.checked({"GET", k});
  if (r->type != REDIS_REPLY_STRING) {
    ++im.misses_;
    return nullptr;
  }
  CacheEntry e;
  try {
    e = decode_entry_blob(ref_id, std::string_view(r->str, r->len));
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
}

std::optional<std::string> RedisBackend::set(std::string_view ref_id, EntryPtr entry,
                                             const KeyBinding* binding) {
  if (!entry) throw InvalidArgument("RedisBackend::set: null entry");
  auto& im = *impl_;
  std::string blob = encode_entry_blob(*entry);
  std::string ttl = entry->expires_at ? im.ttl_ms(*entry->expires_at) : std::string();
  std::string score = entry->expires_at ? ms_text(std::ceil(*entry->expires_at * 1000.0)) : "0";
  std::string k1 = im.entry_key(ref_id), k2 = im.ns_key(entry->ns), k3 = im.nsexp_key(entry->ns),
              k4 = im.namespaces_key();
  if (!binding) {
    // Entry and index in one MULTI/EXEC (cheaper for Redis than a script).
    std::vector<std::string_view> set_cmd{"SET", k1, blob};
    if (!ttl.empty()) {
      set_cmd.push_back("PX");
      set_cmd.push_back(ttl);
    }
    set_cmd.push_back("GET");
    std::vector<std::string_view> exp_cmd =
        ttl.empty() ? std::vector<std::string_view>{"ZREM", k3, ref_id}
                    : std::vector<std::string_view>{"ZADD", k3, score, ref_id};
    Reply exec =
        im.transaction({set_cmd, {"ZADD", k2, "0", ref_id}, {"SADD", k4, entry->ns}, exp_cmd});
    ++im.sets_;
    const redisReply* old = exec->element[0];
    if (old->type == REDIS_REPLY_STRING) {
      // An overwrite: leave the old namespace's index if the namespace changed.
      try {
        CacheEntry before = decode_entry_blob(ref_id, std::string_view(old->str, old->len));
        if (before.ns != entry->ns) {
          std::string o2 = im.ns_key(before.ns), o3 = im.nsexp_key(before.ns);
          im.transaction({{"ZREM", o2, ref_id}, {"ZREM", o3, ref_id}});
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
  std::vector<std::string_view> keys{k1, k2, k3, k4};
  std::string k5, k6;
  if (binding) {
    k5 = im.binding_key(binding->ns, binding->key);
    k6 = im.refbind_key(ref_id);
    keys.push_back(k5);
    keys.push_back(k6);
  }
  Reply r = im.eval(set_script(), keys,
                    {blob, ttl, ref_id, entry->ns, score, im.P_, im.channel_, im.origin_});
  ++im.sets_;
  std::optional<std::string> displaced;
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
    if (reply_int(r->element[0]) == 1) emit({ChangeKind::kUpdated, std::string(ref_id), entry->ns});
    std::string d = reply_text(r->element[1]);
    if (!d.empty()) {
      ++im.deletes_;
      emit({ChangeKind::kDeleted, d, reply_text(r->element[2])});
      displaced = std::move(d);
    }
  }
  return displaced;
}

bool RedisBackend::remove(std::string_view ref_id) {
  auto& im = *impl_;
  Reply r = im.eval(remove_script(), {}, {im.P_, ref_id, im.channel_, im.origin_});
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || reply_int(r->element[0]) != 1)
    return false;
  ++im.deletes_;
  emit({ChangeKind::kDeleted, std::string(ref_id), reply_text(r->element[1])});
  return true;
}

bool RedisBackend::exists(std::string_view ref_id) {
  auto& im = *impl_;
  std::string k = im.entry_key(ref_id);
  Reply r = im.checked({"GET", k});
  if (r->type != REDIS_REPLY_STRING) return false;
  CacheEntry e = decode_entry_blob(ref_id, std::string_view(r->str, r->len));
  return !e.is_expired(im.clock_());
}

std::size_t RedisBackend::clear(std::optional<std::string_view> ns) {
  auto& im = *impl_;
  std::size_t n = 0;
  auto clear_one = [&](std::string_view one) {
    std::string k1 = im.ns_key(one), k2 = im.nsexp_key(one), k3 = im.namespaces_key();
    // Bounded: each round removes up to 1000 members; a namespace that keeps growing
    // meanwhile is cleared as far as 1000 rounds go.
    for (int round = 0; round < 1000; ++round) {
      Reply r = im.eval(clear_script(), {k1, k2, k3}, {im.P_, "1000", one});
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) break;
      n += static_cast<std::size_t>(reply_int(r->element[0]));
      if (reply_int(r->element[1]) == 0) break;
    }
  };
  if (ns) {
    clear_one(*ns);
  } else {
    for (const auto& one : im.namespaces()) clear_one(one);
    // Entries that carry no index (written by Python servers): one SCAN over the entries.
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
        Reply d = im.eval(remove_script(), {}, {im.P_, ref, "", im.origin_});
        if (d->type == REDIS_REPLY_ARRAY && d->elements == 2 && reply_int(d->element[0]) == 1) ++n;
      }
    } while (cursor != "0");
  }
  im.deletes_ += n;
  std::string cleared_ns = ns ? std::string(*ns) : std::string();
  if (!im.channel_.empty()) {
    boost::json::array msg{im.origin_, "cleared", "", cleared_ns};
    im.checked({"PUBLISH", im.channel_, jsonio::to_string(msg)});
  }
  emit({ChangeKind::kCleared, "", cleared_ns});
  return n;
}

ListPage RedisBackend::list(std::optional<std::string_view> ns, std::string_view cursor,
                            std::size_t limit) {
  auto& im = *impl_;
  if (limit == 0) limit = 1;
  if (ns) return im.list_ns(*ns, cursor, limit);
  // All namespaces, in namespace order; the cursor is "<namespace>\n<last ref id>".
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
    if (!cursor.empty() && one < cur_ns) continue;
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
}

std::optional<std::string> RedisBackend::find_by_key(std::string_view ns, std::string_view key) {
  auto& im = *impl_;
  std::string k = im.binding_key(ns, key);
  Reply r = im.eval(find_script(), {k}, {im.P_});
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return std::nullopt;
  std::string ref = reply_text(r->element[0]);
  CacheEntry e = decode_entry_blob(ref, reply_text(r->element[1]));
  if (e.is_expired(im.clock_())) return std::nullopt;
  return ref;
}

bool RedisBackend::try_claim(std::string_view name, std::string_view owner,
                             std::chrono::milliseconds ttl) {
  auto& im = *impl_;
  std::string k = im.claim_key(name);
  std::string t = std::to_string(std::max<long long>(1, ttl.count()));
  Reply r = im.eval(claim_script(), {k}, {owner, t});
  return reply_int(r.get()) == 1;
}

void RedisBackend::release_claim(std::string_view name, std::string_view owner) {
  auto& im = *impl_;
  std::string k = im.claim_key(name);
  im.eval(release_script(), {k}, {owner});
}

void RedisBackend::put_task(const TaskRecord& task) {
  auto& im = *impl_;
  std::string k = im.task_key(task.ref_id);
  std::string text = jsonio::to_string(to_json(task));
  if (task.expires_at) {
    std::string ttl = im.ttl_ms(*task.expires_at);
    im.checked({"SET", k, text, "PX", ttl});
  } else {
    im.checked({"SET", k, text});
  }
}

std::optional<TaskRecord> RedisBackend::get_task(std::string_view ref_id) {
  auto& im = *impl_;
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
}

bool RedisBackend::remove_task(std::string_view ref_id) {
  auto& im = *impl_;
  std::string k = im.task_key(ref_id);
  return reply_int(im.checked({"DEL", k}).get()) > 0;
}

Health RedisBackend::health() {
  try {
    Reply r = impl_->checked({"PING"});
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
  return s;
}

void RedisBackend::close() {
  impl_->stop_events();
  impl_->close();
}

bool RedisBackend::sharing_events() const {
  return impl_->events_ready_;
}

std::size_t RedisBackend::reindex() {
  auto& im = *impl_;
  std::size_t added = 0;
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
}

std::uint64_t RedisBackend::commands_sent() const {
  return impl_->commands_;
}

}  // namespace refcache
