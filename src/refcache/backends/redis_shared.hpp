// What the parts of one RedisBackend share (private): its options, its address for messages
// (the password redacted), the TLS context of its connections, whether it is closed, and
// its counters (BackendStats, and the figures RedisBackend reports for tests).
//
// The backend owns one RedisShared; its pool, cluster router, sentinel, client and events
// thread hold references to it, so it outlives them all.
//
// Thread-safety: the options, the address and the TLS context are fixed once constructed;
// `closed` and the counters are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "refcache/backends/redis_connection.hpp"
#include "refcache/redis_config.hpp"

namespace refcache::redis_detail {

struct RedisCounters {
  std::atomic<std::uint64_t> gets{0}, hits{0}, misses{0}, sets{0}, deletes{0};
  std::atomic<std::uint64_t> errors{0}, reconnects{0}, expirations{0};
  std::atomic<std::uint64_t> commands{0};      // sent by public calls (not background ones)
  std::atomic<std::uint64_t> redirections{0};  // cluster: MOVED/ASK/TRYAGAIN/CLUSTERDOWN
};

struct RedisShared {
  // Throws InvalidArgument when TLS files cannot be loaded. A pool_size of 0 becomes 1.
  explicit RedisShared(RedisOptions o) : opts(std::move(o)), address(opts.redacted_address()) {
    if (opts.tls) tls = std::make_unique<TlsContext>(opts);
    if (opts.pool_size == 0) opts.pool_size = 1;
  }

  // "redis <address>: <what>", the form of every error message of the backend.
  std::string message(std::string_view what) const {
    std::string out = "redis " + address + ": ";
    out.append(what);
    return out;
  }

  RedisOptions opts;
  const std::string address;
  std::unique_ptr<TlsContext> tls;  // null without TLS
  std::atomic<bool> closed{false};  // close() was called: no connection is opened any more
  RedisCounters counters;
};

}  // namespace refcache::redis_detail
