// RefCache::ClaimKeeper: keeps the claims of the cached calls running in this process alive.
// Private to the refcache library.
//
// A claim ("call:<ns>:<key>" -> owner) tells other processes sharing the backend that a call
// is being computed, so that they wait for its result instead of computing it too. It is taken
// with a short lease (CachedCallOptions::claim_lease) and renewed here every third of the lease
// while its call runs. So a claim whose holder died (SIGKILL, a crash) or could not release it
// (the backend was away at that moment) lapses within one lease, instead of making every later
// caller of the same call wait out claim_wait.
//
// Renewal and release never overlap for one claim: a renewal in flight when the call ends
// would otherwise take the released claim again (re-claiming takes a free claim) and leave it
// standing for a lease. release() leaves that case to the keeper, which releases the claim
// itself once the renewal returns.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "refcache/backend.hpp"
#include "refcache/ref_cache.hpp"

namespace refcache {

class RefCache::ClaimKeeper {
 public:
  explicit ClaimKeeper(Backend& backend) : backend_(backend) {}
  ~ClaimKeeper();  // stops renewing; claims still held lapse within their lease
  ClaimKeeper(const ClaimKeeper&) = delete;
  ClaimKeeper& operator=(const ClaimKeeper&) = delete;

  // Takes claim `name` for `owner` with `lease` (Backend::try_claim) and, when taken, renews
  // it until release(). False when someone else holds it. Throws what the backend throws.
  bool acquire(const std::string& name, const std::string& owner, std::chrono::milliseconds lease);
  // Renews a claim `owner` already holds (acquired elsewhere) until release().
  void keep(const std::string& name, const std::string& owner, std::chrono::milliseconds lease);
  // Stops renewing and releases the claim. Throws what the backend throws (the claim then
  // lapses within its lease).
  void release(const std::string& name, const std::string& owner);

  // Claims being renewed now (for tests).
  std::size_t held() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Held {
    std::chrono::milliseconds lease;
    Clock::time_point next;  // when to renew
    bool renewing = false;   // a renewal is in flight on the keeper thread
    bool released = false;   // release() came while renewing: the keeper releases it
  };
  void run();

  Backend& backend_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<std::string, std::string>, Held> held_;  // (name, owner)
  bool stopping_ = false;
  std::thread thread_;  // started with the first claim
};

}  // namespace refcache
