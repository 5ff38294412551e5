#include "refcache/query/query_sandbox.hpp"

#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"

namespace refcache::query {
namespace json = boost::json;

namespace {

// SQLite VM instructions between deadline checks: about a microsecond or two of work, so a
// check (one clock read) costs little and the deadline is kept within a millisecond.
constexpr int kProgressInstructions = 1000;

// SQLite marks text that a json_* function returned with this subtype ('J').
constexpr unsigned int kJsonSubtype = 74;

// Functions a query may not call although they only read: none of them is needed to query
// data, and each exposes the process or the build rather than the value.
// (The function fts5() stays allowed: FTS5 calls it on itself, and it answers NULL to
// anything but FTS5's own pointer binding.)
constexpr std::array<std::string_view, 4> kDeniedFunctions{
    "load_extension", "sqlite_compileoption_get", "sqlite_compileoption_used", "fts5_source_id"};

std::string duration_text(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

int clamp_limit(std::size_t v) {
  return v > static_cast<std::size_t>(std::numeric_limits<int>::max())
             ? std::numeric_limits<int>::max()
             : static_cast<int>(v);
}

std::string hex(const void* p, int n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const auto* b = static_cast<const unsigned char*>(p);
  std::string out;
  out.reserve(static_cast<std::size_t>(n) * 2);
  for (int i = 0; i < n; ++i) {
    out.push_back(kDigits[b[i] >> 4]);
    out.push_back(kDigits[b[i] & 15]);
  }
  return out;
}

// The offset of the first character of `sql` that is not whitespace, ';' or a comment.
std::size_t skip_blank(std::string_view tail) {
  std::size_t i = 0;
  while (i < tail.size()) {
    const char c = tail[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == ';') {
      ++i;
    } else if (tail.compare(i, 2, "--") == 0) {
      const std::size_t end = tail.find('\n', i);
      if (end == std::string_view::npos) return tail.size();
      i = end + 1;
    } else if (tail.compare(i, 2, "/*") == 0) {
      const std::size_t end = tail.find("*/", i + 2);
      if (end == std::string_view::npos) return tail.size();
      i = end + 2;
    } else {
      return i;
    }
  }
  return tail.size();
}

// True when the statement begins with SELECT, WITH or VALUES (any case): the only statements a
// query may be. The authorizer refuses what reads nothing too; this also refuses statements
// that would do nothing here (REINDEX of a database without indexes) but are no query.
bool starts_as_query(std::string_view sql) {
  const std::size_t at = skip_blank(sql);
  for (std::string_view word :
       {std::string_view("select"), std::string_view("with"), std::string_view("values")}) {
    if (sql.size() - at < word.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < word.size() && same; ++i) {
      char c = sql[at + i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = c == word[i];
    }
    const std::size_t next = at + word.size();
    if (same && (next == sql.size() ||
                 !(std::isalnum(static_cast<unsigned char>(sql[next])) || sql[next] == '_')))
      return true;
  }
  return false;
}

}  // namespace

std::string with_commas(std::size_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

QuerySandbox::QuerySandbox(const QueryLimits& limits)
    : limits_(limits),
      memory_(limits.max_memory),
      deadline_(std::chrono::steady_clock::now() + limits.deadline) {
  const int rc = sqlite3_open_v2(":memory:", &db_,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                     SQLITE_OPEN_PRIVATECACHE | SQLITE_OPEN_EXRESCODE,
                                 nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close(db_);
    db_ = nullptr;
    if (memory_.exceeded()) fail(SQLITE_NOMEM);
    throw InvalidArgument("cannot open a query database: " + std::string(sqlite3_errstr(rc)));
  }
  sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_ENABLE_VIEW, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, clamp_limit(limits_.max_value_length));
  // Loading names every key as a column at once, in one statement longer than a query may be;
  // confine() lowers it to QueryLimits::max_sql_length.
  sqlite3_limit(db_, SQLITE_LIMIT_SQL_LENGTH, std::numeric_limits<int>::max());
  sqlite3_limit(db_, SQLITE_LIMIT_COLUMN, clamp_limit(limits_.max_columns));
  sqlite3_limit(db_, SQLITE_LIMIT_COMPOUND_SELECT, clamp_limit(limits_.max_compound_select));
  sqlite3_limit(db_, SQLITE_LIMIT_EXPR_DEPTH, 1000);
  sqlite3_limit(db_, SQLITE_LIMIT_ATTACHED, 0);
  sqlite3_limit(db_, SQLITE_LIMIT_TRIGGER_DEPTH, 0);
  sqlite3_progress_handler(db_, kProgressInstructions, &QuerySandbox::on_progress, this);
}

QuerySandbox::~QuerySandbox() {
  sqlite3_close_v2(db_);
}

int QuerySandbox::on_progress(void* self) {
  auto* box = static_cast<QuerySandbox*>(self);
  if (std::chrono::steady_clock::now() > box->deadline_) {
    box->deadline_hit_ = true;
    return 1;
  }
  if (box->limits_.cancelled && box->limits_.cancelled()) {
    box->cancel_hit_ = true;
    return 1;
  }
  return 0;
}

int QuerySandbox::authorize(void* self, int action, const char* a, const char* b,
                            const char* /*db*/, const char* /*trigger*/) {
  auto* box = static_cast<QuerySandbox*>(self);
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    case SQLITE_FUNCTION: {
      const std::string_view name = a != nullptr ? a : "";
      for (std::string_view denied : kDeniedFunctions)
        if (sqlite3_stricmp(std::string(name).c_str(), std::string(denied).c_str()) == 0) {
          box->denied_ = "the function " + std::string(name);
          return SQLITE_DENY;
        }
      return SQLITE_OK;
    }
    case SQLITE_PRAGMA:
      // FTS5 reads the data version of its database before a query; the pragma only reads.
      if (a != nullptr && b == nullptr && sqlite3_stricmp(a, "data_version") == 0) return SQLITE_OK;
      box->denied_ = "PRAGMA";
      return SQLITE_DENY;
    case SQLITE_ATTACH:
      box->denied_ = "ATTACH";
      return SQLITE_DENY;
    case SQLITE_DETACH:
      box->denied_ = "DETACH";
      return SQLITE_DENY;
    case SQLITE_TRANSACTION:
    case SQLITE_SAVEPOINT:
      box->denied_ = "transactions";
      return SQLITE_DENY;
    case SQLITE_INSERT:
    case SQLITE_UPDATE:
    case SQLITE_DELETE:
      box->denied_ = "writing";
      return SQLITE_DENY;
    default:
      box->denied_ = "changing the schema or the database";
      return SQLITE_DENY;
  }
}

void QuerySandbox::exec(const char* sql) {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(rc);
}

Statement QuerySandbox::prepare_trusted(const std::string& sql) {
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &s, nullptr);
  Statement out(s);
  if (rc != SQLITE_OK) fail(rc);
  return out;
}

void QuerySandbox::allow_length(std::size_t bytes) {
  if (bytes > static_cast<std::size_t>(sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, -1)))
    sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, clamp_limit(bytes));
}

