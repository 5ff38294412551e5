#include "sqlite_wal_vfs.hpp"

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

namespace refcache::detail {
namespace {

constexpr const char* kVfsName = "refcache-coalescing-wal";
// The frame header of the WAL format: page number, then the database size in pages after
// the commit (0 for a frame that does not end a transaction), salts and checksums.
constexpr int kFrameHeaderBytes = 24;
constexpr sqlite3_int64 kWalHeaderBytes = 32;
// A commit of a few pages is ~20 KB; a transaction larger than this is written in pieces.
// It must stay under 128 KiB: the unix VFS's xWrite writes at most 0x1ffff bytes per call
// (it masks the length) and reports a longer write as "database or disk is full".
constexpr std::size_t kBufferLimit = std::size_t{96} * 1024;

sqlite3_vfs* g_base = nullptr;

// Our file object. SQLite allocates szOsFile bytes for it; the base VFS's file object
// follows ours in that block.
struct File {
  sqlite3_file io;  // first: SQLite sees a File* as a sqlite3_file*
  sqlite3_file* real = nullptr;
  bool wal = false;
  // Writes gathered, to go at offset `start`.
  std::string pending;
  sqlite3_int64 start = 0;
  // The last write was a commit frame's header: its page, the next write, ends the commit.
  bool commit_header_seen = false;
  // Set once a commit's frames are written, until this connection next takes the WAL's
  // write lock: what SQLite writes to the log in between (checksums it rewrites after a
  // transaction overwrote one of its own frames, padding frames before a sync) goes straight
  // to the file, so that nothing is left buffered when SQLite publishes the commit.
  bool passthrough = false;
  // An error from a write made where SQLite takes no result (xShmBarrier); returned by the
  // next call that does.
  int deferred_rc = SQLITE_OK;
  // A database file and its connection's WAL file point at each other while both are open.
  // SQLite publishes a commit through the database file's shared memory (xShmBarrier,
  // xShmLock), so that is where the WAL's buffer is written if anything is left in it (the
  // checksums SQLite rewrites after some commits are written after the commit frame).
  File* partner = nullptr;
};

File* as_file(sqlite3_file* f) {
  return reinterpret_cast<File*>(f);
}

int flush(File* f) {
  if (f->pending.empty()) {
    const int rc = f->deferred_rc;
    f->deferred_rc = SQLITE_OK;
    return rc;
  }
  const int rc = f->real->pMethods->xWrite(f->real, f->pending.data(),
                                           static_cast<int>(f->pending.size()), f->start);
  f->pending.clear();
  if (f->pending.capacity() > kBufferLimit) f->pending.shrink_to_fit();
  return rc;
}

// The shared-memory methods are called on the database file; its WAL's buffer goes first.
int flush_wal_of(File* db) {
  return db->partner && !db->partner->pending.empty() ? flush(db->partner) : SQLITE_OK;
}

// Every method but xWrite writes what is buffered first, then forwards.
#define REFCACHE_FLUSH_OR_RETURN(f) \
  do {                              \
    if (const int frc = flush(f)) { \
      return frc;                   \
    }                               \
  } while (false)

int x_close(sqlite3_file* file) {
  File* f = as_file(file);
  const int frc = flush(f);
  if (f->partner) f->partner->partner = nullptr;
  const int rc = f->real->pMethods ? f->real->pMethods->xClose(f->real) : SQLITE_OK;
  f->~File();
  return frc != SQLITE_OK ? frc : rc;
}

int x_read(sqlite3_file* file, void* buf, int n, sqlite3_int64 off) {
  File* f = as_file(file);
  REFCACHE_FLUSH_OR_RETURN(f);
  return f->real->pMethods->xRead(f->real, buf, n, off);
}

int x_write(sqlite3_file* file, const void* buf, int n, sqlite3_int64 off) {
  File* f = as_file(file);
  if (!f->wal) return f->real->pMethods->xWrite(f->real, buf, n, off);
  if (f->passthrough || static_cast<std::size_t>(n) > kBufferLimit) {
    REFCACHE_FLUSH_OR_RETURN(f);
    return f->real->pMethods->xWrite(f->real, buf, n, off);
  }
  const bool contiguous =
      !f->pending.empty() && off == f->start + static_cast<sqlite3_int64>(f->pending.size());
  if (!contiguous || f->pending.size() + static_cast<std::size_t>(n) > kBufferLimit) {
    REFCACHE_FLUSH_OR_RETURN(f);
  }
  if (f->pending.empty()) f->start = off;
  f->pending.append(static_cast<const char*>(buf), static_cast<std::size_t>(n));
  const bool ends_commit = f->commit_header_seen;
  f->commit_header_seen = false;
  if (n == kFrameHeaderBytes && off >= kWalHeaderBytes) {
    const auto* h = static_cast<const unsigned char*>(buf);
    f->commit_header_seen = (h[4] | h[5] | h[6] | h[7]) != 0;
  }
  if (!ends_commit) return SQLITE_OK;
  f->passthrough = true;
  return flush(f);
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = as_file(file);
  REFCACHE_FLUSH_OR_RETURN(f);
  return f->real->pMethods->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
  File* f = as_file(file);
  REFCACHE_FLUSH_OR_RETURN(f);
  return f->real->pMethods->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  File* f = as_file(file);
  REFCACHE_FLUSH_OR_RETURN(f);
  return f->real->pMethods->xFileSize(f->real, size);
}

int x_lock(sqlite3_file* file, int level) {
  File* f = as_file(file);
  REFCACHE_FLUSH_OR_RETURN(f);
  return f->real->pMethods->xLock(f->real, level);
}

int x_unlock(sqlite3_file* file, int level) {
  File* f = as_file(file);
  REFCACHE_FLUSH_OR_RETURN(f);
  return f->real->pMethods->xUnlock(f->real, level);
}

int x_check_reserved_lock(sqlite3_file* file, int* out) {
  File* f = as_file(file);
  return f->real->pMethods->xCheckReservedLock(f->real, out);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
  File* f = as_file(file);
  REFCACHE_FLUSH_OR_RETURN(f);
  const int rc = f->real->pMethods->xFileControl(f->real, op, arg);
  if (op == SQLITE_FCNTL_VFSNAME && rc == SQLITE_OK && arg) {
    // Name ourselves in front of the base VFS, as SQLite's documentation asks of shims.
    char** name = static_cast<char**>(arg);
    char* ours = sqlite3_mprintf("%s/%z", kVfsName, *name);
    if (ours) *name = ours;
  }
  return rc;
}

int x_sector_size(sqlite3_file* file) {
  File* f = as_file(file);
  return f->real->pMethods->xSectorSize(f->real);
}

int x_device_characteristics(sqlite3_file* file) {
  File* f = as_file(file);
  return f->real->pMethods->xDeviceCharacteristics(f->real);
}

int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  File* f = as_file(file);
  if (const int frc = flush_wal_of(f)) return frc;
  return f->real->pMethods->xShmMap(f->real, region, size, extend, out);
}

// Lock 0 of the shared memory is the WAL's write lock (WAL_WRITE_LOCK in SQLite's wal.c).
constexpr int kWalWriteLock = 0;

int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  File* f = as_file(file);
  if (const int frc = flush_wal_of(f)) return frc;
  const int rc = f->real->pMethods->xShmLock(f->real, offset, n, flags);
  // A writer starts: gather its frames again.
  if (rc == SQLITE_OK && f->partner && offset == kWalWriteLock &&
      flags == (SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE))
    f->partner->passthrough = false;
  return rc;
}

