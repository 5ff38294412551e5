#include "refcache_mcp/server_cli.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "mcp/transport_flags.hpp"
#include "refcache/instrumented_backend.hpp"
#include "refcache_mcp/dashboard.hpp"
#include "refcache_mcp/dashboard_activity.hpp"
#include "refcache_mcp/warm_file.hpp"
#if REFCACHE_WITH_SQLITE
#include "refcache/sqlite_backend.hpp"
#endif
#include "refcache/version.hpp"

namespace refcache::mcp {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// Seconds, as the duration flags take them.
double to_seconds(std::chrono::milliseconds d) {
  return std::chrono::duration<double>(d).count();
}

// A flag's seconds as a duration, to the nearest millisecond.
std::chrono::milliseconds from_seconds(double s) {
  return std::chrono::round<std::chrono::milliseconds>(std::chrono::duration<double>(s));
}

bool parse_token_pair(const std::string& s, std::pair<std::string, std::string>& out) {
  auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) return false;
  out = {s.substr(0, eq), s.substr(eq + 1)};
  return true;
}

}  // namespace

bool parse_server_flags(int argc, char** argv, const ServerDefaults& d, ServerConfig& c,
                        int& exit_code) {
  CLI::App app{d.description, d.program};
  std::string size_mode = "token";
  std::string token_counter(to_string(c.token_counter));
  std::vector<std::string> tokens;
  // The duration flags are in seconds; each flag's range keeps it within milliseconds' range.
  double ttl = to_seconds(c.ttl);
  double watch_interval = to_seconds(c.watch_interval);
  double call_timeout = to_seconds(c.call_timeout);
  double query_timeout = to_seconds(c.query_timeout);
  c.transport.http.port = d.default_port;
  ::mcp::add_transport_flags(app, c.transport);
  app.add_option("--backend", c.backend_url,
                 "memory: | sqlite:PATH | redis://[user:pass@]host:port/db | rediss://... "
                 "(default: REDIS_URL/REDIS_HOST, else the embedded SQLite cache)");
  app.add_option("--max-size", c.max_size, "default preview size")
      ->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  app.add_option("--size-mode", size_mode, "token or character")
      ->check(CLI::IsMember({"token", "character"}))
      ->capture_default_str();
  app.add_option("--tokenizer", token_counter,
                 "how --size-mode token counts: o200k_base (GPT-4o, o-series) or cl100k_base "
                 "(GPT-4) exactly, or chars4, the approximation ceil(characters / 4) (for "
                 "Claude models, whose tokenizer is not available offline)")
      ->check(CLI::IsMember({"o200k_base", "cl100k_base", "chars4"}))
      ->capture_default_str();
  app.add_option("--ttl", ttl, "seconds a cached result lives")
      ->check(CLI::Range(1.0, 1e9))
      ->capture_default_str();
  app.add_option("--bearer-token", tokens,
                 "TOKEN=USER: require bearer tokens over HTTP and map them to users "
                 "(also MCP_BEARER_TOKENS=\"t1=alice,t2=bob\")");
  app.add_option("--admin", c.admins, "user allowed the admin tools (also MCP_ADMIN_USERS)");
  app.add_option("--namespace-template", c.namespace_template,
                 "namespace of cached results, e.g. \"session:{session_id}\" or "
                 "\"user:{user_id}\" (default: each tool's own)");
  app.add_flag("--session-scoped", c.session_scoped, "bind cached results to the caller's session");
  app.add_flag("--stdio-admin", c.stdio_admin,
               "over stdio, the client (whoever started this process) may use the admin tools "
               "(also MCP_STDIO_ADMIN=1)");
  app.add_option("--watch-interval", watch_interval,
                 "seconds between checks that subscribed refs still exist (notices deletions by "
                 "other processes on SQLite and expiries); 0 = off")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app.add_option("--release-min-items", c.release_min_items,
                 "a tool shows statistics of data the caller may use but not read only over a "
                 "whole original private list of at least this many items")
      ->check(CLI::Range(2, 1000000000))
      ->capture_default_str();
  app.add_option("--max-ref-items", c.max_ref_items,
                 "items the refs in one call's arguments may expand to, summed")
      ->check(CLI::Range(1, 1000000000))
      ->capture_default_str();
  app.add_option("--max-ref-bytes", c.max_ref_bytes,
                 "bytes of JSON the refs in one call's arguments may expand to, summed")
      ->check(CLI::Range(1, 1 << 30))
      ->capture_default_str();
  app.add_option("--quota-entries", c.quota_entries,
                 "entries one caller (user, session or peer address) may keep in the store; "
                 "beyond it its oldest are deleted (0 = unlimited)")
      ->capture_default_str();
  app.add_option("--quota-bytes", c.quota_bytes,
                 "bytes of values one caller may keep in the store (0 = unlimited); a larger "
                 "single value is refused")
      ->capture_default_str();
  app.add_option("--call-timeout", call_timeout,
                 "seconds a call may take, queueing included; the caller is then answered that "
                 "it exceeded its deadline and the call is cancelled (0 = none)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app.add_option("--query-timeout", query_timeout,
                 "seconds one query_cached_result or search_cached_result may run; a query on a "
                 "value the caller may only use is answered this plus one second after it began")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  app.add_option("--query-memory", c.query_memory_mib,
                 "MiB SQLite may hold for one query_cached_result or search_cached_result: the "
                 "loaded value, its index and what the query builds")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  app.add_option("--tenants", c.tenants_file,
                 "tenants file: each tenant's refs in a store of its own (a Redis database or "
                 "key prefix, a SQLite file), the tenant taken from the token's tenant_id or "
                 "org_id claim or from the file's users (also REFCACHE_TENANTS; "
                 "docs/operations.md, \"Tenants\")");
  app.add_option("--warm", c.warm_file,
                 "JSON file of cached calls to compute at start and refresh ahead of expiry "
                 "(docs/operations.md, \"Cache warming\")")
      ->check(CLI::ExistingFile);
  // Logging (log_format.hpp).
  std::string log_format = c.logging.format == LogFormat::kJson ? "json" : "text";
  app.add_option("--log-format", log_format,
                 "text, or json: one JSON object per line with trace_id, span_id, tool, ref_id, "
                 "operation and duration_us fields (also REFCACHE_LOG_FORMAT)")
      ->check(CLI::IsMember({"text", "json"}))
      ->envname("REFCACHE_LOG_FORMAT")
      ->capture_default_str();
  app.add_option("--log-level", c.logging.level,
                 "least severe level logged: trace, debug (a line per request and per backend "
                 "operation), info, warn, error, critical, off (also REFCACHE_LOG_LEVEL)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->envname("REFCACHE_LOG_LEVEL")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; a flag that cannot be used is a usage error.
    exit_code = app.exit(e) == 0 ? 0 : 2;
    return false;
  }
  c.logging.format = log_format == "json" ? LogFormat::kJson : LogFormat::kText;
  c.size_mode = size_mode == "character" ? SizeMode::kCharacter : SizeMode::kToken;
  c.token_counter = token_counter_from_string(token_counter).value_or(TokenCounter::kO200kBase);
  c.ttl = from_seconds(ttl);
  c.watch_interval = from_seconds(watch_interval);
  c.call_timeout = from_seconds(call_timeout);
  c.query_timeout = from_seconds(query_timeout);
  if (!c.stdio_admin) {
    std::string v = env("MCP_STDIO_ADMIN");
    c.stdio_admin = v == "1" || v == "true" || v == "yes";
  }
  if (tokens.empty()) tokens = split(env("MCP_BEARER_TOKENS"), ',');
  for (const auto& t : tokens) {
    std::pair<std::string, std::string> pair;
    if (!parse_token_pair(t, pair)) {
      std::cerr << d.program << ": --bearer-token must be TOKEN=USER\n";
      exit_code = 2;
      return false;
    }
    c.bearer_tokens.push_back(std::move(pair));
  }
  if (c.admins.empty()) c.admins = split(env("MCP_ADMIN_USERS"), ',');
  if (c.tenants_file.empty()) c.tenants_file = env("REFCACHE_TENANTS");
  if (!c.tenants_file.empty()) {
    try {
      c.tenants = read_tenants_file(c.tenants_file);
    } catch (const std::exception& e) {
      std::cerr << d.program << ": " << e.what() << "\n";
      exit_code = 2;
      return false;
    }
  }
  // What the logs must never show, whatever a message quotes.
  for (const auto& [token, user] : c.bearer_tokens) c.logging.secrets.push_back(token);
  for (const std::string& url : {c.backend_url, env("REDIS_URL")})
    if (std::string pw = url_password(url); !pw.empty()) c.logging.secrets.push_back(pw);
  for (const auto& [id, url] : c.tenants.tenants)
    if (std::string pw = url_password(url); !pw.empty()) c.logging.secrets.push_back(pw);
  if (std::string pw = url_password(c.tenants.backend); !pw.empty())
    c.logging.secrets.push_back(pw);
  // A namespace template that names an identity no caller can have stores results nobody can
  // read (and recomputes them on every call): refuse it here, where the operator sees it.
  const std::string& tpl = c.namespace_template;
  const bool authenticated =
      c.transport.kind == ::mcp::TransportConfig::Kind::kHttp && !c.bearer_tokens.empty();
  if (tpl.find("{user_id}") != std::string::npos && !authenticated) {
    std::cerr << d.program << ": --namespace-template '" << tpl
              << "' scopes results by user, but no caller will have one: users come from "
                 "--bearer-token over --transport http\n";
    exit_code = 2;
    return false;
  }
  if (tpl.find("{agent_id}") != std::string::npos) {
    std::cerr << d.program << ": --namespace-template '" << tpl
              << "' scopes results by agent id, which these servers never receive\n";
    exit_code = 2;
    return false;
  }
  return true;
}

