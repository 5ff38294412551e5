// Loading a cached value into a QuerySandbox: the table mapping of ref_query.hpp (an array of
// objects as the table `data` with a column per key, any other value as the one-row table
// `data(value)`), and the column naming that the full-text index shares.
//
// Thread-safety: none; works on one sandbox.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "refcache/query/query_sandbox.hpp"

namespace refcache::query {

// `name` as a quoted SQL identifier ("a""b").
std::string quote_identifier(std::string_view name);

// Column names for JSON keys in first-seen order. SQLite compares identifiers without ASCII
// case, so a key equal to an earlier one but for case is given a "_2", "_3", ... suffix; the
// empty key is named "_".
class ColumnSet {
 public:
  // The column index of `key`, adding it when new.
  std::size_t add(std::string_view key);
  // The index of a key seen before, or npos.
  std::size_t find(std::string_view key) const;
  const std::vector<std::string>& names() const { return names_; }
  std::size_t size() const { return names_.size(); }

 private:
  std::unordered_map<std::string, std::size_t> by_key_;
  std::unordered_map<std::string, std::size_t> folded_;  // lowercased name -> uses
  std::vector<std::string> names_;
};

// True when `v` is a non-empty array whose items are all objects (a table of records).
bool is_record_table(const boost::json::value& v);

// Creates and fills the table `data` from `v`, before the sandbox is confined. Throws
// InvalidArgument when the value has more keys than QueryLimits::max_columns, or like
// QuerySandbox::fail (the deadline covers loading).
void load_table(QuerySandbox& box, const boost::json::value& v);

}  // namespace refcache::query
