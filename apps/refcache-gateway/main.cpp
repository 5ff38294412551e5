// refcache-gateway: reference caching in front of MCP servers that know nothing of it. It reads
// the `mcpServers` file clients use (gateway_config.hpp), connects to every server listed
// (upstream.hpp), offers their tools together (aggregation.hpp), resolves refs passed as
// arguments (ref_arguments.hpp) and turns large results into refs with previews
// (result_interception.hpp). It serves like our own servers (refcache_mcp/server_cli.hpp):
// stdio by default, Streamable HTTP and legacy SSE with --transport http, the same cache
// backends, identities and security defaults. Run `refcache-gateway --help`; docs/gateway.md.
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "aggregation.hpp"
#include "gateway_config.hpp"
#include "ref_arguments.hpp"
#include "refcache/errors.hpp"
#include "refcache_mcp/server_cli.hpp"
#include "result_interception.hpp"
#include "upstream.hpp"

namespace json = boost::json;

namespace {

constexpr const char* kProgram = "refcache-gateway";

// --config FILE (or --config=FILE) taken out of argv; the rest is left for the shared flags.
struct ConfigFlag {
  std::string path{};
  bool given = false;
  bool help = false;
  std::vector<char*> rest{};
};

ConfigFlag take_config_flag(int argc, char** argv) {
  ConfigFlag f;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a(argv[i]);
    if (i > 0 && a == "--config" && i + 1 < argc) {
      f.path = argv[++i];
      f.given = true;
    } else if (i > 0 && a.rfind("--config=", 0) == 0) {
      f.path = std::string(a.substr(9));
      f.given = true;
    } else {
      if (a == "--help" || a == "-h") f.help = true;
      f.rest.push_back(argv[i]);
    }
  }
  return f;
}

mcp::CallToolResult error_result(const std::string& message) {
  return mcp::CallToolResult::error(message);
}

// Calls one upstream tool for a client: refs in the arguments resolved, the result intercepted.
// Failures become tool errors the agent can act on; the upstream's own JSON-RPC errors stay
// protocol errors, as the client would have seen them without the gateway.
mcp::CallToolResult forward(refcache::RefCache& cache, gateway::Upstream& up,
                            const gateway::RoutedTool& tool, const gateway::EffectiveSettings& s,
                            const json::value& args, mcp::ToolContext& ctx) {
  try {
    const refcache::CallIdentity who = refcache::mcp::identity_of(ctx);
    json::value forwarded = args.is_null() ? json::value(json::object{}) : args;
    if (s.accept_refs && gateway::has_ref_arguments(forwarded))
      forwarded = gateway::resolve_arguments(cache, forwarded, refcache::derive_actor(who),
                                             cache.options().call_defaults.input_limits,
                                             tool.spec.input_schema);
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
      result = up.call_tool(tool.spec.name, forwarded, co);
    } catch (...) {
      std::lock_guard lock(hook->mu);
      hook->alive = false;
      throw;
    }
    {
      std::lock_guard lock(hook->mu);
      hook->alive = false;
    }
    return gateway::intercept(cache, who, std::move(result),
                              {.threshold = s.threshold,
                               .preview_size = s.preview_size,
                               .upstream = up.name(),
                               .tool = tool.exposed_name});
  } catch (const refcache::InvalidReference& e) {
    return error_result(e.what());
  } catch (const refcache::CircularReference& e) {
    return error_result(e.what());
  } catch (const refcache::PermissionDenied&) {
    return error_result(refcache::kInvalidReferenceText);
  } catch (const refcache::NotFound&) {
    return error_result(refcache::kInvalidReferenceText);
  } catch (const refcache::InvalidArgument& e) {
    return error_result(e.what());
  } catch (const refcache::BackendError& e) {
    return error_result(std::string("Cache backend unavailable: ") + e.what());
  } catch (const mcp::ClientError& e) {
    return error_result("upstream '" + up.name() + "': " + to_string(e.kind()) + ": " + e.what());
  } catch (const mcp::Error&) {
    throw;
  } catch (const std::exception& e) {
    spdlog::warn("{}: internal error: {}", tool.exposed_name, e.what());
    return error_result("Internal error");
  }
}

}  // namespace

