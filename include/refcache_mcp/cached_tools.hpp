// refcache on an MCP server: cached tools, refs as resources, get_cached_result, admin tools
// and the instructions that tell an agent how to use references.
//
//   struct PrimesArgs { int count = 20; };
//   BOOST_DESCRIBE_STRUCT(PrimesArgs, (), (count))
//   mcp::Server server({.info = {.name = "calculator", .version = "1.0.0"},
//                       .instructions = refcache::mcp::cache_instructions()});
//   refcache::RefCache cache({.name = "calculator", .backend = refcache::open_backend(url)});
//   refcache::mcp::install(server, cache);  // get/query/search_cached_result, refcache://{ref_id}
//   refcache::mcp::cached_tool<PrimesArgs>(server, cache,
//       {.tool = {.name = "generate_primes", .description = "First N primes"},
//        .cache = {.ns = "sequences"}},
//       [](const PrimesArgs& a, refcache::CallContext&) { return primes(a.count); });
//
// Every parameter of a cached tool accepts either its data or a ref id (the published input
// schema says so: each property becomes anyOf[its schema, ref id string]); refs are resolved
// as the caller before the arguments are checked against the tool's own schema and converted
// to Args. Results go out as structuredContent with a JSON text mirror; large results also
// carry a resource_link to refcache://{ref_id}. A client's budget hint in params._meta
// (budget_hint.hpp: anthropic/maxResultSizeChars, refcache/maxResultTokens) lowers the budget
// of a cached tool's call, and of get_cached_result, query_cached_result and
// search_cached_result, so that the answer's text fits it.
//
// Identity: the MCP session becomes the actor's session; an authenticated principal's subject
// becomes user_id (and its string claims org_id, tenant_id, agent_id become template values);
// the peer address is kept as peer_address (quota_principal uses it). The principal's tenant
// (tenant_of: its tenant_id claim, else its org_id claim) selects the store of every operation
// when the cache has tenants (RefCacheOptions::tenants): cached calls, get_cached_result, the
// query tools, refcache:// resources, subscriptions and the admin tools (an administrator
// acts on its own tenant's store). A caller without a tenant uses the cache's own store.
//
// Thread-safety: registration functions are called before or while serving, like any
// mcp::Server registration; the registered handlers are thread-safe.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "mcp/server.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/ref_cache.hpp"

