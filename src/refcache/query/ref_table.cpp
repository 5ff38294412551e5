#include "refcache/query/ref_table.hpp"

#include <boost/json.hpp>

#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"

namespace refcache::query {
namespace json = boost::json;

namespace {

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// Bytes a row's record may take besides its text: a header entry and up to 8 bytes of number
// per column, and the record's own header.
constexpr std::size_t kRecordBytesPerColumn = 18;
constexpr std::size_t kRecordBytes = 64;

// One JSON value as the SQLite value of the mapping: numbers and text as themselves, booleans
// as 1/0, null as NULL, objects and arrays as their JSON text (kept in `nested` until the row
// is inserted).
struct Cell {
  int column = 0;
  const json::value* value = nullptr;
  std::string_view text{};  // strings, and the JSON text of objects and arrays
};

Cell cell_of(int column, const json::value& v, std::vector<std::string>& nested) {
  Cell c{column, &v, {}};
  if (v.is_string()) {
    c.text = v.get_string();
  } else if (v.is_array() || v.is_object()) {
    nested.push_back(jsonio::to_string(v));
    c.text = nested.back();
  }
  return c;
}

void bind(QuerySandbox& box, sqlite3_stmt* s, const Cell& c) {
  int rc = SQLITE_OK;
  const json::value& v = *c.value;
  switch (v.kind()) {
    case json::kind::null:
      rc = sqlite3_bind_null(s, c.column);
      break;
    case json::kind::bool_:
      rc = sqlite3_bind_int(s, c.column, v.get_bool() ? 1 : 0);
      break;
    case json::kind::int64:
      rc = sqlite3_bind_int64(s, c.column, v.get_int64());
      break;
    case json::kind::uint64:
      rc = v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)
               ? sqlite3_bind_int64(s, c.column, static_cast<sqlite3_int64>(v.get_uint64()))
               : sqlite3_bind_double(s, c.column, static_cast<double>(v.get_uint64()));
      break;
    case json::kind::double_:
      rc = sqlite3_bind_double(s, c.column, v.get_double());
      break;
    case json::kind::string:
    case json::kind::array:
    case json::kind::object:
      rc = sqlite3_bind_text64(s, c.column, c.text.data(), c.text.size(), SQLITE_STATIC,
                               SQLITE_UTF8);
      break;
  }
  if (rc != SQLITE_OK) box.fail(rc);
}

void step_insert(QuerySandbox& box, sqlite3_stmt* s) {
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) box.fail(rc);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
}

}  // namespace

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::size_t ColumnSet::add(std::string_view key) {
  std::string k(key);
  if (auto it = by_key_.find(k); it != by_key_.end()) return it->second;
  std::string name = key.empty() ? std::string("_") : k;
  for (std::size_t n = 2; folded_.count(ascii_lower(name)) != 0; ++n)
    name = (key.empty() ? std::string("_") : k) + "_" + std::to_string(n);
  folded_[ascii_lower(name)] = names_.size();
  names_.push_back(std::move(name));
  by_key_.emplace(std::move(k), names_.size() - 1);
  return names_.size() - 1;
}

std::size_t ColumnSet::find(std::string_view key) const {
  auto it = by_key_.find(std::string(key));
  return it == by_key_.end() ? std::string::npos : it->second;
}

bool is_record_table(const json::value& v) {
  if (!v.is_array() || v.get_array().empty()) return false;
  for (const auto& item : v.get_array())
    if (!item.is_object()) return false;
  return true;
}

void load_table(QuerySandbox& box, const json::value& v) {
  const std::size_t max_columns = box.limits().max_columns;
  if (!is_record_table(v)) {
    box.exec("CREATE TABLE data(value)");
    Statement ins = box.prepare_trusted("INSERT INTO data(value) VALUES (?1)");
    const std::string text = jsonio::to_string(v);
    box.allow_length(text.size() + kRecordBytes);
    const int rc =
        sqlite3_bind_text64(ins.get(), 1, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) box.fail(rc);
    step_insert(box, ins.get());
    return;
  }
  const json::array& rows = v.get_array();
  ColumnSet columns;
  for (const auto& row : rows)
    for (const auto& kv : row.get_object()) {
      columns.add(kv.key());
      if (columns.size() > max_columns)
        throw InvalidArgument("the value has more than " + with_commas(max_columns) +
                              " distinct keys, the column limit");
    }
  std::string create = "CREATE TABLE data(";
  std::string insert = "INSERT INTO data VALUES (";
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) {
      create += ", ";
      insert += ", ";
    }
    create += quote_identifier(columns.names()[i]);
    insert += "?" + std::to_string(i + 1);
  }
  create += ")";
  insert += ")";
  box.exec(create.c_str());
  box.exec("BEGIN");
  Statement ins = box.prepare_trusted(insert);
  std::vector<Cell> cells;
  std::vector<std::string> nested;
  for (const auto& row : rows) {
    cells.clear();
    nested.clear();
    nested.reserve(row.get_object().size());  // cells point into it: no reallocation
    std::size_t bytes = kRecordBytes + kRecordBytesPerColumn * columns.size();
    for (const auto& kv : row.get_object()) {
      cells.push_back(cell_of(static_cast<int>(columns.find(kv.key()) + 1), kv.value(), nested));
      bytes += cells.back().text.size();
    }
    // Each text, and the row's record as a whole, must fit SQLITE_LIMIT_LENGTH.
    box.allow_length(bytes);
    for (const Cell& c : cells) bind(box, ins.get(), c);
    step_insert(box, ins.get());
  }
  box.exec("COMMIT");
}

}  // namespace refcache::query
