// The background thread of RedisBackend (private): change events from other processes, and
// the periodic work (the expiry sweep; in cluster mode a look at the slot map).
//
// With an events stream (RedisOptions::share_events), the thread reads the stream with
// XREAD BLOCK (short waits, so that stopping is prompt) from the id of the last entry it
// delivered, kept in memory, and reconnects with the reconnect backoff when the connection
// fails: a reconnected reader resumes where it stopped, so no event is missed while the
// connection was down. The first connection starts at the stream's end. Each entry has one
// field "e", a JSON array ["<origin>","updated|deleted|cleared|expired","<ref_id>",
// "<namespace>"]; entries of this backend's own origin are skipped (their events were
// delivered where the change was made), the others are delivered as ChangeEvents on this
// thread. When the stream no longer holds the entries after the last delivered one (it was
// trimmed past it, deleted or replaced, e.g. by a failover that lost writes), a kResync
// event is delivered instead, once per gap; the check runs on every reconnection and after
// every full batch (a reader that falls behind). Between reads (and while waiting to
// reconnect) the same thread runs `sweep` every expiry_sweep_interval and, when given,
// `check_topology` every 5 s; their failures are left to the next round. Without a stream
// and without a sweep interval there is no thread.
//
// The object owns its thread; the hooks run on it, so what they touch must outlive stop().
//
// Thread-safety: start() and stop() belong to the backend's owner; resubscribe() and
// subscribed() may be called from any thread. The thread's own state (its connection, its
// stream position, the times of the next sweep and topology check) is touched by that thread
// only; the flags shared with other threads are atomics.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "refcache/backend.hpp"
#include "refcache/backends/redis_pool.hpp"
#include "refcache/backends/redis_shared.hpp"

namespace refcache::redis_detail {

class RedisEvents {
 public:
  struct Hooks {
    RedisPool::Opener open;                           // the reader's connection
    std::function<void(const ChangeEvent&)> deliver;  // another process's change, or kResync
    std::function<void()> sweep;                      // the expiry sweep (sets tl_background)
    std::function<void()> check_topology;             // cluster: read the slot map; or empty
  };

  // `stream`: the events stream's key, "" when events are not shared; `origin`: this
  // backend's id in the entries.
  RedisEvents(const RedisShared& shared, std::string stream, std::string origin, Hooks hooks)
      : shared_(shared),
        stream_(std::move(stream)),
        origin_(std::move(origin)),
        hooks_(std::move(hooks)) {}
  ~RedisEvents() { stop(); }
  RedisEvents(const RedisEvents&) = delete;
  RedisEvents& operator=(const RedisEvents&) = delete;

  void start();
  // Asks the thread to stop, without waiting for it.
  void request_stop() { stop_ = true; }
  // Stops the thread and waits for it. Idempotent.
  void stop();
  // Drops the reader's connection (the primary moved); the thread connects again and
  // resumes from its position.
  void resubscribe() { reconnect_ = true; }
  // True while the reader is connected.
  bool subscribed() const { return ready_; }

 private:
  void loop();
  // Reads entries until the connection fails or a stop or reconnection is asked for.
  void read(RedisSocket& s);
  // Finds the reader's position on its first connection; afterwards delivers kResync when
  // the stream lost entries after the position.
  void check_position(RedisSocket& s);
  void deliver(const std::string& text);
  // The periodic work, when it is due.
  void maybe_sweep();

  const RedisShared& shared_;
  const std::string stream_;
  const std::string origin_;
  const Hooks hooks_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reconnect_{false};
  std::atomic<bool> ready_{false};
  // The thread's own.
  std::string last_id_;  // the last entry read; "" before the first connection
  Clock::time_point next_sweep_{};
  Clock::time_point next_topology_check_{};
};

}  // namespace refcache::redis_detail
