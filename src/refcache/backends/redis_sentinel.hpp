// Redis Sentinel for RedisBackend (private): which server is the primary, and a thread that
// notices when it moves.
//
// open_primary() asks the sentinels in turn for the address of the primary named
// RedisOptions::sentinel_primary (SENTINEL get-master-addr-by-name), connects to it,
// authenticates, and checks with ROLE that it is a primary; every new connection of the
// backend goes through it. The watch thread stays subscribed to "+switch-master" on one
// sentinel (the next one when that fails, after the reconnect backoff): when our primary
// moves it calls on_switch, which drops the backend's connections, so that the next call
// asks the sentinels again instead of writing to the old primary until it is demoted.
//
// The object owns the watch thread; on_switch runs on it, so what it touches must outlive
// stop_watch().
//
// Thread-safety: open_primary() and primary() may be called from any thread; mu_ guards the
// address named last. start_watch() and stop_watch() belong to the backend's owner thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "refcache/backends/redis_connection.hpp"
#include "refcache/backends/redis_shared.hpp"
#include "thread_annotations.hpp"

namespace refcache::redis_detail {

class RedisSentinel {
 public:
  explicit RedisSentinel(RedisShared& shared) : shared_(shared) {}
  ~RedisSentinel() { stop_watch(); }
  RedisSentinel(const RedisSentinel&) = delete;
  RedisSentinel& operator=(const RedisSentinel&) = delete;

  // An authenticated socket to the primary the sentinels name. Throws TransportError naming
  // every sentinel asked and why it failed when none names one; a refusal by the primary
  // (AUTH, SELECT, not a primary) goes to `err`.
  std::unique_ptr<RedisSocket> open_primary(Clock::time_point deadline, std::string& err)
      EXCLUDES(mu_);

  // "host:port" of the primary the sentinels named last, or "" before the first connect.
  std::string primary() const EXCLUDES(mu_);

  // Starts the watch thread; `on_switch` runs on it each time our primary moves.
  void start_watch(std::function<void()> on_switch);
  // Asks the watch thread to stop, without waiting for it.
  void request_stop() { stop_ = true; }
  // Stops the watch thread and waits for it. Idempotent.
  void stop_watch();

 private:
  // A sentinel's connection options (its address and the sentinel password).
  RedisOptions sentinel_options(const RedisOptions::HostPort& sentinel) const;
  void watch();

  RedisShared& shared_;
  std::function<void()> on_switch_;
  std::thread watcher_;
  std::atomic<bool> stop_{false};

  mutable refcache_sync::Mutex mu_;
  std::string primary_ GUARDED_BY(mu_);
};

}  // namespace refcache::redis_detail
