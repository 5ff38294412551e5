// Runs callbacks at given times, on one thread of its own (started with the first schedule()).
// The server arms one per call that runs on the worker pool, and disarms it when the call is
// answered; what fires answers the call and cancels it.
//
// Thread-safety: every method may be called from any thread. Callbacks run on the timer's
// thread, never under its lock, so they may schedule or cancel.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "thread_annotations.hpp"

namespace mcp::detail {

class DeadlineTimer {
 public:
  using Clock = std::chrono::steady_clock;
  // Identifies one scheduled callback (unique: the sequence number breaks ties of time).
  struct Key {
    Clock::time_point at;
    std::uint64_t seq = 0;
    bool operator<(const Key& o) const { return at < o.at || (at == o.at && seq < o.seq); }
  };

  DeadlineTimer() = default;
  ~DeadlineTimer();  // stop()
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  // Runs `fn` at `at` (at once if that has passed) unless cancelled first, and stores its key
  // in `slot` before `fn` can run (under the timer's lock), so that `fn` and whoever learns of
  // it may read `slot`. After stop(), nothing is scheduled and `slot` is left as it was.
  void schedule(Clock::time_point at, std::function<void()> fn, std::optional<Key>& slot);
  // Drops the callback if it has not started; does nothing otherwise.
  void cancel(const Key& key);
  // Drops every pending callback and joins the thread (waits for one that is running).
  void stop();
  // Callbacks pending.
  std::size_t pending() const;

 private:
  void run() EXCLUDES(mu_);
  mutable refcache_sync::Mutex mu_;
  std::condition_variable cv_;  // the earliest deadline changed, or stop()
  std::map<Key, std::function<void()>> pending_ GUARDED_BY(mu_);
  std::uint64_t next_seq_ GUARDED_BY(mu_) = 1;
  bool stopped_ GUARDED_BY(mu_) = false;
  std::thread thread_ GUARDED_BY(mu_);  // started by the first schedule()
};

}  // namespace mcp::detail