RefCacheOptions cache_options(const ServerConfig& c, const ServerDefaults& d) {
  RefCacheOptions o;
  o.name = d.cache_name;
  o.default_ttl = c.ttl;
  o.preview.max_size = c.max_size;
  o.preview.size_mode = c.size_mode;
  o.preview.token_counter = c.token_counter;
  std::shared_ptr<Backend> store = open_backend(c.backend_url);
  // The dashboard's bookkeeping (refs seen, reads, tokens saved, events) under the timing.
  if (dashboard_enabled(c))
    store = std::make_shared<DashboardActivity>(std::move(store),
                                                DashboardActivityOptions{.preview = o.preview});
  // Timed: every backend operation feeds the latency histograms of /metrics.
  o.backend = std::make_shared<InstrumentedBackend>(std::move(store));
  o.quota.max_entries = c.quota_entries;
  o.quota.max_bytes = c.quota_bytes;
  // Every cached tool of the server takes these (CachedCall applies them itself).
  if (!c.namespace_template.empty()) o.call_defaults.namespace_template = c.namespace_template;
  o.call_defaults.session_scoped = c.session_scoped;
  o.call_defaults.input_limits.max_items = c.max_ref_items;
  o.call_defaults.input_limits.max_bytes = c.max_ref_bytes;
  o.call_defaults.release_min_items = c.release_min_items;
  if (!c.tenants_file.empty())
    o.tenants.open_backend = [tenants = c.tenants](const std::string& id) {
      auto url = tenants.backend_url(id);
      if (!url) throw InvalidArgument("tenant '" + id + "' has no store on this server");
      return open_backend(*url);
    };
  return o;
}

