// The connections of RedisBackend to one server (see redis_pool.hpp).
#include "refcache/backends/redis_pool.hpp"

#include <algorithm>

#include "refcache/backends/redis_call.hpp"
#include "refcache/errors.hpp"

namespace refcache::redis_detail {

class RedisPool::Lease {
 public:
  explicit Lease(Slot& s) : slot(s) { slot.users.fetch_add(1, std::memory_order_relaxed); }
  ~Lease() { slot.users.fetch_sub(1, std::memory_order_relaxed); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  Slot& slot;
};

RedisPool::RedisPool(RedisShared& shared, Spec spec)
    : shared_(shared),
      open_(std::move(spec.open)),
      label_(std::move(spec.label)),
      count_refusals_(spec.count_refusals),
      on_failure_(std::move(spec.on_failure)),
      slots_(shared.opts.pool_size) {}

RedisPool::Slot& RedisPool::pick() {
  // Every thread has a home slot, the same index in every pool.
  static std::atomic<std::size_t> next_home{0};
  thread_local const std::size_t home = next_home.fetch_add(1, std::memory_order_relaxed);
  const std::size_t n = slots_.size(), h = home % n;
  for (std::size_t k = 0; k < n; ++k) {
    Slot& s = slots_[(h + k) % n];
    if (s.users.load(std::memory_order_relaxed) == 0) return s;
  }
  return slots_[h];
}

std::unique_ptr<RedisSocket> RedisPool::connect() {
  if (shared_.closed) throw BackendUnavailable(shared_.message("backend is closed"));
  {
    refcache_sync::Lock lock(mu_);
    if (backoff_.count() > 0 && Clock::now() < next_connect_) {
      if (count_refusals_) ++shared_.counters.errors;
      throw BackendUnavailable(
          shared_.message((label_.empty() ? std::string() : label_ + " ") + "unavailable (" +
                          last_error_ + "); next reconnect attempt in " +
                          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             next_connect_ - Clock::now())
                                             .count()) +
                          " ms"));
    }
  }
  const RedisOptions& o = shared_.opts;
  std::string err;
  std::unique_ptr<RedisSocket> s;
  auto deadline = Clock::now() + std::min(o.connect_timeout, remaining(o));
  try {
    s = open_(deadline, err);
  } catch (const TransportError& e) {
    err = e.what();
  }
  if (!err.empty()) {
    {
      refcache_sync::Lock lock(mu_);
      backoff_ = backoff_.count() == 0 ? o.reconnect_backoff_min
                                       : std::min(backoff_ * 2, o.reconnect_backoff_max);
      next_connect_ = Clock::now() + backoff_;
      last_error_ = err;
    }
    if (on_failure_) on_failure_();
    ++shared_.counters.errors;
    throw BackendUnavailable(shared_.message(head() + err));
  }
  refcache_sync::Lock lock(mu_);
  if (had_failure_ || backoff_.count() > 0) ++shared_.counters.reconnects;
  backoff_ = std::chrono::milliseconds(0);
  had_failure_ = false;
  return s;
}

std::shared_ptr<MuxConnection> RedisPool::connection(Slot& slot) {
  refcache_sync::Lock lock(slot.mu);
  if (slot.conn && !slot.conn->dead()) return slot.conn;
  if (slot.conn) {
    refcache_sync::Lock l(mu_);
    had_failure_ = true;
  }
  slot.conn.reset();
  slot.conn = std::make_shared<MuxConnection>(connect());
  return slot.conn;
}

void RedisPool::connect_now() {
  Lease lease(pick());
  connection(lease.slot);
}

std::vector<Reply> RedisPool::send(std::string_view bytes, std::size_t count) {
  const RedisOptions& o = shared_.opts;
  auto p = std::make_shared<Pending>(count);
  auto wait = std::min(o.socket_timeout, remaining(o));
  try {
    // A connection the server closed while it was idle (a restart, its idle timeout) is
    // noticed before anything is sent: then the commands go on a new one.
    for (int attempt = 0;; ++attempt) {
      Lease lease(pick());
      std::shared_ptr<MuxConnection> conn = connection(lease.slot);
      try {
        conn->call(bytes, p, Clock::now() + wait);
        break;
      } catch (const StaleConnection&) {
        if (attempt >= 2) throw;
      }
    }
  } catch (const TransportError& e) {
    ++shared_.counters.errors;
    std::string what = e.timeout()
                           ? "no reply within " + std::to_string(wait.count()) + " ms" +
                                 (wait < o.socket_timeout ? " (the rest of call_timeout)" : "")
                           : std::string(e.what());
    {
      refcache_sync::Lock lock(mu_);
      last_error_ = what;
      had_failure_ = true;
    }
    if (on_failure_) on_failure_();
    throw BackendUnavailable(shared_.message(head() + what));
  }
  return std::move(p->replies);
}

bool RedisPool::failing() const {
  refcache_sync::Lock lock(mu_);
  return backoff_.count() > 0 || had_failure_;
}

void RedisPool::fail_all(const std::string& why) {
  for (auto& slot : slots_) {
    std::shared_ptr<MuxConnection> c;
    {
      refcache_sync::Lock lock(slot.mu);
      c = slot.conn;
    }
    if (c) c->fail(why);
  }
}

void RedisPool::close() {
  for (auto& slot : slots_) {
    std::shared_ptr<MuxConnection> c;
    {
      refcache_sync::Lock lock(slot.mu);
      c.swap(slot.conn);
    }
    c.reset();  // outside the slot's lock: failing its calls wakes them
  }
}

}  // namespace refcache::redis_detail