void x_shm_barrier(sqlite3_file* file) {
  File* f = as_file(file);
  // No result to give: an error goes to the WAL's next call (SQLite's next write).
  if (File* wal = f->partner; wal && !wal->pending.empty()) wal->deferred_rc = flush(wal);
  f->real->pMethods->xShmBarrier(f->real);
}

int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  File* f = as_file(file);
  if (const int frc = flush_wal_of(f)) return frc;
  return f->real->pMethods->xShmUnmap(f->real, delete_flag);
}

int x_fetch(sqlite3_file* file, sqlite3_int64 off, int n, void** out) {
  File* f = as_file(file);
  REFCACHE_FLUSH_OR_RETURN(f);
  return f->real->pMethods->xFetch(f->real, off, n, out);
}

int x_unfetch(sqlite3_file* file, sqlite3_int64 off, void* p) {
  File* f = as_file(file);
  return f->real->pMethods->xUnfetch(f->real, off, p);
}

#undef REFCACHE_FLUSH_OR_RETURN

// The methods a file gets: those of the base file's version (3 for the unix VFS), minus
// the shared-memory and memory-map ones when the base file lacks them.
sqlite3_io_methods make_methods(int version) {
  sqlite3_io_methods m{};
  m.iVersion = version;
  m.xClose = x_close;
  m.xRead = x_read;
  m.xWrite = x_write;
  m.xTruncate = x_truncate;
  m.xSync = x_sync;
  m.xFileSize = x_file_size;
  m.xLock = x_lock;
  m.xUnlock = x_unlock;
  m.xCheckReservedLock = x_check_reserved_lock;
  m.xFileControl = x_file_control;
  m.xSectorSize = x_sector_size;
  m.xDeviceCharacteristics = x_device_characteristics;
  if (version >= 2) {
    m.xShmMap = x_shm_map;
    m.xShmLock = x_shm_lock;
    m.xShmBarrier = x_shm_barrier;
    m.xShmUnmap = x_shm_unmap;
  }
  if (version >= 3) {
    m.xFetch = x_fetch;
    m.xUnfetch = x_unfetch;
  }
  return m;
}

