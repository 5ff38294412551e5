// The coalescing WAL VFS (src/refcache/backends/sqlite_wal_vfs.*): it buffers a
// transaction's log frames and writes them at the commit frame. These tests check what a
// buffer could break: a commit must be in the file before any other connection can see it;
// a writer that dies loses only its uncommitted transaction; a log write that fails makes
// the commit fail and publishes nothing.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "integration/redis_server.hpp"  // make_temp_dir
#include "integration/test_util.hpp"
#include "refcache/backends/sqlite_wal_vfs.hpp"

namespace refcache::testing {
namespace {

// A raw connection, through the coalescing VFS or SQLite's default one.
class Db {
 public:
  Db(const std::string& path, bool coalescing) {
    const char* vfs = coalescing ? detail::coalescing_wal_vfs() : nullptr;
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs) !=
        SQLITE_OK)
      throw std::runtime_error("open " + path + ": " + sqlite3_errmsg(db_));
    sqlite3_busy_timeout(db_, 5000);
  }
  ~Db() { sqlite3_close_v2(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  int exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  std::string error() const { return sqlite3_errmsg(db_); }

  // Inserts row `id` with a blob of `bytes` bytes, each the byte `fill`.
  int insert(int id, int bytes, char fill) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, "INSERT INTO t (id, body) VALUES (?1, ?2)", -1, &st, nullptr);
    std::string body(static_cast<std::size_t>(bytes), fill);
    sqlite3_bind_int(st, 1, id);
    sqlite3_bind_blob(st, 2, body.data(), bytes, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
  }

  // Row `id`'s blob, or "<absent>".
  std::string body(int id) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, "SELECT body FROM t WHERE id = ?1", -1, &st, nullptr);
    sqlite3_bind_int(st, 1, id);
    std::string out = "<absent>";
    if (sqlite3_step(st) == SQLITE_ROW)
      out.assign(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                 static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
    sqlite3_finalize(st);
    return out;
  }

  std::string text(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out = t ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(st);
    return out;
  }

  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

class WalVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("walvfs");
    path_ = (dir_ / "t.db").string();
    Db db(path_, true);
    ASSERT_EQ(db.exec("PRAGMA journal_mode=WAL"), SQLITE_OK);
    ASSERT_EQ(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)"), SQLITE_OK);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `child` in a forked process and returns its exit code (-signal if killed).
  template <class F>
  static int in_child(F&& child) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(child());
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(WalVfsTest, NamesItselfInFrontOfTheDefaultVfs) {
  Db db(path_, true);
  char* name = nullptr;
  ASSERT_EQ(sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_VFSNAME, &name), SQLITE_OK);
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(std::string(name),
            std::string("refcache-coalescing-wal/") + sqlite3_vfs_find(nullptr)->zName);
  sqlite3_free(name);
}

// After each commit, another connection (SQLite's own VFS, so nothing of ours in the read
// path) reads the row at once: commits of one page, of tens of pages, and of more than the
// VFS's 256 KiB buffer, which it writes in pieces.
TEST_F(WalVfsTest, EveryCommitIsInTheFileBeforeAnotherConnectionCanSeeIt) {
  Db writer(path_, true);
  Db reader(path_, false);
  ASSERT_EQ(writer.exec("PRAGMA wal_autocheckpoint=50"), SQLITE_OK);  // the log restarts often
  for (int i = 0; i < 600; ++i) {
    const int bytes = i % 100 == 7 ? 700 * 1024 : (i % 10 == 3 ? 60 * 1024 : 100 + i);
    const char fill = static_cast<char>('a' + i % 26);
    ASSERT_EQ(writer.insert(i, bytes, fill), SQLITE_OK) << writer.error() << " row " << i;
    ASSERT_EQ(reader.body(i), std::string(static_cast<std::size_t>(bytes), fill)) << "row " << i;
  }
  // Several rows in one transaction, then an update of the same pages in the next.
  ASSERT_EQ(writer.exec("BEGIN"), SQLITE_OK);
  for (int i = 1000; i < 1100; ++i) ASSERT_EQ(writer.insert(i, 3000, 'x'), SQLITE_OK);
  ASSERT_EQ(writer.exec("COMMIT"), SQLITE_OK);
  ASSERT_EQ(writer.exec("UPDATE t SET body = zeroblob(3000) WHERE id >= 1000"), SQLITE_OK);
  EXPECT_EQ(reader.body(1050), std::string(3000, '\0'));
  EXPECT_EQ(reader.text("PRAGMA integrity_check"), "ok");
}

