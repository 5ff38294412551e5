// DashboardActivity: a Backend decorator that keeps what the dashboard shows beyond the
// backend's own counters, in bounded memory:
//   - the refs this server has seen (stored, read, or named by a change event): namespace,
//     bytes of the value's JSON, expiry and how often this server read it -- never the value;
//   - tokens saved: over the stores made through it, the value's full size less the size of its
//     preview (in the preview's units: tokens, or characters in character mode);
//   - the last change events (updated, deleted, cleared, expired; with Redis, also those of
//     other servers sharing the store), numbered for a cursor.
// Every Backend call is forwarded to the wrapped backend unchanged; change events of the
// wrapped backend are re-emitted. Sits under InstrumentedBackend, so that the metrics still
// find it at the top (cache_options() places it).
//
// Thread-safety: as Backend: every method may be called from any thread; snapshot() and
// events_since() take an internal lock briefly.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "refcache/backend.hpp"
#include "refcache/preview.hpp"

namespace refcache::mcp {

// One ref as the dashboard knows it.
struct TrackedRef {
  std::string ref_id{};
  std::string ns{};
  std::int64_t bytes = -1;  // bytes of the value's compact JSON; -1 when not yet seen
  std::optional<double> expires_at{};
  std::uint64_t reads = 0;  // reads of it through this server
};

// One change event, numbered from 1 in the order this server saw them.
struct SeenEvent {
  std::uint64_t seq = 0;
  double time = 0;  // Unix seconds when seen
  ChangeKind kind = ChangeKind::kUpdated;
  std::string ref_id{};
  std::string ns{};
};

struct DashboardActivityOptions {
  // Refs tracked at once; beyond, the half least read are forgotten.
  std::size_t max_refs = 10000;
  // Change events kept for the feed.
  std::size_t max_events = 200;
  // Measures each stored value's preview for the tokens saved (the cache's preview settings).
  PreviewConfig preview{};
};

class DashboardActivity : public Backend {
 public:
  // REQUIRES: inner != nullptr.
  DashboardActivity(std::shared_ptr<Backend> inner, DashboardActivityOptions options = {});
  ~DashboardActivity() override;

  Backend& inner() const { return *inner_; }

  // The tracked refs that have not expired, and the tokens saved so far.
  struct Snapshot {
    std::vector<TrackedRef> refs{};
    std::uint64_t tokens_saved = 0;
    std::uint64_t stores_measured = 0;
  };
  Snapshot snapshot(double now) const;
  // The kept events numbered above `after` (oldest first), and the last number given.
  std::vector<SeenEvent> events_since(std::uint64_t after, std::uint64_t& last) const;

  std::string_view kind() const override { return inner_->kind(); }
  EntryPtr get(std::string_view ref_id) override;
  std::optional<std::string> set(std::string_view ref_id, EntryPtr entry,
                                 const KeyBinding* binding = nullptr) override;
  bool remove(std::string_view ref_id) override { return inner_->remove(ref_id); }
  bool exists(std::string_view ref_id) override { return inner_->exists(ref_id); }
  std::size_t clear(std::optional<std::string_view> ns) override { return inner_->clear(ns); }
  ListPage list(std::optional<std::string_view> ns, std::string_view cursor,
                std::size_t limit) override {
    return inner_->list(ns, cursor, limit);
  }
  std::optional<std::string> find_by_key(std::string_view ns, std::string_view key) override {
    return inner_->find_by_key(ns, key);
  }
  std::optional<KeyBinding> binding_of(std::string_view ref_id) override {
    return inner_->binding_of(ref_id);
  }
  bool try_claim(std::string_view name, std::string_view owner,
                 std::chrono::milliseconds ttl) override {
    return inner_->try_claim(name, owner, ttl);
  }
  void release_claim(std::string_view name, std::string_view owner) override {
    inner_->release_claim(name, owner);
  }
  std::optional<std::string> claim_holder(std::string_view name) override {
    return inner_->claim_holder(name);
  }
  void put_task(const TaskRecord& task) override { inner_->put_task(task); }
  std::optional<TaskRecord> get_task(std::string_view ref_id) override {
    return inner_->get_task(ref_id);
  }
  bool remove_task(std::string_view ref_id) override { return inner_->remove_task(ref_id); }
  Health health() override { return inner_->health(); }
  BackendStats stats() const override { return inner_->stats(); }
  void close() override { inner_->close(); }

 private:
  void track(std::string_view ref_id, const CacheEntry& e, bool read);
  void on_event(const ChangeEvent& e);
  void make_room();  // REQUIRES: mu_ held

  std::shared_ptr<Backend> inner_;
  const DashboardActivityOptions opt_;
  std::uint64_t listener_ = 0;
  mutable std::mutex mu_;
  std::unordered_map<std::string, TrackedRef> refs_;
  std::deque<SeenEvent> events_;
  std::uint64_t last_seq_ = 0;
  std::uint64_t tokens_saved_ = 0;
  std::uint64_t stores_measured_ = 0;
};

}  // namespace refcache::mcp
