#include "private_result.hpp"

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
  json::value value;
  std::string source;
  const bool is_error = result.is_error;
  json::value whole = result.to_json();
  if (auto form = stored_form(result); form && form->others.empty() && !is_error) {
    value = std::move(form->value);
    source = std::move(form->source);
  } else {
    value = std::move(whole);
    source = is_error ? "error" : "result";
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