// A writer killed in the middle of a transaction whose frames it had partly buffered (a
// small page cache makes SQLite spill them to the log before the commit): the committed
// rows are all there, intact, and the killed transaction left nothing.
TEST_F(WalVfsTest, AKilledWriterLosesOnlyItsUncommittedTransaction) {
  const int code = in_child([&] {
    Db db(path_, true);
    if (db.exec("PRAGMA cache_size=8") != SQLITE_OK) return 10;
    for (int i = 0; i < 100; ++i)
      if (db.insert(i, 5000, 'c') != SQLITE_OK) return 11;
    if (db.exec("BEGIN") != SQLITE_OK) return 12;
    for (int i = 100; i < 160; ++i)
      if (db.insert(i, 20000, 'u') != SQLITE_OK) return 13;
    ::kill(::getpid(), SIGKILL);  // no COMMIT, no close
    return 14;
  });
  ASSERT_EQ(code, -SIGKILL);
  Db db(path_, false);
  EXPECT_EQ(db.text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(db.text("SELECT count(*) FROM t"), "100");
  EXPECT_EQ(db.text("SELECT count(*) FROM t WHERE body = zeroblob(0) OR length(body) != 5000"),
            "0");
  EXPECT_EQ(db.body(42), std::string(5000, 'c'));
}

// A transaction that spills frames to the log (small page cache) and then changes those
// pages again: SQLite overwrites its own frames and rewrites the checksums after the commit
// frame. The writer is then killed and the -shm file removed, so the next connection
// rebuilds the index from the log, checking every frame's checksum: all rows must be back.
TEST_F(WalVfsTest, ChecksumsRewrittenAfterTheCommitSurviveRecovery) {
  const int code = in_child([&] {
    Db db(path_, true);
    if (db.exec("PRAGMA cache_size=8") != SQLITE_OK) return 10;
    if (db.exec("PRAGMA wal_autocheckpoint=0") != SQLITE_OK) return 11;
    if (db.exec("BEGIN") != SQLITE_OK) return 12;
    for (int i = 0; i < 300; ++i)
      if (db.insert(i, 3000, 'r') != SQLITE_OK) return 13;
    if (db.exec("UPDATE t SET body = zeroblob(2000) WHERE id < 100") != SQLITE_OK) return 14;
    if (db.exec("COMMIT") != SQLITE_OK) return 15;
    ::kill(::getpid(), SIGKILL);  // no checkpoint, no close
    return 16;
  });
  ASSERT_EQ(code, -SIGKILL);
  std::filesystem::remove(path_ + "-shm");
  Db db(path_, false);
  EXPECT_EQ(db.text("SELECT count(*) FROM t"), "300");
  EXPECT_EQ(db.body(50), std::string(2000, '\0'));
  EXPECT_EQ(db.body(250), std::string(3000, 'r'));
  EXPECT_EQ(db.text("PRAGMA integrity_check"), "ok");
}

// With synchronous=FULL every commit also syncs the log (the VFS writes its buffer first).
TEST_F(WalVfsTest, CommitsWithSynchronousFullAreReadAtOnce) {
  Db writer(path_, true);
  Db reader(path_, false);
  ASSERT_EQ(writer.exec("PRAGMA synchronous=FULL"), SQLITE_OK);
  for (int i = 0; i < 60; ++i) {
    ASSERT_EQ(writer.insert(i, 5000 + i, 'f'), SQLITE_OK) << writer.error();
    ASSERT_EQ(reader.body(i), std::string(static_cast<std::size_t>(5000 + i), 'f'));
  }
  EXPECT_EQ(reader.text("PRAGMA integrity_check"), "ok");
}

// The file size limit makes the commit's one write fail (EFBIG): the commit reports an
// error, no connection ever sees the row, and the database stays whole and writable.
TEST_F(WalVfsTest, AFailedLogWriteFailsTheCommitAndPublishesNothing) {
  const int code = in_child([&] {
    Db db(path_, true);
    if (db.exec("PRAGMA wal_autocheckpoint=0") != SQLITE_OK) return 10;
    for (int i = 0; i < 20; ++i)
      if (db.insert(i, 2000, 'k') != SQLITE_OK) return 11;
    const auto wal_size = std::filesystem::file_size(path_ + "-wal");
    if (::signal(SIGXFSZ, SIG_IGN) == SIG_ERR) return 19;
    rlimit limit{wal_size + 16 * 1024UL, RLIM_INFINITY};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 12;
    // ~60 KiB of frames: within the VFS's 96 KiB buffer, so the commit frame's write is the one.
    if (db.insert(20, 60 * 1024, 'F') == SQLITE_OK) return 13;  // must fail
    Db other(path_, false);
    if (other.body(20) != "<absent>") return 14;
    if (db.body(20) != "<absent>") return 15;
    limit.rlim_cur = RLIM_INFINITY;
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) return 16;
    if (db.insert(21, 2000, 'a') != SQLITE_OK) return 17;
    if (other.body(21) != std::string(2000, 'a')) return 18;
    return 0;
  });
  ASSERT_EQ(code, 0) << "the child's step that failed (see the test's return codes)";
  Db db(path_, false);
  EXPECT_EQ(db.text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(db.text("SELECT count(*) FROM t"), "21");
  EXPECT_EQ(db.body(20), "<absent>");
  EXPECT_EQ(db.body(7), std::string(2000, 'k'));
}

}  // namespace
}  // namespace refcache::testing