AdminCheck admin_check(const ServerConfig& c) {
  if (c.admins.empty() && !c.stdio_admin) return {};
  return [admins = c.admins, stdio = c.stdio_admin](const ::mcp::ToolContext& ctx) {
    // Over stdio the client is whoever started the process: the operator, when they said so.
    if (stdio && ctx.transport() == ::mcp::TransportKind::kStdio) return true;
    const auto& p = ctx.principal();
    if (!p) return false;
    return std::find(admins.begin(), admins.end(), p->subject) != admins.end();
  };
}

int serve(::mcp::Server& server, const ServerConfig& c) {
  ::mcp::TransportConfig transport = c.transport;
  if (transport.kind == ::mcp::TransportConfig::Kind::kHttp) {
    if (!c.bearer_tokens.empty()) {
      ::mcp::AuthOptions auth;
      auth.verify = [tokens = c.bearer_tokens, tenants = c.tenants](
                        std::string_view token) -> std::optional<::mcp::Principal> {
        for (const auto& [t, user] : tokens)
          if (t == token) {
            ::mcp::Principal p{.subject = user};
            // The tenants file's users: the tenant of a user whose token names none.
            if (std::string tenant = tenants.tenant_of_user(user); !tenant.empty())
              p.claims["tenant_id"] = tenant;
            return p;
          }
        return std::nullopt;
      };
      transport.http.auth = std::move(auth);
    }
    if (c.namespace_template.find("{session_id}") != std::string::npos || c.session_scoped)
      spdlog::warn(
          "results are kept per session: cached tools refuse 2026-07-28 requests, which have "
          "no session (2025-11-25 clients over HTTP have one)");
  }
  const int rc = ::mcp::serve(server, transport);
  server.shutdown();
  return rc;
}

