// refcache-data-analysis: the second server of the cross-server workflow. Its tools take data
// or a ref_id -- including refs created by refcache-calculator, read from the shared cache.
// Run `refcache-data-analysis --help` for the flags.
#include <boost/describe.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analysis.hpp"
#include "columns_preview.hpp"
#include "refcache_mcp/server_cli.hpp"

namespace json = boost::json;

// The tools' arguments: their schemas, defaults and validation come from these types.
BOOST_DEFINE_ENUM_CLASS(Transform, normalize, standardize, scale, log, sqrt, abs, diff, cumsum)
BOOST_DEFINE_ENUM_CLASS(Combine, concat, sum, mean, zip)
BOOST_DEFINE_ENUM_CLASS(Distribution, uniform, normal, exponential)

struct AnalyzeArgs {
  std::vector<double> data;
  static std::map<std::string, std::string> mcp_field_docs() {
    return {{"data", "The numbers (or the ref_id of a list of numbers)"}};
  }
};
BOOST_DESCRIBE_STRUCT(AnalyzeArgs, (), (data))

struct TransformArgs {
  std::vector<double> data;
  std::optional<Transform> operation;
  double scale_factor = 1.0;
  static std::map<std::string, std::string> mcp_field_docs() {
    return {{"data", "The numbers (or the ref_id of a list of numbers)"},
            {"operation", "What to do (default normalize)"},
            {"scale_factor", "The factor of `scale`"}};
  }
};
BOOST_DESCRIBE_STRUCT(TransformArgs, (), (data, operation, scale_factor))

struct AggregateArgs {
  std::vector<std::vector<double>> datasets;
  std::optional<Combine> operation;
  static std::map<std::string, std::string> mcp_field_docs() {
    return {{"datasets", "Lists of numbers, or ref_ids of lists (at least one)"},
            {"operation", "concat, or element-wise sum, mean or zip (default concat)"}};
  }
};
BOOST_DESCRIBE_STRUCT(AggregateArgs, (), (datasets, operation))

struct SampleArgs {
  int size = 100;
  std::optional<Distribution> distribution;
  std::optional<double> min_value;
  std::optional<double> max_value;
  static std::map<std::string, std::string> mcp_field_docs() {
    return {{"size", "How many numbers (1-10000)"},
            {"distribution", "uniform (default), normal or exponential"},
            {"min_value", "Lower bound (default 0)"},
            {"max_value", "Upper bound (default 100)"}};
  }
};
BOOST_DESCRIBE_STRUCT(SampleArgs, (), (size, distribution, min_value, max_value))

namespace {

template <class E>
std::string name_of(const std::optional<E>& e, const char* dflt) {
  if (!e) return dflt;
  const char* name = boost::describe::enum_to_string(*e, nullptr);
  return name ? name : dflt;
}

}  // namespace

