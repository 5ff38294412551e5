// refcache-data-analysis: the second server of the cross-server workflow. Its tools take data
// or a ref_id -- including refs created by refcache-calculator, read from the shared cache.
// Run `refcache-data-analysis --help` for the flags.
#include <boost/describe.hpp>

#include "analysis.hpp"
#include "refcache_mcp/server_cli.hpp"

namespace json = boost::json;

namespace {

json::value numbers_schema() {
  return json::object{{"type", "array"}, {"items", {{"type", "number"}}}};
}

json::value as_json(const std::vector<double>& v) {
  json::array a;
  a.reserve(v.size());
  for (double x : v) a.push_back(x);
  return a;
}

double number_or(const json::object& a, std::string_view k, double d) {
  auto it = a.find(k);
  return it == a.end() ? d : it->value().to_number<double>();
}

std::string string_or(const json::object& a, std::string_view k, std::string d) {
  auto it = a.find(k);
  return it == a.end() ? std::move(d) : std::string(it->value().as_string());
}

// Tool errors carry the analysis message; refcache turns the exception into an isError result.
template <class Fn>
json::value checked(Fn fn) {
  try {
    return fn();
  } catch (const analysis::InputError& e) {
    throw refcache::InvalidArgument(e.what());
  }
}

}  // namespace

