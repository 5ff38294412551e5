// search_value (refcache/ref_query.hpp): an FTS5 index over the value's text, ranked by bm25.
#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"
#include "refcache/query/query_sandbox.hpp"
#include "refcache/query/ref_table.hpp"
#include "refcache/ref_query.hpp"

namespace refcache {
namespace json = boost::json;

namespace {

// A hit carries its item when the item's JSON is at most this long; longer ones are paged
// with get_cached_result on the source ref instead.
constexpr std::size_t kMaxItemChars = 1000;

// Words of context around the matches in a snippet.
constexpr int kSnippetTokens = 16;

struct TextRow {
  std::size_t index = 0;                                        // item or line, from 0
  std::vector<std::pair<std::size_t, std::string_view>> cells;  // column, text
  // The row's item in the value; null for a line of a string (the line is its only cell).
  const json::value* item = nullptr;
};

void add_object(const json::value& item, std::size_t index, query::ColumnSet& columns,
                std::vector<TextRow>& rows, std::size_t max_columns) {
  TextRow r{index, {}, &item};
  for (const auto& kv : item.get_object()) {
    if (!kv.value().is_string()) continue;
    const std::size_t col = columns.add(kv.key());
    if (columns.size() > max_columns)
      throw InvalidArgument("the value has more than " + query::with_commas(max_columns) +
                            " distinct text keys, the column limit");
    r.cells.emplace_back(col, std::string_view(kv.value().get_string()));
  }
  if (!r.cells.empty()) rows.push_back(std::move(r));
}

// The rows of the mapping of search_value.
std::vector<TextRow> text_rows(const json::value& v, query::ColumnSet& columns,
                               std::size_t max_columns) {
  std::vector<TextRow> rows;
  if (v.is_array()) {
    const json::array& a = v.get_array();
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i].is_object()) {
        add_object(a[i], i, columns, rows, max_columns);
      } else if (a[i].is_string()) {
        rows.push_back(TextRow{i, {{columns.add("value"), a[i].get_string()}}, &a[i]});
      }
    }
  } else if (v.is_object()) {
    add_object(v, 0, columns, rows, max_columns);
  } else if (v.is_string()) {
    const std::string_view s = v.get_string();
    std::size_t line = 0;
    for (std::size_t start = 0; start <= s.size(); ++line) {
      std::size_t end = s.find('\n', start);
      if (end == std::string_view::npos) end = s.size();
      std::string_view text = s.substr(start, end - start);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (text.find_first_not_of(" \t") != std::string_view::npos)
        rows.push_back(TextRow{line, {{columns.add("line"), text}}, nullptr});
      start = end + 1;
    }
  }
  return rows;
}

}  // namespace

json::value search_value(const json::value& value, std::string_view query, std::size_t limit,
                         const QueryLimits& limits) {
  if (query.find_first_not_of(" \t\r\n") == std::string_view::npos)
    throw InvalidArgument("the search query is empty");
  if (query.size() > limits.max_sql_length)
    throw InvalidArgument("the search query is longer than its " +
                          query::with_commas(limits.max_sql_length) + "-character limit");
  query::QuerySandbox box(limits);
  query::ColumnSet columns;
  std::vector<TextRow> rows = text_rows(value, columns, limits.max_columns);
  if (rows.empty()) throw InvalidArgument("the value holds no text to search");

  // FTS5 reserves some column names (rank, rowid); the index uses c0, c1, ... instead.
  std::string create = "CREATE VIRTUAL TABLE doc USING fts5(";
  std::string insert = "INSERT INTO doc(rowid";
  std::string params = "?1";
  for (std::size_t i = 0; i < columns.size(); ++i) {
    create += (i > 0 ? ", c" : "c") + std::to_string(i);
    insert += ", c" + std::to_string(i);
    params += ", ?" + std::to_string(i + 2);
  }
  // Ranking takes each hit's column sizes from its text when FTS5 needs them, so the index
  // does not store them for every row (columnsize=0).
  create += ", columnsize=0)";
  insert += ") VALUES (" + params + ")";
  // Large pages, and index segments of about one page: the index of a large text is written
  // in fewer, larger b-tree pages (about an eighth less time to build 10 MB of log lines).
  box.exec("PRAGMA page_size=65536");
  if (sqlite3_exec(box.db(), create.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    // The SQLite linked has no FTS5 (scripts/build-sqlite enables it; Debian's has it).
    if (std::string_view(sqlite3_errmsg(box.db())).find("fts5") != std::string_view::npos)
      throw InvalidArgument("full-text search is not available: this build's SQLite lacks FTS5");
    box.fail(sqlite3_errcode(box.db()));
  }
  box.exec("INSERT INTO doc(doc, rank) VALUES('pgsz', 64000)");
  box.exec("BEGIN");
  query::Statement ins = box.prepare_trusted(insert);
  for (const TextRow& r : rows) {
    sqlite3_bind_int64(ins.get(), 1, static_cast<sqlite3_int64>(r.index));
    // The row's record (FTS5 keeps the text in a content table) must fit SQLITE_LIMIT_LENGTH.
    std::size_t bytes = 64 + 18 * columns.size();
    for (const auto& cell : r.cells) bytes += cell.second.size();
    box.allow_length(bytes);
    for (const auto& [col, text] : r.cells) {
      const int rc = sqlite3_bind_text64(ins.get(), static_cast<int>(col + 2), text.data(),
                                         text.size(), SQLITE_STATIC, SQLITE_UTF8);
      if (rc != SQLITE_OK) box.fail(rc);
    }
    const int rc = sqlite3_step(ins.get());
    if (rc != SQLITE_DONE) box.fail(rc);
    sqlite3_reset(ins.get());
    sqlite3_clear_bindings(ins.get());
  }
  ins.reset();
  box.exec("COMMIT");

  box.confine();
  query::Statement q = box.prepare_one("SELECT rowid, rank, snippet(doc, -1, '[', ']', '...', " +
                                       std::to_string(kSnippetTokens) +
                                       ") FROM doc WHERE doc MATCH ?1 ORDER BY rank LIMIT ?2");
  sqlite3_bind_text64(q.get(), 1, query.data(), query.size(), SQLITE_STATIC, SQLITE_UTF8);
  sqlite3_bind_int64(q.get(), 2, static_cast<sqlite3_int64>(std::min(limit, limits.max_rows)));

  // Rows were added in index order, so a row's place is found by binary search.
  json::array hits;
  std::size_t bytes = 0;
  for (;;) {
    const int rc = sqlite3_step(q.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) box.fail(rc);
    const auto index = static_cast<std::size_t>(sqlite3_column_int64(q.get(), 0));
    const auto* snip = reinterpret_cast<const char*>(sqlite3_column_text(q.get(), 2));
    json::object hit{{"row", index},
                     {"score", sqlite3_column_double(q.get(), 1)},
                     {"snippet", snip != nullptr ? snip : ""}};
    auto it = std::lower_bound(rows.begin(), rows.end(), index,
                               [](const TextRow& r, std::size_t i) { return r.index < i; });
    if (it != rows.end() && it->index == index) {
      const json::value item =
          it->item != nullptr ? *it->item : json::value(json::string(it->cells.front().second));
      if (jsonio::to_string(item).size() <= kMaxItemChars) hit["item"] = item;
    }
    bytes += jsonio::to_string(hit).size();
    if (bytes > limits.max_result_bytes)
      throw InvalidArgument("the result exceeds its " +
                            query::with_commas(limits.max_result_bytes) + "-byte limit");
    hits.push_back(std::move(hit));
  }
  return hits;
}

}  // namespace refcache
