// SQLiteBackend specifics: path resolution, exact schema, WAL, expiry clean-up, bad rows,
// unwritable paths, lock contention.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC bug 105329
#endif

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "integration/backend_fixture.hpp"
#include "integration/test_util.hpp"
#include "refcache/errors.hpp"

namespace refcache::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

// Sets environment variables for one test and restores them afterwards.
class ScopedEnv {
 public:
  void set(const char* name, const char* value) {
    const char* old = std::getenv(name);
    saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second)
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      else
        ::unsetenv(it->first.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir("sqlite-spec"); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string db_path() const { return (dir_ / "cache.db").string(); }
  std::filesystem::path dir_;
};

TEST_F(SqliteTest, PathResolutionOrder) {
  ScopedEnv env;
  std::string explicit_path = (dir_ / "a" / "b" / "explicit.db").string();
  std::string env_path = (dir_ / "env" / "env.db").string();
  env.set("MCP_REFCACHE_DB_PATH", env_path.c_str());
  env.set("XDG_CACHE_HOME", (dir_ / "xdg").c_str());
  env.set("HOME", (dir_ / "home").c_str());
  {
    SQLiteOptions o;
    o.path = explicit_path;
    SQLiteBackend b(o);
    EXPECT_EQ(b.path(), explicit_path);
    EXPECT_TRUE(std::filesystem::exists(explicit_path));  // parents created
  }
  {
    SQLiteBackend b;
    EXPECT_EQ(b.path(), env_path);
    EXPECT_TRUE(std::filesystem::exists(env_path));
  }
  env.set("MCP_REFCACHE_DB_PATH", nullptr);
  EXPECT_EQ(default_sqlite_path(), (dir_ / "xdg" / "mcp-refcache" / "cache.db").string());
  {
    SQLiteBackend b;
    EXPECT_TRUE(std::filesystem::exists(dir_ / "xdg" / "mcp-refcache" / "cache.db"));
  }
  env.set("XDG_CACHE_HOME", nullptr);
  EXPECT_EQ(default_sqlite_path(),
            (dir_ / "home" / ".cache" / "mcp-refcache" / "cache.db").string());
  {
    SQLiteBackend b;
    EXPECT_TRUE(std::filesystem::exists(dir_ / "home" / ".cache" / "mcp-refcache" / "cache.db"));
  }
  env.set("MCP_REFCACHE_DB_PATH", ":memory:");
  SQLiteBackend m;
  EXPECT_EQ(m.path(), ":memory:");
}

TEST_F(SqliteTest, SchemaAndIndexesAreThoseOfTheReference) {
  { SQLiteBackend b(SQLiteOptions{.path = db_path()}); }
  RawSqlite ours(db_path());
  // A copy, so that opening it never touches the source tree.
  std::filesystem::copy_file(std::string(REFCACHE_FIXTURES_DIR) + "/sqlite/cache.db",
                             dir_ / "python.db");
  RawSqlite theirs((dir_ / "python.db").string());
  auto cols = [](RawSqlite& db) { return db.query("PRAGMA table_info(cache_entries)"); };
  auto expected =
      std::vector<std::vector<std::string>>{{"0", "key", "TEXT", "0", "NULL", "1"},
                                            {"1", "value_json", "TEXT", "1", "NULL", "0"},
                                            {"2", "namespace", "TEXT", "1", "NULL", "0"},
                                            {"3", "policy_json", "TEXT", "1", "NULL", "0"},
                                            {"4", "created_at", "REAL", "1", "NULL", "0"},
                                            {"5", "expires_at", "REAL", "0", "NULL", "0"},
                                            {"6", "metadata_json", "TEXT", "1", "NULL", "0"}};
  EXPECT_EQ(cols(ours), expected);
  EXPECT_EQ(cols(theirs), expected);
  auto indexes = [](RawSqlite& db) {
    return db.query(
        "SELECT name, tbl_name FROM sqlite_master WHERE type='index' AND tbl_name='cache_entries' "
        "AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name");
  };
  EXPECT_EQ(indexes(ours), indexes(theirs));
  EXPECT_EQ(ours.query("PRAGMA index_info(idx_namespace)")[0][2], "namespace");
  EXPECT_EQ(ours.query("PRAGMA index_info(idx_expires_at)")[0][2], "expires_at");
  EXPECT_EQ(ours.query("PRAGMA journal_mode")[0][0], "wal");
  // Our own tables are apart from the reference's.
  auto tables = ours.query("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name");
  std::vector<std::vector<std::string>> want_tables = {
      {"cache_entries"}, {"refcache_claims"}, {"refcache_key_bindings"}, {"refcache_tasks"}};
  EXPECT_EQ(tables, want_tables);
}

TEST_F(SqliteTest, ExpiredRowsAreDeleted) {
  SQLiteBackend b(SQLiteOptions{.path = db_path()});
  std::vector<ChangeEvent> events;
  b.subscribe([&](const ChangeEvent& e) { events.push_back(e); });
  KeyBinding bind{"ns", "k"};
  b.set("gone:1", make_entry(json::value(1), "ns", 0.1), &bind);
  b.set("gone:2", make_entry(json::value(2), "ns", 0.1));
  b.set("stay:1", make_entry(json::value(3), "ns", 3600));
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(b.get("gone:1"), nullptr);  // lazily deleted on read
  RawSqlite raw(db_path());
  EXPECT_EQ(raw.query("SELECT COUNT(*) FROM cache_entries WHERE key='gone:1'")[0][0], "0");
  EXPECT_EQ(raw.query("SELECT COUNT(*) FROM refcache_key_bindings")[0][0], "0");
  EXPECT_EQ(b.purge_expired(), 1u);  // gone:2
  EXPECT_EQ(raw.query("SELECT key FROM cache_entries"),
            (std::vector<std::vector<std::string>>{{"stay:1"}}));
  int expired = 0;
  for (auto& e : events) expired += e.kind == ChangeKind::kExpired;
  EXPECT_EQ(expired, 2);
}

TEST_F(SqliteTest, PurgeRunsByItselfOnWrites) {
  SQLiteBackend b(SQLiteOptions{.path = db_path(), .purge_interval = 50ms});
  b.set("old:1", make_entry(json::value(1), "ns", 0.05));
  std::this_thread::sleep_for(150ms);
  b.set("new:1", make_entry(json::value(1), "ns"));
  RawSqlite raw(db_path());
  EXPECT_EQ(raw.query("SELECT COUNT(*) FROM cache_entries WHERE key='old:1'")[0][0], "0");
}

TEST_F(SqliteTest, MalformedRowsFailAloneOthersStayReadable) {
  SQLiteBackend b(SQLiteOptions{.path = db_path()});
  b.set("good:1", make_entry(json::value("fine"), "bad"));
  {
    RawSqlite raw(db_path());
    const std::string policy =
        R"({"user_permissions": 31, "agent_permissions": 17, "owner": null,)"
        R"( "owner_permissions": 31, "allowed_actors": null, "denied_actors": null,)"
        R"( "bound_session": null})";
    raw.exec(
        "INSERT INTO cache_entries VALUES ('bad:policy-text', '1', 'bad', 'not json', 1.0, "
        "NULL, '{}')");
    raw.exec(
        "INSERT INTO cache_entries VALUES ('bad:policy-type', '1', 'bad', "
        "'{\"user_permissions\": \"all\"}', 1.0, NULL, '{}')");
    raw.exec(
        "INSERT INTO cache_entries VALUES ('bad:policy-array', '1', 'bad', '[1,2]', 1.0, "
        "NULL, '{}')");
    raw.exec("INSERT INTO cache_entries VALUES ('bad:value', '{broken', 'bad', '" + policy +
             "', 1.0, NULL, '{}')");
    raw.exec("INSERT INTO cache_entries VALUES ('bad:meta', '1', 'bad', '" + policy +
             "', 1.0, NULL, '[1]')");
  }
  for (const char* id :
       {"bad:policy-text", "bad:policy-type", "bad:policy-array", "bad:value", "bad:meta"}) {
    try {
      b.get(id);
      ADD_FAILURE() << id << " decoded";
    } catch (const CorruptEntry& e) {
      EXPECT_NE(std::string(e.what()).find(id), std::string::npos) << e.what();
    }
  }
  auto good = b.get("good:1");
  ASSERT_NE(good, nullptr);
  EXPECT_EQ(good->value, json::value("fine"));
  EXPECT_EQ(b.keys("bad").size(), 6u);  // listing does not decode
  EXPECT_TRUE(b.remove("bad:value"));   // a bad row can be removed
  EXPECT_EQ(b.clear("bad"), 5u);
}

TEST_F(SqliteTest, UnwritablePathIsAClearError) {
  std::ofstream(dir_ / "a-file") << "x";
  SQLiteOptions o;
  o.path = (dir_ / "a-file" / "sub" / "cache.db").string();
  try {
    SQLiteBackend b(o);
    FAIL() << "opened";
  } catch (const BackendUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find(o.path), std::string::npos) << e.what();
  }
  // A file that is not a database.
  std::ofstream(dir_ / "garbage.db") << std::string(4096, 'g');
  o.path = (dir_ / "garbage.db").string();
  try {
    SQLiteBackend b(o);
    FAIL() << "opened garbage";
  } catch (const BackendError& e) {
    EXPECT_NE(std::string(e.what()).find("garbage.db"), std::string::npos) << e.what();
  }
}

