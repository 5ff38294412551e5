// refcache-gateway: reference caching in front of MCP servers that know nothing of it. It reads
// the `mcpServers` file clients use (gateway_config.hpp), connects to every server listed
// (upstream.hpp, which restarts them with backoff.hpp and follows their list_changed), offers
// their tools, resources and prompts together (tool_forwarding.hpp, catalog_forwarding.hpp,
// named by aggregation.hpp) and forwards resource subscriptions
// (subscription_forwarding.hpp), resolves refs passed as arguments
// (ref_arguments.hpp) and turns large results into refs with previews
// (result_interception.hpp; the memory they take: result_memory.hpp). It serves like our own
// servers (refcache_mcp/server_cli.hpp): stdio by default, Streamable HTTP and legacy SSE with
// --transport http, the same cache backends, identities and security defaults. Run
// `refcache-gateway --help`; docs/gateway.md.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "catalog_forwarding.hpp"
#include "gateway_config.hpp"
#include "mcp/serve.hpp"
#include "refcache/errors.hpp"
#include "refcache/version.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "refcache_mcp/dashboard.hpp"
#include "refcache_mcp/server_cli.hpp"
#include "result_memory.hpp"
#include "subscription_forwarding.hpp"
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

// Registers the gateway's own gateway_status tool.
void register_status(mcp::Server& server,
                     const std::vector<std::unique_ptr<gateway::Upstream>>& upstreams,
                     const gateway::ParkedCalls& relayed) {
  mcp::ToolSpec status;
  status.name = "gateway_status";
  status.title = "Gateway status";
  status.description =
      "The upstream MCP servers behind this gateway: whether each is up (and if not, "
      "why), how many attempts were made to start it, its last error, its protocol version "
      "and how many tools it offers; and the calls relayed to 2026-07-28 clients (running, "
      "parked waiting for a client's input).";
  status.input_schema = json::object{{"type", "object"}, {"properties", json::object{}}};
  status.annotations.read_only_hint = true;
  status.annotations.open_world_hint = false;
  server.tool_raw(std::move(status), [&upstreams, &relayed](const json::value&, mcp::ToolContext&) {
    json::array list;
    std::size_t up = 0;
    for (const auto& u : upstreams) {
      list.push_back(u->status());
      if (u->up()) ++up;
    }
    return mcp::CallToolResult::structured(
        json::object{{"upstreams", std::move(list)},
                     {"up", up},
                     {"total", upstreams.size()},
                     {"relayed_calls",
                      json::object{{"running", relayed.running()}, {"parked", relayed.parked()}}}});
  });
}

// As refcache::mcp::run_server, with the upstreams (and their supervising threads) stopped
// after serving has ended and before the server they change goes away.
int serve_gateway(int argc, char** argv, const refcache::mcp::ServerDefaults& d,
                  const gateway::GatewayConfig& config) {
  gateway::keep_freed_memory();
  // stdout belongs to the stdio transport: every log line goes to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("refcache"));
  refcache::mcp::ServerConfig sc;
  int exit_code = 0;
  if (!refcache::mcp::parse_server_flags(argc, argv, d, sc, exit_code)) return exit_code;
  refcache::mcp::configure_logging(sc.logging);
  std::unique_ptr<refcache::RefCache> cache;
  try {
    cache = std::make_unique<refcache::RefCache>(refcache::mcp::cache_options(sc, d));
    refcache::Health h = cache->backend().health();
    if (!h.ok) throw refcache::BackendUnavailable(h.detail);
  } catch (const std::exception& e) {
    std::cerr << d.program << ": cannot open the cache backend: " << e.what() << "\n";
    return 1;
  }
  mcp::ServerOptions so;
  so.info.name = d.program;
  so.info.version = std::string(refcache::kVersion);
  so.info.description = d.description;
  so.instructions = refcache::mcp::cache_instructions();
  // Cached results depend on who asks: answers may be cached per authorization context only.
  so.cache_scope = "private";
  so.call_timeout = sc.call_timeout;
  mcp::Server server(so);
  refcache::mcp::InstallOptions io;
  io.query_deadline = sc.query_timeout;
  io.query_max_memory = sc.query_memory_mib << 20;
  io.admin_check = refcache::mcp::admin_check(sc);
  // Without an administrator the admin tools would only refuse: they are not offered.
  io.admin_tools = static_cast<bool>(io.admin_check);
  refcache::mcp::install(server, *cache, io);

  // Declared after the server: destroyed (supervisors stopped, children reaped) before it.
  std::vector<std::unique_ptr<gateway::Upstream>> upstreams;
  gateway::UpstreamOptions uo;
  uo.call_timeout = sc.call_timeout;
  uo.max_message_bytes = config.max_result_mb << 20;
  for (const auto& u : config.upstreams) {
    upstreams.push_back(std::make_unique<gateway::Upstream>(u, uo));
    // An upstream's resource changed: its subscribed clients are told.
    upstreams.back()->on_resource_updated(
        [&server](const std::string& uri) { server.notify_resource_updated(uri); });
  }
  // Every upstream starts at once; one that is slow or down delays none of the others.
  {
    std::vector<std::thread> starting;
    starting.reserve(upstreams.size());
    for (auto& u : upstreams) starting.emplace_back([&u] { u->connect(); });
    for (auto& t : starting) t.join();
  }
  std::set<std::string> reserved{"get_cached_result", "query_cached_result", "search_cached_result",
                                 "gateway_status"};
  // The admin tools install() may have registered.
  for (const char* n : {"list_references", "get_reference_info", "delete_reference",
                        "clear_namespace", "get_cache_stats", "get_metrics"})
    reserved.insert(n);
  // An ask relayed to a 2026-07-28 caller waits as long as one call may.
  gateway::RelayOptions relay;
  if (sc.call_timeout.count() > 0)
    relay.ask_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(sc.call_timeout);
  // The requests of 2026-07-28 callers that wait for their input, tools' and others'.
  gateway::ParkedCalls relayed(relay);
  gateway::ToolForwarding tools(server, *cache, config, upstreams, reserved, relayed);
  const std::size_t offered = tools.sync(false);
  gateway::CatalogForwarding catalog_forwarding(server, upstreams, {}, relayed);
  const gateway::CatalogCounts catalog = catalog_forwarding.sync(false);
  register_status(server, upstreams, relayed);
  spdlog::info("{}: {} tools, {} resources, {} resource templates, {} prompts from {} upstreams",
               kProgram, offered, catalog.resources, catalog.resource_templates, catalog.prompts,
               upstreams.size());
  // A restarted or late upstream, or one whose lists changed, is offered anew.
  for (auto& u : upstreams)
    u->supervise([&tools, &catalog_forwarding](bool started) {
      tools.sync(true, started);
      catalog_forwarding.sync(true);
    });

  gateway::SubscriptionForwarding subscriptions(server, catalog_forwarding, upstreams);

  refcache::mcp::ChangeNotifierOptions no;
  no.watch_interval = sc.watch_interval;
  refcache::mcp::ChangeNotifier notifier(server, *cache, no);
  sc.transport.http.routes = refcache::mcp::dashboard_routes(*cache, sc, d.program);
  const int rc = refcache::mcp::serve(server, sc);
  subscriptions.stop();
  relayed.stop();
  upstreams.clear();
  return rc;
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
  return serve_gateway(static_cast<int>(flag.rest.size()), flag.rest.data(), defaults, config);
}
