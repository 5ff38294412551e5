// SQLiteBackend (see include/refcache/sqlite_backend.hpp).
#include "refcache/sqlite_backend.hpp"

#include <sqlite3.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include "jsonio/json_text.hpp"
#include "private_files.hpp"
#include "refcache/entry_codec.hpp"
#include "refcache/errors.hpp"
#include "sqlite_connection.hpp"
#include "sqlite_statements.hpp"
#include "sqlite_write_gate.hpp"
#include "thread_annotations.hpp"

namespace refcache {

namespace {

// The connection, its statements and the write gate are this file's vocabulary.
using namespace sqlite;  // NOLINT(google-build-using-namespace)
using refcache_sync::ReaderLock;
using refcache_sync::SharedMutex;
using refcache_sync::WriterLock;

std::string getenv_str(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// The default path, and whether it is the cache's own folder (XDG_CACHE_HOME or HOME) rather
// than a path the operator named in MCP_REFCACHE_DB_PATH.
std::string default_path(bool& own_folder) {
  own_folder = false;
  std::string p = getenv_str("MCP_REFCACHE_DB_PATH");
  if (!p.empty()) return p;
  own_folder = true;
  std::string xdg = getenv_str("XDG_CACHE_HOME");
  if (!xdg.empty()) return (std::filesystem::path(xdg) / "mcp-refcache" / "cache.db").string();
  std::string home = getenv_str("HOME");
  if (home.empty()) home = ".";
  return (std::filesystem::path(home) / ".cache" / "mcp-refcache" / "cache.db").string();
}

}  // namespace

std::string default_sqlite_path() {
  bool own_folder = false;
  return default_path(own_folder);
}

namespace {

std::atomic<std::uint64_t> g_next_instance{1};

// The connections of one SQLiteBackend, one per thread. Shared with the exit hooks of the
// threads, so that a thread that ends closes its connection (a server that starts and ends
// threads must not accumulate open files).
struct ConnectionRegistry {
  refcache_sync::Mutex mu;
  std::unordered_map<std::thread::id, std::unique_ptr<Connection>> conns GUARDED_BY(mu);
};

// This thread's connections, by backend instance (ids are never reused).
struct ThreadConnections {
  struct Slot {
    std::uint64_t instance;
    std::weak_ptr<ConnectionRegistry> registry;
    Connection* conn;
  };
  std::vector<Slot> slots;

