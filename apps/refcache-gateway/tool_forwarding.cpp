#include "tool_forwarding.hpp"

#include <spdlog/spdlog.h>

#include <mutex>

#include "aggregation.hpp"
#include "ref_arguments.hpp"
#include "refcache/errors.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "result_interception.hpp"

namespace gateway {
namespace json = boost::json;

namespace {

// Calls one upstream tool for a client: refs in the arguments resolved, the result intercepted.
mcp::CallToolResult forward(refcache::RefCache& cache, Upstream& up, const std::string& exposed,
                            const mcp::ToolSpec& tool, const EffectiveSettings& s,
                            const json::value& args, mcp::ToolContext& ctx) {
  try {
    const refcache::CallIdentity who = refcache::mcp::identity_of(ctx);
    json::value forwarded = args.is_null() ? json::value(json::object{}) : args;
    if (s.accept_refs && has_ref_arguments(forwarded))
      forwarded = resolve_arguments(cache, forwarded, refcache::derive_actor(who),
                                    cache.options().call_defaults.input_limits, tool.input_schema);
    // Progress of the upstream reaches the client while this call runs (not after).
    struct Hook {
      std::mutex mu;
      bool alive = true;
    };
    auto hook = std::make_shared<Hook>();
    mcp::CallOptions co;
    co.cancellation = &ctx.token();
    co.on_progress = [hook, &ctx](const mcp::Progress& p) {
      std::lock_guard lock(hook->mu);
      if (hook->alive) ctx.progress(p.progress, p.total, p.message);
    };
    mcp::CallToolResult result;
    try {
      result = up.call_tool(tool.name, forwarded, co);
    } catch (...) {
      std::lock_guard lock(hook->mu);
      hook->alive = false;
      throw;
    }
    {
      std::lock_guard lock(hook->mu);
      hook->alive = false;
    }
    return intercept(cache, who, std::move(result),
                     {.threshold = s.threshold,
                      .preview_size = s.preview_size,
                      .upstream = up.name(),
                      .tool = exposed});
  } catch (const refcache::InvalidReference& e) {
    return mcp::CallToolResult::error(e.what());
  } catch (const refcache::CircularReference& e) {
    return mcp::CallToolResult::error(e.what());
  } catch (const refcache::PermissionDenied&) {
    return mcp::CallToolResult::error(refcache::kInvalidReferenceText);
  } catch (const refcache::NotFound&) {
    return mcp::CallToolResult::error(refcache::kInvalidReferenceText);
  } catch (const refcache::InvalidArgument& e) {
    return mcp::CallToolResult::error(e.what());
  } catch (const refcache::BackendError& e) {
    return mcp::CallToolResult::error(std::string("Cache backend unavailable: ") + e.what());
  } catch (const mcp::ClientError& e) {
    std::string message = "upstream '" + up.name();
    message += "': ";
    message += to_string(e.kind());
    message += ": ";
    message += e.what();
    return mcp::CallToolResult::error(std::move(message));
  } catch (const mcp::Error&) {
    throw;
  } catch (const std::exception& e) {
    spdlog::warn("{}: internal error: {}", exposed, e.what());
    return mcp::CallToolResult::error("Internal error");
  }
}

}  // namespace

std::size_t register_tools(mcp::Server& server, refcache::RefCache& cache,
                           const GatewayConfig& config,
                           const std::vector<std::unique_ptr<Upstream>>& upstreams,
                           const std::set<std::string>& reserved) {
  const std::size_t cache_preview = cache.options().preview.max_size;
  // The offered tools of each upstream, by index into its tools().
  std::vector<std::vector<std::size_t>> offered(upstreams.size());
  std::vector<UpstreamNames> lists;
  for (std::size_t i = 0; i < upstreams.size(); ++i) {
    const Upstream& u = *upstreams[i];
    UpstreamNames l{.server = u.name(), .prefix = u.config().prefix};
    for (std::size_t j = 0; j < u.tools().size(); ++j)
      if (!config.settings_for(u.config(), u.tools()[j].name, cache_preview).hidden) {
        l.names.push_back(u.tools()[j].name);
        offered[i].push_back(j);
      }
    lists.push_back(std::move(l));
  }
  NameAggregation agg = aggregate(lists, reserved, "tool");
  for (const auto& r : agg.reports) spdlog::warn("name collision: {}", r);

  for (const auto& routed : agg.items) {
    Upstream& up = *upstreams[routed.upstream];
    const mcp::ToolSpec& original = up.tools()[offered[routed.upstream][routed.item]];
    const EffectiveSettings s = config.settings_for(up.config(), original.name, cache_preview);
    mcp::ToolSpec spec = original;
    spec.name = routed.exposed_name;
    if (s.accept_refs) {
      spec.input_schema = published_schema(original.input_schema);
      std::string& d = spec.description;
      if (!d.empty() && d.back() != '.' && d.back() != '\n') d += '.';
      if (!d.empty()) d += ' ';
      d += "Arguments accept a ref_id (or ref_id#/json/pointer) in place of data.";
    }
    // A result may come back as a ref, which the upstream's output schema does not describe;
    // and the gateway answers every call itself, without tasks.
    spec.output_schema = nullptr;
    spec.task_support = mcp::TaskSupport::kForbidden;
    spec.task_deferred = false;
    server.tool_raw(std::move(spec), [&cache, &up, exposed = routed.exposed_name, original, s](
                                         const json::value& args, mcp::ToolContext& ctx) {
      return forward(cache, up, exposed, original, s, args, ctx);
    });
  }
  return agg.items.size();
}

}  // namespace gateway
