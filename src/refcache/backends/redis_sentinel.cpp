// Redis Sentinel for RedisBackend (see redis_sentinel.hpp).
#include "refcache/backends/redis_sentinel.hpp"

#include <algorithm>
#include <charconv>

namespace refcache::redis_detail {

RedisOptions RedisSentinel::sentinel_options(const RedisOptions::HostPort& sentinel) const {
  RedisOptions so;
  so.host = sentinel.host;
  so.port = sentinel.port;
  so.password = shared_.opts.sentinel_password;
  return so;
}

std::unique_ptr<RedisSocket> RedisSentinel::open_primary(Clock::time_point deadline,
                                                         std::string& err) {
  const RedisOptions& opts = shared_.opts;
  const TlsContext* tls = shared_.tls.get();
  RedisOptions at = opts;
  std::string why;
  bool found = false;
  for (const auto& sentinel : opts.sentinels) {
    RedisOptions so = sentinel_options(sentinel);
    try {
      auto s = RedisSocket::connect(so, tls, deadline);
      std::string e = handshake(*s, so, deadline);
      if (!e.empty()) {
        why += " " + sentinel.host + ":" + std::to_string(sentinel.port) + ": " + e + ";";
        continue;
      }
      Reply r = s->call({"SENTINEL", "get-master-addr-by-name", opts.sentinel_primary}, deadline);
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        why +=
            " " + sentinel.host + ":" + std::to_string(sentinel.port) + ": " +
            (r->type == REDIS_REPLY_ERROR ? reply_text(r.get()) : std::string("unknown primary")) +
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
    } catch (const TransportError& e) {
      why += std::string(" ") + e.what() + ";";
    }
  }
  if (!found)
    throw TransportError("no sentinel gave the address of primary '" + opts.sentinel_primary +
                         "':" + why);
  auto s = RedisSocket::connect(at, tls, deadline);
  err = handshake(*s, at, deadline);
  if (err.empty()) {
    Reply role = s->call({"ROLE"}, deadline);
    std::string r = role->type == REDIS_REPLY_ARRAY && role->elements > 0
                        ? reply_text(role->element[0])
                        : reply_text(role.get());
    if (r != "master")
      err = at.host + ":" + std::to_string(at.port) + " (named by the sentinels as primary '" +
            opts.sentinel_primary + "') is not a primary (role " + r + ")";
  }
  {
    refcache_sync::Lock lock(mu_);
    primary_ = at.host + ":" + std::to_string(at.port);
  }
  return s;
}

std::string RedisSentinel::primary() const {
  refcache_sync::Lock lock(mu_);
  return primary_;
}

void RedisSentinel::start_watch(std::function<void()> on_switch) {
  on_switch_ = std::move(on_switch);
  stop_ = false;
  watcher_ = std::thread([this] { watch(); });
}

void RedisSentinel::stop_watch() {
  stop_ = true;
  if (watcher_.joinable()) watcher_.join();
}

void RedisSentinel::watch() {
  const RedisOptions& opts = shared_.opts;
  std::size_t next = 0;
  std::chrono::milliseconds backoff = opts.reconnect_backoff_min;
  while (!stop_) {
    RedisOptions so = sentinel_options(opts.sentinels[next++ % opts.sentinels.size()]);
    try {
      auto deadline = Clock::now() + opts.connect_timeout;
      auto s = RedisSocket::connect(so, shared_.tls.get(), deadline);
      if (handshake(*s, so, deadline).empty()) {
        Reply r = s->call({"SUBSCRIBE", "+switch-master"}, deadline);
        if (r && r->type == REDIS_REPLY_ARRAY) {
          backoff = opts.reconnect_backoff_min;
          while (!stop_) {
            Reply m = s->next_reply();
            if (!m) {
              s->fill(Clock::now() + std::chrono::milliseconds(100));  // throws when it dies
              continue;
            }
            if (m->type != REDIS_REPLY_ARRAY || m->elements != 3) continue;
            std::string text = reply_text(m->element[2]);  // "<name> <old ip> <old port> ..."
            if (text.substr(0, text.find(' ')) != opts.sentinel_primary) continue;
            on_switch_();
          }
        }
      }
    } catch (const std::exception&) {
      // The sentinel is gone or misbehaves: the next one, after the backoff.
    }
    auto until = Clock::now() + backoff;
    while (!stop_ && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    backoff = std::min(backoff * 2, opts.reconnect_backoff_max);
  }
}

}  // namespace refcache::redis_detail
