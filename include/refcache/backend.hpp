// Backend: where entries, key bindings, claims and task records live.
//
// One interface for every store (memory, SQLite, Redis; cluster and sentinel later), designed
// so that everything a server needs to share with other servers goes through it:
//   - entries by ref id, with expiry honoured on every read path;
//   - key bindings (namespace + key -> ref id), so a second process finds a ref by key and
//     gets cache hits for the same cached call;
//   - a namespace listing whose cost follows the namespace, not the store;
//   - claims (set-if-absent with expiry) so two servers do not compute the same call twice;
//   - task records for async calls, readable by any process;
//   - change events (deleted, cleared, updated, expired; resync when changes were missed)
//     for listeners;
//   - counters and a health probe.
//
// Thread-safety: every method may be called from any thread at any time. Methods throw
// BackendUnavailable when the store cannot be reached and CorruptEntry when one stored
// record cannot be decoded (other records stay readable); they never hang longer than the
// backend's configured timeouts.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "refcache/entry.hpp"
#include "refcache/task.hpp"

namespace refcache {

// A (namespace, key) pair bound to a ref id.
struct KeyBinding {
  std::string ns{};
  std::string key{};
};

// One page of a namespace listing.
struct ListPage {
  std::vector<std::string> ref_ids{};
  std::string next_cursor{};  // empty when this is the last page
};

// kResync: the backend may have missed changes made by other processes (with Redis: the
// events stream was trimmed past this process's position, or lost); ref_id and ns are empty
// and any entry may have changed, been deleted or expired.
enum class ChangeKind { kUpdated, kDeleted, kCleared, kExpired, kResync };
std::string_view to_string(ChangeKind k);

struct ChangeEvent {
  ChangeKind kind{};
  std::string ref_id{};  // empty for kCleared
  std::string ns{};      // namespace of the entry, or the cleared namespace ("" = all)
};

using ChangeListener = std::function<void(const ChangeEvent&)>;

// Monotonic counters; each backend fills what it can (0 where it cannot tell).
struct BackendStats {
  std::uint64_t gets = 0, hits = 0, misses = 0, sets = 0, deletes = 0;
  std::uint64_t evictions = 0, expirations = 0, errors = 0, reconnects = 0;
  int circuit_state = -1;     // 0 closed, 1 open, 2 half-open; -1 if the backend has no breaker
  std::int64_t entries = -1;  // current number of entries, -1 if unknown
  std::int64_t bytes = -1;    // approximate bytes held, -1 if unknown
};

struct Health {
  bool ok = false;
  std::string detail{};  // "ok", or what is wrong (never a secret)
};

class Backend {
 public:
  virtual ~Backend() = default;
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // "memory", "sqlite", "redis", ...
  virtual std::string_view kind() const = 0;

  // --- entries -------------------------------------------------------------------------
  // The entry stored under `ref_id`, or null if missing or expired.
  virtual EntryPtr get(std::string_view ref_id) = 0;

  // Stores `entry` under `ref_id` (upsert). With a `binding`, atomically also binds
  // (binding->ns, binding->key) to `ref_id` with the entry's expiry; if that key was bound to
  // another ref, the other entry is deleted and its ref id returned (so that overwriting a
  // key never orphans an entry). The entry is immutable: the backend may keep the pointer
  // (readers then share the object) or store a copy of its contents, never change it.
  virtual std::optional<std::string> set(std::string_view ref_id, EntryPtr entry,
                                         const KeyBinding* binding = nullptr) = 0;

  // Removes the entry (and any key binding to it). True if something was removed.
  virtual bool remove(std::string_view ref_id) = 0;

  // True if an unexpired entry exists under `ref_id`.
  virtual bool exists(std::string_view ref_id) = 0;

  // Removes every entry of exactly namespace `ns` (all entries when nullopt) with their key
  // bindings; returns how many entries were removed.
  virtual std::size_t clear(std::optional<std::string_view> ns) = 0;

  // A page of unexpired ref ids, of exactly namespace `ns` (all when nullopt). Start with an
  // empty cursor; pass next_cursor to continue. `limit` is a hint (at least 1 is returned
  // when more exist). Cost follows the size of `ns`, not of the store.
  virtual ListPage list(std::optional<std::string_view> ns, std::string_view cursor,
                        std::size_t limit) = 0;

  // Every unexpired ref id of `ns` (loops over list()).
  std::vector<std::string> keys(std::optional<std::string_view> ns = std::nullopt);

  // --- key bindings --------------------------------------------------------------------
  // The ref id bound to (ns, key), if the binding and its entry are alive.
  virtual std::optional<std::string> find_by_key(std::string_view ns, std::string_view key) = 0;

  // The (namespace, key) bound to `ref_id`, if a binding names it (the reverse of
  // find_by_key; a ref has at most one binding, since set() with a binding moves the ref's
  // binding). For administration (listing, export, migration). Expiry is not checked here:
  // pair it with get(). The default says "none", for backends that cannot tell.
  virtual std::optional<KeyBinding> binding_of(std::string_view ref_id) {
    (void)ref_id;
    return std::nullopt;
  }

  // --- claims --------------------------------------------------------------------------
  // Takes the claim `name` for `owner` for `ttl` if nobody holds it (or the holder's claim
  // expired). True if `owner` holds it afterwards (re-claiming your own claim extends it).
  virtual bool try_claim(std::string_view name, std::string_view owner,
                         std::chrono::milliseconds ttl) = 0;
  // Releases `name` if `owner` holds it.
  virtual void release_claim(std::string_view name, std::string_view owner) = 0;
  // The current holder of claim `name`, if any and unexpired. Cached calls use the holder
  // (the ref id of the task computing the call) to answer a second caller with the task's
  // status. The default says "unknown", which only costs that second caller a recompute.
  virtual std::optional<std::string> claim_holder(std::string_view name) {
    (void)name;
    return std::nullopt;
  }

  // --- task records --------------------------------------------------------------------
  virtual void put_task(const TaskRecord& task) = 0;
  virtual std::optional<TaskRecord> get_task(std::string_view ref_id) = 0;
  virtual bool remove_task(std::string_view ref_id) = 0;

  // --- events, health, stats -----------------------------------------------------------
  // Registers a listener for changes made through this backend object (and, for shared
  // stores that support it, by other processes). Returns an id for unsubscribe().
  std::uint64_t subscribe(ChangeListener listener);
  void unsubscribe(std::uint64_t id);

  virtual Health health() = 0;
  virtual BackendStats stats() const = 0;

  // Releases connections. Further calls throw BackendUnavailable. Idempotent.
  virtual void close() {}

 protected:
  // Delivers an event to the listeners (outside any backend lock, please).
  void emit(const ChangeEvent& event);
  bool has_listeners() const { return listener_count_.load(std::memory_order_relaxed) > 0; }

 private:
  mutable std::mutex listeners_mu_;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<ChangeListener>>> listeners_;
  std::uint64_t next_listener_id_ = 1;
  std::atomic<std::size_t> listener_count_{0};
};

// Opens a backend from a URL (docs/backends.md):
//   memory:                         MemoryBackend
//   sqlite:PATH | sqlite:///PATH | sqlite::memory:   SQLiteBackend
//   redis://[user:pass@]host:port/db, rediss://...   RedisBackend
// An empty URL selects the default: Redis when REDIS_URL or REDIS_HOST is set, else the
// embedded SQLite cache (MCP_REFCACHE_DB_PATH, XDG_CACHE_HOME, ~/.cache/...).
// Throws InvalidArgument for an unknown or malformed URL.
std::shared_ptr<Backend> open_backend(std::string_view url = {});

}  // namespace refcache