namespace {

// What an operator needs to know of the backend beyond its kind: for SQLite, the library
// version linked and the background checkpoints' mode (see docs/backends.md).
std::string backend_details(Backend& b) {
  Backend* inner = &b;
  if (auto* ib = dynamic_cast<InstrumentedBackend*>(inner)) inner = &ib->inner();
  if (auto* da = dynamic_cast<DashboardActivity*>(inner)) inner = &da->inner();
#if REFCACHE_WITH_SQLITE
  if (auto* sb = dynamic_cast<SQLiteBackend*>(inner))
    return " (" + sb->path() + ", SQLite " + std::string(SQLiteBackend::sqlite_version()) + ", " +
           std::string(sb->checkpoint_mode()) + " checkpoints)";
#endif
  return "";
}

}  // namespace

int run_server(int argc, char** argv, const ServerDefaults& d,
               const std::function<void(::mcp::Server&, RefCache&, const ServerConfig&)>& reg) {
  // Request bodies and values near the limits must not stay resident once freed.
  ::mcp::return_large_blocks_to_os();
  // stdout belongs to the stdio transport: every log line goes to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("refcache"));
  ServerConfig config;
  int exit_code = 0;
  if (!parse_server_flags(argc, argv, d, config, exit_code)) return exit_code;
  configure_logging(config.logging);
  std::unique_ptr<RefCache> cache;
  try {
    cache = std::make_unique<RefCache>(cache_options(config, d));
    Health h = cache->backend().health();
    if (!h.ok) throw BackendUnavailable(h.detail);
  } catch (const std::exception& e) {
    std::cerr << d.program << ": cannot open the cache backend: " << e.what() << "\n";
    return 1;
  }
  ::mcp::ServerOptions so;
  so.info.name = d.program;
  so.info.version = d.version.empty() ? std::string(kVersion) : d.version;
  so.info.description = d.description;
  so.instructions = cache_instructions();
  // Cached results depend on who asks: answers may be cached per authorization context only.
  so.cache_scope = "private";
  so.call_timeout = config.call_timeout;
  ::mcp::Server server(so);
  InstallOptions io;
  io.query_deadline = config.query_timeout;
  io.query_max_memory = config.query_memory_mib << 20;
  io.admin_check = admin_check(config);
  // Without an administrator the admin tools would only refuse: they are not offered.
  io.admin_tools = static_cast<bool>(io.admin_check);
  install(server, *cache, io);
  reg(server, *cache, config);
  // Subscribed clients hear about changed, deleted and expired refs (destroyed before the
  // server and the cache).
  ChangeNotifierOptions no;
  no.watch_interval = config.watch_interval;
  ChangeNotifier notifier(server, *cache, no);
  // Declared calls kept computed (destroyed first: it calls the tools registered above).
  std::unique_ptr<CacheWarmer> warmer;
  if (!config.warm_file.empty()) {
    try {
      CacheWarmerOptions wo = read_warm_file(config.warm_file);
      for (const auto& c : wo.calls)
        if (!cache->find_call(c.tool))
          throw InvalidArgument("warm file " + config.warm_file + ": '" + c.tool +
                                "' is not a cached tool of " + d.program);
      spdlog::info("{}: warming {} call(s), refreshed at {} of their TTL", d.program,
                   wo.calls.size(), wo.refresh_at);
      warmer = std::make_unique<CacheWarmer>(*cache, std::move(wo));
    } catch (const std::exception& e) {
      std::cerr << d.program << ": " << e.what() << "\n";
      return 2;
    }
  }
  spdlog::info("{}: cache '{}' on the {} backend{}", d.program, d.cache_name,
               cache->backend().kind(), backend_details(cache->backend()));
  config.transport.http.routes = dashboard_routes(*cache, config, d.program);
  return serve(server, config);
}

}  // namespace refcache::mcp