  Connection* find(std::uint64_t instance) const {
    for (const auto& s : slots)
      if (s.instance == instance) return s.conn;
    return nullptr;
  }
  void add(std::uint64_t instance, const std::shared_ptr<ConnectionRegistry>& r, Connection* c) {
    std::erase_if(slots, [](const Slot& s) { return s.registry.expired(); });
    slots.push_back({instance, r, c});
  }
  ~ThreadConnections() {
    auto id = std::this_thread::get_id();
    for (auto& s : slots) {
      auto r = s.registry.lock();
      if (!r) continue;
      std::unique_ptr<Connection> mine;
      {
        refcache_sync::Lock lock(r->mu);
        auto it = r->conns.find(id);
        if (it != r->conns.end()) {
          mine = std::move(it->second);
          r->conns.erase(it);
        }
      }
    }
  }
};
thread_local ThreadConnections t_conns;

// Set by the WAL hook when a commit of this thread found the log at twice the checkpoint
// threshold: the backend whose writer should wait, and for which checkpoint round.
struct Backpressure {
  const void* backend = nullptr;
  std::uint64_t round = 0;
};
thread_local Backpressure t_backpressure;

}  // namespace

class SQLiteBackend::Impl {
 public:
  // `own_folder`: the path is the default cache folder, refcache's own, whose existing
  // folder and files are made owner-only too.
  Impl(SQLiteBackend& owner, SQLiteOptions opts, std::string path, bool own_folder)
      : owner_(owner),
        opts_(std::move(opts)),
        path_(std::move(path)),
        memory_(path_ == ":memory:"),
        clock_(opts_.clock ? opts_.clock : &unix_now) {
    if (memory_)
      mem_conn_ = open_connection();
    else
      prepare_files(own_folder);
    // Open the first connection and create the schema (retrying while another process does).
    with_retry([&](Connection& c) {
      c.exec(kBegin);
      try {
        c.exec(kSchema);
        c.exec(kCommit);
      } catch (...) {
        sqlite3_exec(c.db, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
      }
      return 0;
    });
    last_purge_ = clock_();
    if (!memory_ && opts_.background_checkpoint)
      checkpointer_ = std::thread([this] { checkpoint_loop(); });
  }

  double now() const { return clock_(); }

  // Missing folders are created 0700 and a missing database file 0600, before SQLite opens
  // it: SQLite gives the -wal and -shm files it creates the database file's mode. In the
  // default folder, existing ones (and existing -wal and -shm files) lose their group and
  // other bits, so a cache first made by a program that left them readable (the Python
  // reference, an older build) is not left open to other users.
  void prepare_files(bool own_folder) {
    const std::filesystem::path file(path_);
    const std::filesystem::path parent = file.parent_path();
    if (!parent.empty()) {
      try {
        detail::create_private_folders(parent);
      } catch (const std::filesystem::filesystem_error& e) {
        throw BackendUnavailable("sqlite " + path_ + ": cannot create folder " + parent.string() +
                                 ": " + e.code().message());
      }
    }
    if (own_folder) {
      if (!parent.empty()) detail::make_owner_only(parent);
      for (const char* suffix : {"", "-wal", "-shm"}) detail::make_owner_only(path_ + suffix);
    }
    detail::create_private_file(file);
  }

  // --- background checkpoints -----------------------------------------------------------
  // Runs after every commit of a file connection, with the WAL's size in pages. Past
  // wal_autocheckpoint_pages it asks the background thread for a checkpoint, then again
  // each time another quarter of that has been written: not after every commit, since each
  // checkpoint costs two fsyncs, and checkpoints run back to back would take a good part of
  // the writers' disk time. A PASSIVE checkpoint copies the log beside
  // the writers but cannot let it restart while they keep committing; a commit that finds
  // the log at twice the threshold asks for a FULL one (writers held at the gate, the whole
  // log copied, so the next write restarts it) and its writer waits for that, so the -wal
  // file stays near 2 x wal_autocheckpoint_pages pages under sustained writes.
  static int on_wal_commit(void* arg, sqlite3* /*db*/, const char* /*name*/, int pages) {
    auto* im = static_cast<Impl*>(arg);
    const int threshold = std::max(1, im->opts_.wal_autocheckpoint_pages);
    im->commits_.fetch_add(1, std::memory_order_relaxed);
    int asked_at = im->ckpt_asked_at_.load(std::memory_order_relaxed);
    if (pages < asked_at) asked_at = 0;  // the log restarted since
    if (pages >= 2 * threshold) {
      // Writes outrun the checkpointer: this writer waits for the next checkpoint once its
      // write is done (not here: it is inside the gate the checkpoint needs to itself).
      t_backpressure.backend = im;
      t_backpressure.round = im->ckpt_rounds_.load(std::memory_order_relaxed) + 1;
      im->ckpt_full_wanted_.store(true, std::memory_order_relaxed);
      im->ask_for_checkpoint(pages);
    } else if (pages >= threshold && pages - asked_at >= std::max(1, threshold / 4)) {
      im->ask_for_checkpoint(pages);
    } else if (!im->ckpt_tail_.load(std::memory_order_relaxed) &&
               !im->ckpt_tail_.exchange(true, std::memory_order_relaxed)) {
      // The first commit of a tail, below the threshold too (a log of up to the threshold
      // left uncopied once writes stop makes every later read of its pages a pread): wake
      // the checkpointer to start watching for a pause.
      { refcache_sync::Lock lock(im->ckpt_mu_); }
      im->ckpt_cv_.notify_all();
    }
    return SQLITE_OK;
  }

  // Asks the background thread for a checkpoint round, the log being `pages` long.
  void ask_for_checkpoint(int pages) EXCLUDES(ckpt_mu_) {
    ckpt_asked_at_.store(pages, std::memory_order_relaxed);
    {
      refcache_sync::Lock lock(ckpt_mu_);
      ckpt_requested_ = true;
    }
    ckpt_cv_.notify_all();
  }

  // The background checkpointer: runs what commits ask for, and once writes pause (no
  // commit for 50 ms) copies the pages committed since the last checkpoint that were too few
  // to ask for one. Until a log is copied whole, readers look pages up in it and read them
  // with pread instead of through the map of the database file, which is slower. With no
  // tail it sleeps until a commit wakes it.
  void checkpoint_loop() EXCLUDES(ckpt_mu_) {
    using namespace std::chrono_literals;
    std::unique_ptr<Connection> conn;
    std::uint64_t commits_seen = 0;
    for (;;) {
      {
        refcache_sync::UniqueLock lock(ckpt_mu_);
        if (!ckpt_tail_.load(std::memory_order_relaxed)) {
          while (!checkpoint_asked() && !ckpt_tail_.load(std::memory_order_relaxed))
            ckpt_cv_.wait(lock.native());
          if (ckpt_stop_) return;
          if (!checkpoint_asked()) {  // a tail began: watch the commits from here
            commits_seen = commits_.load(std::memory_order_relaxed);
            continue;
          }
        } else {
          const auto until = std::chrono::steady_clock::now() + 50ms;
          while (!checkpoint_asked() &&
                 ckpt_cv_.wait_until(lock.native(), until) == std::cv_status::no_timeout) {
          }
          if (!checkpoint_asked()) {  // 50 ms without a request: idle if no commit either
            const std::uint64_t commits = commits_.load(std::memory_order_relaxed);
            const bool idle = commits == commits_seen;
            commits_seen = commits;
            if (!idle || ckpt_running_) continue;
          }
        }
        if (ckpt_stop_) return;
        ckpt_requested_ = false;
        ckpt_tail_.store(false, std::memory_order_relaxed);
        ckpt_running_ = true;
      }
      try {
        if (!conn) conn = open_connection();
        // PASSIVE only with SQLite 3.51.3 or later. Earlier versions (Debian 12 has 3.40.1)
        // have the "WAL-reset bug": a checkpoint that starts just after another one copied
        // the whole log, while a commit restarts the log, can record frames as copied that
        // were not, and later checkpoints skip them: committed writes are lost and the file
        // can be corrupted (B2 shows both on 3.40.1). A FULL checkpoint holds the writer lock
        // throughout, so no commit can restart the log under it. (SQLite falls back to
        // PASSIVE if the lock stays busy for busy_timeout.)
        const bool full =
            !passive_checkpoints_ || ckpt_full_wanted_.exchange(false, std::memory_order_relaxed);
        std::optional<WriteGate::Checkpointing> hold;
        if (full) hold.emplace(gate_);
        if (sqlite3_wal_checkpoint_v2(conn->db, nullptr,
                                      full ? SQLITE_CHECKPOINT_FULL : SQLITE_CHECKPOINT_PASSIVE,
                                      nullptr, nullptr) == SQLITE_OK)
          checkpoints_.fetch_add(1, std::memory_order_relaxed);
      } catch (...) {
        conn.reset();  // try again on the next request
      }
      {
        refcache_sync::Lock lock(ckpt_mu_);
        ckpt_running_ = false;
        ckpt_rounds_.fetch_add(1, std::memory_order_relaxed);
      }
      ckpt_cv_.notify_all();
    }
  }

  // A checkpoint round is asked for and none runs, or the checkpointer must stop.
  bool checkpoint_asked() const REQUIRES(ckpt_mu_) {
    return (ckpt_requested_ && !ckpt_running_) || ckpt_stop_;
  }

  void stop_checkpointer() EXCLUDES(ckpt_mu_) {
    {
      refcache_sync::Lock lock(ckpt_mu_);
      ckpt_stop_ = true;
    }
    ckpt_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
  }

  std::unique_ptr<Connection> open_connection() {
    auto c = std::make_unique<Connection>();
    c->path = &path_;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path_.c_str(), &c->db, flags, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
      throw BackendUnavailable("sqlite " + path_ + ": cannot open database: " + msg);
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, static_cast<int>(opts_.busy_timeout.count()));
    if (!memory_) {
      // journal_mode=WAL needs a lock once per file; retried by the caller on BUSY.
      c->exec("PRAGMA journal_mode=WAL");
      std::string sync = "PRAGMA synchronous=" + opts_.synchronous;
      c->exec(sync.c_str());
      std::string mmap = "PRAGMA mmap_size=" + std::to_string(opts_.mmap_bytes);
      c->exec(mmap.c_str());
      if (opts_.background_checkpoint) {
        // Replaces SQLite's own auto-checkpoint (which is a WAL hook too).
        sqlite3_wal_hook(c->db, &Impl::on_wal_commit, this);
      } else {
        std::string ckpt =
            "PRAGMA wal_autocheckpoint=" + std::to_string(opts_.wal_autocheckpoint_pages);
        c->exec(ckpt.c_str());
      }
    }
    std::string cache = "PRAGMA cache_size=-" + std::to_string(opts_.cache_kib);
    c->exec(cache.c_str());
    return c;
  }

