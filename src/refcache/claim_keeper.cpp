#include "refcache/claim_keeper.hpp"

namespace refcache {

RefCache::ClaimKeeper::~ClaimKeeper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool RefCache::ClaimKeeper::acquire(Claim& c) {
  if (!backend_.try_claim(c.name, c.owner, c.lease)) return false;
  keep(c);
  return true;
}

void RefCache::ClaimKeeper::keep(Claim& c) {
  const auto period = renewal_period(c.lease);
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    c.renew_at = Clock::now() + period;
    if (!c.linked) link(c);
    if (period < tick_) {
      tick_ = period;
      wake = true;  // the keeper may be asleep for longer than this claim can wait
    }
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  if (wake) cv_.notify_all();
}

void RefCache::ClaimKeeper::release(Claim& c) {
  {
    std::lock_guard lock(mu_);
    if (c.linked) unlink(c);
    if (renewing_ == &c) {
      // The keeper releases it when the renewal returns (`c` may be gone by then).
      renewing_ = nullptr;
      release_after_.emplace(c.name, c.owner);
      return;
    }
  }
  backend_.release_claim(c.name, c.owner);
}

void RefCache::ClaimKeeper::link(Claim& c) {
  c.prev = nullptr;
  c.next = head_;
  if (head_) head_->prev = &c;
  head_ = &c;
  c.linked = true;
}

void RefCache::ClaimKeeper::unlink(Claim& c) {
  if (c.prev)
    c.prev->next = c.next;
  else
    head_ = c.next;
  if (c.next) c.next->prev = c.prev;
  c.prev = c.next = nullptr;
  c.linked = false;
}

void RefCache::ClaimKeeper::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // The claim due first (one renewal at a time: there are as many claims as calls running).
    Claim* due = nullptr;
    for (Claim* c = head_; c; c = c->next)
      if (!due || c->renew_at < due->renew_at) due = c;
    // Claims taken while this thread sleeps are due no sooner than one tick from now.
    const auto now = Clock::now();
    if (!due || now < due->renew_at) {
      auto until = now + tick_;
      if (due) until = std::min(until, due->renew_at);
      cv_.wait_until(lock, until);
      continue;  // look again: claims may have come or gone meanwhile
    }
    renewing_ = due;
    const std::string name = due->name, owner = due->owner;
    const auto lease = due->lease;
    lock.unlock();
    bool kept = true;
    try {
      kept = backend_.try_claim(name, owner, lease);
    } catch (...) {
      // The backend is away: try again next round. If it stays away longer than the lease,
      // the claim lapses there, and the next renewal takes it again if it is still free.
    }
    lock.lock();
    if (renewing_ == nullptr) {  // released meanwhile: release it now
      auto [n, o] = std::move(*release_after_);
      release_after_.reset();
      lock.unlock();
      try {
        backend_.release_claim(n, o);
      } catch (...) {
        // It lapses within its lease.
      }
      lock.lock();
      continue;
    }
    renewing_ = nullptr;
    if (!kept) {
      // Lapsed and taken by another caller: this call's result is still stored, but the
      // claim is theirs now.
      unlink(*due);
    } else {
      due->renew_at = Clock::now() + renewal_period(lease);
    }
  }
}

}  // namespace refcache
