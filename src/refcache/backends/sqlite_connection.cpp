// sqlite::Connection (see sqlite_connection.hpp).
#include "sqlite_connection.hpp"

#include "refcache/errors.hpp"

namespace refcache::sqlite {

Connection::~Connection() {
  for (auto& [sql, st] : stmts) sqlite3_finalize(st);
  if (db) sqlite3_close_v2(db);
}

void Connection::fail(int rc, std::string_view what) const {
  std::string msg = "sqlite " + *path + ": " + std::string(what) + ": " +
                    (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) throw Busy{};
  if (primary == SQLITE_CANTOPEN || primary == SQLITE_IOERR || primary == SQLITE_FULL ||
      primary == SQLITE_READONLY || primary == SQLITE_PERM)
    throw BackendUnavailable(msg);
  throw BackendError(msg);
}

void Connection::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (err) sqlite3_free(err);
  if (rc != SQLITE_OK) fail(rc, "exec");
}

sqlite3_stmt* Connection::prepare(const char* sql) {
  auto it = stmts.find(sql);
  if (it != stmts.end()) {
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    return it->second;
  }
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) fail(rc, "prepare");
  stmts.emplace(sql, st);
  return st;
}

bool Connection::step(sqlite3_stmt* st) {
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(st);
  fail(rc, "step");
}

void Connection::run(sqlite3_stmt* st) {
  while (step(st)) {
  }
  sqlite3_reset(st);
}

void Connection::reset_all() {
  for (auto& [sql, st] : stmts) sqlite3_reset(st);
}

void bind_text(sqlite3_stmt* st, int i, std::string_view s) {
  sqlite3_bind_text64(st, i, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void bind_text_in_place(sqlite3_stmt* st, int i, std::string_view s) {
  sqlite3_bind_text64(st, i, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
}

void bind_opt_double(sqlite3_stmt* st, int i, const std::optional<double>& d) {
  if (d)
    sqlite3_bind_double(st, i, *d);
  else
    sqlite3_bind_null(st, i);
}

std::string column_text(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  if (t == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(t),
                     static_cast<std::size_t>(sqlite3_column_bytes(s, i)));
}

std::optional<double> column_optional_double(sqlite3_stmt* s, int i) {
  if (sqlite3_column_type(s, i) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_double(s, i);
}

}  // namespace refcache::sqlite
