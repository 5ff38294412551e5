// InstrumentedBackend: a Backend decorator that times every operation of the backend it wraps
// (per-operation latency histograms, in seconds) and counts the operations that threw, and
// writes those figures and the wrapped backend's stats() as Prometheus families.
//
// Why a decorator rather than hooks inside RefCache: it sees every path to the store --
// RefCache, CachedCall's key bindings, claims and task records, and the admin tools that call
// backend() directly -- for any Backend, including ones written outside this library, and it
// keeps RefCache and the backends free of metrics code. The cost is two steady_clock reads
// and two relaxed atomic additions per operation, a few hundred nanoseconds at most: noise
// beside a tool call (tens of µs) and beside SQLite (µs) or Redis (~50 µs) operations.
//
// At the debug log level each operation also writes one log line: its name, ref id (never a
// value) and duration, as LogFields (log_context.hpp) that structured log formats write as
// fields. Above debug the cost is one level check.
//
// Change events of the wrapped backend are re-delivered to this object's listeners; kind(),
// stats() and close() are the wrapped backend's.
//
// Thread-safety: as Backend (every method from any thread).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "metrics/metrics.hpp"
#include "refcache/backend.hpp"

namespace refcache {

enum class BackendOp {
  kGet,
  kSet,
  kDelete,
  kExists,
  kClear,
  kList,
  kFindByKey,
  kClaim,
  kReleaseClaim,
  kClaimHolder,
  kPutTask,
  kGetTask,
  kDeleteTask,
  kHealth,
};
inline constexpr std::size_t kBackendOpCount = 14;
// "get", "set", "delete", "exists", "clear", "list", "find_by_key", "claim", "release_claim",
// "claim_holder", "put_task", "get_task", "delete_task", "health".
std::string_view to_string(BackendOp op);

class InstrumentedBackend : public Backend {
 public:
  // REQUIRES: inner != nullptr.
  explicit InstrumentedBackend(std::shared_ptr<Backend> inner);
  ~InstrumentedBackend() override;

  Backend& inner() const { return *inner_; }

  std::string_view kind() const override { return inner_->kind(); }
  EntryPtr get(std::string_view ref_id) override;
  std::optional<std::string> set(std::string_view ref_id, EntryPtr entry,
                                 const KeyBinding* binding = nullptr) override;
  bool remove(std::string_view ref_id) override;
  bool exists(std::string_view ref_id) override;
  std::size_t clear(std::optional<std::string_view> ns) override;
  ListPage list(std::optional<std::string_view> ns, std::string_view cursor,
                std::size_t limit) override;
  std::optional<std::string> find_by_key(std::string_view ns, std::string_view key) override;
  std::optional<KeyBinding> binding_of(std::string_view ref_id) override;
  bool try_claim(std::string_view name, std::string_view owner,
                 std::chrono::milliseconds ttl) override;
  void release_claim(std::string_view name, std::string_view owner) override;
  std::optional<std::string> claim_holder(std::string_view name) override;
  void put_task(const TaskRecord& task) override;
  std::optional<TaskRecord> get_task(std::string_view ref_id) override;
  bool remove_task(std::string_view ref_id) override;
  Health health() override;
  BackendStats stats() const override { return inner_->stats(); }
  void close() override { inner_->close(); }

  const metrics::Histogram& latency(BackendOp op) const {
    return *ops_[static_cast<std::size_t>(op)].latency;
  }
  std::uint64_t failures(BackendOp op) const {
    return ops_[static_cast<std::size_t>(op)].failures.value();
  }

  // Writes the refcache_cache_* and refcache_backend_* families (see docs/operations.md):
  // stats() of the wrapped backend, the latency histograms and failure counters.
  void write_metrics(metrics::TextWriter& w) const;

 private:
  struct OpMetrics {
    std::unique_ptr<metrics::Histogram> latency{};
    metrics::Counter failures{};
  };
  // Runs f() as operation `op` (on `ref_id`, when it names one): observes its latency, counts
  // its failure, and writes a debug log line with the operation, ref id and duration
  // (LogFields, log_context.hpp).
  template <class F>
  auto timed(BackendOp op, std::string_view ref_id, F&& f) -> decltype(f());

  std::shared_ptr<Backend> inner_;
  std::uint64_t inner_listener_ = 0;
  std::array<OpMetrics, kBackendOpCount> ops_;
};

// Writes the refcache_cache_* / refcache_backend_* families of `stats` (counters, entries,
// bytes, circuit state) with label backend=`kind`. InstrumentedBackend::write_metrics uses it;
// use it alone for a backend that is not wrapped.
void write_backend_stats(metrics::TextWriter& w, std::string_view kind, const BackendStats& stats);

}  // namespace refcache
