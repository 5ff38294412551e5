// Entry codec: the stored forms of a CacheEntry, shared with mcp-refcache 0.2.1.
//
// Two forms, both readable and writable by the Python reference (docs/backends.md,
// "Compatibility"):
//   - the Redis blob: one JSON object
//       {"value":…,"namespace":"…","policy":{…},"created_at":1.5,"expires_at":2.5|null,
//        "metadata":{…}}
//     with policy permissions as integers and times as Unix seconds (float);
//   - the SQLite row of table cache_entries: value_json, namespace, policy_json, created_at,
//     expires_at (NULL = never), metadata_json.
//
// Decoding is strict about types and tolerant about extras: unknown blob fields are ignored,
// a missing "metadata" reads as {} (as the reference does). Anything else that cannot be
// decoded (non-JSON text, a policy that is not an object or has a field of the wrong type,
// a missing value/namespace/created_at) throws CorruptEntry naming the ref id, so that one
// bad record never hides the others.
//
// Thread-safety: all functions are pure and may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "refcache/entry.hpp"

namespace refcache {

// Nesting accepted when decoding stored values (deeper input is a CorruptEntry).
inline constexpr std::size_t kMaxStoredJsonDepth = 512;

// The columns of one cache_entries row (the key column is the ref id, kept apart).
struct EntryRow {
  std::string value_json{};
  std::string ns{};
  std::string policy_json{};
  double created_at = 0;
  std::optional<double> expires_at{};
  std::string metadata_json{};
};

// The Redis blob of `entry` (compact JSON, fields in the reference's order).
std::string encode_entry_blob(const CacheEntry& entry);

// Decodes a Redis blob. Throws CorruptEntry (mentioning `ref_id`) when it cannot.
CacheEntry decode_entry_blob(std::string_view ref_id, std::string_view blob);

// The cache_entries columns of `entry`.
EntryRow encode_entry_row(const CacheEntry& entry);

// Decodes a cache_entries row. Throws CorruptEntry (mentioning `ref_id`) when it cannot.
CacheEntry decode_entry_row(std::string_view ref_id, const EntryRow& row);

}  // namespace refcache
