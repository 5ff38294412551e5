// MemoryBackend: entries in this process's memory.
//
// For tests, single-process servers and as the fastest store. Entries are shared immutable
// objects (a reader holds its EntryPtr as long as it likes; nothing mutates it). Expiry is
// honoured on every read path (expired entries are invisible and removed lazily). Unlike the
// reference, the store can be bounded: when max_entries or max_bytes would be exceeded, the
// least recently used entries are evicted (reported as kExpired events and counted as
// evictions).
//
// Values are kept as compact JSON text and parsed on demand, with a bounded set of recently
// read entries kept parsed ("hot"), so a large cache costs little more than its JSON and a
// hot entry is read without parsing (see MemoryBackendOptions::freeze_values). A write does
// not make its entry hot: the writer holds it already, and most written values are read
// later or never.
//
// Thread-safety: all methods are safe to call concurrently (one internal mutex; cold entries
// are parsed outside it).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "refcache/backend.hpp"

namespace refcache {

struct MemoryBackendOptions {
  // Entries held at most; beyond it the least recently used are evicted. 0 = unbounded
  // (the default).
  std::size_t max_entries = 0;
  // Compact-JSON bytes of values held at most; beyond it the least recently used entries
  // are evicted (never the one just written). 0 = unbounded (the default).
  std::size_t max_bytes = 0;
  // Source of "now" (tests substitute a fake clock). Default: unix_now.
  ClockFn clock = &unix_now;
  // Keep values as compact JSON text (about a third of the memory of parsed values) and
  // only the most recently read ones parsed. Off: every value stays parsed (fastest reads,
  // most memory). Default: on.
  bool freeze_values = true;
  // With freeze_values, parsed entries kept at most. Default: 1024.
  std::size_t hot_entries = 1024;
  // With freeze_values, bytes of text of the parsed entries kept at most. Default: 64 MiB.
  std::size_t hot_bytes = 64u << 20;
};

class MemoryBackend final : public Backend {
 public:
  explicit MemoryBackend(MemoryBackendOptions options = {});
  ~MemoryBackend() override;

  std::string_view kind() const override { return "memory"; }

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

  Health health() override { return {true, "ok"}; }
  BackendStats stats() const override;

 private:
  struct State;
  std::unique_ptr<State> state_;
  MemoryBackendOptions options_;
};

}  // namespace refcache
