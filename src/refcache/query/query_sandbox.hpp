// QuerySandbox: one private in-memory SQLite connection confined to reading, for the queries
// and searches of ref_query.hpp.
//
// Life of a sandbox: the constructor opens ":memory:" (SQLITE_OPEN_NOMUTEX: one thread uses
// it), applies the per-connection limits of QueryLimits, turns off triggers, views, extension
// loading and schema writes (SQLITE_DBCONFIG_DEFENSIVE), and starts the deadline (a progress
// handler), and counts what SQLite allocates for it against max_memory (QueryMemory, from
// construction to destruction, on the constructing thread). The owner loads its tables with
// exec()/prepare_trusted(), then calls confine(), which installs the authorizer; from then on only
// statements that read prepare. prepare_one() accepts exactly one statement of the caller's and
// rows() collects its answer within the row and byte limits. fail() turns a SQLite result code into
// the error the caller sees, naming the limit that stopped it.
//
// Thread-safety: none; a sandbox belongs to one call on one thread, and is made and destroyed
// on it.
#pragma once

#include <sqlite3.h>

#include <boost/json/array.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "refcache/query/query_memory.hpp"
#include "refcache/ref_query.hpp"

namespace refcache::query {

struct StatementDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

// "1,000,000": counts in limit messages.
std::string with_commas(std::size_t n);

class QuerySandbox {
 public:
  explicit QuerySandbox(const QueryLimits& limits);
  ~QuerySandbox();
  QuerySandbox(const QuerySandbox&) = delete;
  QuerySandbox& operator=(const QuerySandbox&) = delete;

  sqlite3* db() const { return db_; }
  const QueryLimits& limits() const { return limits_; }

  // Runs trusted statements of ours (loading, before confine()). Throws like fail().
  void exec(const char* sql);
  // Prepares a trusted statement of ours. Throws like fail().
  Statement prepare_trusted(const std::string& sql);
  // Raises SQLITE_LIMIT_LENGTH to hold a loaded text of `bytes` (never lowers it).
  void allow_length(std::size_t bytes);

  // Installs the read-only authorizer. Statements prepared afterwards may only read.
  void confine();

  // Prepares the caller's statement: exactly one, read-only, non-empty. Throws
  // InvalidArgument otherwise (SQLite's message for SQL errors and refusals).
  Statement prepare_one(std::string_view sql);

  // Steps `stmt` to the end and answers its rows as objects. Throws like fail() and
  // InvalidArgument when the answer breaks max_rows or max_result_bytes.
  boost::json::array rows(sqlite3_stmt* stmt);

  // Throws the error for result code `rc` of the last call on this connection: Cancelled, or
  // InvalidArgument naming the deadline, a length limit or the memory limit, else SQLite's
  // message.
  [[noreturn]] void fail(int rc) const;

 private:
  static int on_progress(void* self);
  static int authorize(void* self, int action, const char* a, const char* b, const char* db,
                       const char* trigger);

  QueryLimits limits_;
  QueryMemory memory_;  // made before the connection, and ended after it is closed
  sqlite3* db_ = nullptr;
  std::chrono::steady_clock::time_point deadline_;
  bool deadline_hit_ = false;
  bool cancel_hit_ = false;
  std::string denied_;  // what the authorizer refused last, for the error message
};

}  // namespace refcache::query
