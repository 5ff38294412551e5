#include "private_result.hpp"

#include <algorithm>
#include <optional>

#include "refcache/namespace.hpp"
#include "refcache/resolution.hpp"
#include "refcache_mcp/cached_tools.hpp"

namespace gateway {
namespace json = boost::json;

mcp::CallToolResult withhold(refcache::RefCache& cache, const refcache::CallIdentity& who,
                             mcp::CallToolResult result, const ResolvedArguments& inputs,
                             const InterceptOptions& options) {
  // What is stored: the value as an ordinary answer would store it, so that tools given the
  // ref receive the same thing; the whole result when it holds more than that (an error, or
  // blocks that are not text), so that nothing it said is lost.
  // Decided before taking the result apart, so that it is serialized only when kept whole.
  const bool only_text =
      std::all_of(result.content.begin(), result.content.end(), [](const json::value& b) {
        const json::value* type = b.is_object() ? b.get_object().if_contains("type") : nullptr;
        return type != nullptr && *type == "text";
      });
  json::value value;
  std::string source;
  std::optional<StoredForm> form;
  if (!result.is_error && only_text) form = stored_form(result);
  if (form) {
    value = std::move(form->value);
    source = std::move(form->source);
  } else {
    source = result.is_error ? "error" : "result";
    value = result.to_json();
  }

  refcache::SetOptions so = result_scope(cache, who);
  for (const auto& p : inputs.input_policies) so.policy = refcache::stricter_of(*so.policy, p);
  if (!refcache::is_scoped_namespace(so.ns))
    for (const auto& ns : inputs.input_namespaces)
      if (refcache::is_scoped_namespace(ns)) {
        so.ns = ns;
        break;
      }
  so.policy = refcache::withheld_policy(*so.policy);
  so.tool_name = options.tool;
  so.metadata = json::object{
      {"upstream", options.upstream}, {"source", source}, {refcache::kDerivedFromPrivate, true}};
  refcache::CacheReference ref = cache.set("", std::move(value), so);

  json::object out;
  out["ref_id"] = ref.ref_id;
  out["is_complete"] = false;
  out["is_async"] = false;
  out["value_withheld"] = true;
  // Not even the size: an upstream whose answer's length depends on the private values (a
  // filter) would otherwise answer questions about them.
  out["total_items"] = nullptr;
  out["upstream"] = options.upstream;
  out["message"] = "The result of " + options.tool +
                   " is computed from values you may use but not read, so it is not shown "
                   "(nor whether it succeeded). Pass ref_id='" +
                   ref.ref_id + "' to other tools to use it.";
  return refcache::mcp::to_tool_result(out);
}

}  // namespace gateway
