#include "deadline_timer.hpp"

#include <spdlog/spdlog.h>

#include <vector>

#include "sync.hpp"

namespace mcp::detail {

using refcache_sync::Lock;

DeadlineTimer::~DeadlineTimer() {
  stop();
}

void DeadlineTimer::schedule(Clock::time_point at, std::function<void()> fn,
                             std::optional<Key>& slot) {
  bool wake;
  {
    Lock lk(mu_);
    if (stopped_) return;
    const Key key{at, next_seq_++};
    slot = key;
    auto it = pending_.emplace(key, std::move(fn)).first;
    wake = it == pending_.begin();  // the earliest now: the thread sleeps too long otherwise
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }
  if (wake) cv_.notify_one();
}

void DeadlineTimer::cancel(const Key& key) {
  Lock lk(mu_);
  pending_.erase(key);  // a later wake-up finds the next entry; no need to wake the thread
}

std::size_t DeadlineTimer::pending() const {
  Lock lk(mu_);
  return pending_.size();
}

void DeadlineTimer::stop() {
  std::thread t;
  {
    Lock lk(mu_);
    stopped_ = true;
    pending_.clear();
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

void DeadlineTimer::run() {
  RelockableLock lk(mu_);
  std::vector<std::function<void()>> due;
  while (!stopped_) {
    if (pending_.empty()) {
      cv_.wait(lk.native());
      continue;
    }
    const auto next = pending_.begin()->first.at;
    if (Clock::now() < next) {
      cv_.wait_until(lk.native(), next);
      continue;
    }
    const auto now = Clock::now();
    while (!pending_.empty() && pending_.begin()->first.at <= now) {
      due.push_back(std::move(pending_.begin()->second));
      pending_.erase(pending_.begin());
    }
    lk.unlock();
    for (auto& fn : due) {
      try {
        fn();
      } catch (const std::exception& e) {
        spdlog::error("mcp: deadline callback threw: {}", e.what());
      } catch (...) {
        spdlog::error("mcp: deadline callback threw an unknown exception");
      }
    }
    due.clear();
    lk.lock();
  }
}

}  // namespace mcp::detail