int main(int argc, char** argv) {
  ConfigFlag flag = take_config_flag(argc, argv);
  if (!flag.given && !flag.help) {
    std::cerr << kProgram << ": --config FILE is required (an mcpServers JSON file, as "
              << "claude_desktop_config.json or .mcp.json); see --help\n";
    return 2;
  }
  gateway::GatewayConfig config;
  if (flag.given) {
    try {
      config = gateway::load_config(flag.path);
    } catch (const gateway::ConfigError& e) {
      std::cerr << kProgram << ": " << e.what() << "\n";
      return 2;
    }
  }
  refcache::mcp::ServerDefaults defaults{
      .program = kProgram,
      .description =
          "MCP gateway: large results of other MCP servers become refs with "
          "previews, and refs may be passed to their tools. --config FILE (required): "
          "the mcpServers JSON file MCP clients use (docs/gateway.md)",
      .cache_name = "gateway",
      .default_port = 8010};
  std::vector<std::unique_ptr<gateway::Upstream>> upstreams;
  const int rc = refcache::mcp::run_server(
      static_cast<int>(flag.rest.size()), flag.rest.data(), defaults,
      [&](mcp::Server& server, refcache::RefCache& cache, const refcache::mcp::ServerConfig& sc) {
        gateway::UpstreamOptions uo;
        uo.call_timeout = sc.call_timeout;
        for (const auto& u : config.upstreams)
          upstreams.push_back(std::make_unique<gateway::Upstream>(u, uo));
        // Every upstream starts at once; one that is slow or down delays none of the others.
        {
          std::vector<std::thread> starting;
          starting.reserve(upstreams.size());
          for (auto& u : upstreams) starting.emplace_back([&u] { u->connect(); });
          for (auto& t : starting) t.join();
        }
        const std::size_t cache_preview = cache.options().preview.max_size;
        std::vector<gateway::UpstreamTools> lists;
        for (const auto& u : upstreams) {
          gateway::UpstreamTools l{.server = u->name(), .prefix = u->config().prefix};
          for (const auto& t : u->tools())
            if (!config.settings_for(u->config(), t.name, cache_preview).hidden)
              l.tools.push_back(t);
          lists.push_back(std::move(l));
        }
        std::set<std::string> reserved{"get_cached_result", "gateway_status"};
        // The admin tools install() may have registered.
        for (const char* n : {"list_references", "get_reference_info", "delete_reference",
                              "clear_namespace", "get_cache_stats", "get_metrics"})
          reserved.insert(n);
        gateway::Aggregation agg = gateway::aggregate(lists, reserved);
        for (const auto& r : agg.reports) spdlog::warn("name collision: {}", r);

        for (const auto& routed : agg.tools) {
          gateway::Upstream& up = *upstreams[routed.upstream];
          const gateway::EffectiveSettings s =
              config.settings_for(up.config(), routed.spec.name, cache_preview);
          mcp::ToolSpec spec = routed.spec;
          spec.name = routed.exposed_name;
          if (s.accept_refs) {
            spec.input_schema = gateway::published_schema(routed.spec.input_schema);
            std::string& d = spec.description;
            if (!d.empty() && d.back() != '.' && d.back() != '\n') d += '.';
            d += (d.empty() ? "" : " ");
            d += "Arguments accept a ref_id (or ref_id#/json/pointer) in place of data.";
          }
          // A result may come back as a ref, which the upstream's output schema does not
          // describe; and the gateway answers every call itself, without tasks.
          spec.output_schema = nullptr;
          spec.task_support = mcp::TaskSupport::kForbidden;
          spec.task_deferred = false;
          server.tool_raw(std::move(spec),
                          [&cache, &up, routed, s](const json::value& args, mcp::ToolContext& ctx) {
                            return forward(cache, up, routed, s, args, ctx);
                          });
        }

        mcp::ToolSpec status;
        status.name = "gateway_status";
        status.title = "Gateway status";
        status.description =
            "The upstream MCP servers behind this gateway: whether each is up (and if not, "
            "why), its protocol version and how many tools it offers.";
        status.input_schema = json::object{{"type", "object"}, {"properties", json::object{}}};
        status.annotations.read_only_hint = true;
        status.annotations.open_world_hint = false;
        server.tool_raw(std::move(status), [&upstreams](const json::value&, mcp::ToolContext&) {
          json::array list;
          std::size_t up = 0;
          for (const auto& u : upstreams) {
            list.push_back(u->status());
            if (u->up()) ++up;
          }
          return mcp::CallToolResult::structured(json::object{
              {"upstreams", std::move(list)}, {"up", up}, {"total", upstreams.size()}});
        });
        spdlog::info("{}: {} tools from {} upstreams", kProgram, agg.tools.size(),
                     upstreams.size());
      });
  // The upstreams stop (children reaped) after serving has ended.
  upstreams.clear();
  return rc;
}