  // This thread's connection to the file, opened on its first use.
  Connection& thread_connection() {
    if (Connection* c = t_conns.find(instance_)) return *c;
    auto fresh = open_connection();
    Connection* c = fresh.get();
    {
      refcache_sync::Lock lock(registry_->mu);
      registry_->conns[std::this_thread::get_id()] = std::move(fresh);
    }
    t_conns.add(instance_, registry_, c);
    return *c;
  }

  // Runs `f(connection)` on this thread's connection to the file, or on the one connection
  // of ":memory:" with mem_mu_ held throughout; see attempts().
  template <class F>
  auto with_retry(F&& f) -> decltype(f(std::declval<Connection&>())) {
    ReaderLock closing(close_mu_);
    if (closed_) throw BackendUnavailable("sqlite " + path_ + ": backend is closed");
    if (!memory_) return attempts(f, [this]() -> Connection& { return thread_connection(); });
    refcache_sync::Lock serialized(mem_mu_);
    Connection& c = *mem_conn_;
    return attempts(f, [&c]() -> Connection& { return c; });
  }

  // Runs `f(get())`, again while SQLite reports BUSY/LOCKED (after rolling back what the
  // attempt began), with backoff, for up to lock_retry_budget; then BackendUnavailable.
  template <class F, class GetConnection>
  auto attempts(F& f, GetConnection get) -> decltype(f(std::declval<Connection&>())) {
    const auto deadline = std::chrono::steady_clock::now() + opts_.lock_retry_budget;
    std::chrono::microseconds backoff{500};
    thread_local std::minstd_rand rng{std::random_device{}()};
    for (;;) {
      Connection* c = nullptr;  // set once the attempt has its connection
      try {
        c = &get();
        return f(*c);
      } catch (const Busy&) {
        if (c) roll_back(*c);
        if (std::chrono::steady_clock::now() >= deadline) {
          ++errors_;
          throw BackendUnavailable("sqlite " + path_ + ": database stayed locked for " +
                                   std::to_string(opts_.lock_retry_budget.count()) + " ms");
        }
        ++busy_retries_;
        std::this_thread::sleep_for(backoff + std::chrono::microseconds(rng() % 500));
        backoff = std::min(backoff * 2, std::chrono::microseconds(50000));
      } catch (const CorruptEntry&) {
        ++errors_;
        throw;
      } catch (const BackendError&) {
        ++errors_;
        if (c) roll_back(*c);
        throw;
      }
    }
  }

