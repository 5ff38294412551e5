#include "entry_lines.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "refcache/access_policy.hpp"

namespace refcache::admin {

namespace json = boost::json;

boost::json::object record_to_json(const EntryRecord& r, double now) {
  const CacheEntry& e = r.entry;
  json::object o;
  o["ref_id"] = r.ref_id;
  o["key"] = r.binding ? json::value(r.binding->key) : json::value(nullptr);
  o["namespace"] = e.ns;
  o["value"] = e.value;
  o["policy"] = to_json(e.policy);
  o["created_at"] = e.created_at;
  o["expires_at"] = e.expires_at ? json::value(*e.expires_at) : json::value(nullptr);
  o["ttl_seconds"] = e.expires_at ? json::value(*e.expires_at - now) : json::value(nullptr);
  o["metadata"] = metadata_object(e);
  return o;
}

std::string format_entry_line(const EntryRecord& r, double now) {
  return json::serialize(record_to_json(r, now));
}

namespace {

const json::value& field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) throw std::invalid_argument("missing field '" + std::string(name) + "'");
  return *v;
}

std::string string_field(const json::object& o, std::string_view name) {
  const json::value& v = field(o, name);
  if (!v.is_string())
    throw std::invalid_argument("field '" + std::string(name) + "' is not a string");
  return std::string(v.get_string());
}

std::optional<double> number_field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_number())
    throw std::invalid_argument("field '" + std::string(name) + "' is not a number");
  return v->to_number<double>();
}

}  // namespace

EntryRecord parse_entry_line(std::string_view line, double now) {
  json::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec) throw std::invalid_argument("not JSON: " + ec.message());
  if (!v.is_object()) throw std::invalid_argument("not a JSON object");
  const json::object& o = v.get_object();
  EntryRecord r;
  r.ref_id = string_field(o, "ref_id");
  if (r.ref_id.empty()) throw std::invalid_argument("field 'ref_id' is empty");
  CacheEntry& e = r.entry;
  e.ns = string_field(o, "namespace");
  e.value = field(o, "value");
  if (const json::value* p = o.if_contains("policy"); p != nullptr && !p->is_null()) {
    if (!p->is_object()) throw std::invalid_argument("field 'policy' is not an object");
    e.policy = policy_from_json(*p);
  }
  e.created_at = number_field(o, "created_at").value_or(now);
  e.expires_at = number_field(o, "expires_at");
  if (!e.expires_at) {
    if (auto ttl = number_field(o, "ttl_seconds")) e.expires_at = now + *ttl;
  }
  if (const json::value* m = o.if_contains("metadata"); m != nullptr && !m->is_null()) {
    if (!m->is_object()) throw std::invalid_argument("field 'metadata' is not an object");
    set_metadata(e, m->get_object());
  }
  if (const json::value* k = o.if_contains("key"); k != nullptr && !k->is_null()) {
    if (!k->is_string()) throw std::invalid_argument("field 'key' is not a string");
    r.binding = KeyBinding{e.ns, std::string(k->get_string())};
  }
  return r;
}

std::size_t value_bytes(const CacheEntry& e) {
  if (auto n = metadata_count(e.standard.total_size)) return *n;
  return json::serialize(e.value).size();
}

}  // namespace refcache::admin
