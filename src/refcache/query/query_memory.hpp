// QueryMemory: the memory limit of one query, counted over the SQLite allocations its thread
// makes while the limit is in force.
//
// SQLite's own heap limit (sqlite3_hard_heap_limit64) is process-wide: it would bound the
// SQLite backend's connections in the same process as well, and every query together rather
// than each. So this library routes SQLite's allocator through a counter instead
// (SQLITE_CONFIG_MALLOC, the system allocator underneath): while a QueryMemory is alive on a
// thread, each allocation SQLite makes on that thread is charged to it, each free credited, and
// an allocation that would take the total beyond the limit fails, which SQLite reports as
// SQLITE_NOMEM. Allocations on other threads, or on a thread without one, pass through
// uncounted, at the cost of one thread-local read.
//   A query's connection is opened, used and closed on one thread while its QueryMemory lives
// (QuerySandbox), so what is credited is what the query allocated, and the count ends at zero.
//
// Availability: the allocator can only be set before SQLite initializes. The library sets it
// while the program starts (static initialization of this file's object); a program that
// initialized SQLite before that has no limit in force, which installed() tells.
//
// Thread-safety: a QueryMemory belongs to the thread that made it and must end on it; those of
// different threads are independent. Nested ones stack: the innermost is charged.
#pragma once

#include <cstddef>

namespace refcache::query {

class QueryMemory {
 public:
  // Charges this thread's SQLite allocations to a limit of `limit` bytes until destroyed.
  explicit QueryMemory(std::size_t limit);
  ~QueryMemory();
  QueryMemory(const QueryMemory&) = delete;
  QueryMemory& operator=(const QueryMemory&) = delete;

  // True once an allocation was refused for the limit.
  bool exceeded() const { return exceeded_; }

  // True when SQLite's allocations go through the counter.
  static bool installed();

 private:
  friend struct QueryMemoryAllocator;
  std::size_t limit_;
  std::size_t used_ = 0;  // bytes charged now
  bool exceeded_ = false;
  QueryMemory* outer_;
};

}  // namespace refcache::query
