#include "refcache/resolution.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <unordered_set>

#include "jsonio/json_text.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache/ref_path.hpp"
#include "refcache/sha256.hpp"

namespace refcache {
namespace json = boost::json;

namespace {

// Items of a value as the budget counts them.
std::size_t items_of(const json::value& v) {
  if (v.is_array()) return v.get_array().size();
  if (v.is_object()) return v.get_object().size();
  return 1;
}

struct Resolver {
  RefCache& cache;
  const Actor& actor;
  const ResolutionOptions& opts;
  ResolutionResult& result;
  std::vector<std::string> path;  // refs being resolved (cycle detection)
  std::size_t items = 0;          // budget used so far
  std::size_t bytes = 0;
  // Where the walk is: the top-level member being walked, and whether the value being
  // resolved sits inside an EXECUTE-only value.
  std::string parameter{};
  std::size_t inside_private = 0;

  // `whole`: `v` is a top-level member's entire value.
  json::value walk(const json::value& v, std::size_t depth, bool whole) {
    switch (v.kind()) {
      case json::kind::string: {
        std::string_view s = v.get_string();
        const auto rp = parse_ref_path(s);
        if (!rp) return opts.build_value ? v : json::value();
        return resolve_one(*rp, s, depth, whole);
      }
      case json::kind::array: {
        if (!opts.build_value) {
          for (const auto& e : v.get_array()) walk(e, depth, false);
          return nullptr;
        }
        json::array out;
        out.reserve(v.get_array().size());
        for (const auto& e : v.get_array()) out.push_back(walk(e, depth, false));
        return out;
      }
      case json::kind::object: {
        if (!opts.build_value) {
          for (const auto& kv : v.get_object()) walk(kv.value(), depth, false);
          return nullptr;
        }
        json::object out;
        out.reserve(v.get_object().size());
        for (const auto& kv : v.get_object()) out.emplace(kv.key(), walk(kv.value(), depth, false));
        return out;
      }
      default:
        return opts.build_value ? v : json::value();
    }
  }

  json::value walk_top(const json::value& input) {
    if (!input.is_object()) return walk(input, 0, false);
    if (!opts.build_value) {
      const auto& only = opts.only_members;
      for (const auto& kv : input.get_object()) {
        if (!only.empty() && std::find(only.begin(), only.end(), kv.key()) == only.end()) continue;
        parameter = std::string(kv.key());
        walk(kv.value(), 0, true);
      }
      return nullptr;
    }
    json::object out;
    out.reserve(input.get_object().size());
    const auto& only = opts.only_members;
    for (const auto& kv : input.get_object()) {
      if (!only.empty() && std::find(only.begin(), only.end(), kv.key()) == only.end()) {
        out.emplace(kv.key(), kv.value());
        continue;
      }
      parameter = std::string(kv.key());
      out.emplace(kv.key(), walk(kv.value(), 0, true));
    }
    return out;
  }

  // Charges `part` of entry `e` (its whole value, or what a pointer selected) to the budget.
  void charge(const CacheEntry& e, const json::value& part) {
    items += items_of(part);
    const auto size = &part == &e.value ? metadata_count(e.standard.total_size) : std::nullopt;
    bytes += size ? *size : jsonio::measure(part).bytes;
    if (items > opts.limits.max_items)
      throw InvalidArgument("The refs in this input expand to more than " +
                            std::to_string(opts.limits.max_items) +
                            " items (the server's limit per call); pass fewer or smaller refs.");
    if (bytes > opts.limits.max_bytes)
      throw InvalidArgument("The refs in this input expand to more than " +
                            std::to_string(opts.limits.max_bytes) +
                            " bytes of JSON (the server's limit per call); pass fewer or smaller "
                            "refs.");
  }