const sqlite3_io_methods kMethods[] = {make_methods(1), make_methods(2), make_methods(3)};

int x_open(sqlite3_vfs* /*vfs*/, sqlite3_filename name, sqlite3_file* file, int flags,
           int* out_flags) {
  File* f = ::new (file) File();
  f->io.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + sizeof(File));
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  const int rc = g_base->xOpen(g_base, name, f->real, flags, out_flags);
  const sqlite3_io_methods* real_methods = f->real->pMethods;
  if (real_methods == nullptr) {
    // SQLite calls no method of a file whose pMethods is null, xClose included.
    f->~File();
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  const int v =
      real_methods->iVersion < 1 ? 1 : (real_methods->iVersion > 3 ? 3 : real_methods->iVersion);
  f->io.pMethods = &kMethods[v - 1];
  if (f->wal) {
    // The database file of this WAL, opened through this VFS before it.
    sqlite3_file* db = sqlite3_database_file_object(name);
    if (db && db->pMethods && db->pMethods->xWrite == x_write) {
      f->partner = as_file(db);
      if (f->partner->partner) f->partner->partner->partner = nullptr;
      f->partner->partner = f;
    }
  }
  return rc;
}

// The VFS's other methods act on no file: they go to the base VFS.
int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_base->xDelete(g_base, name, sync_dir);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_base->xAccess(g_base, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) {
  return g_base->xDlOpen(g_base, name);
}
void x_dl_error(sqlite3_vfs*, int n, char* msg) {
  g_base->xDlError(g_base, n, msg);
}
void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_base->xDlSym(g_base, handle, symbol);
}
void x_dl_close(sqlite3_vfs*, void* handle) {
  g_base->xDlClose(g_base, handle);
}
int x_randomness(sqlite3_vfs*, int n, char* out) {
  return g_base->xRandomness(g_base, n, out);
}
int x_sleep(sqlite3_vfs*, int us) {
  return g_base->xSleep(g_base, us);
}
int x_current_time(sqlite3_vfs*, double* out) {
  return g_base->xCurrentTime(g_base, out);
}
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return g_base->xGetLastError(g_base, n, out);
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}

sqlite3_vfs g_vfs{};
int g_register_rc = SQLITE_OK;

}  // namespace

const char* coalescing_wal_vfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_register_rc = sqlite3_initialize();
    g_base = g_register_rc == SQLITE_OK ? sqlite3_vfs_find(nullptr) : nullptr;
    if (!g_base) {
      if (g_register_rc == SQLITE_OK) g_register_rc = SQLITE_ERROR;
      return;
    }
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(sizeof(File)) + g_base->szOsFile;
    g_vfs.mxPathname = g_base->mxPathname;
    g_vfs.zName = kVfsName;
    g_vfs.xOpen = x_open;
    g_vfs.xDelete = x_delete;
    g_vfs.xAccess = x_access;
    g_vfs.xFullPathname = x_full_pathname;
    g_vfs.xDlOpen = x_dl_open;
    g_vfs.xDlError = x_dl_error;
    g_vfs.xDlSym = x_dl_sym;
    g_vfs.xDlClose = x_dl_close;
    g_vfs.xRandomness = x_randomness;
    g_vfs.xSleep = x_sleep;
    g_vfs.xCurrentTime = x_current_time;
    g_vfs.xGetLastError = x_get_last_error;
    g_vfs.xCurrentTimeInt64 = g_base->iVersion >= 2 ? x_current_time_int64 : nullptr;
    g_register_rc = sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0);
  });
  // Unregistered (SQLite failed to start): the default VFS, which behaves the same, slower.
  return g_register_rc == SQLITE_OK ? kVfsName : nullptr;
}

}  // namespace refcache::detail
