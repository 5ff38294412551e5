// Entry lines: the JSON Lines form of export/import, one entry per line.
//
// Each line is one JSON object holding everything needed to restore the entry:
//   {"ref_id":"…","key":"…"|null,"namespace":"…","value":…,"policy":{…},
//    "created_at":1.5,"expires_at":2.5|null,"ttl_seconds":12.0|null,"metadata":{…}}
// policy is the mcp-refcache 0.2.1 JSON form (permissions as integers), times are Unix
// seconds. key is the entry's key binding (null when it has none). ttl_seconds is the TTL
// left when the line was written, informative on export; on import expires_at wins, and
// ttl_seconds counts from the import when expires_at is absent.
// Contract: parse_entry_line() throws std::invalid_argument naming the field at fault.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "refcache/backend.hpp"
#include "refcache/entry.hpp"

namespace refcache::admin {

// One exported entry.
struct EntryRecord {
  std::string ref_id{};
  std::optional<KeyBinding> binding{};
  CacheEntry entry{};
};

// The JSON object of one record (ttl_seconds counted from `now`).
boost::json::object record_to_json(const EntryRecord& r, double now);
// The compact one-line text of record_to_json.
std::string format_entry_line(const EntryRecord& r, double now);
// Parses one line (expiry from ttl_seconds counted from `now` when expires_at is absent).
EntryRecord parse_entry_line(std::string_view line, double now);

// Bytes of the entry's value as compact JSON (the standard total_size when stored).
std::size_t value_bytes(const CacheEntry& e);

}  // namespace refcache::admin
