#include "ref_arguments.hpp"

#include <string>

#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"
#include "refcache/ref_id.hpp"
#include "refcache/ref_path.hpp"
#include "result_interception.hpp"

namespace gateway {
namespace json = boost::json;

namespace {

// True when `ref` is a ref id of the cache named `own_name` ("gateway:..." for "gateway").
bool owned(std::string_view ref, std::string_view own_name) {
  return ref.size() > own_name.size() && ref.substr(0, own_name.size()) == own_name &&
         ref[own_name.size()] == ':';
}

bool names_ref(const json::value& v) {
  return v.is_string() && refcache::names_ref(v.get_string());
}

bool wants_string(const json::value& schema) {
  if (!schema.is_object()) return false;
  const auto* t = schema.get_object().if_contains("type");
  return t != nullptr && t->is_string() && t->get_string() == "string";
}

// The text a string parameter receives for `given` (a ref) that resolved to `resolved`, not a
// string: the JSON text the value was parsed from, when the gateway kept it
// (kOriginalTextRef), else the value's compact JSON.
// `use`: the permission the value was used under (READ, or EXECUTE for a private input).
json::value as_text(refcache::RefCache& cache, const json::value& given,
                    const refcache::Actor& actor, const json::value& resolved,
                    refcache::Permission use) {
  if (refcache::is_ref_id(given.get_string())) {
    refcache::EntryPtr e = cache.entry_for(given.get_string(), actor, use);
    const json::value* text_ref = e->metadata.if_contains(kOriginalTextRef);
    if (text_ref != nullptr && text_ref->is_string()) {
      try {
        refcache::EntryPtr text = cache.entry_for(text_ref->get_string(), actor, use);
        if (text->value.is_string()) return text->value;
      } catch (const refcache::NotFound&) {
        // Expired or removed on its own: the value's JSON will do.
      } catch (const refcache::PermissionDenied&) {
      }
    }
  }
  return json::string(jsonio::to_string(resolved));
}

bool is_private(const std::vector<refcache::PrivateInput>& inputs, const json::string& given) {
  for (const auto& in : inputs)
    if (in.ref_id == given) return true;
  return false;
}

}  // namespace

json::value ref_argument_schema() {
  return json::object{
      {"type", "string"},
      {"pattern", refcache::kRefPathPattern},
      {"description",
       "ref_id of a cached value (from an earlier tool call), optionally with #/json/pointer "
       "to pass part of it; the gateway sends the value itself"}};
}

json::value published_schema(const json::value& upstream_schema) {
  json::value out =
      upstream_schema.is_object() ? upstream_schema : json::value(json::object{{"type", "object"}});
  auto* props = out.as_object().if_contains("properties");
  if (props == nullptr || !props->is_object()) return out;
  for (auto& kv : props->as_object()) {
    json::object widened;
    if (kv.value().is_object()) {
      const auto& p = kv.value().get_object();
      if (const auto* d = p.if_contains("description")) widened["description"] = *d;
      if (const auto* d = p.if_contains("default")) widened["default"] = *d;
    }
    widened["anyOf"] = json::array{kv.value(), ref_argument_schema()};
    kv.value() = std::move(widened);
  }
  return out;
}

bool has_ref_arguments(const json::value& args) {
  return refcache::contains_ref_ids(args);
}

ResolvedArguments resolve_arguments(refcache::RefCache& cache, const json::value& args,
                                    const refcache::Actor& actor,
                                    const refcache::InputLimits& limits,
                                    const json::value& upstream_schema) {
  refcache::ResolutionOptions ro;
  ro.allow_execute = true;  // an EXECUTE-only value makes the call a private computation
  ro.limits = limits;
  ro.fail_on_missing = false;  // decided below: the gateway's own refs must resolve
  const std::string& own_name = cache.name();
  ResolvedArguments out;
  out.args = args;
  if (refcache::contains_ref_ids(out.args)) {
    refcache::ResolutionResult r = refcache::resolve_refs(cache, out.args, actor, ro);
    for (const auto& f : r.failed_refs)
      if (owned(f, own_name)) throw refcache::InvalidReference(f);
    out.args = std::move(r.value);
    out.private_inputs = std::move(r.private_inputs);
    out.input_policies = std::move(r.input_policies);
    out.input_namespaces = std::move(r.input_namespaces);
  }
  // A string parameter whose ref held JSON gets that JSON's text.
  const json::object* props = nullptr;
  if (upstream_schema.is_object())
    if (const auto* p = upstream_schema.get_object().if_contains("properties"); p && p->is_object())
      props = &p->get_object();
  if (props != nullptr && out.args.is_object() && args.is_object()) {
    for (auto& kv : out.args.as_object()) {
      const json::value* given = args.get_object().if_contains(kv.key());
      const json::value* schema = props->if_contains(kv.key());
      if (given != nullptr && schema != nullptr && names_ref(*given) && !kv.value().is_string() &&
          wants_string(*schema)) {
        const auto use = is_private(out.private_inputs, given->get_string())
                             ? refcache::Permission::kExecute
                             : refcache::Permission::kRead;
        kv.value() = as_text(cache, *given, actor, kv.value(), use);
      }
    }
  }
  return out;
}

}  // namespace gateway
