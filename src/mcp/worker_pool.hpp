// A fixed pool of threads running queued jobs, shared fairly between callers. Used for handlers
// so that a slow tool never blocks a transport thread, and one caller's slow calls never take
// every thread from the others.
//
// Every job belongs to a caller key. Jobs of one key start in submission order; keys with
// waiting jobs take turns (round-robin, one job per turn); a key runs at most
// `max_running_per_key` jobs at once unless its jobs are submitted uncapped (a transport with a
// single client, stdio, may use every thread). Waiting jobs are bounded overall and per key;
// submit() refuses beyond either bound instead of letting the queue grow. A job that is no
// longer wanted (its client went away, its call was answered) can be withdrawn while it waits,
// so that it gives its place back at once. A job runs under the trace context that was current
// on the thread that submitted it (mcp::bind_current_trace, trace_scope.hpp).
//
// Thread-safety: every method may be called from any thread. Jobs run on the pool's threads and
// may submit further jobs; stop() must not be called from a job.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "thread_annotations.hpp"

namespace mcp {

class WorkerPool {
 public:
  struct Limits {
    std::size_t threads = 2;
    std::size_t max_queued = 4096;         // waiting jobs of all keys together
    std::size_t max_queued_per_key = 256;  // waiting jobs of one key
    std::size_t max_running_per_key = 1;   // running jobs of one key (capped submissions)
  };
  enum class Submitted {
    kQueued,
    kPoolFull,  // max_queued jobs are waiting
    kKeyFull,   // max_queued_per_key jobs of this key are waiting
    kStopped,
  };

  // Names one submitted job, to withdraw it while it waits.
  class Ticket;

  explicit WorkerPool(const Limits& limits);
  // One key and no per-key bounds: a plain bounded FIFO pool (the task threads).
  WorkerPool(std::size_t threads, std::size_t max_queue);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job` for caller `key`. `capped` = the key's running jobs are bounded by
  // max_running_per_key (else by the thread count). The job is dropped unless kQueued; then
  // `ticket`, if given, names it.
  Submitted submit(std::string_view key, std::function<void()> job, bool capped = true,
                   std::shared_ptr<Ticket>* ticket = nullptr);
  // Removes the job from its queue (it will not run) if it has not started; returns whether it
  // was removed.
  bool withdraw(const std::shared_ptr<Ticket>& ticket);
  // Queues an uncapped job under the empty key; false when refused.
  bool submit(std::function<void()> job);
  // Jobs queued or running.
  std::size_t busy() const;
  // Waits until no job is queued or running, or the timeout passes.
  bool wait_idle(std::chrono::milliseconds timeout);
  // Stops taking jobs; the queued ones still run; joins the threads.
  void stop();

 private:
  struct Job {
    std::function<void()> fn;
    std::shared_ptr<Ticket> ticket;  // null when the submitter did not ask for one
  };
  struct KeyQueue {
    std::string key;
    std::list<Job> jobs;  // a list: withdrawn jobs leave from anywhere
    std::size_t running = 0;
    std::size_t cap = 1;   // running jobs allowed
    bool in_ring = false;  // waiting for its turn in ring_
  };

  void run() EXCLUDES(mu_);
  // Puts `q` at the back of the ring if it has a job it may start now.
  void enqueue_turn(KeyQueue& q) REQUIRES(mu_);
  // Forgets `q` once it has nothing queued or running.
  void erase_if_idle(KeyQueue& q) REQUIRES(mu_);

  Limits limits_;
  // Guards everything below but the atomics and threads_, and the KeyQueues and Tickets.
  mutable refcache_sync::Mutex mu_;
  std::condition_variable cv_;       // a job may start, or stop()
  std::condition_variable idle_cv_;  // nothing queued or running
  std::unordered_map<std::string, std::unique_ptr<KeyQueue>> keys_ GUARDED_BY(mu_);  // with jobs
  std::deque<KeyQueue*> ring_ GUARDED_BY(mu_);  // keys that may start a job, in turn order
  std::size_t queued_ GUARDED_BY(mu_) = 0;      // jobs waiting, all keys
  std::size_t running_ GUARDED_BY(mu_) = 0;
  std::size_t waiting_ GUARDED_BY(mu_) = 0;  // workers asleep on cv_
  bool stopped_ GUARDED_BY(mu_) = false;
  // ring_.size(), readable without the lock by the spinning worker.
  std::atomic<std::size_t> ready_{0};
  // Workers currently spinning for the next job instead of sleeping; at most one, so that an
  // idle pool on a small machine does not take cores from the transport threads.
  std::atomic<int> spinning_{0};
  // Started by the constructor, joined by stop(); touched by no other thread.
  std::vector<std::thread> threads_;
};

// Guarded by the pool's mutex.
class WorkerPool::Ticket {
  friend class WorkerPool;
  KeyQueue* queue = nullptr;  // while queued
  std::list<Job>::iterator at;
};

}  // namespace mcp
