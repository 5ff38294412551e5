// Stored forms of CacheEntry (see include/refcache/entry_codec.hpp).
#include "refcache/entry_codec.hpp"

#include <boost/json/object.hpp>
#include <stdexcept>
#include <string>
#include <system_error>

#include "jsonio/json_text.hpp"
#include "refcache/access_policy.hpp"
#include "refcache/errors.hpp"

namespace refcache {
namespace json = boost::json;

namespace {

[[noreturn]] void corrupt(std::string_view ref_id, std::string_view what) {
  throw CorruptEntry("corrupt cache entry '" + std::string(ref_id) + "': " + std::string(what));
}

json::value parse_stored(std::string_view ref_id, std::string_view text, std::string_view field) {
  std::error_code ec;
  jsonio::ParseLimits limits;
  limits.max_depth = kMaxStoredJsonDepth;
  json::value v = jsonio::parse(text, ec, limits);
  if (ec) corrupt(ref_id, std::string(field) + " is not valid JSON (" + ec.message() + ")");
  return v;
}

double number_field(std::string_view ref_id, const json::value& v, std::string_view field) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  corrupt(ref_id, std::string(field) + " is not a number");
}

std::optional<double> optional_number(std::string_view ref_id, const json::value* v,
                                      std::string_view field) {
  if (v == nullptr || v->is_null()) return std::nullopt;
  return number_field(ref_id, *v, field);
}

AccessPolicy decode_policy(std::string_view ref_id, const json::value& v) {
  if (!v.is_object()) corrupt(ref_id, "policy is not a JSON object");
  try {
    return policy_from_json(v);
  } catch (const std::exception& e) {
    corrupt(ref_id, std::string("malformed policy: ") + e.what());
  }
}

json::object decode_metadata(std::string_view ref_id, json::value* v) {
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_object()) corrupt(ref_id, "metadata is not a JSON object");
  return std::move(v->get_object());
}

// The size the value's text is expected to have, from the entry's metadata, so that writing
// it reserves its room once instead of growing (and copying) to up to twice it. (The writer
// asks for a few bytes beyond what an escape near the end takes: hence the slack.)
std::size_t value_size_hint(const CacheEntry& entry) {
  if (auto n = metadata_count(entry.standard.total_size)) return *n + 64;
  if (entry.value.is_string()) return entry.value.get_string().size() + 16;
  return 256;
}

}  // namespace

std::string encode_entry_blob(const CacheEntry& entry) {
  // Written member by member (the reference's field order), so that the value is not copied
  // into a temporary object. Its size, when the metadata says it, reserves room up front.
  std::string out;
  out += "{\"value\":";
  jsonio::write_measured(entry.value, out, value_size_hint(entry));
  // The rest in one allocation at most.
  std::size_t rest = entry.ns.size() + 320;
  if (entry.policy.owner) rest += entry.policy.owner->size();
  if (entry.policy.bound_session) rest += entry.policy.bound_session->size();
  for (const auto* list : {&entry.policy.allowed_actors, &entry.policy.denied_actors})
    if (*list)
      for (const auto& a : **list) rest += a.size() + 3;
  out.reserve(out.size() + rest);
  out += ",\"namespace\":";
  jsonio::write_string_literal(entry.ns, out);
  out += ",\"policy\":";
  write_json(entry.policy, out);
  out += ",\"created_at\":";
  jsonio::write_double(entry.created_at, out);
  out += ",\"expires_at\":";
  if (entry.expires_at)
    jsonio::write_double(*entry.expires_at, out);
  else
    out += "null";
  out += ",\"metadata\":";
  write_metadata(entry, out);
  out += '}';
  return out;
}

CacheEntry decode_entry_blob(std::string_view ref_id, std::string_view blob) {
  json::value root = parse_stored(ref_id, blob, "blob");
  if (!root.is_object()) corrupt(ref_id, "blob is not a JSON object");
  json::object& o = root.get_object();
  CacheEntry e;
  auto* value = o.if_contains("value");
  if (value == nullptr) corrupt(ref_id, "blob has no \"value\"");
  e.value = std::move(*value);
  auto* ns = o.if_contains("namespace");
  if (ns == nullptr || !ns->is_string())
    corrupt(ref_id, "\"namespace\" is missing or not a string");
  e.ns = std::string(ns->get_string());
  auto* policy = o.if_contains("policy");
  if (policy == nullptr) corrupt(ref_id, "blob has no \"policy\"");
  e.policy = decode_policy(ref_id, *policy);
  auto* created = o.if_contains("created_at");
  if (created == nullptr) corrupt(ref_id, "blob has no \"created_at\"");
  e.created_at = number_field(ref_id, *created, "created_at");
  e.expires_at = optional_number(ref_id, o.if_contains("expires_at"), "expires_at");
  set_metadata(e, decode_metadata(ref_id, o.if_contains("metadata")));
  return e;
}

EntryRow encode_entry_row(const CacheEntry& entry) {
  EntryRow r;
  jsonio::write_measured(entry.value, r.value_json, value_size_hint(entry));
  r.ns = entry.ns;
  write_json(entry.policy, r.policy_json);
  r.created_at = entry.created_at;
  r.expires_at = entry.expires_at;
  write_metadata(entry, r.metadata_json);
  return r;
}

CacheEntry decode_entry_row(std::string_view ref_id, const EntryRow& row) {
  CacheEntry e;
  e.value = parse_stored(ref_id, row.value_json, "value_json");
  e.ns = row.ns;
  e.policy = decode_policy(ref_id, parse_stored(ref_id, row.policy_json, "policy_json"));
  e.created_at = row.created_at;
  e.expires_at = row.expires_at;
  json::value meta = parse_stored(ref_id, row.metadata_json, "metadata_json");
  set_metadata(e, decode_metadata(ref_id, &meta));
  return e;
}

}  // namespace refcache
