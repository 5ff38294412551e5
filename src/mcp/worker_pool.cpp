#include "worker_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "mcp/trace_scope.hpp"
#include "sync.hpp"

namespace mcp {

using refcache_sync::Lock;

WorkerPool::WorkerPool(const Limits& limits) : limits_(limits) {
  limits_.max_running_per_key = std::max<std::size_t>(1, limits_.max_running_per_key);
  for (std::size_t i = 0; i < limits_.threads; ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::WorkerPool(std::size_t threads, std::size_t max_queue)
    : WorkerPool(Limits{.threads = threads,
                        .max_queued = max_queue,
                        .max_queued_per_key = max_queue,
                        .max_running_per_key = threads}) {}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::enqueue_turn(KeyQueue& q) {
  if (q.in_ring || q.jobs.empty() || q.running >= q.cap) return;
  ring_.push_back(&q);
  q.in_ring = true;
  ready_.store(ring_.size(), std::memory_order_relaxed);
}

void WorkerPool::erase_if_idle(KeyQueue& q) {
  if (q.jobs.empty() && q.running == 0 && !q.in_ring) keys_.erase(keys_.find(q.key));
}

WorkerPool::Submitted WorkerPool::submit(std::string_view key, std::function<void()> job,
                                         bool capped, std::shared_ptr<Ticket>* ticket) {
  job = bind_current_trace(std::move(job));
  bool wake;
  {
    Lock lk(mu_);
    if (stopped_) return Submitted::kStopped;
    if (queued_ >= limits_.max_queued) return Submitted::kPoolFull;
    auto it = keys_.find(std::string(key));
    if (it != keys_.end() && it->second->jobs.size() >= limits_.max_queued_per_key)
      return Submitted::kKeyFull;
    if (it == keys_.end()) {
      auto q = std::make_unique<KeyQueue>();
      q->key = std::string(key);
      it = keys_.emplace(q->key, std::move(q)).first;
    }
    KeyQueue& q = *it->second;
    q.cap = capped ? limits_.max_running_per_key : std::numeric_limits<std::size_t>::max();
    q.jobs.push_back(Job{std::move(job), nullptr});
    if (ticket) {
      *ticket = std::make_shared<Ticket>();
      (*ticket)->queue = &q;
      (*ticket)->at = std::prev(q.jobs.end());
      q.jobs.back().ticket = *ticket;
    }
    ++queued_;
    const bool was_ready = q.in_ring;
    enqueue_turn(q);
    // Only pay for a futex wake when the job can start and a worker is actually sleeping.
    wake = !was_ready && q.in_ring && waiting_ > 0;
  }
  if (wake) cv_.notify_one();
  return Submitted::kQueued;
}

bool WorkerPool::withdraw(const std::shared_ptr<Ticket>& ticket) {
  if (!ticket) return false;
  std::function<void()> dropped;  // destroyed outside the lock: it may hold anything
  {
    Lock lk(mu_);
    KeyQueue* q = ticket->queue;
    if (!q) return false;  // started, or withdrawn already
    dropped = std::move(ticket->at->fn);
    q->jobs.erase(ticket->at);
    ticket->queue = nullptr;
    --queued_;
    if (q->jobs.empty() && q->in_ring) {
      ring_.erase(std::find(ring_.begin(), ring_.end(), q));
      q->in_ring = false;
      ready_.store(ring_.size(), std::memory_order_relaxed);
    }
    erase_if_idle(*q);
    if (queued_ == 0 && running_ == 0) idle_cv_.notify_all();
  }
  return true;
}

bool WorkerPool::submit(std::function<void()> job) {
  return submit({}, std::move(job), /*capped=*/false) == Submitted::kQueued;
}

std::size_t WorkerPool::busy() const {
  Lock lk(mu_);
  return queued_ + running_;
}

bool WorkerPool::wait_idle(std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  refcache_sync::UniqueLock lk(mu_);
  while (queued_ != 0 || running_ != 0)
    if (idle_cv_.wait_until(lk.native(), until) == std::cv_status::timeout)
      return queued_ == 0 && running_ == 0;
  return true;
}

void WorkerPool::stop() {
  {
    Lock lk(mu_);
    if (stopped_ && threads_.empty()) return;
    stopped_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void WorkerPool::run() {
  detail::RelockableLock lk(mu_);
  for (;;) {
    if (ring_.empty()) {
      // Stopped with nothing startable: jobs still queued belong to keys at their cap, whose
      // running jobs' threads start them when they finish.
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
        while (ready_.load(std::memory_order_relaxed) == 0) {
#if defined(__x86_64__) || defined(__i386__)
          __builtin_ia32_pause();
#endif
          // Reading the clock costs more than a pause: look at it every 64 polls only.
          if ((++polls & 63) == 0 && std::chrono::steady_clock::now() >= until) break;
        }
        spinning_.store(0, std::memory_order_relaxed);
        lk.lock();
        if (!ring_.empty()) continue;
      }
      if (stopped_) return;
      ++waiting_;
      while (!stopped_ && ring_.empty()) cv_.wait(lk.native());
      --waiting_;
      continue;
    }
    KeyQueue* q = ring_.front();
    ring_.pop_front();
    q->in_ring = false;
    auto job = std::move(q->jobs.front().fn);
    if (auto& t = q->jobs.front().ticket) t->queue = nullptr;  // started: no longer withdrawable
    q->jobs.pop_front();
    --queued_;
    ++q->running;
    ++running_;
    enqueue_turn(*q);  // its next job waits for the other keys' turns
    ready_.store(ring_.size(), std::memory_order_relaxed);
    // Turns left in the ring (other keys', or this key's next job when it may run more than
    // one) need a thread of their own: submit() woke one for the turn this thread took only.
    const bool more = !ring_.empty() && waiting_ > 0;
    lk.unlock();
    if (more) cv_.notify_one();
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("mcp: worker job threw: {}", e.what());
    } catch (...) {
      spdlog::error("mcp: worker job threw an unknown exception");
    }
    job = nullptr;  // release what the job holds before the pool can report idle
    lk.lock();
    --q->running;
    --running_;
    enqueue_turn(*q);  // below its cap again
    erase_if_idle(*q);
    // This thread takes the next turn itself; wake another for any further one.
    const bool again = ring_.size() > 1 && waiting_ > 0;
    if (queued_ == 0 && running_ == 0) idle_cv_.notify_all();
    if (again) cv_.notify_one();
  }
}

}  // namespace mcp