void QuerySandbox::confine() {
  sqlite3_limit(db_, SQLITE_LIMIT_SQL_LENGTH, clamp_limit(limits_.max_sql_length));
  sqlite3_set_authorizer(db_, &QuerySandbox::authorize, this);
}

Statement QuerySandbox::prepare_one(std::string_view sql) {
  if (sql.size() > limits_.max_sql_length)
    throw InvalidArgument("the query is longer than its " + with_commas(limits_.max_sql_length) +
                          "-character limit");
  sqlite3_stmt* s = nullptr;
  const char* tail = nullptr;
  denied_.clear();
  const int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), 0, &s, &tail);
  Statement stmt(s);
  if (rc != SQLITE_OK) {
    if ((rc & 0xff) == SQLITE_AUTH)
      throw InvalidArgument("not allowed: a query may only read (refused: " +
                            (denied_.empty() ? std::string("this statement") : denied_) + ")");
    fail(rc);
  }
  if (!stmt) throw InvalidArgument("the query is empty");
  const std::size_t used = static_cast<std::size_t>(tail - sql.data());
  if (skip_blank(sql.substr(used)) != sql.size() - used)
    throw InvalidArgument("only one SQL statement is allowed per query");
  if (!starts_as_query(sql))
    throw InvalidArgument("not allowed: a query must be a SELECT (or WITH ... SELECT, VALUES)");
  if (sqlite3_stmt_readonly(stmt.get()) == 0)
    throw InvalidArgument("not allowed: a query may only read");
  return stmt;
}

