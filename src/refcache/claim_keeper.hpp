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
// The claims are nodes of an intrusive list that live with their calls (on the stack of a
// synchronous call, in the closure of an async run): taking and releasing one costs the
// miss path of a cached call no allocation and no thread switch, only a mutex.
//
// Renewal and release never overlap for one claim: a renewal in flight when the call ends
// would otherwise take the released claim again (re-claiming takes a free claim) and leave it
// standing for a lease. release() leaves that case to the keeper, which releases the claim
// itself once the renewal returns.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "refcache/backend.hpp"
#include "refcache/ref_cache.hpp"

namespace refcache {

// A claim a call may hold. Must stay alive (and in place) from ClaimKeeper::acquire() or keep()
// until release().
struct RefCache::KeptClaim {
  KeptClaim(std::string n, std::string o, std::chrono::milliseconds l)
      : name(std::move(n)), owner(std::move(o)), lease(l) {}
  KeptClaim(const KeptClaim&) = delete;
  KeptClaim& operator=(const KeptClaim&) = delete;
  const std::string name;
  const std::string owner;
  const std::chrono::milliseconds lease;

 private:
  friend class ClaimKeeper;  // the rest is the keeper's, under its mutex
  std::chrono::steady_clock::time_point renew_at{};
  KeptClaim* prev = nullptr;
  KeptClaim* next = nullptr;
  bool linked = false;
};

class RefCache::ClaimKeeper {
 public:
  using Clock = std::chrono::steady_clock;
  using Claim = KeptClaim;

  explicit ClaimKeeper(Backend& backend) : backend_(backend) {}
  ~ClaimKeeper();  // stops renewing; claims still held lapse within their lease
  ClaimKeeper(const ClaimKeeper&) = delete;
  ClaimKeeper& operator=(const ClaimKeeper&) = delete;

  // Takes `c` (Backend::try_claim) and, when taken, renews it until release(). False when
  // someone else holds it. Throws what the backend throws.
  bool acquire(Claim& c);
  // Renews `c`, which its owner already holds, until release().
  void keep(Claim& c);
  // Stops renewing `c` and releases it. Throws what the backend throws (the claim then lapses
  // within its lease).
  void release(Claim& c);

 private:
  // How often a claim with `lease` is renewed: every third of it.
  static std::chrono::milliseconds renewal_period(std::chrono::milliseconds lease) {
    return std::max(lease / 3, std::chrono::milliseconds(1));
  }
  void link(Claim& c);    // REQUIRES: mu_
  void unlink(Claim& c);  // REQUIRES: mu_
  void run();

  Backend& backend_;
  std::mutex mu_;
  std::condition_variable cv_;
  Claim* head_ = nullptr;      // the claims being renewed
  Claim* renewing_ = nullptr;  // the claim whose renewal is in flight (mu_ released)
  // release() came for renewing_ meanwhile: what the keeper releases when the renewal returns.
  std::optional<std::pair<std::string, std::string>> release_after_;
  bool stopping_ = false;
  // The keeper wakes at least this often (a third of the shortest lease seen), so a new claim,
  // due a third of its lease from now, needs no wake-up.
  std::chrono::milliseconds tick_ = std::chrono::milliseconds::max();
  std::thread thread_;  // started with the first claim
};

}  // namespace refcache
