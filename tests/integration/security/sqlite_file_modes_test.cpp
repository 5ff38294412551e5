// The SQLite cache holds every cached value: its default folder and files (the database,
// -wal and -shm) are the owner's alone (0700 / 0600), whether the folder existed or not,
// under a permissive umask; an existing mode that is stricter is never loosened.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "integration/backend_fixture.hpp"
#include "refcache/sqlite_backend.hpp"

namespace refcache::testing {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0xFFFF;
  return st.st_mode & 07777;
}

// Sets (or unsets) an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class SqliteFileModes : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir("modes");
    old_umask_ = ::umask(022);  // what most shells give: files 0644, folders 0755
  }
  void TearDown() override {
    ::umask(old_umask_);
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Opens the default cache (XDG_CACHE_HOME = root_/xdg), writes an entry so that the -wal
  // and -shm files exist, and checks every mode while the connection is open.
  void open_default_and_expect(unsigned folder_mode, unsigned file_mode) {
    ScopedEnv no_explicit("MCP_REFCACHE_DB_PATH", std::nullopt);
    ScopedEnv xdg("XDG_CACHE_HOME", (root_ / "xdg").string());
    SQLiteBackend backend{SQLiteOptions{}};
    ASSERT_EQ(fs::path(backend.path()), db());
    backend.set("m:0000000000000001", make_entry(boost::json::value(1)));
    EXPECT_EQ(mode_of(db().parent_path()), folder_mode) << std::oct << mode_of(db().parent_path());
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const fs::path f = db().string() + suffix;
      ASSERT_TRUE(fs::exists(f)) << f;
      EXPECT_EQ(mode_of(f), file_mode) << f << ": " << std::oct << mode_of(f);
    }
  }
  fs::path db() const { return root_ / "xdg" / "mcp-refcache" / "cache.db"; }

  fs::path root_;
  mode_t old_umask_ = 022;
};

TEST_F(SqliteFileModes, NewDefaultFolderAndFilesAreOwnerOnly) {
  open_default_and_expect(0700, 0600);
  // The parent it had to create too (XDG_CACHE_HOME did not exist).
  EXPECT_EQ(mode_of(root_ / "xdg"), 0700u);
}

TEST_F(SqliteFileModes, AnExistingDefaultFolderAndItsFilesAreMadeOwnerOnly) {
  // As left by a program that used the umask: a folder 0755, files 0644.
  fs::create_directories(db().parent_path());
  ::chmod(db().parent_path().c_str(), 0755);
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::ofstream(db().string() + suffix).flush();  // empty: a valid new database and log
    ::chmod((db().string() + suffix).c_str(), 0644);
  }
  open_default_and_expect(0700, 0600);
}

TEST_F(SqliteFileModes, AnExistingFolderOnlyWithoutItsDatabaseGetsAnOwnerOnlyFile) {
  fs::create_directories(db().parent_path());
  ::chmod(db().parent_path().c_str(), 0755);
  open_default_and_expect(0700, 0600);
}

TEST_F(SqliteFileModes, StricterModesAreNotLoosened) {
  // Write and search but no listing, for the owner only: stricter than 0700.
  fs::create_directories(db().parent_path());
  ::chmod(db().parent_path().c_str(), 0300);
  open_default_and_expect(0300, 0600);
  ::chmod(db().parent_path().c_str(), 0700);  // so that TearDown can remove it
}

TEST_F(SqliteFileModes, FoldersAndFilesCreatedForAnExplicitPathAreOwnerOnlyToo) {
  const fs::path file = root_ / "a" / "b" / "cache.db";
  SQLiteOptions o;
  o.path = file.string();
  SQLiteBackend backend(o);
  backend.set("m:0000000000000001", make_entry(boost::json::value(1)));
  EXPECT_EQ(mode_of(root_ / "a"), 0700u);
  EXPECT_EQ(mode_of(root_ / "a" / "b"), 0700u);
  for (const char* suffix : {"", "-wal", "-shm"})
    EXPECT_EQ(mode_of(file.string() + suffix), 0600u) << suffix;
  // An explicit path's existing folder is the operator's: its mode is left alone.
  fs::create_directories(root_ / "shared");
  ::chmod((root_ / "shared").c_str(), 0750);
  SQLiteOptions shared;
  shared.path = (root_ / "shared" / "cache.db").string();
  SQLiteBackend other(shared);
  EXPECT_EQ(mode_of(root_ / "shared"), 0750u);
  EXPECT_EQ(mode_of(root_ / "shared" / "cache.db"), 0600u);
}

}  // namespace
}  // namespace refcache::testing
