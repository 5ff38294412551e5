// A circuit breaker (private to RedisBackend): after `threshold` consecutive failures the
// circuit opens and calls are refused at once, instead of each waiting for a connect or
// reply timeout; after `open_time` one call goes through as a probe (half-open): its
// success closes the circuit, its failure opens it again. Callers report every call that
// was let through: on_failure() for a failure of the connection to the server, on_success()
// for anything else (an answer, an error reply included). A threshold of 0 disables it:
// every call is admitted and the state stays closed.
//
// Thread-safety: every method may be called from any thread; mu_ guards the state.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "thread_annotations.hpp"

namespace refcache::redis_detail {

class CircuitBreaker {
 public:
  enum class State { kClosed = 0, kOpen = 1, kHalfOpen = 2 };

  CircuitBreaker(int threshold, std::chrono::milliseconds open_time)
      : threshold_(threshold), open_time_(open_time) {}

  // nullopt when the call may go (the circuit is closed, or this call is the half-open
  // probe); else why not: "circuit open after N consecutive failures (last: ...); failing
  // fast, next probe in M ms".
  std::optional<std::string> admit() EXCLUDES(mu_);
  void on_success() EXCLUDES(mu_);
  // `what`: the failure, quoted by the refusals that follow.
  void on_failure(const std::string& what) EXCLUDES(mu_);
  State state() const EXCLUDES(mu_);

 private:
  using Clock = std::chrono::steady_clock;
  const int threshold_;
  const std::chrono::milliseconds open_time_;
  mutable refcache_sync::Mutex mu_;
  State state_ GUARDED_BY(mu_) = State::kClosed;
  bool probing_ GUARDED_BY(mu_) = false;  // half-open: the probe is in flight
  int consecutive_failures_ GUARDED_BY(mu_) = 0;
  Clock::time_point probe_at_ GUARDED_BY(mu_){};  // open: when the probe may go
  std::string last_error_ GUARDED_BY(mu_);
};

}  // namespace refcache::redis_detail