TEST_F(SqliteTest, WritesWaitOutAnotherWritersLock) {
  SQLiteBackend b(SQLiteOptions{.path = db_path(), .busy_timeout = 20ms});
  RawSqlite raw(db_path());
  raw.exec("BEGIN IMMEDIATE");
  raw.exec("INSERT INTO refcache_claims VALUES ('x', 'y', 1e12)");
  std::thread releaser([&] {
    std::this_thread::sleep_for(400ms);
    raw.exec("COMMIT");
  });
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_NO_THROW(b.set("after-lock", make_entry(json::value(1))));
  auto waited = std::chrono::steady_clock::now() - t0;
  releaser.join();
  EXPECT_GE(waited, 300ms);  // it really waited for the lock (retrying past busy_timeout)
  EXPECT_NE(b.get("after-lock"), nullptr);
}

TEST_F(SqliteTest, ALockHeldBeyondTheBudgetIsBackendUnavailable) {
  SQLiteBackend b(
      SQLiteOptions{.path = db_path(), .busy_timeout = 20ms, .lock_retry_budget = 150ms});
  RawSqlite raw(db_path());
  raw.exec("BEGIN IMMEDIATE");
  raw.exec("INSERT INTO refcache_claims VALUES ('x', 'y', 1e12)");
  try {
    b.set("blocked", make_entry(json::value(1)));
    ADD_FAILURE() << "wrote through an exclusive lock";
  } catch (const BackendUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("locked"), std::string::npos);
  }
  raw.exec("ROLLBACK");
  EXPECT_NO_THROW(b.set("unblocked", make_entry(json::value(1))));
}

