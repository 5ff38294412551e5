// CacheEntry: one stored value with its namespace, policy, times and metadata.
//
// Times are Unix seconds as doubles (the storage format of the reference). An entry is
// expired when expires_at is set and now >= expires_at (inclusive, as the reference).
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <optional>
#include <string>

#include "refcache/access_policy.hpp"

namespace refcache {

struct CacheEntry {
  boost::json::value value;
  std::string ns = "public";
  AccessPolicy policy;
  double created_at = 0;
  std::optional<double> expires_at;
  boost::json::object metadata;  // tool_name, total_items, total_size, ... (free-form)
  // The compact JSON text of `value` (jsonio::to_string) when the writer of the entry already
  // has it, so that a backend storing text need not serialize the value again; empty when
  // unknown. RefCache::set fills it; entries read back from a backend leave it empty.
  std::string value_text;

  bool is_expired(double now) const { return expires_at && now >= *expires_at; }
};

// Entries are immutable once stored and shared between the store and its readers.
using EntryPtr = std::shared_ptr<const CacheEntry>;

// Current time as Unix seconds.
double unix_now();

// A source of "now" in Unix seconds; tests substitute a fake one.
using ClockFn = double (*)();

}  // namespace refcache
