#include "worker_pool.hpp"

#include <spdlog/spdlog.h>

namespace mcp {

WorkerPool::WorkerPool(std::size_t threads, std::size_t max_queue) : max_queue_(max_queue) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
  stop();
}

bool WorkerPool::submit(std::function<void()> job) {
  bool wake;
  {
    std::lock_guard lk(mu_);
    if (stopped_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(job));
    // Only pay for a futex wake when a worker is actually sleeping.
    wake = waiting_ > 0;
  }
  if (wake) cv_.notify_one();
  return true;
}

std::size_t WorkerPool::busy() const {
  std::lock_guard lk(mu_);
  return queue_.size() + running_;
}

bool WorkerPool::wait_idle(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  return idle_cv_.wait_for(lk, timeout, [&] { return queue_.empty() && running_ == 0; });
}

void WorkerPool::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopped_ && threads_.empty()) return;
    stopped_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void WorkerPool::run() {
  std::unique_lock lk(mu_);
  for (;;) {
    if (queue_.empty()) {
      if (stopped_) return;
      // Under load the next job usually arrives within microseconds: a short yield loop saves
      // the futex sleep/wake pair (two context switches) per job.
      for (int spin = 0; spin < 64 && queue_.empty() && !stopped_; ++spin) {
        lk.unlock();
        std::this_thread::yield();
        lk.lock();
      }
      if (!queue_.empty()) continue;
      if (stopped_) return;
      ++waiting_;
      cv_.wait(lk, [&] { return stopped_ || !queue_.empty(); });
      --waiting_;
      continue;
    }
    auto job = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lk.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("mcp: worker job threw: {}", e.what());
    } catch (...) {
      spdlog::error("mcp: worker job threw an unknown exception");
    }
    lk.lock();
    --running_;
    if (queue_.empty() && running_ == 0) idle_cv_.notify_all();
  }
}

}  // namespace mcp