TEST_F(SqliteTest, ReopenKeepsEverything) {
  {
    SQLiteBackend b(SQLiteOptions{.path = db_path()});
    KeyBinding bind{"p", "k"};
    b.set("keep:1", make_entry(json::value(1), "p"), &bind);
    TaskRecord t;
    t.ref_id = "keep:1";
    t.status = TaskStatus::kComplete;
    b.put_task(t);
  }
  SQLiteBackend b(SQLiteOptions{.path = db_path()});
  EXPECT_NE(b.get("keep:1"), nullptr);
  EXPECT_EQ(b.find_by_key("p", "k"), std::optional<std::string>("keep:1"));
  ASSERT_TRUE(b.get_task("keep:1").has_value());
  EXPECT_EQ(b.get_task("keep:1")->status, TaskStatus::kComplete);
}

TEST_F(SqliteTest, ConnectionsOfEndedThreadsAreClosed) {
  SQLiteBackend b(SQLiteOptions{.path = db_path()});
  b.set("conn:1", make_entry(json::value(1)));
  auto open_fds = [] {
    return std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                         std::filesystem::directory_iterator{});
  };
  auto round_of_threads = [&] {
    std::vector<std::thread> ts;
    for (int t = 0; t < 8; ++t) ts.emplace_back([&] { EXPECT_NE(b.get("conn:1"), nullptr); });
    for (auto& th : ts) th.join();
  };
  // SQLite keeps descriptors of closed connections for reuse while another connection holds
  // locks on the file (at most as many as ran at once: 8 threads x 3 files). Without the
  // clean-up, 400 threads would leave 400 connections (1,200 descriptors) open.
  round_of_threads();
  auto before = open_fds();
  for (int round = 0; round < 50; ++round) round_of_threads();
  EXPECT_EQ(b.open_connections(), 1u);  // this thread's only
  EXPECT_LE(open_fds(), before + 24);   // 400 threads came and went
}

