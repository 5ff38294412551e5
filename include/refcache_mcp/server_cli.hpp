// Running a refcache MCP server from the command line: the flags every server shares, the
// backend they select, and serving over stdio or HTTP until EOF or a signal.
//
//   --transport stdio|http   (default stdio)         --host ADDR   (default 127.0.0.1)
//   --port N                 (MCP_PORT, else the server's default port)
//   --backend URL            memory: | sqlite:PATH | redis://... | rediss://...
//                            (default: REDIS_URL / REDIS_HOST select Redis, else the embedded
//                            SQLite cache at MCP_REFCACHE_DB_PATH or
//                            ~/.cache/mcp-refcache/cache.db)
//   --max-size N --size-mode token|character --ttl SECONDS
//   --bearer-token TOKEN=USER   (repeatable; MCP_BEARER_TOKENS="t1=alice,t2=bob") HTTP auth
//   --admin USER                (repeatable; MCP_ADMIN_USERS) principals allowed admin tools
//   --allowed-host NAME         (repeatable) extra Host/Origin names accepted over HTTP
//   --allow-any-host            accept any Host/Origin: DNS-rebinding protection off (logged)
//   --call-timeout SECONDS      deadline of every call (30; 0 = none)
//   --max-connections N         HTTP connections at once (2048)
//   --namespace-template TPL    e.g. "session:{session_id}": scope every cached result
//   --session-scoped            bind cached results to the caller's session
//   --stdio-admin               (MCP_STDIO_ADMIN=1) the stdio client may use the admin tools
//   --no-metrics                do not serve /metrics over HTTP (get_metrics stays, gated)
//   --watch-interval SECONDS    how often subscribed refs are checked for deletion (2; 0 = off)
//   --release-min-items N       statistics of private data need N items (10; ReleaseRule)
//   --max-ref-items N --max-ref-bytes N   what the refs of one call may expand to
//   --quota-entries N --quota-bytes N     what one caller may keep in the store (QuotaOptions)
// Flags beat environment variables, which beat defaults.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mcp/server.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache_mcp/cached_tools.hpp"

namespace refcache::mcp {

struct ServerDefaults {
  std::string program;      // e.g. "refcache-calculator"
  std::string description;  // one line for --help
  std::string cache_name;   // ref id prefix, e.g. "calculator"
  std::uint16_t default_port = 8000;
};

struct ServerConfig {
  std::string transport = "stdio";
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string backend_url;
  std::size_t max_size = 1000;
  SizeMode size_mode = SizeMode::kToken;
  double ttl = 3600;
  std::vector<std::pair<std::string, std::string>> bearer_tokens;  // token, user
  std::vector<std::string> admins;
  std::vector<std::string> allowed_hosts;
  bool allow_any_host = false;         // ::mcp::HttpOptions::allow_any_host
  double call_timeout = 30;            // seconds; ::mcp::ServerOptions::call_timeout (0 = none)
  std::size_t max_connections = 2048;  // ::mcp::HttpOptions::max_connections
  std::string namespace_template;      // overrides every cached tool's namespace when set
  bool session_scoped = false;
  bool stdio_admin = false;   // the stdio client (who started the process) is an admin
  bool http_metrics = true;   // serve /metrics over HTTP
  double watch_interval = 2;  // seconds; ChangeNotifierOptions::watch_interval
  // ReleaseRule::min_items of the tools that release statistics of private data.
  std::size_t release_min_items = 10;
  // InputLimits of every cached tool (items and bytes the refs of one call expand to).
  std::size_t max_ref_items = InputLimits{}.max_items;
  std::size_t max_ref_bytes = InputLimits{}.max_bytes;
  // RefCacheOptions::quota: entries and bytes one caller (user, session or peer) may keep.
  std::size_t quota_entries = QuotaOptions{}.max_entries;
  std::size_t quota_bytes = QuotaOptions{}.max_bytes;

  // Applies the scoping flags and input limits to a cached tool's options.
  void apply(CachedCallOptions& options) const;
};

// Parses flags (and environment). Returns false after printing help or an error; `exit_code`
// says what to exit with.
bool parse_server_flags(int argc, char** argv, const ServerDefaults& defaults, ServerConfig& config,
                        int& exit_code);

// Builds the cache options for `config` (opens the backend; throws on failure, naming it).
RefCacheOptions cache_options(const ServerConfig& config, const ServerDefaults& defaults);

// The admin check for `config.admins` (unset when the list is empty).
AdminCheck admin_check(const ServerConfig& config);

// Serves `server` per `config` until stdin EOF (stdio) or SIGINT/SIGTERM (http). Returns the
// process exit code. Logs go to stderr.
int serve(::mcp::Server& server, const ServerConfig& config);

// Convenience: parse, build the cache and server, let `register_tools` add the tools, serve.
int run_server(
    int argc, char** argv, const ServerDefaults& defaults,
    const std::function<void(::mcp::Server&, RefCache&, const ServerConfig&)>& register_tools);

}  // namespace refcache::mcp
