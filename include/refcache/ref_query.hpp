// Read-only SQL and full-text search over one cached value (docs/queries.md).
//
// query_value() loads a value into a private in-memory SQLite database as the table `data`
// and runs one caller-written SELECT over it; search_value() indexes the value's text with
// FTS5 and answers the best-ranked rows for a full-text query. Both answer with a JSON array
// the cache can store and preview like any result.
//
// The table mapping: a non-empty array whose items are all objects is a table with one row per
// object and one column per distinct key, in first-seen order (a key that differs from an
// earlier one only by letter case, which SQLite's column names do not tell apart, is suffixed
// "_2", "_3", ...; an empty key is named "_"). Scalars become SQLite values (integers, reals,
// text; true/false as 1/0; null as NULL); nested objects and arrays are their JSON text, for
// SQLite's json_* functions. Any other value is a one-row table with the single column
// `value` holding its JSON text (json_each(data.value) walks it).
//
// Confinement: the statement must be one SELECT (or a WITH ... SELECT, recursive or not);
// an authorizer installed after the data is loaded allows only reading and functions, so
// ATTACH, PRAGMA, writes, schema changes and transactions fail to prepare. Extension loading
// is compiled out (scripts/build-sqlite) and also disabled per connection. Every limit of
// QueryLimits is enforced per call and its breach names the limit. Errors are InvalidArgument
// carrying SQLite's message for SQL errors; SQLite's messages quote the statement, never the
// data, so an error shows the caller nothing of the value beyond what it may already read
// (the tools require READ on the ref; see docs/queries.md).
//
// Thread-safety: both functions are reentrant; each call uses its own connection, opened
// without SQLite's mutexes (SQLITE_OPEN_NOMUTEX) since no other thread touches it. The
// process-wide heap limit of SQLite is not used, so the calls share nothing with the SQLite
// backend in the same process; each call's memory is counted on its own (max_memory).
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

namespace refcache {

// The bounds of one query or search. Each is enforced on the call alone; the defaults suit
// values up to the cache's input budget (64 MiB, 1,000,000 items; resolution.hpp).
struct QueryLimits {
  // Wall time for loading, indexing and running, checked every few thousand SQLite
  // instructions. Default 5 s.
  std::chrono::milliseconds deadline{5000};
  // Rows of the answer. Default 1,000,000.
  std::size_t max_rows = 1000000;
  // Bytes of the answer, counted as its text and blob bytes plus 8 per number or NULL.
  // Default 64 MiB, the size the cache accepts as one call's input.
  std::size_t max_result_bytes = std::size_t{64} << 20;
  // Characters of the statement (SQLITE_LIMIT_SQL_LENGTH) and of a full-text query. Default
  // 16,384: enough for any hand-written query, and short enough that expression nesting
  // cannot exhaust the stack.
  std::size_t max_sql_length = 16384;
  // Bytes of any one string or blob a query builds (SQLITE_LIMIT_LENGTH); loading a value
  // whose JSON text is longer sets it to that length instead. Default 16 MiB.
  std::size_t max_value_length = std::size_t{16} << 20;
  // Distinct keys (columns) of a table value (SQLITE_LIMIT_COLUMN). Default 2,000,
  // SQLite's own default.
  std::size_t max_columns = 2000;
  // Terms of a compound SELECT (SQLITE_LIMIT_COMPOUND_SELECT). Default 100.
  std::size_t max_compound_select = 100;
  // Bytes SQLite may hold for the call at once: the loaded value, its full-text index, and
  // what the query builds; counted per call, not for the process (docs/queries.md). Default
  // 256 MiB: queries measured at most 3.4 times their value's JSON size, so the largest value
  // the cache accepts (64 MiB) should fit.
  std::size_t max_memory = std::size_t{256} << 20;
  // Polled with the deadline; returning true stops the call with Cancelled. Optional.
  std::function<bool()> cancelled{};
};

// Runs `sql` over `value` mapped to the table `data` and answers its rows, each an object
// from column name to value (a repeated column name is suffixed "_2", "_3", ...). Text that
// a json_* function returned (SQLite's JSON subtype) is answered as JSON, other text as a
// string; a blob as lowercase hex; infinities as null.
// Throws InvalidArgument (SQL errors, forbidden statements, breached limits, a value that
// cannot be a table) or Cancelled.
boost::json::value query_value(const boost::json::value& value, std::string_view sql,
                               const QueryLimits& limits = {});

// Full-text search over the text of `value`, best match first (FTS5's bm25 rank), at most
// `limit` hits. Rows: the objects of an array (their string members are the columns), each
// string item of an array (column "value"), the lines of a string (empty lines skipped), or
// a single object's string members. Each hit is {"row": index of the array item or line,
// from 0, "score": bm25 (lower is better), "snippet": the best-matching text with matches in
// [brackets], "item": the row's item when its JSON is at most 1,000 characters}.
// `query` is FTS5 query syntax (words, "phrases", AND/OR/NOT, prefix*).
// Throws InvalidArgument (no text to search, a malformed query, breached limits) or Cancelled.
boost::json::value search_value(const boost::json::value& value, std::string_view query,
                                std::size_t limit, const QueryLimits& limits = {});

}  // namespace refcache