TEST_F(SqliteTest, TheWalIsCheckpointedInTheBackground) {
  SQLiteBackend b(SQLiteOptions{.path = db_path(), .wal_autocheckpoint_pages = 100});
  auto e = make_entry(json::value(std::string(1024, 'x')));
  for (int i = 0; i < 400; ++i) b.set("wal:" + std::to_string(i), e);  // ~4 pages each
  // The checkpoint copies pages from the WAL into the database file, which grows.
  bool grown = false;
  for (int i = 0; i < 300 && !grown; ++i) {
    grown = std::filesystem::file_size(db_path()) > 200 * 1024;
    if (!grown) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(grown) << std::filesystem::file_size(db_path());
  EXPECT_NE(b.get("wal:399"), nullptr);
  RawSqlite raw(db_path());
  EXPECT_EQ(raw.query("PRAGMA integrity_check")[0][0], "ok");
}

// Under sustained writes a background checkpoint never sees the log whole (the writer adds
// frames while it runs), so the log never restarts by itself: it must stay bounded all the
// same, and checkpoints (two fsyncs each) must come per batch of pages, not per commit.
TEST_F(SqliteTest, TheWalStaysBoundedUnderSustainedWrites) {
  constexpr int kPages = 100;
  SQLiteBackend b(SQLiteOptions{.path = db_path(), .wal_autocheckpoint_pages = kPages});
  auto e = make_entry(json::value(std::string(1024, 'x')));
  const std::string wal = db_path() + "-wal";
  std::uintmax_t largest = 0;
  for (int i = 0; i < 3000; ++i) {
    b.set("wal:" + std::to_string(i), e);  // ~4 pages each: 12,000 frames in all
    if (i % 50 == 0) largest = std::max(largest, std::filesystem::file_size(wal));
  }
  largest = std::max(largest, std::filesystem::file_size(wal));
  // 2 x kPages frames and one commit's worth, of 4,096 bytes and a 24-byte header each.
  EXPECT_LE(largest, (2 * kPages + 16) * (4096 + 24) + 32);
  EXPECT_GE(b.checkpoint_count(), 1u);
  EXPECT_LE(b.checkpoint_count(), 12000u / (kPages / 4) + 8);
  EXPECT_NE(b.get("wal:2999"), nullptr);
  RawSqlite raw(db_path());
  EXPECT_EQ(raw.query("PRAGMA integrity_check")[0][0], "ok");
}

// A few writes, far below the checkpoint threshold: once they pause, the background
// checkpointer copies them into the database file anyway (readers then read through its
// map instead of looking pages up in the log).
TEST_F(SqliteTest, ASmallLogIsCopiedOnceWritesPause) {
  SQLiteBackend b(SQLiteOptions{.path = db_path()});
  auto e = make_entry(json::value(std::string(1024, 's')));
  for (int i = 0; i < 20; ++i) b.set("small:" + std::to_string(i), e);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (b.checkpoint_count() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(b.checkpoint_count(), 1u);
  EXPECT_NE(b.get("small:19"), nullptr);
}

// passive_checkpoints = false: every background checkpoint FULL, with this process's
// writers held at the gate; four writer threads, a small threshold (many checkpoints):
// nothing lost, the WAL bounded, the file whole.
TEST_F(SqliteTest, WithFullCheckpointsFourWritersLoseNothingAndTheWalStaysBounded) {
  constexpr int kPages = 100;
  SQLiteBackend b(SQLiteOptions{
      .path = db_path(), .wal_autocheckpoint_pages = kPages, .passive_checkpoints = false});
  EXPECT_EQ(b.checkpoint_mode(), "full");
  auto e = make_entry(json::value(std::string(1024, 'f')));
  const std::string wal = db_path() + "-wal";
  std::atomic<std::uintmax_t> largest{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        b.set("full:" + std::to_string(t) + ":" + std::to_string(i), e);
        if (i % 50 == 0) {
          std::error_code ec;
          auto size = std::filesystem::file_size(wal, ec);
          if (!ec && size > largest) largest = size;
        }
      }
    });
  for (auto& w : writers) w.join();
  EXPECT_GE(b.checkpoint_count(), 4u);
  // 2 x kPages frames, and one commit's worth from each of the four writers.
  EXPECT_LE(largest.load(), (2 * kPages + 4 * 16) * (4096 + 24) + 32);
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 500; ++i)
      ASSERT_NE(b.get("full:" + std::to_string(t) + ":" + std::to_string(i)), nullptr)
          << t << ":" << i;
  RawSqlite raw(db_path());
  EXPECT_EQ(raw.query("PRAGMA integrity_check")[0][0], "ok");
}

