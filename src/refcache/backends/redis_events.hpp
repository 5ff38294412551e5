// The background thread of RedisBackend (private): change events from other processes, and
// the periodic work (the expiry sweep; in cluster mode a look at the slot map).
//
// With an events channel (RedisOptions::share_events), the thread keeps a connection
// SUBSCRIBEd to it, read with short waits so that stopping is prompt, and reconnects with
// the reconnect backoff when it fails. Each message is a JSON array
// ["<origin>","updated|deleted|cleared|expired","<ref_id>","<namespace>"]; messages from
// this backend's own origin are skipped (their events were delivered where the change was
// made), the others are delivered as ChangeEvents on this thread. Between reads (and while
// waiting to reconnect) the same thread runs `sweep` every expiry_sweep_interval and, when
// given, `check_topology` every 5 s; their failures are left to the next round. Without a
// channel and without a sweep interval there is no thread.
//
// The object owns its thread; the hooks run on it, so what they touch must outlive stop().
//
// Thread-safety: start() and stop() belong to the backend's owner; resubscribe() and
// subscribed() may be called from any thread. The thread's own state (its connection, the
// times of the next sweep and topology check) is touched by that thread only; the flags
// shared with other threads are atomics.
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
    RedisPool::Opener open;                           // the subscriber connection
    std::function<void(const ChangeEvent&)> deliver;  // another process's change
    std::function<void()> sweep;                      // the expiry sweep (sets tl_background)
    std::function<void()> check_topology;             // cluster: read the slot map; or empty
  };

  // `channel`: "" when events are not shared; `origin`: this backend's id in messages.
  RedisEvents(const RedisShared& shared, std::string channel, std::string origin, Hooks hooks)
      : shared_(shared),
        channel_(std::move(channel)),
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
  // Drops the subscription (the primary moved); the thread subscribes again.
  void resubscribe() { reconnect_ = true; }
  // True while the subscription is up.
  bool subscribed() const { return ready_; }

 private:
  void loop();
  // Reads messages until the connection fails or a stop or resubscription is asked for.
  void read(RedisSocket& s);
  void deliver(const std::string& text);
  // The periodic work, when it is due.
  void maybe_sweep();

  const RedisShared& shared_;
  const std::string channel_;
  const std::string origin_;
  const Hooks hooks_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reconnect_{false};
  std::atomic<bool> ready_{false};
  // The thread's own.
  Clock::time_point next_sweep_{};
  Clock::time_point next_topology_check_{};
};

}  // namespace refcache::redis_detail
