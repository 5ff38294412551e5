// RefCache::TaskPool: the worker threads that run async cached calls, and the cancellation
// flags of the calls running in this process. Private to the refcache library.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "refcache/ref_cache.hpp"

namespace refcache {

class RefCache::TaskPool {
 public:
  explicit TaskPool(std::size_t workers);
  ~TaskPool();  // finishes queued work, then joins

  // The job runs under the submitting thread's context (carry_context, log_context.hpp).
  void submit(std::function<void()> job);

  // The cancellation flag of a task running here (created on first use).
  std::shared_ptr<std::atomic<bool>> cancel_flag(const std::string& ref_id);
  void request_cancel(std::string_view ref_id);
  void forget(const std::string& ref_id);

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::mutex flags_mu_;
  std::unordered_map<std::string, std::shared_ptr<std::atomic<bool>>> flags_;
};

}  // namespace refcache
