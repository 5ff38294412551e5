#include "refcache/task_pool.hpp"

#include "refcache/log_context.hpp"

namespace refcache {

RefCache::TaskPool::TaskPool(std::size_t workers) {
  if (workers == 0) workers = 1;
  threads_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { run(); });
}

RefCache::TaskPool::~TaskPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void RefCache::TaskPool::submit(std::function<void()> job) {
  job = carry_context(std::move(job));
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void RefCache::TaskPool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job();
    } catch (...) {
      // Jobs record their own failures; nothing may escape a worker thread.
    }
  }
}

std::shared_ptr<std::atomic<bool>> RefCache::TaskPool::cancel_flag(const std::string& ref_id) {
  std::lock_guard lock(flags_mu_);
  auto& f = flags_[ref_id];
  if (!f) f = std::make_shared<std::atomic<bool>>(false);
  return f;
}

void RefCache::TaskPool::request_cancel(std::string_view ref_id) {
  std::lock_guard lock(flags_mu_);
  auto it = flags_.find(std::string(ref_id));
  if (it != flags_.end()) it->second->store(true);
}

void RefCache::TaskPool::forget(const std::string& ref_id) {
  std::lock_guard lock(flags_mu_);
  flags_.erase(ref_id);
}

}  // namespace refcache
