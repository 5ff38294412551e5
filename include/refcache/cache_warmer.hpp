// CacheWarmer: keeps declared calls computed before anyone asks, and refreshes them ahead of
// their expiry, so that callers of those calls always hit.
//
// At start it makes each declared call once, as the identity it names: a hit when a result is
// already stored (by this process or another sharing the backend), else the computation.
// Then, for each call, at `refresh_at` of its result's lifetime (created_at + refresh_at *
// (expires_at - created_at)), it makes the call again asking for a result newer than the one
// it has (CallOverrides::not_before): the call is computed again and its result written under
// the same ref id with a new TTL, so callers and holders of the ref read the new value. A
// result that never expires is not refreshed.
//
// Several processes warming the same calls on one backend do not stampede: a refresh goes
// through the call's claim (CachedCall), so one process computes while the others wait for
// its result and take it, and each schedules its next refresh from the result it got. A call
// that fails (or names a tool not found: RefCache::find_call) is retried after
// `retry_delay`, doubling up to `retry_max`; failures are logged at warn level, never the
// result or the arguments' values.
//
// Thread-safety: the warmer runs one background thread, started by the constructor; status()
// may be called from any thread. The destructor stops the thread, waiting for a call in
// flight to finish (cancelled when it checks CallContext::cancelled()). Destroy the warmer
// before the RefCache and the tools that own its calls.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "refcache/cached_call.hpp"
#include "refcache/ref_cache.hpp"

namespace refcache {

// One call to keep warm.
struct WarmCall {
  std::string tool{};               // the CachedCall's name (the MCP tool's name)
  boost::json::object arguments{};  // as a client would pass them
  CallIdentity identity{};          // whom the call is made as (its namespace, owner...)
};

struct CacheWarmerOptions {
  std::vector<WarmCall> calls{};
  // When in a result's lifetime it is refreshed, as a fraction of its TTL: 0 < refresh_at < 1.
  // 0.8 refreshes a one-hour result after 48 minutes.
  double refresh_at = 0.8;
  // The wait before the first retry of a failed call; it doubles up to retry_max.
  std::chrono::milliseconds retry_delay = std::chrono::seconds(5);
  std::chrono::milliseconds retry_max = std::chrono::minutes(5);
};

// What the warmer knows of one call (status()).
struct WarmCallStatus {
  std::string tool{};
  std::string ref_id{};              // the result last answered; empty before the first success
  std::optional<double> next_run{};  // RefCache::now() time of the next call; none: never again
  int runs = 0;                      // successful calls (hits included)
  int failures = 0;                  // failed calls since the last success
  std::string last_error{};
};

class CacheWarmer {
 public:
  // Throws InvalidArgument for refresh_at outside (0, 1) or a call without a tool name.
  CacheWarmer(RefCache& cache, CacheWarmerOptions options);
  ~CacheWarmer();
  CacheWarmer(const CacheWarmer&) = delete;
  CacheWarmer& operator=(const CacheWarmer&) = delete;

  std::vector<WarmCallStatus> status() const;

 private:
  void run();
  // Makes call `i` (a refresh when it has a result) and schedules its next run.
  void make_call(std::size_t i);

  RefCache& cache_;
  CacheWarmerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<WarmCallStatus> status_;
  std::vector<double> created_at_;                  // of the result last answered, per call
  std::vector<std::chrono::milliseconds> backoff_;  // the next retry's wait, per call
  std::shared_ptr<std::atomic<bool>> cancel_ = std::make_shared<std::atomic<bool>>(false);
  std::thread thread_;  // last: started once the rest is built
};

}  // namespace refcache
