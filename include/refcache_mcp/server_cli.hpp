// Running a refcache MCP server from the command line: the flags every server shares, the
// backend they select, and serving over stdio or HTTP until EOF or a signal.
//
// Transport flags are the MCP SDK's (mcp/transport_flags.hpp), on the same CLI11 parser:
//   --transport stdio|http (or --stdio / --http; MCP_TRANSPORT; default stdio)
//   --host ADDR (MCP_HOST; 127.0.0.1)   --port N (MCP_PORT, else the server's default port)
//   --path /mcp   --allowed-host NAME  --allowed-origin ORIGIN (repeatable)   --allow-any-host
//   --no-legacy-sse   --max-connections N (2048)   --no-metrics
// refcache's own:
//   --backend URL            memory: | sqlite:PATH | redis://... | rediss://...
//                            (default: REDIS_URL / REDIS_HOST select Redis, else the embedded
//                            SQLite cache at MCP_REFCACHE_DB_PATH or
//                            ~/.cache/mcp-refcache/cache.db)
//   --max-size N --size-mode token|character --ttl SECONDS
//   --tokenizer o200k_base|cl100k_base|chars4   how token mode counts (o200k_base; chars4 is
//                            the ceil(characters / 4) approximation, for Claude models)
//   --bearer-token TOKEN=USER   (repeatable; MCP_BEARER_TOKENS="t1=alice,t2=bob") HTTP auth
//   --admin USER                (repeatable; MCP_ADMIN_USERS) principals allowed admin tools
//   --call-timeout SECONDS      deadline of every call (30; 0 = none)
//   --query-timeout SECONDS     deadline of one query or search over a ref (5)
//   --query-memory MIB          memory SQLite may hold for one query or search (256)
//   --namespace-template TPL    e.g. "session:{session_id}": scope every cached result
//   --session-scoped            bind cached results to the caller's session
//   --stdio-admin               (MCP_STDIO_ADMIN=1) the stdio client may use the admin tools
//   --watch-interval SECONDS    how often subscribed refs are checked for deletion (2; 0 = off)
//   --release-min-items N       statistics of private data need N items (10; ReleaseRule)
//   --max-ref-items N --max-ref-bytes N   what the refs of one call may expand to
//   --quota-entries N --quota-bytes N     what one caller may keep in the store (QuotaOptions)
//   --warm FILE                 cached calls computed at start and refreshed ahead of expiry
//                               (warm_file.hpp, CacheWarmer)
//   --tenants FILE              (REFCACHE_TENANTS) each tenant's refs in a store of its own,
//                               chosen by the caller's tenant_id/org_id claim or user
//                               (tenants_file.hpp, RefCache::tenant)
// Flags beat environment variables, which beat defaults. Errors in the flags exit with code 2.
//
// Thread-safety: for main(); parse_server_flags and serve are called once per process.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mcp/serve.hpp"
#include "mcp/server.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "refcache_mcp/log_format.hpp"
#include "refcache_mcp/tenants_file.hpp"

namespace refcache::mcp {

struct ServerDefaults {
  std::string program{};      // e.g. "refcache-calculator"
  std::string description{};  // one line for --help
  std::string cache_name{};   // ref id prefix, e.g. "calculator"
  std::uint16_t default_port = 8000;
  std::string version{};  // reported to clients; empty: refcache's (refcache/version.hpp)
};

struct ServerConfig {
  // The transport flags: stdio or HTTP, and the HTTP options (bind address, port, Host/Origin
  // allow-lists, connections, /metrics). The bearer tokens below become its HTTP auth.
  ::mcp::TransportConfig transport{};
  std::string backend_url{};
  std::size_t max_size = 1000;
  SizeMode size_mode = SizeMode::kToken;
  // PreviewConfig::token_counter: the tokenizer of token mode, or the chars4 approximation.
  TokenCounter token_counter = TokenCounter::kO200kBase;
  // RefCacheOptions::default_ttl. The duration flags (--ttl, --call-timeout, --watch-interval)
  // are given in seconds; here they are std::chrono durations, like every option.
  std::chrono::milliseconds ttl = std::chrono::hours(1);
  std::vector<std::pair<std::string, std::string>> bearer_tokens{};  // token, user
  std::vector<std::string> admins{};
  // ::mcp::ServerOptions::call_timeout (0 = none).
  std::chrono::milliseconds call_timeout = std::chrono::seconds(30);
  // InstallOptions::query_deadline: how long one query_cached_result or search_cached_result
  // may run.
  std::chrono::milliseconds query_timeout = std::chrono::seconds(5);
  // InstallOptions::query_max_memory, in MiB.
  std::size_t query_memory_mib = 256;
  // RefCacheOptions::call_defaults: every cached tool of the server takes these.
  std::string namespace_template{};  // overrides every cached tool's namespace when set
  bool session_scoped = false;
  bool stdio_admin = false;  // the stdio client (who started the process) is an admin
  // ChangeNotifierOptions::watch_interval (0 = no watch).
  std::chrono::milliseconds watch_interval = std::chrono::seconds(2);
  // ReleaseRule::min_items of the tools that release statistics of private data.
  std::size_t release_min_items = 10;
  // InputLimits of every cached tool (items and bytes the refs of one call expand to).
  std::size_t max_ref_items = InputLimits{}.max_items;
  std::size_t max_ref_bytes = InputLimits{}.max_bytes;
  // RefCacheOptions::quota: entries and bytes one caller (user, session or peer) may keep.
  std::size_t quota_entries = QuotaOptions{}.max_entries;
  std::size_t quota_bytes = QuotaOptions{}.max_bytes;
  // --warm: the cache-warming file (warm_file.hpp); empty = no warming.
  std::string warm_file{};
  // --tenants: the tenants file (tenants_file.hpp), read by parse_server_flags into `tenants`;
  // empty = no tenants, one store for every caller.
  std::string tenants_file{};
  TenantsFile tenants{};
  // --log-format and --log-level (REFCACHE_LOG_FORMAT, REFCACHE_LOG_LEVEL): see log_format.hpp.
  LoggingOptions logging{};
};

// Parses flags (and environment). Returns false after printing help (exit code 0) or an error
// (exit code 2); `exit_code` says what to exit with.
bool parse_server_flags(int argc, char** argv, const ServerDefaults& defaults, ServerConfig& config,
                        int& exit_code);

// Builds the cache options for `config`, its call defaults included (opens the backend; throws
// on failure, naming it).
RefCacheOptions cache_options(const ServerConfig& config, const ServerDefaults& defaults);

// The admin check for `config.admins` (unset when the list is empty).
AdminCheck admin_check(const ServerConfig& config);

// Serves `server` per `config` (::mcp::serve with the bearer tokens as HTTP auth) until stdin
// EOF (stdio) or SIGINT/SIGTERM (http), then stops the server's workers. Returns the process
// exit code (1: cannot listen). Logs go to stderr.
int serve(::mcp::Server& server, const ServerConfig& config);

// Convenience: parse, build the cache and server (get_cached_result, refcache:// resources,
// and the admin tools when an administrator is configured), let `register_tools` add the
// tools, serve. The scoping and budget flags reach every cached tool through the cache's
// call defaults; `register_tools` need not apply them.
int run_server(
    int argc, char** argv, const ServerDefaults& defaults,
    const std::function<void(::mcp::Server&, RefCache&, const ServerConfig&)>& register_tools);

}  // namespace refcache::mcp
