// SQLiteBackend: entries in one SQLite file, shared by every process on the machine.
//
// The storage is that of mcp-refcache 0.2.1, so Python and C++ servers can share one file:
//   cache_entries(key TEXT PRIMARY KEY, value_json TEXT NOT NULL, namespace TEXT NOT NULL,
//                 policy_json TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL,
//                 metadata_json TEXT NOT NULL)  with indexes idx_namespace, idx_expires_at.
// What the reference does not have lives in tables of our own, which Python ignores:
//   refcache_key_bindings (namespace, key -> ref id), refcache_claims, refcache_tasks.
//
// Files use WAL, a busy timeout and one connection per thread with prepared statements;
// a write that still finds the database locked is retried with backoff (up to
// SQLiteOptions::lock_retry_budget), so "database is locked" never reaches a caller.
// ":memory:" gives a private in-memory database per SQLiteBackend object (one connection,
// serialized). Expired rows are invisible to every read and deleted lazily and periodically.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "refcache/backend.hpp"

namespace refcache {

struct SQLiteOptions {
  // Database path. Empty: MCP_REFCACHE_DB_PATH, else $XDG_CACHE_HOME/mcp-refcache/cache.db,
  // else ~/.cache/mcp-refcache/cache.db. ":memory:" for a private in-memory database.
  // Parent folders are created. Default: empty.
  std::string path{};

  // sqlite3_busy_timeout of every connection. Default: 5000 ms.
  std::chrono::milliseconds busy_timeout{5000};

  // Total time an operation keeps retrying while SQLite reports the database busy or
  // locked, after which it throws BackendUnavailable. Default: 60000 ms.
  std::chrono::milliseconds lock_retry_budget{60000};

  // PRAGMA synchronous for file databases: "OFF", "NORMAL" (default; durable in WAL mode
  // except for the last transactions on power loss) or "FULL".
  std::string synchronous = "NORMAL";

  // Page cache of each connection (PRAGMA cache_size), in KiB. Default: 8192.
  int cache_kib = 8192;

  // Bytes of the file each connection maps into memory for reads (PRAGMA mmap_size);
  // 0 disables. Default: 256 MiB.
  std::int64_t mmap_bytes = 256LL << 20;

  // WAL pages after which the WAL is checkpointed into the database file. Larger = fewer,
  // bigger checkpoints and a larger -wal file. Default: 4000 (about 16 MiB with 4 KiB pages;
  // SQLite's own default is 1000).
  int wal_autocheckpoint_pages = 4000;

  // Checkpoint on a background thread instead of inside the commit that crosses
  // wal_autocheckpoint_pages: past it, once per further quarter of it written, and once
  // writes pause. With SQLite 3.51.3 or later (the 3.54.1 scripts/setup builds) those
  // checkpoints are PASSIVE and run beside the writers; a writer whose commit finds the log
  // at twice the threshold asks for a FULL one (which holds SQLite's writer lock, and this
  // process's writers wait for it at a gate rather than in SQLite's busy handler) and waits
  // for it, so the -wal file stays near 2 x wal_autocheckpoint_pages pages. Linked against
  // an older SQLite (Debian 12's 3.40.1), every background checkpoint is FULL, because of
  // the "WAL-reset bug": a PASSIVE checkpoint racing a commit that restarts the log can lose
  // committed writes. false = SQLite's own PASSIVE auto-checkpoint in the committing thread.
  // Default: true.
  bool background_checkpoint = true;

  // Background checkpoints PASSIVE when the linked SQLite has the WAL-reset fix (above).
  // false: every background checkpoint FULL, as with an SQLite without the fix; for a file
  // shared with programs whose SQLite lacks the fix, if our checkpoints should not run
  // beside their commits. Default: true.
  bool passive_checkpoints = true;

  // Expired rows are purged (with "expired" events) at most this often, on a write.
  // Default: 30 s. Reads never return expired rows whatever this is.
  std::chrono::milliseconds purge_interval{30000};

  // Source of "now" (Unix seconds); null = unix_now. For tests.
  ClockFn clock = nullptr;
};

// The path an empty SQLiteOptions::path resolves to (environment as documented above).
std::string default_sqlite_path();

class SQLiteBackend final : public Backend {
 public:
  // Opens (creating when needed) the database and its schema. Throws BackendUnavailable
  // naming the path when the file or its folder cannot be created or opened.
  explicit SQLiteBackend(SQLiteOptions options = {});
  ~SQLiteBackend() override;

  // The resolved database path (":memory:" for an in-memory database).
  const std::string& path() const { return path_; }

  std::string_view kind() const override { return "sqlite"; }
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
  BackendStats stats() const override;
  void close() override;

  // Deletes every expired row now (entries, bindings, claims, tasks); returns how many
  // entries were deleted. Also runs by itself every purge_interval.
  std::size_t purge_expired();

  // Connections currently open (one per thread that used this backend and still runs; a
  // thread's connection closes when the thread ends).
  std::size_t open_connections() const;

  // The background checkpoints' mode: "passive" when the SQLite linked has the WAL-reset
  // fix (3.51.3 or later) and passive_checkpoints is on, else "full"; "off" for ":memory:"
  // or without background_checkpoint.
  std::string_view checkpoint_mode() const;

  // The version of the SQLite library linked (sqlite3_libversion()).
  static std::string_view sqlite_version();

  // WAL checkpoints this backend has run so far (in the background and in committing
  // threads), for tests and metrics.
  std::uint64_t checkpoint_count() const;

  class Impl;

 private:
  std::string path_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace refcache