namespace refcache::mcp {

// The URI of a ref as a resource: "refcache://" + ref id.
inline constexpr const char* kRefUriPrefix = "refcache://";

// Metadata members of a ref that holds one media item (an image, audio, a file's content)
// rather than JSON data: its MIME type, and kBase64 under kMediaEncoding when the value is the
// base64 text of binary content. resources/read answers such a ref (whole, with READ) as that
// type: a blob, or text, instead of the value's JSON.
inline constexpr const char* kMediaMimeType = "mime_type";
inline constexpr const char* kMediaEncoding = "encoding";
inline constexpr const char* kBase64 = "base64";

// How an MCP request maps to a cache actor and template values.
CallIdentity identity_of(const ::mcp::ToolContext& ctx);
// The same from a session id (empty for stateless requests), a principal and the peer's
// address (empty over stdio; the quota key of unauthenticated stateless callers).
CallIdentity identity_of(const std::string& session_id,
                         const std::optional<::mcp::Principal>& principal,
                         const std::string& peer_address = {});

// The tenant of a caller with these identity values: tenant_id, else org_id; empty when
// neither is set.
std::string tenant_of(const std::map<std::string, std::string>& values);

// The cache a request works on: its caller's tenant's (RefCache::tenant), else `cache`
// itself. A tool handler that reads or writes the cache directly (rather than through
// cached_tool) uses it, so that with tenants each caller stays in its own tenant's store.
// Throws InvalidArgument for a tenant the cache refuses (see RefCache::tenant).
RefCache& cache_for(RefCache& cache, const ::mcp::ToolContext& ctx);

// The ref id pattern as a JSON Schema for a string parameter.
boost::json::value ref_id_schema();

// `schema` (an object schema) with every property listed in `params` (all when empty) widened
// to anyOf[original, ref id string]; the items of a list property are widened the same way.
boost::json::value accept_refs(const boost::json::value& schema,
                               const std::vector<std::string>& params = {});

struct CachedToolSpec {
  ::mcp::ToolSpec tool{};                 // name, description, title, annotations, icons
  CachedCallOptions cache{};              // namespace, policy, ttl, max_size, async, ...
  std::vector<std::string> ref_params{};  // parameters that accept refs; empty = all
  bool describe_caching = true;           // append the retrieval guidance to the description
};

// Result of a cached call as an MCP tool result (structuredContent + text mirror, and a
// resource_link for results that are not shown whole).
::mcp::CallToolResult to_tool_result(const boost::json::object& response);

// Registers a tool whose handler is `fn(const boost::json::object& resolved_args, CallContext&)`.
// `spec.tool.input_schema` is the tool's own schema (refs are added to it).
void cached_tool_raw(::mcp::Server& server, RefCache& cache, CachedToolSpec spec, CallFn fn);

// Typed: Args is a Boost.Describe struct; fn(const Args&, CallContext&) returns anything
// mcp::to_json converts (a number, string, vector, map, described struct or JSON value).
template <class Args, class Fn>
void cached_tool(::mcp::Server& server, RefCache& cache, CachedToolSpec spec, Fn fn) {
  spec.tool.input_schema = ::mcp::schema_of<Args>();
  cached_tool_raw(server, cache, std::move(spec),
                  [fn = std::move(fn)](const boost::json::object& args, CallContext& ctx) mutable {
                    Args a{};
                    std::string err;
                    if (!::mcp::from_json(boost::json::value(args), a, err))
                      throw InvalidArgument("Invalid arguments: " + err);
                    using R = std::invoke_result_t<Fn&, const Args&, CallContext&>;
                    if constexpr (std::is_same_v<std::remove_cvref_t<R>, boost::json::value>)
                      return fn(a, ctx);
                    else
                      return ::mcp::to_json(fn(a, ctx));
                  });
}

// Who may use the admin tools. Unset = nobody ("No admin check configured").
using AdminCheck = std::function<bool(const ::mcp::ToolContext&)>;

struct InstallOptions {
  bool get_cached_result = true;  // the retrieval tool
  bool ref_resources = true;      // resource template refcache://{ref_id}
  // The admin tools (usable only through admin_check; run_server registers them only when
  // an administrator is configured, since without one they would refuse every caller).
  bool admin_tools = true;
  AdminCheck admin_check{};
  std::string admin_prefix = "";      // e.g. "admin_"
  std::int64_t max_page_size = 1000;  // get_cached_result bounds
  std::int64_t max_max_size = 1000000;
  // query_cached_result and search_cached_result (docs/queries.md): one read-only SQL
  // statement, or a full-text search, over a ref the caller may READ; their answers are
  // cached and previewed like any result. Builds without SQLite (REFCACHE_WITH_SQLITE off)
  // register neither.
  bool query_tools = true;
  // Wall time of one query or search, loading the value included (QueryLimits::deadline).
  std::chrono::milliseconds query_deadline{5000};
  // Rows one query may answer (QueryLimits::max_rows).
  std::size_t query_max_rows = 1000000;
  // Bytes SQLite may hold for one query or search (QueryLimits::max_memory).
  std::size_t query_max_memory = std::size_t{256} << 20;
  // The most hits one search may ask for (its `limit` argument's maximum).
  std::int64_t max_search_hits = 100;
  // Adds the cache's metric families to the server's (Server::metrics_text, /metrics) and,
  // with admin_tools, the gated get_metrics tool.
  bool metrics = true;
};

// Registers get_cached_result, query_cached_result, search_cached_result, the
// refcache://{ref_id} resource template and the admin tools, as `options` enables them.
void install(::mcp::Server& server, RefCache& cache, const InstallOptions& options = {});

// Tells MCP clients when refs they subscribed to change: a change event of the cache's
// backend (an entry updated, deleted, expired, or its namespace cleared -- by this process,
// or by another one when the backend shares events, as Redis does) becomes
// notifications/resources/updated for refcache://{ref_id}, sent to legacy sessions that
// called resources/subscribe and to 2026-07-28 subscriptions/listen streams that listed the
// URI. Access control: subscribing needs READ on the ref (or on its running task), else the
// answer is the same "Resource not found" a missing ref gets; and a notification only reaches
// subscribers that may READ the ref under its latest known policy (an update that takes READ
// away silences it; a deletion is checked against the policy the ref had). Notifications
// carry the URI alone, never a value. With tenants (RefCacheOptions::tenants), a session
// subscribes to a ref of its own tenant's store, whose events the notifier listens to from
// then on, and only sessions of that tenant are notified.
//
// Not every change produces an event in this process: SQLite and memory deliver only the
// changes made through the same backend object (another process deleting from a shared SQLite
// file is silent), and an expiry is only noticed when something touches the entry. So the
// notifier also checks, every `watch_interval`, that each subscribed ref still exists, and
// treats one that vanished as deleted. (Overwrites of a ref by another process are not seen
// this way; with Redis they arrive as events.)
//
// Thread-safety: notifications are sent on the thread that delivers the change event, or on
// the notifier's watch thread. Destroy it before the server and the cache.
struct ChangeNotifierOptions {
  std::chrono::milliseconds watch_interval{2000};  // 0 = no watch thread
};

class ChangeNotifier {
 public:
  ChangeNotifier(::mcp::Server& server, RefCache& cache, ChangeNotifierOptions options = {});
  ~ChangeNotifier();
  ChangeNotifier(const ChangeNotifier&) = delete;
  ChangeNotifier& operator=(const ChangeNotifier&) = delete;

  // Writes refcache_change_events_total{kind} and refcache_resource_notifications_total
  // {result=sent|suppressed} (the constructor also adds them to the server's metrics).
  void write_metrics(metrics::TextWriter& w) const;

  struct State;

 private:
  ::mcp::Server& server_;
  std::shared_ptr<State> state_;
  std::thread watcher_;
};

// The agent-facing guide to references (our words for the reference's compact instructions).
std::string cache_instructions();
// One sentence on paging, enlarging and fetching in full.
std::string retrieval_guidance();

}  // namespace refcache::mcp
