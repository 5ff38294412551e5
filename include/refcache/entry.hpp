// CacheEntry: one stored value with its namespace, policy, times and metadata.
//
// Times are Unix seconds as doubles (the storage format of the reference). An entry is
// expired when expires_at is set and now >= expires_at (inclusive, as the reference).
//
// Metadata is stored as one JSON object (the reference's `metadata`). The members RefCache
// writes for every value are the fields of StandardMetadata; `CacheEntry::metadata` holds
// every other member. metadata_object() gives the whole object as stored. Building those
// members as JSON object members cost a heap allocation per key on every set.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "refcache/access_policy.hpp"

namespace refcache {

// The standard members of the metadata object. Each holds the member's JSON value as
// stored, or is unset when the member is absent. Entries written by RefCache have all four;
// entries written by the Python reference have the first three.
struct StandardMetadata {
  std::optional<boost::json::value> tool_name{};    // the producing tool's name, or null
  std::optional<boost::json::value> total_items{};  // items of a list or dict, or null
  std::optional<boost::json::value> total_size{};   // bytes of the value's compact JSON
  std::optional<boost::json::value> total_chars{};  // characters of it (ours; Python ignores it)

  bool operator==(const StandardMetadata&) const = default;
  // The member called `key`, or null if `key` is not a standard member's name.
  std::optional<boost::json::value>* find(std::string_view key);
  const std::optional<boost::json::value>* find(std::string_view key) const;
};

struct CacheEntry {
  boost::json::value value{};
  std::string ns = "public";
  AccessPolicy policy{};
  double created_at = 0;
  std::optional<double> expires_at{};
  StandardMetadata standard{};     // the standard members of the metadata object
  boost::json::object metadata{};  // its other members (free-form)

  bool is_expired(double now) const { return expires_at && now >= *expires_at; }
};

// The metadata object as stored: the standard members that are set, in the order of
// StandardMetadata, then the members of `metadata` (skipping one whose standard field is set).
boost::json::object metadata_object(const CacheEntry& e);
// Appends metadata_object(e) as compact JSON to `out`.
void write_metadata(const CacheEntry& e, std::string& out);
// Sets the metadata of `e` from a stored metadata object: the standard members go into
// `e.standard`, the others into `e.metadata`.
void set_metadata(CacheEntry& e, boost::json::object stored);
// A standard member's value as a count: a non-negative integer, else nullopt.
std::optional<std::size_t> metadata_count(const std::optional<boost::json::value>& member);

// Entries are immutable once stored and shared between the store and its readers.
using EntryPtr = std::shared_ptr<const CacheEntry>;

// Current time as Unix seconds.
double unix_now();

// A source of "now" in Unix seconds; tests substitute a fake one.
using ClockFn = double (*)();

}  // namespace refcache
