// One SQLite connection of the SQLite backend, with its cache of prepared statements, and the
// helpers that bind and read columns. Internal to src/refcache/backends (sqlite_backend.cpp).
//
// Errors: SQLITE_BUSY and SQLITE_LOCKED throw Busy, which the backend catches to retry the
// whole operation; a file that cannot be opened, read or written (CANTOPEN, IOERR, FULL,
// READONLY, PERM) throws BackendUnavailable; anything else BackendError. Messages name the
// database path and the step that failed.
//
// Thread-safety: a Connection is used by one thread at a time (the backend keeps one per
// thread); the free functions are stateless.
#pragma once

#include <sqlite3.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace refcache::sqlite {

// Raised inside an operation when SQLite reports BUSY/LOCKED; the operation is retried.
struct Busy {};

struct Connection {
  sqlite3* db = nullptr;
  // Prepared statements by the address of their SQL text (sqlite_statements.hpp).
  std::unordered_map<const char*, sqlite3_stmt*> stmts;
  const std::string* path = nullptr;  // the database path, for error messages

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();  // finalizes the statements and closes the database

  // Throws the error `rc` stands for (see above); `what` names the step.
  [[noreturn]] void fail(int rc, std::string_view what) const;
  // Runs SQL without results (schema, pragmas, BEGIN/COMMIT).
  void exec(const char* sql);
  // The statement for `sql`, prepared once per connection, reset and with bindings cleared.
  sqlite3_stmt* prepare(const char* sql);
  // Steps once: true on a row, false when done.
  bool step(sqlite3_stmt* st);
  // Steps to the end and resets.
  void run(sqlite3_stmt* st);
  // Resets every cached statement (after a failed transaction, so none holds a read lock).
  void reset_all();
};

// Binds text (copied by SQLite) or a double that may be NULL.
void bind_text(sqlite3_stmt* st, int i, std::string_view s);
// Binds text that SQLite reads where it is, without a copy: for a stored value, which may be
// hundreds of megabytes. `s` must live until the statement has run (Connection::run).
void bind_text_in_place(sqlite3_stmt* st, int i, std::string_view s);
void bind_opt_double(sqlite3_stmt* st, int i, const std::optional<double>& d);
// Column i of the current row as text ("" for NULL), or as a double that may be NULL.
std::string column_text(sqlite3_stmt* s, int i);
std::optional<double> column_optional_double(sqlite3_stmt* s, int i);

}  // namespace refcache::sqlite
