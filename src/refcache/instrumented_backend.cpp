#include "refcache/instrumented_backend.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <stdexcept>
#include <type_traits>

#include "refcache/log_context.hpp"

namespace refcache {

std::string_view to_string(BackendOp op) {
  static constexpr std::string_view kNames[kBackendOpCount] = {
      "get",      "set",         "delete",      "exists",        "clear",
      "list",     "find_by_key", "claim",       "release_claim", "claim_holder",
      "put_task", "get_task",    "delete_task", "health"};
  auto i = static_cast<std::size_t>(op);
  return i < kBackendOpCount ? kNames[i] : "unknown";
}

InstrumentedBackend::InstrumentedBackend(std::shared_ptr<Backend> inner)
    : inner_(std::move(inner)) {
  if (!inner_) throw std::invalid_argument("InstrumentedBackend needs a backend");
  for (auto& o : ops_) o.latency = std::make_unique<metrics::Histogram>(metrics::latency_buckets());
  inner_listener_ = inner_->subscribe([this](const ChangeEvent& e) { emit(e); });
}

InstrumentedBackend::~InstrumentedBackend() {
  inner_->unsubscribe(inner_listener_);
}

template <class F>
auto InstrumentedBackend::timed(BackendOp op, std::string_view ref_id, F&& f) -> decltype(f()) {
  OpMetrics& m = ops_[static_cast<std::size_t>(op)];
  const auto t0 = std::chrono::steady_clock::now();
  struct Observe {
    OpMetrics& m;
    BackendOp op;
    std::string_view ref_id;
    std::chrono::steady_clock::time_point t0;
    bool failed = true;
    ~Observe() {
      const auto elapsed = std::chrono::steady_clock::now() - t0;
      m.latency->observe(std::chrono::duration<double>(elapsed).count());
      // One line per operation: debug, so that the default level (info) stays quiet.
      if (!spdlog::should_log(spdlog::level::debug)) return;
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
      const LogFieldsScope fields(
          {.operation = to_string(op), .ref_id = ref_id, .duration_us = us});
      spdlog::debug("backend {} {} in {} us", to_string(op), failed ? "failed" : "done", us);
    }
  } observe{m, op, ref_id, t0};
  try {
    if constexpr (std::is_void_v<decltype(f())>) {
      f();
      observe.failed = false;
    } else {
      auto r = f();
      observe.failed = false;
      return r;
    }
  } catch (...) {
    m.failures.inc();
    throw;
  }
}

EntryPtr InstrumentedBackend::get(std::string_view ref_id) {
  return timed(BackendOp::kGet, ref_id, [&] { return inner_->get(ref_id); });
}
std::optional<std::string> InstrumentedBackend::set(std::string_view ref_id, EntryPtr entry,
                                                    const KeyBinding* binding) {
  return timed(BackendOp::kSet, ref_id,
               [&] { return inner_->set(ref_id, std::move(entry), binding); });
}
bool InstrumentedBackend::remove(std::string_view ref_id) {
  return timed(BackendOp::kDelete, ref_id, [&] { return inner_->remove(ref_id); });
}
bool InstrumentedBackend::exists(std::string_view ref_id) {
  return timed(BackendOp::kExists, ref_id, [&] { return inner_->exists(ref_id); });
}
std::size_t InstrumentedBackend::clear(std::optional<std::string_view> ns) {
  return timed(BackendOp::kClear, {}, [&] { return inner_->clear(ns); });
}
ListPage InstrumentedBackend::list(std::optional<std::string_view> ns, std::string_view cursor,
                                   std::size_t limit) {
  return timed(BackendOp::kList, {}, [&] { return inner_->list(ns, cursor, limit); });
}
std::optional<std::string> InstrumentedBackend::find_by_key(std::string_view ns,
                                                            std::string_view key) {
  return timed(BackendOp::kFindByKey, {}, [&] { return inner_->find_by_key(ns, key); });
}
// Not timed: an administrative read, outside the operations the metrics describe.
std::optional<KeyBinding> InstrumentedBackend::binding_of(std::string_view ref_id) {
  return inner_->binding_of(ref_id);
}
bool InstrumentedBackend::try_claim(std::string_view name, std::string_view owner,
                                    std::chrono::milliseconds ttl) {
  return timed(BackendOp::kClaim, {}, [&] { return inner_->try_claim(name, owner, ttl); });
}
void InstrumentedBackend::release_claim(std::string_view name, std::string_view owner) {
  timed(BackendOp::kReleaseClaim, {}, [&] { inner_->release_claim(name, owner); });
}
std::optional<std::string> InstrumentedBackend::claim_holder(std::string_view name) {
  return timed(BackendOp::kClaimHolder, {}, [&] { return inner_->claim_holder(name); });
}
void InstrumentedBackend::put_task(const TaskRecord& task) {
  timed(BackendOp::kPutTask, task.ref_id, [&] { inner_->put_task(task); });
}
std::optional<TaskRecord> InstrumentedBackend::get_task(std::string_view ref_id) {
  return timed(BackendOp::kGetTask, ref_id, [&] { return inner_->get_task(ref_id); });
}
bool InstrumentedBackend::remove_task(std::string_view ref_id) {
  return timed(BackendOp::kDeleteTask, ref_id, [&] { return inner_->remove_task(ref_id); });
}
Health InstrumentedBackend::health() {
  return timed(BackendOp::kHealth, {}, [&] { return inner_->health(); });
}

void write_backend_stats(metrics::TextWriter& w, std::string_view kind, const BackendStats& st) {
  const metrics::Labels lb = {{"backend", kind}};
  struct C {
    const char* name;
    const char* help;
    std::uint64_t v;
  };
  const C counters[] = {
      {"refcache_cache_gets_total", "Entry reads (get) made through this process's backend.",
       st.gets},
      {"refcache_cache_hits_total", "Entry reads that found a live entry.", st.hits},
      {"refcache_cache_misses_total", "Entry reads that found nothing (missing or expired).",
       st.misses},
      {"refcache_cache_sets_total", "Entries stored.", st.sets},
      {"refcache_cache_deletes_total", "Entries deleted (by id or by clearing a namespace).",
       st.deletes},
      {"refcache_cache_evictions_total", "Entries evicted to respect a size bound.", st.evictions},
      {"refcache_cache_expirations_total", "Entries removed because their TTL passed.",
       st.expirations},
      {"refcache_backend_errors_total", "Backend operations that failed (store unreachable, ...).",
       st.errors},
      {"refcache_backend_reconnects_total", "Connections re-established after a failure.",
       st.reconnects},
  };
  for (const auto& c : counters) {
    w.family(c.name, "counter", c.help);
    w.sample(c.name, lb, c.v);
  }
  if (st.entries >= 0) {
    w.family("refcache_cache_entries", "gauge", "Entries currently held by the backend.");
    w.sample("refcache_cache_entries", lb, st.entries);
  }
  if (st.bytes >= 0) {
    w.family("refcache_cache_bytes", "gauge", "Approximate bytes held by the backend.");
    w.sample("refcache_cache_bytes", lb, st.bytes);
  }
  if (st.circuit_state >= 0) {
    w.family("refcache_backend_circuit_state", "gauge",
             "Circuit breaker of the backend: 0 closed, 1 open, 2 half-open.");
    w.sample("refcache_backend_circuit_state", lb, static_cast<std::int64_t>(st.circuit_state));
  }
}

void InstrumentedBackend::write_metrics(metrics::TextWriter& w) const {
  const std::string_view k = kind();
  write_backend_stats(w, k, inner_->stats());
  w.family("refcache_backend_operation_duration_seconds", "histogram",
           "Latency of backend operations, by operation (failed ones included).");
  for (std::size_t i = 0; i < kBackendOpCount; ++i)
    w.histogram("refcache_backend_operation_duration_seconds",
                {{"backend", k}, {"op", to_string(static_cast<BackendOp>(i))}}, *ops_[i].latency);
  w.family("refcache_backend_operation_failures_total", "counter",
           "Backend operations that threw, by operation.");
  for (std::size_t i = 0; i < kBackendOpCount; ++i)
    w.sample("refcache_backend_operation_failures_total",
             {{"backend", k}, {"op", to_string(static_cast<BackendOp>(i))}},
             ops_[i].failures.value());
}

}  // namespace refcache