int main(int argc, char** argv) {
  refcache::mcp::ServerDefaults defaults{
      .program = "refcache-data-analysis",
      .description = "MCP server: statistics and transforms over data or cached references",
      .cache_name = "data-analysis",
      .default_port = 8002};
  return refcache::mcp::run_server(
      argc, argv, defaults,
      [](mcp::Server& server, refcache::RefCache& cache,
         const refcache::mcp::ServerConfig& config) {
        using refcache::mcp::CachedToolSpec;
        {
          CachedToolSpec s;
          s.tool.name = "analyze_data";
          s.tool.description =
              "Summary statistics (count, sum, mean, min, max, range, std, variance, median, "
              "quartiles) of a list of numbers or a ref_id to one.";
          s.tool.input_schema = json::object{{"type", "object"},
                                             {"properties", {{"data", numbers_schema()}}},
                                             {"required", {"data"}}};
          s.tool.annotations.read_only_hint = true;
          s.ref_params = {"data"};
          s.cache.ns = "analysis";
          config.apply(s.cache);
          // Of private data, only statistics that cannot single out one value are shown, and
          // only over a whole original private list of enough items (ReleaseRule).
          s.cache.release = refcache::ReleaseRule{
              .fields = {"count", "sum", "mean", "std", "variance", "input_size"},
              .min_items = config.release_min_items};
          refcache::mcp::cached_tool_raw(server, cache, std::move(s),
                                         [](const json::object& a, refcache::CallContext& ctx) {
                                           return checked([&] {
                                             auto data = analysis::numbers(a.at("data"));
                                             ctx.throw_if_cancelled();
                                             json::object stats = analysis::statistics(data);
                                             stats["input_size"] = data.size();
                                             return json::value(std::move(stats));
                                           });
                                         });
        }
        {
          CachedToolSpec s;
          s.tool.name = "transform_data";
          s.tool.description =
              "Transform a list of numbers (or a ref_id to one): normalize, standardize, scale, "
              "log, sqrt, abs, diff or cumsum. The result is cached and returned by reference "
              "when large.";
          s.tool.input_schema = json::object{
              {"type", "object"},
              {"properties",
               {{"data", numbers_schema()},
                {"operation",
                 {{"type", "string"},
                  {"enum",
                   {"normalize", "standardize", "scale", "log", "sqrt", "abs", "diff", "cumsum"}},
                  {"default", "normalize"}}},
                {"scale_factor", {{"type", "number"}, {"default", 1.0}}}}},
              {"required", {"data"}}};
          s.ref_params = {"data"};
          s.cache.ns = "transforms";
          config.apply(s.cache);
          refcache::mcp::cached_tool_raw(
              server, cache, std::move(s), [](const json::object& a, refcache::CallContext& ctx) {
                return checked([&] {
                  auto data = analysis::numbers(a.at("data"));
                  ctx.throw_if_cancelled();
                  return as_json(analysis::transform(data, string_or(a, "operation", "normalize"),
                                                     number_or(a, "scale_factor", 1.0)));
                });
              });
        }
        {
          CachedToolSpec s;
          s.tool.name = "aggregate_data";
          s.tool.description =
              "Combine several datasets (lists of numbers or ref_ids): concat, sum, mean "
              "(element-wise) or zip.";
          json::object item{{"anyOf", {numbers_schema(), refcache::mcp::ref_id_schema()}}};
          s.tool.input_schema =
              json::object{{"type", "object"},
                           {"properties",
                            {{"datasets", {{"type", "array"}, {"items", item}, {"minItems", 1}}},
                             {"operation",
                              {{"type", "string"},
                               {"enum", {"concat", "sum", "mean", "zip"}},
                               {"default", "concat"}}}}},
                           {"required", {"datasets"}}};
          s.ref_params = {"datasets"};
          s.cache.ns = "aggregates";
          config.apply(s.cache);
          refcache::mcp::cached_tool_raw(
              server, cache, std::move(s), [](const json::object& a, refcache::CallContext& ctx) {
                return checked([&] {
                  std::vector<std::vector<double>> ds;
                  for (const auto& d : a.at("datasets").as_array()) {
                    ctx.throw_if_cancelled();
                    ds.push_back(analysis::numbers(d));
                  }
                  return as_json(analysis::aggregate(ds, string_or(a, "operation", "concat")));
                });
              });
        }
        {
          CachedToolSpec s;
          s.tool.name = "create_sample_data";
          s.tool.description =
              "Random sample data (uniform, normal or exponential). Cached by its arguments: the "
              "same arguments return the same sample.";
          s.tool.input_schema = json::object{
              {"type", "object"},
              {"properties",
               {{"size",
                 {{"type", "integer"}, {"minimum", 1}, {"maximum", 10000}, {"default", 100}}},
                {"distribution",
                 {{"type", "string"},
                  {"enum", {"uniform", "normal", "exponential"}},
                  {"default", "uniform"}}},
                {"min_value", {{"type", "number"}, {"default", 0}}},
                {"max_value", {{"type", "number"}, {"default", 100}}}}}};
          s.ref_params = {"size", "min_value", "max_value"};
          s.cache.ns = "samples";
          config.apply(s.cache);
          refcache::mcp::cached_tool_raw(
              server, cache, std::move(s), [](const json::object& a, refcache::CallContext&) {
                return checked([&] {
                  return as_json(analysis::sample(static_cast<int>(number_or(a, "size", 100)),
                                                  string_or(a, "distribution", "uniform"),
                                                  number_or(a, "min_value", 0),
                                                  number_or(a, "max_value", 100)));
                });
              });
        }
        {
          // Private data: tools of the caller's scope may use it (EXECUTE); nobody may read
          // it, and other callers may not even use it (refcache::private_set_options).
          // Results computed from it are withheld too, unless a tool's ReleaseRule lets
          // statistics out (analyze_data's does).
          mcp::ToolSpec s;
          s.name = "store_private_data";
          s.description =
              "Store data (a list of numbers, or any JSON value) that tools may use but you may "
              "not read back: returns only a ref_id, usable by you alone. Pass it to "
              "analyze_data (count, sum, mean and spread are shown for lists of at least " +
              std::to_string(config.release_min_items) +
              " numbers) or transform_data (the result stays private and is returned as a "
              "ref_id).";
          s.input_schema = json::object{
              {"type", "object"},
              {"properties",
               {{"data", {{"description", "The private value: numbers, text, any JSON"}}}}},
              {"required", {"data"}}};
          refcache::CachedCallOptions scoping;
          config.apply(scoping);
          server.tool_raw(std::move(s), [&cache, scoping](const json::value& args,
                                                          mcp::ToolContext& ctx) {
            try {
              refcache::SetOptions so =
                  refcache::private_set_options(refcache::mcp::identity_of(ctx), scoping);
              so.tool_name = "store_private_data";
              refcache::CacheReference ref = cache.set("", args.at("data"), so);
              return mcp::CallToolResult::structured(json::object{
                  {"ref_id", ref.ref_id},
                  {"total_items", ref.total_items ? json::value(*ref.total_items) : json::value()},
                  {"value_withheld", true},
                  {"message", "Stored as private data: pass ref_id to tools; it cannot be read."}});
            } catch (const refcache::InvalidArgument& e) {
              return mcp::CallToolResult::error(e.what());
            }
          });
        }
        {
          mcp::ToolSpec s;
          s.name = "list_shared_cache";
          s.description =
              "The references in the shared cache (from every server using it) that you may use, "
              "optionally of one namespace; the first 50.";
          s.input_schema = json::object{{"type", "object"},
                                        {"properties", {{"namespace", {{"type", "string"}}}}}};
          s.annotations.read_only_hint = true;
          server.tool_raw(std::move(s), [&cache](const json::value& args, mcp::ToolContext& ctx) {
            std::optional<std::string> ns;
            if (auto it = args.as_object().find("namespace");
                it != args.as_object().end() && it->value().is_string())
              ns = std::string(it->value().get_string());
            refcache::Actor actor = refcache::derive_actor(refcache::mcp::identity_of(ctx));
            refcache::ListPage page = cache.list(ns, actor, "", 50);
            json::array refs;
            for (const auto& id : page.ref_ids) {
              refcache::EntryPtr e = cache.backend().get(id);
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
                             {"backend", cache.backend().kind()}});
          });
        }
      });
}