  // Resets `c`'s statements and rolls back its open transaction, if any.
  static void roll_back(Connection& c) {
    c.reset_all();
    if (!sqlite3_get_autocommit(c.db)) sqlite3_exec(c.db, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  // After a write whose commit left the log at twice the checkpoint threshold: waits (at
  // most busy_timeout) until the checkpoint that commit asked for has run.
  void await_asked_checkpoint() EXCLUDES(ckpt_mu_) {
    if (t_backpressure.backend != this) return;
    const std::uint64_t round = t_backpressure.round;
    t_backpressure.backend = nullptr;
    const auto until = std::chrono::steady_clock::now() + opts_.busy_timeout;
    refcache_sync::UniqueLock lock(ckpt_mu_);
    while (!ckpt_stop_ && ckpt_rounds_.load(std::memory_order_relaxed) < round &&
           ckpt_cv_.wait_until(lock.native(), until) == std::cv_status::no_timeout) {
    }
  }

  // Runs `f(connection)` inside BEGIN IMMEDIATE ... COMMIT, with retries.
  template <class F>
  auto write(F&& f) -> decltype(f(std::declval<Connection&>())) {
    struct AfterWrite {
      Impl* im;
      ~AfterWrite() { im->await_asked_checkpoint(); }
    } after{this};
    WriteGate::Writing writing(gate_);
    return with_retry([&](Connection& c) -> decltype(f(std::declval<Connection&>())) {
      c.run(c.prepare(kBegin));
      try {
        if constexpr (std::is_void_v<decltype(f(c))>) {
          f(c);
          c.run(c.prepare(kCommit));
        } else {
          auto r = f(c);
          c.run(c.prepare(kCommit));
          return r;
        }
      } catch (...) {
        roll_back(c);
        throw;
      }
    });
  }

  // Runs `f(connection)` outside a transaction, with retries.
  template <class F>
  auto read(F&& f) -> decltype(f(std::declval<Connection&>())) {
    return with_retry(f);
  }

  // Deletes bindings and the entry `ref` (in a transaction). Returns the namespace if a row
  // was deleted.
  static std::optional<std::string> delete_entry(Connection& c, std::string_view ref) {
    std::optional<std::string> ns;
    sqlite3_stmt* q = c.prepare(kNsOf);
    bind_text(q, 1, ref);
    if (c.step(q)) ns = column_text(q, 0);
    sqlite3_reset(q);
    sqlite3_stmt* d = c.prepare(kDeleteBindingsOf);
    bind_text(d, 1, ref);
    c.run(d);
    sqlite3_stmt* e = c.prepare(kDeleteEntry);
    bind_text(e, 1, ref);
    c.run(e);
    return ns;
  }

  void maybe_purge() EXCLUDES(purge_mu_) {
    double t = now();
    double interval = static_cast<double>(opts_.purge_interval.count()) / 1000.0;
    {
      refcache_sync::Lock lock(purge_mu_);
      if (t - last_purge_ < interval) return;
      last_purge_ = t;
    }
    purge();
  }

  std::size_t purge() {
    double t = now();
    auto gone = write([&](Connection& c) {
      std::vector<std::pair<std::string, std::string>> removed;
      sqlite3_stmt* p = c.prepare(kPurgeEntries);
      sqlite3_bind_double(p, 1, t);
      while (c.step(p)) removed.emplace_back(column_text(p, 0), column_text(p, 1));
      sqlite3_reset(p);
      for (const char* sql : {kPurgeBindings, kPurgeClaims, kPurgeTasks}) {
        sqlite3_stmt* s = c.prepare(sql);
        sqlite3_bind_double(s, 1, t);
        c.run(s);
      }
      return removed;
    });
    expirations_ += gone.size();
    for (auto& [ref, ns] : gone) owner_.emit({ChangeKind::kExpired, ref, ns});
    return gone.size();
  }

  // Stops the checkpointer (before taking close_mu_: a writer may hold the gate the
  // checkpointer waits for while it waits for close_mu_), then waits for the operations in
  // progress and closes every connection. Idempotent.
  void close() EXCLUDES(close_mu_, ckpt_mu_) {
    std::call_once(stop_once_, [this] { stop_checkpointer(); });
    WriterLock lock(close_mu_);
    if (closed_) return;
    closed_ = true;
    std::unordered_map<std::thread::id, std::unique_ptr<Connection>> gone;
    {
      refcache_sync::Lock c(registry_->mu);
      gone.swap(registry_->conns);
    }
    mem_conn_.reset();
  }

  std::size_t open_connections() EXCLUDES(close_mu_) {
    if (memory_) {
      ReaderLock lock(close_mu_);
      return mem_conn_ ? 1 : 0;
    }
    refcache_sync::Lock lock(registry_->mu);
    return registry_->conns.size();
  }

  // Fixed at construction.
  SQLiteBackend& owner_;
  const SQLiteOptions opts_;
  const std::string path_;
  const bool memory_;
  const ClockFn clock_;
  const std::uint64_t instance_ = g_next_instance.fetch_add(1);

  // Held shared by every operation (with_retry) and exclusively by close(), which so waits
  // for the operations in progress; guards closed_ and the mem_conn_ pointer.
  SharedMutex close_mu_;
  bool closed_ GUARDED_BY(close_mu_) = false;
  // File databases: the connections of the threads that used this backend (each thread
  // finds its own through t_conns, without this registry's lock).
  std::shared_ptr<ConnectionRegistry> registry_ = std::make_shared<ConnectionRegistry>();
  // ":memory:": the one connection, made at construction; its statements and transactions
  // are used by one operation at a time, holding mem_mu_.
  refcache_sync::Mutex mem_mu_;
  std::unique_ptr<Connection> mem_conn_ GUARDED_BY(close_mu_) PT_GUARDED_BY(mem_mu_);
  // Guards last_purge_, so that one write at a time finds a purge due.
  refcache_sync::Mutex purge_mu_;
  double last_purge_ GUARDED_BY(purge_mu_) = 0;

  // The background checkpointer and what it is asked to do. ckpt_mu_ guards the requests
  // and the flags below; ckpt_cv_ (waiting on ckpt_mu_) wakes the checkpointer for a
  // request, a tail or the stop, and wakes writers waiting for a round to end.
  std::thread checkpointer_;
  std::once_flag stop_once_;
  refcache_sync::Mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_requested_ GUARDED_BY(ckpt_mu_) = false;
  bool ckpt_running_ GUARDED_BY(ckpt_mu_) = false;  // the checkpointer is checkpointing
  bool ckpt_stop_ GUARDED_BY(ckpt_mu_) = false;
  std::atomic<std::uint64_t> ckpt_rounds_{0};  // checkpoints attempted, failed or not
  WriteGate gate_;
  // Background checkpoints are PASSIVE (SQLite has the WAL-reset fix), except the FULL one a
  // commit asks for when the log reached twice the threshold.
  const bool passive_checkpoints_ =
      opts_.passive_checkpoints && sqlite3_libversion_number() >= 3051003;
  std::atomic<bool> ckpt_full_wanted_{false};
  std::atomic<std::uint64_t> checkpoints_{0};
  // The WAL's size in pages when a background checkpoint was last asked for (0: not since
  // the log last restarted).
  std::atomic<int> ckpt_asked_at_{0};
  // Commits seen by the WAL hook, and whether pages past the threshold were committed
  // without asking for a checkpoint (the tail the idle checkpoint copies).
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<bool> ckpt_tail_{false};

  std::atomic<std::uint64_t> gets_{0}, hits_{0}, misses_{0}, sets_{0}, deletes_{0};
  std::atomic<std::uint64_t> expirations_{0}, errors_{0}, busy_retries_{0};
};

SQLiteBackend::SQLiteBackend(SQLiteOptions options) {
  bool own_folder = false;
  path_ = options.path.empty() ? default_path(own_folder) : options.path;
  impl_ = std::make_unique<Impl>(*this, std::move(options), path_, own_folder);
}

SQLiteBackend::~SQLiteBackend() {
  if (impl_) impl_->close();
}

EntryPtr SQLiteBackend::get(std::string_view ref_id) {
  auto& im = *impl_;
  ++im.gets_;
  double t = im.now();
  struct Found {
    bool present = false;
    bool expired = false;
    std::string ns;
    EntryPtr entry;
  };
  Found f = im.read([&](Connection& c) {
    Found r;
    sqlite3_stmt* q = c.prepare(kGet);
    bind_text(q, 1, ref_id);
    if (!c.step(q)) return r;
    r.present = true;
    EntryRow row;
    row.value_json = column_text(q, 0);
    row.ns = column_text(q, 1);
    row.policy_json = column_text(q, 2);
    row.created_at = sqlite3_column_double(q, 3);
    row.expires_at = column_optional_double(q, 4);
    row.metadata_json = column_text(q, 5);
    sqlite3_reset(q);
    r.ns = row.ns;
    if (row.expires_at && t >= *row.expires_at) {
      r.expired = true;
      return r;
    }
    r.entry = std::make_shared<const CacheEntry>(decode_entry_row(ref_id, row));
    return r;
  });
  if (!f.present) {
    ++im.misses_;
    return nullptr;
  }
  if (f.expired) {
    ++im.misses_;
    bool deleted = im.write([&](Connection& c) {
      sqlite3_stmt* d = c.prepare(kDeleteExpiredEntry);
      bind_text(d, 1, ref_id);
      sqlite3_bind_double(d, 2, t);
      c.run(d);
      bool gone = sqlite3_changes(c.db) > 0;
      if (gone) {
        sqlite3_stmt* b = c.prepare(kDeleteBindingsOf);
        bind_text(b, 1, ref_id);
        c.run(b);
      }
      return gone;
    });
    if (deleted) {
      ++im.expirations_;
      emit({ChangeKind::kExpired, std::string(ref_id), f.ns});
    }
    return nullptr;
  }
  ++im.hits_;
  return f.entry;
}

std::optional<std::string> SQLiteBackend::set(std::string_view ref_id, EntryPtr entry,
                                              const KeyBinding* binding) {
  if (!entry) throw InvalidArgument("SQLiteBackend::set: null entry");
  auto& im = *impl_;
  EntryRow row = encode_entry_row(*entry);
  bool want_events = has_listeners();
  struct Outcome {
    bool overwrote = false;
    std::optional<std::string> displaced;
    std::string displaced_ns;
  };
  auto upsert = [&](Connection& c) {
    sqlite3_stmt* u = c.prepare(kUpsert);
    bind_text(u, 1, ref_id);
    bind_text_in_place(u, 2, row.value_json);
    bind_text(u, 3, row.ns);
    bind_text(u, 4, row.policy_json);
    sqlite3_bind_double(u, 5, row.created_at);
    bind_opt_double(u, 6, row.expires_at);
    bind_text(u, 7, row.metadata_json);
    c.run(u);
  };
  if (!binding && !want_events) {
    // One statement: atomic by itself, no explicit transaction needed.
    {
      WriteGate::Writing writing(im.gate_);
      im.with_retry([&](Connection& c) {
        upsert(c);
        return 0;
      });
    }
    im.await_asked_checkpoint();
    ++im.sets_;
    im.maybe_purge();
    return std::nullopt;
  }
  Outcome out = im.write([&](Connection& c) {
    Outcome o;
    if (want_events) {
      sqlite3_stmt* q = c.prepare(kNsOf);
      bind_text(q, 1, ref_id);
      o.overwrote = c.step(q);
      sqlite3_reset(q);
    }
    if (binding) {
      sqlite3_stmt* q = c.prepare(kBindingOf);
      bind_text(q, 1, binding->ns);
      bind_text(q, 2, binding->key);
      std::optional<std::string> prev;
      if (c.step(q)) prev = column_text(q, 0);
      sqlite3_reset(q);
      if (prev && *prev != ref_id) {
        if (auto ns = Impl::delete_entry(c, *prev)) {
          o.displaced = *prev;
          o.displaced_ns = *ns;
        }
      }
    }
    upsert(c);
    if (binding) {
      sqlite3_stmt* b = c.prepare(kUpsertBinding);
      bind_text(b, 1, binding->ns);
      bind_text(b, 2, binding->key);
      bind_text(b, 3, ref_id);
      bind_opt_double(b, 4, row.expires_at);
      c.run(b);
      sqlite3_stmt* d = c.prepare(kDeleteOtherBindings);
      bind_text(d, 1, ref_id);
      bind_text(d, 2, binding->ns);
      bind_text(d, 3, binding->key);
      c.run(d);
    }
    return o;
  });
  ++im.sets_;
  if (out.overwrote) emit({ChangeKind::kUpdated, std::string(ref_id), entry->ns});
  if (out.displaced) {
    ++im.deletes_;
    emit({ChangeKind::kDeleted, *out.displaced, out.displaced_ns});
  }
  im.maybe_purge();
  return out.displaced;
}

bool SQLiteBackend::remove(std::string_view ref_id) {
  auto& im = *impl_;
  auto ns = im.write([&](Connection& c) { return Impl::delete_entry(c, ref_id); });
  if (!ns) return false;
  ++im.deletes_;
  emit({ChangeKind::kDeleted, std::string(ref_id), *ns});
  return true;
}

bool SQLiteBackend::exists(std::string_view ref_id) {
  auto& im = *impl_;
  double t = im.now();
  return im.read([&](Connection& c) {
    sqlite3_stmt* q = c.prepare(kExists);
    bind_text(q, 1, ref_id);
    sqlite3_bind_double(q, 2, t);
    bool found = c.step(q);
    sqlite3_reset(q);
    return found;
  });
}

std::size_t SQLiteBackend::clear(std::optional<std::string_view> ns) {
  auto& im = *impl_;
  std::size_t n = im.write([&](Connection& c) {
    if (ns) {
      sqlite3_stmt* b = c.prepare(kClearNsBindings);
      bind_text(b, 1, *ns);
      c.run(b);
      sqlite3_stmt* d = c.prepare(kClearNs);
      bind_text(d, 1, *ns);
      c.run(d);
    } else {
      c.run(c.prepare(kClearAllBindings));
      c.run(c.prepare(kClearAll));
    }
    return static_cast<std::size_t>(sqlite3_changes(c.db));
  });
  im.deletes_ += n;
  emit({ChangeKind::kCleared, "", ns ? std::string(*ns) : std::string()});
  return n;
}

ListPage SQLiteBackend::list(std::optional<std::string_view> ns, std::string_view cursor,
                             std::size_t limit) {
  auto& im = *impl_;
  if (limit == 0) limit = 1;
  double t = im.now();
  sqlite3_int64 after_rowid = 0;
  if (ns && !cursor.empty()) {
    auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), after_rowid);
    if (ec != std::errc() || end != cursor.data() + cursor.size())
      throw InvalidArgument("invalid listing cursor");
  }
  ListPage page = im.read([&](Connection& c) {
    ListPage p;
    sqlite3_stmt* q;
    if (ns) {
      q = c.prepare(kListNs);
      bind_text(q, 1, *ns);
      sqlite3_bind_int64(q, 2, after_rowid);
      sqlite3_bind_double(q, 3, t);
      sqlite3_bind_int64(q, 4, static_cast<sqlite3_int64>(limit) + 1);
      std::vector<sqlite3_int64> rowids;
      while (c.step(q)) {
        rowids.push_back(sqlite3_column_int64(q, 0));
        p.ref_ids.push_back(column_text(q, 1));
      }
      sqlite3_reset(q);
      if (p.ref_ids.size() > limit) {
        p.ref_ids.pop_back();
        p.next_cursor = std::to_string(rowids[limit - 1]);
      }
      return p;
    } else {
      q = c.prepare(kListAll);
      bind_text(q, 1, cursor);
      sqlite3_bind_double(q, 2, t);
      sqlite3_bind_int64(q, 3, static_cast<sqlite3_int64>(limit) + 1);
    }
    while (c.step(q)) p.ref_ids.push_back(column_text(q, 0));
    sqlite3_reset(q);
    if (p.ref_ids.size() > limit) {
      p.ref_ids.pop_back();
      p.next_cursor = p.ref_ids.back();
    }
    return p;
  });
  return page;
}

std::optional<std::string> SQLiteBackend::find_by_key(std::string_view ns, std::string_view key) {
  auto& im = *impl_;
  double t = im.now();
  return im.read([&](Connection& c) -> std::optional<std::string> {
    sqlite3_stmt* q = c.prepare(kFindByKey);
    bind_text(q, 1, ns);
    bind_text(q, 2, key);
    sqlite3_bind_double(q, 3, t);
    std::optional<std::string> r;
    if (c.step(q)) r = column_text(q, 0);
    sqlite3_reset(q);
    return r;
  });
}

std::optional<KeyBinding> SQLiteBackend::binding_of(std::string_view ref_id) {
  return impl_->read([&](Connection& c) -> std::optional<KeyBinding> {
    sqlite3_stmt* q = c.prepare(kBindingsOfRef);
    bind_text(q, 1, ref_id);
    std::optional<KeyBinding> r;
    if (c.step(q)) r = KeyBinding{column_text(q, 0), column_text(q, 1)};
    sqlite3_reset(q);
    return r;
  });
}

bool SQLiteBackend::try_claim(std::string_view name, std::string_view owner,
                              std::chrono::milliseconds ttl) {
  auto& im = *impl_;
  double t = im.now();
  double until = t + static_cast<double>(ttl.count()) / 1000.0;
  return im.write([&](Connection& c) {
    sqlite3_stmt* q = c.prepare(kClaimOf);
    bind_text(q, 1, name);
    bool free = true;
    if (c.step(q)) {
      std::string holder = column_text(q, 0);
      double exp = sqlite3_column_double(q, 1);
      free = holder == owner || exp <= t;
    }
    sqlite3_reset(q);
    if (!free) return false;
    sqlite3_stmt* u = c.prepare(kUpsertClaim);
    bind_text(u, 1, name);
    bind_text(u, 2, owner);
    sqlite3_bind_double(u, 3, until);
    c.run(u);
    return true;
  });
}

void SQLiteBackend::release_claim(std::string_view name, std::string_view owner) {
  impl_->write([&](Connection& c) {
    sqlite3_stmt* d = c.prepare(kReleaseClaim);
    bind_text(d, 1, name);
    bind_text(d, 2, owner);
    c.run(d);
  });
}

std::optional<std::string> SQLiteBackend::claim_holder(std::string_view name) {
  auto& im = *impl_;
  double t = im.now();
  return im.read([&](Connection& c) -> std::optional<std::string> {
    sqlite3_stmt* q = c.prepare(kClaimOf);
    bind_text(q, 1, name);
    std::optional<std::string> r;
    if (c.step(q) && sqlite3_column_double(q, 1) > t) r = column_text(q, 0);
    sqlite3_reset(q);
    return r;
  });
}

void SQLiteBackend::put_task(const TaskRecord& task) {
  std::string text = jsonio::to_string(to_json(task));
  impl_->write([&](Connection& c) {
    sqlite3_stmt* u = c.prepare(kPutTask);
    bind_text(u, 1, task.ref_id);
    bind_text(u, 2, text);
    bind_opt_double(u, 3, task.expires_at);
    c.run(u);
  });
}

std::optional<TaskRecord> SQLiteBackend::get_task(std::string_view ref_id) {
  auto& im = *impl_;
  double t = im.now();
  auto text = im.read([&](Connection& c) -> std::optional<std::string> {
    sqlite3_stmt* q = c.prepare(kGetTask);
    bind_text(q, 1, ref_id);
    std::optional<std::string> r;
    if (c.step(q)) {
      auto exp = column_optional_double(q, 1);
      if (!exp || t < *exp) r = column_text(q, 0);
    }
    sqlite3_reset(q);
    return r;
  });
  if (!text) return std::nullopt;
  std::error_code ec;
  jsonio::ParseLimits limits;
  limits.max_depth = kMaxStoredJsonDepth;
  auto v = jsonio::parse(*text, ec, limits);
  if (ec) throw CorruptEntry("corrupt task record '" + std::string(ref_id) + "': not JSON");
  try {
    return task_from_json(v);
  } catch (const std::exception& e) {
    throw CorruptEntry("corrupt task record '" + std::string(ref_id) + "': " + e.what());
  }
}

bool SQLiteBackend::remove_task(std::string_view ref_id) {
  return impl_->write([&](Connection& c) {
    sqlite3_stmt* d = c.prepare(kDeleteTask);
    bind_text(d, 1, ref_id);
    c.run(d);
    return sqlite3_changes(c.db) > 0;
  });
}

Health SQLiteBackend::health() {
  try {
    impl_->read([&](Connection& c) {
      c.exec("SELECT 1");
      return 0;
    });
    return {true, "ok"};
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
}

BackendStats SQLiteBackend::stats() const {
  auto& im = *impl_;
  BackendStats s;
  s.gets = im.gets_;
  s.hits = im.hits_;
  s.misses = im.misses_;
  s.sets = im.sets_;
  s.deletes = im.deletes_;
  s.expirations = im.expirations_;
  s.errors = im.errors_;
  try {
    s.entries = im.read([&](Connection& c) {
      sqlite3_stmt* q = c.prepare(kCount);
      std::int64_t n = c.step(q) ? sqlite3_column_int64(q, 0) : -1;
      sqlite3_reset(q);
      return n;
    });
  } catch (const Error&) {
    s.entries = -1;
  }
  return s;
}

void SQLiteBackend::close() {
  impl_->close();
}

std::size_t SQLiteBackend::purge_expired() {
  return impl_->purge();
}

std::string_view SQLiteBackend::checkpoint_mode() const {
  if (impl_->memory_ || !impl_->opts_.background_checkpoint) return "off";
  return impl_->passive_checkpoints_ ? "passive" : "full";
}

std::string_view SQLiteBackend::sqlite_version() {
  return sqlite3_libversion();
}

std::uint64_t SQLiteBackend::checkpoint_count() const {
  return impl_->checkpoints_.load(std::memory_order_relaxed);
}

std::size_t SQLiteBackend::open_connections() const {
  return impl_->open_connections();
}

}  // namespace refcache