int main(int argc, char** argv) {
  return refcache::mcp::run_server(
      argc, argv,
      {.program = "refcache-data-analysis",
       .description = "MCP server: statistics and transforms over data or cached references",
       .cache_name = "data-analysis",
       .default_port = 8002},
      [](mcp::Server& server, refcache::RefCache& cache,
         const refcache::mcp::ServerConfig& config) {
        using refcache::mcp::cached_tool;
        // get_cached_result(ref_id, preview_strategy="columns"): a dataset column by column.
        cache.register_preview_strategy("columns", analysis::columns_preview);
        // Of private data, only statistics that cannot single out one value are shown, and
        // only over a whole original private list of enough items (ReleaseRule).
        refcache::mcp::CachedToolSpec analyze{
            .tool = {.name = "analyze_data",
                     .description =
                         "Summary statistics (count, sum, mean, min, max, range, std, variance, "
                         "median, quartiles) of a list of numbers or a ref_id to one."},
            .cache = {.ns = "analysis",
                      .release = refcache::ReleaseRule{.fields = {"count", "sum", "mean", "std",
                                                                  "variance", "input_size"},
                                                       .min_items = config.release_min_items}},
            .ref_params = {"data"}};
        analyze.tool.annotations.read_only_hint = true;
        cached_tool<AnalyzeArgs>(server, cache, std::move(analyze),
                                 [](const AnalyzeArgs& a, refcache::CallContext& ctx) {
                                   ctx.throw_if_cancelled();
                                   json::object stats = analysis::statistics(a.data);
                                   stats["input_size"] = a.data.size();
                                   return json::value(std::move(stats));
                                 });

        cached_tool<TransformArgs>(
            server, cache,
            {.tool = {.name = "transform_data",
                      .description = "Transform a list of numbers (or a ref_id to one): "
                                     "normalize, standardize, scale, log, sqrt, abs, diff or "
                                     "cumsum. The result is cached and returned by reference "
                                     "when large."},
             .cache = {.ns = "transforms"},
             .ref_params = {"data"}},
            [](const TransformArgs& a, refcache::CallContext& ctx) {
              ctx.throw_if_cancelled();
              return analysis::transform(a.data, name_of(a.operation, "normalize"), a.scale_factor);
            });

        cached_tool<AggregateArgs>(
            server, cache,
            {.tool = {.name = "aggregate_data",
                      .description = "Combine several datasets (lists of numbers or ref_ids): "
                                     "concat, sum, mean (element-wise) or zip."},
             .cache = {.ns = "aggregates"},
             .ref_params = {"datasets"}},
            [](const AggregateArgs& a, refcache::CallContext& ctx) {
              ctx.throw_if_cancelled();
              return analysis::aggregate(a.datasets, name_of(a.operation, "concat"));
            });

        cached_tool<SampleArgs>(
            server, cache,
            {.tool = {.name = "create_sample_data",
                      .description = "Random sample data (uniform, normal or exponential). "
                                     "Cached by its arguments: the same arguments return the "
                                     "same sample."},
             .cache = {.ns = "samples"},
             .ref_params = {"size", "min_value", "max_value"}},
            [](const SampleArgs& a, refcache::CallContext&) {
              return analysis::sample(a.size, name_of(a.distribution, "uniform"),
                                      a.min_value.value_or(0), a.max_value.value_or(100));
            });

        // Private data: tools of the caller's scope may use it (EXECUTE); nobody may read it,
        // and other callers may not even use it (refcache::private_set_options). Results
        // computed from it are withheld too, unless a tool's ReleaseRule lets statistics out
        // (analyze_data's does).
        const refcache::CallDefaults& scoping = cache.options().call_defaults;
        server.tool_raw(
            {.name = "store_private_data",
             .description =
                 "Store data (a list of numbers, or any JSON value) that tools may use but you "
                 "may not read back: returns only a ref_id, usable by you alone. Pass it to "
                 "analyze_data (count, sum, mean and spread are shown for lists of at least " +
                 std::to_string(config.release_min_items) +
                 " numbers) or transform_data (the result stays private and is returned as a "
                 "ref_id).",
             .input_schema =
                 json::object{
                     {"type", "object"},
                     {"properties",
                      {{"data", {{"description", "The private value: numbers, text, any JSON"}}}}},
                     {"required", {"data"}}}},
            [&cache, scoping](const json::value& args, mcp::ToolContext& ctx) {
              try {
                refcache::SetOptions so =
                    refcache::private_set_options(refcache::mcp::identity_of(ctx), scoping);
                so.tool_name = "store_private_data";
                refcache::CacheReference ref =
                    refcache::mcp::cache_for(cache, ctx).set("", args.at("data"), so);
                return mcp::CallToolResult::structured(json::object{
                    {"ref_id", ref.ref_id},
                    {"total_items",
                     ref.total_items ? json::value(*ref.total_items) : json::value()},
                    {"value_withheld", true},
                    {"message",
                     "Stored as private data: pass ref_id to tools; it cannot be read."}});
              } catch (const refcache::InvalidArgument& e) {
                return mcp::CallToolResult::error(e.what());
              }
            });

        server.tool_raw(
            {.name = "list_shared_cache",
             .description = "The references in the shared cache (from every server using it) "
                            "that you may use, optionally of one namespace; the first 50.",
             .input_schema = json::object{{"type", "object"},
                                          {"properties", {{"namespace", {{"type", "string"}}}}}},
             .annotations = {.read_only_hint = true, .open_world_hint = false}},
            [&root = cache](const json::value& args, mcp::ToolContext& ctx) {
              refcache::RefCache& mine = refcache::mcp::cache_for(root, ctx);
              std::optional<std::string> ns;
              if (auto it = args.as_object().find("namespace");
                  it != args.as_object().end() && it->value().is_string())
                ns = std::string(it->value().get_string());
              refcache::Actor actor = refcache::derive_actor(refcache::mcp::identity_of(ctx));
              refcache::ListPage page = mine.list(ns, actor, "", 50);
              json::array refs;
              for (const auto& id : page.ref_ids) {
                refcache::EntryPtr e = mine.backend().get(id);
                if (!e) continue;
                refs.push_back(json::object{
                    {"key", id},
                    {"namespace", e->ns},
                    {"created_at", refcache::iso8601(e->created_at)},
                    {"expires_at", e->expires_at ? json::value(refcache::iso8601(*e->expires_at))
                                                 : json::value(nullptr)}});
              }
              return mcp::CallToolResult::structured(
                  json::object{{"total_keys", refs.size()},
                               {"shown", refs.size()},
                               {"more", !page.next_cursor.empty()},
                               {"references", std::move(refs)},
                               {"backend", mine.backend().kind()}});
            });
      });
}