  // Resolves `rp`, written as `written` (a ref id, or a ref path naming part of its value).
  json::value resolve_one(const RefPath& rp, std::string_view written, std::size_t depth,
                          bool whole) {
    const std::string ref(rp.ref_id);
    for (const auto& p : path)
      if (p == ref) throw CircularReference(ref, path);
    if (opts.cancel && opts.cancel->load(std::memory_order_relaxed))
      throw Cancelled("The call was cancelled while its refs were resolved.");
    if (result.resolved_refs.size() >= opts.limits.max_refs)
      throw InvalidArgument("This input holds more than " + std::to_string(opts.limits.max_refs) +
                            " refs (the server's limit per call).");
    if (depth >= opts.limits.max_depth)
      throw InvalidArgument("Refs nest deeper than " + std::to_string(opts.limits.max_depth) +
                            " levels in this input (the server's limit).");
    EntryPtr entry;
    bool execute_only = false;
    try {
      if (opts.entries == nullptr)
        entry = cache.entry_for(ref, actor, Permission::kNone);  // existence + steps 1-3 below
      else if (result.entries.size() < opts.entries->size())
        entry = (*opts.entries)[result.entries.size()];
      if (!entry) throw NotFound(ref);
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
    result.entries.push_back(entry);
    // The part the pointer names. Which token failed is said only to a caller who may read
    // the value; any other gets the answer a missing ref gets.
    const json::value* part = entry ? &entry->value : nullptr;
    if (entry && rp.has_pointer) {
      std::string why;
      part = select_part(entry->value, rp.pointer, execute_only ? nullptr : &why);
      if (part == nullptr && !execute_only)
        throw PartNotFound(std::string(written), missing_part_message(written, why));
    }
    if (part == nullptr) {
      if (opts.fail_on_missing) throw InvalidReference(std::string(written));
      result.failed_refs.emplace_back(written);
      return json::value(written);
    }
    charge(*entry, *part);
    result.resolved_refs.emplace_back(written);
    const bool is_private = execute_only || inside_private > 0;
    result.resolved_versions.push_back(ref_version(*entry, *part, is_private));
    if (is_private) {
      PrivateInput in;
      in.ref_id = std::string(written);
      in.parameter = parameter;
      in.whole_parameter = whole && depth == 0;
      auto marker = entry->metadata.find(kDerivedFromPrivate);
      in.derived = (marker != entry->metadata.end() && marker->value() == true) ||
                   inside_private > 0 || contains_ref_ids(*part);
      in.items = items_of(*part);
      result.private_inputs.push_back(std::move(in));
      result.used_execute_only = true;
    }
    result.input_policies.push_back(entry->policy);
    result.input_namespaces.push_back(entry->ns);
    path.push_back(ref);
    if (is_private) ++inside_private;
    // A part without refs is copied whole, faster than rebuilt item by item.
    json::value out = !opts.build_value || contains_ref_ids(*part) ? walk(*part, depth + 1, false)
                                                                   : json::value(*part);
    if (is_private) --inside_private;
    path.pop_back();
    return out;
  }
};

}  // namespace

std::string ref_version(const CacheEntry& entry, const json::value& part, bool execute_only) {
  std::string v = execute_only ? "x " : "r ";
  if (entry.created_at <= 0 || !metadata_count(entry.standard.total_size)) {
    if (execute_only) return v + "-";
    return v + "h " + detail::sha256_hex(jsonio::to_canonical_string(part));
  }
  char at[40];
  (void)std::snprintf(at, sizeof at, "%.17g", entry.created_at);
  v += at;
  for (const auto* m :
       {&entry.standard.total_size, &entry.standard.total_chars, &entry.standard.total_items}) {
    v.push_back(' ');
    v += *m ? jsonio::to_string(**m) : std::string("-");
  }
  return v;
}

bool contains_ref_ids(const json::object& obj) {
  for (const auto& kv : obj)
    if (contains_ref_ids(kv.value())) return true;
  return false;
}

bool contains_ref_ids(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return names_ref(v.get_string());
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
  result.value = r.walk_top(input);
  result.bytes = r.bytes;
  return result;
}

}  // namespace refcache