// scripts/setup builds SQLite 3.54.1, which has the WAL-reset fix (3.51.3), and the build
// links it rather than Debian 12's 3.40.1: only then are background checkpoints PASSIVE.
TEST_F(SqliteTest, BackgroundCheckpointsArePassiveOnlyWithTheWalResetFix) {
  const bool fixed = sqlite3_libversion_number() >= 3051003;
  EXPECT_TRUE(fixed) << "linked SQLite " << SQLiteBackend::sqlite_version()
                     << " has the WAL-reset bug; scripts/build-sqlite builds 3.54.1";
  EXPECT_EQ(SQLiteBackend::sqlite_version(), std::string_view(sqlite3_libversion()));
  SQLiteBackend file(SQLiteOptions{.path = db_path()});
  EXPECT_EQ(file.checkpoint_mode(), fixed ? "passive" : "full");
  SQLiteBackend own(SQLiteOptions{.path = db_path() + ".own", .background_checkpoint = false});
  EXPECT_EQ(own.checkpoint_mode(), "off");
  SQLiteBackend mem(SQLiteOptions{.path = ":memory:"});
  EXPECT_EQ(mem.checkpoint_mode(), "off");
}

TEST_F(SqliteTest, CorruptTaskRecordIsCorruptEntry) {
  SQLiteBackend b(SQLiteOptions{.path = db_path()});
  {
    RawSqlite raw(db_path());
    raw.exec("INSERT INTO refcache_tasks VALUES ('t:bad', 'nope', NULL)");
  }
  EXPECT_THROW(b.get_task("t:bad"), CorruptEntry);
}

}  // namespace
}  // namespace refcache::testing