json::array QuerySandbox::rows(sqlite3_stmt* stmt) {
  const int n = sqlite3_column_count(stmt);
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(n));
  std::unordered_map<std::string, int> seen;
  for (int i = 0; i < n; ++i) {
    const char* c = sqlite3_column_name(stmt, i);
    std::string name = c != nullptr ? c : "column" + std::to_string(i + 1);
    if (const int k = ++seen[name]; k > 1) name += "_" + std::to_string(k);
    names.push_back(std::move(name));
  }
  json::array out;
  std::size_t bytes = 0;
  for (;;) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) fail(rc);
    if (out.size() == limits_.max_rows)
      throw InvalidArgument("the result exceeds its " + with_commas(limits_.max_rows) +
                            " rows limit; add a LIMIT or aggregate");
    json::object row;
    for (int i = 0; i < n; ++i) {
      json::value v;
      switch (sqlite3_column_type(stmt, i)) {
        case SQLITE_INTEGER:
          v = sqlite3_column_int64(stmt, i);
          bytes += 8;
          break;
        case SQLITE_FLOAT: {
          const double d = sqlite3_column_double(stmt, i);
          v = std::isfinite(d) ? json::value(d) : json::value(nullptr);
          bytes += 8;
          break;
        }
        case SQLITE_TEXT: {
          const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
          const std::size_t len = static_cast<std::size_t>(sqlite3_column_bytes(stmt, i));
          bytes += len;
          std::string_view text(t != nullptr ? t : "", len);
          if (sqlite3_value_subtype(sqlite3_column_value(stmt, i)) == kJsonSubtype) {
            std::error_code ec;
            v = jsonio::parse(text, ec);
            if (ec) v = json::string(text);
          } else {
            v = json::string(text);
          }
          break;
        }
        case SQLITE_BLOB: {
          const int len = sqlite3_column_bytes(stmt, i);
          bytes += static_cast<std::size_t>(len) * 2;
          v = json::string(hex(sqlite3_column_blob(stmt, i), len));
          break;
        }
        default:
          bytes += 8;
          break;
      }
      row[names[static_cast<std::size_t>(i)]] = std::move(v);
    }
    if (bytes > limits_.max_result_bytes)
      throw InvalidArgument("the result exceeds its " + with_commas(limits_.max_result_bytes) +
                            "-byte limit; select fewer rows or columns");
    out.push_back(std::move(row));
  }
  return out;
}

void QuerySandbox::fail(int rc) const {
  const int primary = rc & 0xff;
  if (primary == SQLITE_INTERRUPT && cancel_hit_) throw Cancelled("the query was cancelled");
  if (primary == SQLITE_INTERRUPT || deadline_hit_)
    throw InvalidArgument("the query exceeded its " + duration_text(limits_.deadline) +
                          " deadline");
  if (primary == SQLITE_TOOBIG)
    throw InvalidArgument(
        "a string or blob exceeds the " +
        with_commas(static_cast<std::size_t>(sqlite3_limit(db_, SQLITE_LIMIT_LENGTH, -1))) +
        "-byte length limit");
  if (memory_.exceeded())
    throw InvalidArgument("the query exceeded its " + with_commas(limits_.max_memory) +
                          "-byte memory limit");
  if (primary == SQLITE_NOMEM) throw InvalidArgument("the query ran out of memory");
  throw InvalidArgument(std::string("SQL error: ") + sqlite3_errmsg(db_));
}

}  // namespace refcache::query
