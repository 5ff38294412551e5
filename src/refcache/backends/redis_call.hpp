// One public call of RedisBackend (private): its deadline, its retries, the circuit breaker.
//
// run_call() runs a public call under RedisOptions::call_timeout: it sets the calling
// thread's call deadline, and every wait inside the call (a connect, a reply, a backoff) is
// bounded by what is left of it (remaining()). Idempotent calls are retried after a
// BackendUnavailable (a connection failure or timeout, never an error reply) up to
// max_retries times, with exponential backoff (retry_backoff_min * 2^n, capped at
// retry_backoff_max) and jitter (a random wait between half and all of it), never past the
// deadline. Writes are not retried: a lost reply does not say whether the write happened.
// The circuit breaker admits each attempt and hears how it went. A call made inside
// another runs once, under the outer call's deadline; the outer call decides about retries.
//
// Thread-safety: the deadline and the background mark belong to the calling thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <type_traits>

#include "refcache/backends/circuit_breaker.hpp"
#include "refcache/backends/redis_shared.hpp"
#include "refcache/errors.hpp"

namespace refcache::redis_detail {

// The deadline of the public call running on this thread; max() outside a call.
inline thread_local Clock::time_point tl_call_deadline = Clock::time_point::max();
// Set on the events thread by its expiry sweep (redis_events.hpp): from then on the
// commands of that thread are not counted by RedisBackend::commands_sent().
inline thread_local bool tl_background = false;

// What is left of the current call's deadline (call_timeout outside a call).
inline std::chrono::milliseconds remaining(const RedisOptions& o) {
  if (tl_call_deadline == Clock::time_point::max()) return o.call_timeout;
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(tl_call_deadline - Clock::now());
  return std::max(left, std::chrono::milliseconds(0));
}

// Throws BackendUnavailable (counted as an error) when the current call has no time left.
inline void require_time_left(RedisShared& shared) {
  if (remaining(shared.opts).count() > 0) return;
  ++shared.counters.errors;
  throw BackendUnavailable(shared.message("call deadline (call_timeout " +
                                          std::to_string(shared.opts.call_timeout.count()) +
                                          " ms) exceeded"));
}

// Runs `f` as one public call (above) and returns what it returns.
template <class F>
auto run_call(RedisShared& shared, CircuitBreaker& breaker, bool idempotent, F&& f)
    -> decltype(f()) {
  struct DeadlineScope {
    Clock::time_point saved = tl_call_deadline;
    bool outer = tl_call_deadline == Clock::time_point::max();
    ~DeadlineScope() { tl_call_deadline = saved; }
  } scope;
  const RedisOptions& o = shared.opts;
  if (scope.outer) tl_call_deadline = Clock::now() + o.call_timeout;
  if (!scope.outer) return f();  // nested: the outer call decides
  thread_local std::minstd_rand rng{std::random_device{}()};
  for (int attempt = 0;; ++attempt) {
    if (auto refused = breaker.admit()) {
      ++shared.counters.errors;
      throw BackendUnavailable(shared.message(*refused));
    }
    try {
      if constexpr (std::is_void_v<decltype(f())>) {
        f();
        breaker.on_success();
        return;
      } else {
        auto r = f();
        breaker.on_success();
        return r;
      }
    } catch (const BackendUnavailable& e) {
      breaker.on_failure(e.what());
      if (!idempotent || attempt >= o.max_retries) throw;
      auto base = o.retry_backoff_min * (1LL << std::min(attempt, 20));
      base = std::min<std::chrono::milliseconds>(base, o.retry_backoff_max);
      std::uniform_int_distribution<long long> d(base.count() / 2,
                                                 std::max<long long>(base.count(), 1));
      auto wait = std::chrono::milliseconds(d(rng));
      if (Clock::now() + wait >= tl_call_deadline) throw;
      std::this_thread::sleep_for(wait);
    } catch (...) {
      // Anything else (an error reply, a corrupt entry) means the server answered: for the
      // breaker that is a success, and a half-open probe must not stay pending.
      breaker.on_success();
      throw;
    }
  }
}

}  // namespace refcache::redis_detail
