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
    queued_.fetch_add(1, std::memory_order_relaxed);
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
      // Under load the next job usually arrives within microseconds: one worker spinning
      // briefly (without yielding, which would queue it behind every other runnable thread)
      // saves the futex sleep/wake pair per job. Only one spins at a time, and only briefly,
      // so that spinners never starve the transport threads of a 2-core machine.
      int expected = 0;
      if (spinning_.compare_exchange_strong(expected, 1, std::memory_order_relaxed)) {
        lk.unlock();
        auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
        int polls = 0;
        while (queued_.load(std::memory_order_relaxed) == 0) {
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();
#endif
          // Reading the clock costs more than a pause: look at it every 64 polls only.
          if ((++polls & 63) == 0 && std::chrono::steady_clock::now() >= until) break;
        }
        spinning_.store(0, std::memory_order_relaxed);
        lk.lock();
        if (!queue_.empty()) continue;
      }
      if (stopped_) return;
      ++waiting_;
      cv_.wait(lk, [&] { return stopped_ || !queue_.empty(); });
      --waiting_;
      continue;
    }
    auto job = std::move(queue_.front());
    queue_.pop_front();
    queued_.fetch_sub(1, std::memory_order_relaxed);
    ++running_;
    lk.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("mcp: worker job threw: {}", e.what());
    } catch (...) {
      spdlog::error("mcp: worker job threw an unknown exception");
    }
    job = nullptr;  // release what the job holds before the pool can report idle
    lk.lock();
    --running_;
    if (queue_.empty() && running_ == 0) idle_cv_.notify_all();
  }
}

}  // namespace mcp
