#include "refcache/resolution.hpp"

#include <boost/json.hpp>
#include <unordered_set>

#include "refcache/ref_cache.hpp"

namespace refcache {
namespace json = boost::json;

bool is_ref_id(std::string_view s) {
  // ^[a-zA-Z][a-zA-Z0-9_-]*:[a-f0-9]{8,}$ with no trailing newline allowed.
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(s[0])) return false;
  std::size_t i = 1;
  while (i < s.size() &&
         (alpha(s[i]) || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
    ++i;
  if (i >= s.size() || s[i] != ':') return false;
  ++i;
  std::size_t hex = 0;
  for (; i < s.size(); ++i, ++hex) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return hex >= 8;
}

namespace {

struct Resolver {
  RefCache& cache;
  const Actor& actor;
  const ResolutionOptions& opts;
  ResolutionResult& result;
  std::vector<std::string> path;  // refs being resolved (cycle detection)

  json::value walk(const json::value& v, std::size_t depth) {
    switch (v.kind()) {
      case json::kind::string: {
        std::string_view s = v.get_string();
        if (!is_ref_id(s)) return v;
        return resolve_one(std::string(s), depth);
      }
      case json::kind::array: {
        json::array out;
        out.reserve(v.get_array().size());
        for (const auto& e : v.get_array()) out.push_back(walk(e, depth));
        return out;
      }
      case json::kind::object: {
        json::object out;
        out.reserve(v.get_object().size());
        for (const auto& kv : v.get_object()) out.emplace(kv.key(), walk(kv.value(), depth));
        return out;
      }
      default:
        return v;
    }
  }

  json::value resolve_one(const std::string& ref, std::size_t depth) {
    for (const auto& p : path)
      if (p == ref) throw CircularReference(ref, path);
    if (result.resolved_refs.size() >= opts.max_refs || depth >= opts.max_depth)
      throw InvalidReference(ref);
    EntryPtr entry;
    bool execute_only = false;
    try {
      entry = cache.entry_for(ref, actor, Permission::kNone);  // existence + steps 1-3 below
      Permission eff = cache.checker().effective(entry->policy, actor, entry->ns);
      if (has_all(eff, Permission::kRead)) {
        execute_only = false;
      } else if (opts.allow_execute && has_all(eff, Permission::kExecute)) {
        execute_only = true;
      } else {
        entry.reset();
      }
    } catch (const NotFound&) {
      entry.reset();
    } catch (const PermissionDenied&) {
      entry.reset();
    }
    if (!entry) {
      if (opts.fail_on_missing) throw InvalidReference(ref);
      result.failed_refs.push_back(ref);
      return json::value(ref);
    }
    result.resolved_refs.push_back(ref);
    result.used_execute_only = result.used_execute_only || execute_only;
    result.input_policies.push_back(entry->policy);
    result.input_namespaces.push_back(entry->ns);
    path.push_back(ref);
    json::value out = walk(entry->value, depth + 1);
    path.pop_back();
    return out;
  }
};

}  // namespace

bool contains_ref_ids(const json::object& obj) {
  for (const auto& kv : obj)
    if (contains_ref_ids(kv.value())) return true;
  return false;
}

bool contains_ref_ids(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return is_ref_id(v.get_string());
    case json::kind::array:
      for (const auto& e : v.get_array())
        if (contains_ref_ids(e)) return true;
      return false;
    case json::kind::object:
      return contains_ref_ids(v.get_object());
    default:
      return false;
  }
}

ResolutionResult resolve_refs(RefCache& cache, const json::value& input, const Actor& actor,
                              const ResolutionOptions& options) {
  ResolutionResult result;
  Resolver r{cache, actor, options, result, {}};
  result.value = r.walk(input, 0);
  return result;
}

}  // namespace refcache
