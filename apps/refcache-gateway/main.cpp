// refcache-gateway: reference caching in front of MCP servers that know nothing of it. It reads
// the `mcpServers` file clients use (gateway_config.hpp), connects to every server listed
// (upstream.hpp), offers their tools, resources and prompts together (tool_forwarding.hpp,
// catalog_forwarding.hpp, named by aggregation.hpp), resolves refs passed as arguments
// (ref_arguments.hpp) and turns large results into refs with previews
// (result_interception.hpp). It serves like our own servers (refcache_mcp/server_cli.hpp):
// stdio by default, Streamable HTTP and legacy SSE with --transport http, the same cache
// backends, identities and security defaults. Run `refcache-gateway --help`; docs/gateway.md.
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "catalog_forwarding.hpp"
#include "gateway_config.hpp"
#include "refcache_mcp/server_cli.hpp"
#include "tool_forwarding.hpp"
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
        std::set<std::string> reserved{"get_cached_result", "gateway_status"};
        // The admin tools install() may have registered.
        for (const char* n : {"list_references", "get_reference_info", "delete_reference",
                              "clear_namespace", "get_cache_stats", "get_metrics"})
          reserved.insert(n);
        const std::size_t tools =
            gateway::register_tools(server, cache, config, upstreams, reserved);
        const gateway::CatalogCounts catalog = gateway::register_catalog(server, upstreams, {});

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
        spdlog::info(
            "{}: {} tools, {} resources, {} resource templates, {} prompts from {} "
            "upstreams",
            kProgram, tools, catalog.resources, catalog.resource_templates, catalog.prompts,
            upstreams.size());
      });
  // The upstreams stop (children reaped) after serving has ended.
  upstreams.clear();
  return rc;
}
