// The connections of RedisBackend to one server (private): up to pool_size MuxConnections
// (redis_connection.hpp), opened on demand. A call takes the calling thread's own slot when
// no other call is using it, else the next unused one, else its own, shared: so up to
// pool_size threads each have a connection to themselves, where a call is one write and one
// read on the caller's thread, and beyond that calls pipeline on shared connections.
//
// A failed connect sets a reconnect backoff (reconnect_backoff_min, doubling per failure up
// to reconnect_backoff_max): until it has passed, calls that need a new connection fail at
// once with BackendUnavailable instead of each trying to connect. A connection the server
// closed while it was idle is noticed before anything is sent on it, and the call goes on
// a new one; any other failure of a connection fails the call (and every call pipelined on
// it) and the next call opens a new one. The single server and each node of a cluster have
// a pool of their own, so that a dead node does not slow the calls that go elsewhere.
//
// The pool owns its connections (a call holds its connection's shared_ptr while it uses
// it); it refers to the backend's RedisShared, which outlives it.
//
// Thread-safety: every method may be called from any thread. A slot's mutex guards its
// connection, opening it included (callers of one slot wait for one connect rather than
// each opening their own); mu_ guards the reconnect backoff and the last failure, and is
// taken inside a slot's mutex, never the other way round.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "refcache/backends/redis_connection.hpp"
#include "refcache/backends/redis_shared.hpp"
#include "thread_annotations.hpp"

namespace refcache::redis_detail {

class RedisPool {
 public:
  // Opens an authenticated socket within `deadline`. Throws TransportError when the server
  // cannot be reached; a refusal (AUTH, SELECT, not a primary) goes to `err`.
  using Opener =
      std::function<std::unique_ptr<RedisSocket>(Clock::time_point deadline, std::string& err)>;

  struct Spec {
    Opener open{};
    // Names the server in messages after "redis <address>: ": empty for the one server of
    // RedisOptions, "node host:port" in a cluster.
    std::string label{};
    // Whether a call refused during the reconnect backoff counts in stats().errors (cluster
    // nodes; the single server counts only the failed connect).
    bool count_refusals = false;
    // Called after a connect or a call failed (the cluster router then reads the slot map
    // again: a replica may have taken over). May be empty.
    std::function<void()> on_failure{};
  };

  RedisPool(RedisShared& shared, Spec spec);
  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Sends `bytes` (`count` formatted commands) on a connection of the pool and returns
  // their replies, waiting at most min(socket_timeout, the rest of the call). The caller
  // has checked that the call has time left (require_time_left). Throws BackendUnavailable
  // when no connection can be had or it fails.
  std::vector<Reply> send(std::string_view bytes, std::size_t count);

  // Opens the calling thread's connection if it has none (connect_on_start). Throws
  // BackendUnavailable.
  void connect_now();

  // True when the last connect failed or a connection failed since (a refresh of the
  // cluster's slot map asks such nodes last).
  bool failing() const EXCLUDES(mu_);

  // Fails every connection with `why` (the calls on them get BackendUnavailable; the next
  // call opens a new one).
  void fail_all(const std::string& why);

  // Closes every connection (RedisShared::closed keeps new ones from being opened).
  void close();

 private:
  struct Slot {
    refcache_sync::Mutex mu;
    std::shared_ptr<MuxConnection> conn GUARDED_BY(mu);
    std::atomic<int> users{0};  // calls on this slot now
  };
  // A slot, held for one call.
  class Lease;

  Slot& pick();
  // The slot's connection, (re)opened on demand.
  std::shared_ptr<MuxConnection> connection(Slot& slot) EXCLUDES(mu_);
  // A new authenticated socket, honouring the reconnect backoff. Throws BackendUnavailable.
  std::unique_ptr<RedisSocket> connect() EXCLUDES(mu_);
  // "<label>: " or "".
  std::string head() const { return label_.empty() ? std::string() : label_ + ": "; }

  RedisShared& shared_;
  const Opener open_;
  const std::string label_;
  const bool count_refusals_;
  const std::function<void()> on_failure_;
  std::vector<Slot> slots_;  // pool_size of them, fixed

  mutable refcache_sync::Mutex mu_;
  std::chrono::milliseconds backoff_ GUARDED_BY(mu_){0};  // 0: connects may go
  Clock::time_point next_connect_ GUARDED_BY(mu_){};
  std::string last_error_ GUARDED_BY(mu_);
  bool had_failure_ GUARDED_BY(mu_) = false;  // a connection failed since the last connect
};

}  // namespace refcache::redis_detail
