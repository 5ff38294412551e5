// A fixed pool of threads running queued jobs, with a bounded queue. Used for handlers so that
// a slow tool never blocks a transport thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mcp {

class WorkerPool {
 public:
  WorkerPool(std::size_t threads, std::size_t max_queue);
  ~WorkerPool();
  // Queues `job`; returns false (and drops it) when the queue is full or the pool stopped.
  bool submit(std::function<void()> job);
  // Jobs queued or running.
  std::size_t busy() const;
  // Waits until no job is queued or running, or the timeout passes.
  bool wait_idle(std::chrono::milliseconds timeout);
  void stop();

 private:
  void run();
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> queue_;
  std::atomic<std::size_t> queued_{0};  // queue_.size(), readable without the lock
  std::vector<std::thread> threads_;
  std::size_t max_queue_;
  std::size_t running_ = 0;
  std::size_t waiting_ = 0;
  // Workers currently spinning for the next job instead of sleeping; at most one, so that an
  // idle pool on a small machine does not take cores from the transport threads.
  std::atomic<int> spinning_{0};
  bool stopped_ = false;
};

}  // namespace mcp
