#include "refcache/entry.hpp"

#include <boost/json.hpp>

#include "jsonio/json_text.hpp"

namespace refcache {
namespace json = boost::json;

namespace {

// The standard members in stored order, with their fields.
struct StandardMember {
  std::string_view key;
  std::optional<json::value> StandardMetadata::*field;
};
constexpr StandardMember kStandardMembers[] = {
    {"tool_name", &StandardMetadata::tool_name},
    {"total_items", &StandardMetadata::total_items},
    {"total_size", &StandardMetadata::total_size},
    {"total_chars", &StandardMetadata::total_chars},
};

}  // namespace

std::optional<json::value>* StandardMetadata::find(std::string_view key) {
  for (const auto& m : kStandardMembers)
    if (m.key == key) return &(this->*m.field);
  return nullptr;
}

const std::optional<json::value>* StandardMetadata::find(std::string_view key) const {
  return const_cast<StandardMetadata*>(this)->find(key);
}

// Calls fn(key, value) for each member of the stored metadata object, in stored order: the
// standard members that are set, then the others (skipping one whose standard field is set,
// so that no key comes twice).
template <class Fn>
void for_each_metadata_member(const CacheEntry& e, Fn fn) {
  for (const auto& m : kStandardMembers)
    if (const auto& v = e.standard.*m.field) fn(m.key, *v);
  for (const auto& kv : e.metadata) {
    const auto* field = e.standard.find(kv.key());
    if (field == nullptr || !*field) fn(std::string_view(kv.key()), kv.value());
  }
}

json::object metadata_object(const CacheEntry& e) {
  json::object out;
  out.reserve(e.metadata.size() + 4);
  for_each_metadata_member(
      e, [&](std::string_view key, const json::value& v) { out.emplace(key, v); });
  return out;
}

void write_metadata(const CacheEntry& e, std::string& out) {
  // Written member by member: no object is built, and the standard members cost no key
  // allocation.
  out += '{';
  bool first = true;
  for_each_metadata_member(e, [&](std::string_view key, const json::value& v) {
    if (!first) out += ',';
    first = false;
    jsonio::write_string_literal(key, out);
    out += ':';
    jsonio::write(v, out);
  });
  out += '}';
}

void set_metadata(CacheEntry& e, json::object stored) {
  e.standard = {};
  e.metadata = {};
  for (auto& kv : stored) {
    if (auto* field = e.standard.find(kv.key()))
      field->emplace(std::move(kv.value()));
    else
      e.metadata.emplace(kv.key(), std::move(kv.value()));
  }
}

std::optional<std::size_t> metadata_count(const std::optional<json::value>& member) {
  if (!member) return std::nullopt;
  if (member->is_int64() && member->get_int64() >= 0)
    return static_cast<std::size_t>(member->get_int64());
  if (member->is_uint64()) return static_cast<std::size_t>(member->get_uint64());
  return std::nullopt;
}

}  // namespace refcache
