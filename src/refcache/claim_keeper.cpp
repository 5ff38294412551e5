#include "refcache/claim_keeper.hpp"

#include <algorithm>

namespace refcache {

RefCache::ClaimKeeper::~ClaimKeeper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RefCache::ClaimKeeper::acquire(const std::string& name, const std::string& owner,
                                    std::chrono::milliseconds lease) {
  if (!backend_.try_claim(name, owner, lease)) return false;
  keep(name, owner, lease);
  return true;
}

void RefCache::ClaimKeeper::keep(const std::string& name, const std::string& owner,
                                 std::chrono::milliseconds lease) {
  lease = std::max(lease, std::chrono::milliseconds(3));
  {
    std::lock_guard lock(mu_);
    Held& h = held_[{name, owner}];
    h.lease = lease;
    h.next = Clock::now() + lease / 3;
    h.released = false;
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  cv_.notify_all();
}

void RefCache::ClaimKeeper::release(const std::string& name, const std::string& owner) {
  {
    std::lock_guard lock(mu_);
    auto it = held_.find({name, owner});
    if (it != held_.end()) {
      if (it->second.renewing) {
        it->second.released = true;  // the keeper releases it when the renewal returns
        return;
      }
      held_.erase(it);
    }
  }
  backend_.release_claim(name, owner);
}

std::size_t RefCache::ClaimKeeper::held() const {
  std::lock_guard lock(mu_);
  return held_.size();
}

void RefCache::ClaimKeeper::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // The claim due first (one renewal at a time: there are as many claims as calls running).
    auto due = held_.end();
    for (auto it = held_.begin(); it != held_.end(); ++it)
      if (!it->second.renewing && (due == held_.end() || it->second.next < due->second.next))
        due = it;
    if (due == held_.end()) {
      cv_.wait(lock);
      continue;
    }
    if (Clock::now() < due->second.next) {
      cv_.wait_until(lock, due->second.next);
      continue;  // look again: a claim may have come or gone meanwhile
    }
    const auto key = due->first;
    const auto lease = due->second.lease;
    due->second.renewing = true;
    lock.unlock();
    bool kept = true;
    try {
      kept = backend_.try_claim(key.first, key.second, lease);
    } catch (...) {
      // The backend is away: try again next round. If it stays away longer than the lease,
      // the claim lapses there, and the next renewal takes it again if it is still free.
    }
    lock.lock();
    auto it = held_.find(key);  // still there: only this thread erases a claim being renewed
    it->second.renewing = false;
    if (it->second.released) {
      held_.erase(it);
      lock.unlock();
      try {
        backend_.release_claim(key.first, key.second);
      } catch (...) {
        // It lapses within its lease.
      }
      lock.lock();
    } else if (!kept) {
      // Lapsed and taken by another caller: this call's result is still stored, but the
      // claim is theirs now.
      held_.erase(it);
    } else {
      it->second.next = Clock::now() + lease / 3;
    }
  }
}

}  // namespace refcache
