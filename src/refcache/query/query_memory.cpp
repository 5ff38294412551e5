#include "refcache/query/query_memory.hpp"

#include <sqlite3.h>

namespace refcache::query {

namespace {
thread_local QueryMemory* current = nullptr;
sqlite3_mem_methods system_methods{};  // SQLite's allocator, under the counter
}  // namespace

// The SQLITE_CONFIG_MALLOC methods: SQLite's own allocator, with the sizes it reports charged
// to the thread's QueryMemory, if any.
struct QueryMemoryAllocator {
  static void charge(QueryMemory& m, std::size_t bytes) { m.used_ += bytes; }
  static void credit(QueryMemory& m, std::size_t bytes) {
    m.used_ -= bytes < m.used_ ? bytes : m.used_;
  }
  static bool fits(QueryMemory& m, std::size_t bytes) {
    if (m.used_ + bytes <= m.limit_) return true;
    m.exceeded_ = true;
    return false;
  }

  static void* malloc(int n) {
    QueryMemory* m = current;
    if (m == nullptr) return system_methods.xMalloc(n);
    if (!fits(*m, static_cast<std::size_t>(n))) return nullptr;
    void* p = system_methods.xMalloc(n);
    if (p != nullptr) charge(*m, static_cast<std::size_t>(system_methods.xSize(p)));
    return p;
  }
  static void free(void* p) {
    QueryMemory* m = current;
    if (m != nullptr && p != nullptr) credit(*m, static_cast<std::size_t>(system_methods.xSize(p)));
    system_methods.xFree(p);
  }
  static void* realloc(void* p, int n) {
    QueryMemory* m = current;
    if (m == nullptr) return system_methods.xRealloc(p, n);
    const auto before = static_cast<std::size_t>(system_methods.xSize(p));
    const auto wanted = static_cast<std::size_t>(n);
    if (wanted > before && !fits(*m, wanted - before)) return nullptr;
    void* q = system_methods.xRealloc(p, n);
    if (q != nullptr) {
      credit(*m, before);
      charge(*m, static_cast<std::size_t>(system_methods.xSize(q)));
    }
    return q;
  }
  static int size(void* p) { return system_methods.xSize(p); }
  static int roundup(int n) { return system_methods.xRoundup(n); }
  static int init(void* data) { return system_methods.xInit(data); }
  static void shutdown(void* data) { system_methods.xShutdown(data); }

  // Puts the counter under SQLite's allocator; false when SQLite had already initialized.
  static bool install() {
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &system_methods) != SQLITE_OK) return false;
    static sqlite3_mem_methods counted{&malloc,  &free, &realloc,  &size,
                                       &roundup, &init, &shutdown, system_methods.pAppData};
    return sqlite3_config(SQLITE_CONFIG_MALLOC, &counted) == SQLITE_OK;
  }
};

namespace {
// Set while the program starts, before anything of the library can have opened SQLite.
const bool installed_at_start = QueryMemoryAllocator::install();
}  // namespace

QueryMemory::QueryMemory(std::size_t limit) : limit_(limit), outer_(current) {
  current = this;
}

QueryMemory::~QueryMemory() {
  current = outer_;
}

bool QueryMemory::installed() {
  return installed_at_start;
}

}  // namespace refcache::query
