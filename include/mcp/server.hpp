// mcp::Server: the registry of tools, resources, resource templates and prompts of one MCP
// server, and the protocol engine that answers JSON-RPC messages for both protocol eras
// (2025-11-25 and older with an initialize handshake; 2026-07-28 stateless, chosen per message
// by params._meta["io.modelcontextprotocol/protocolVersion"]).
//
// Transports (serve_stdio, HttpServer) feed it messages; handlers run on a bounded worker pool
// owned by the server, so a slow tool never blocks a transport or other requests. The pool is
// shared fairly between callers (the authenticated principal, else the legacy session, else the
// peer address): callers take turns, one caller runs at most max_running_per_caller calls at
// once, and every call has a deadline (call_timeout).
//
// Thread-safety: all methods are thread-safe. Registering or removing tools/resources/prompts
// while serving is allowed; call notify_*_list_changed() afterwards to tell clients.
//
//   struct EchoArgs { std::string text; int times = 1; };
//   BOOST_DESCRIBE_STRUCT(EchoArgs, (), (text, times))
//   mcp::Server server({.info = {.name = "demo", .version = "1.0"}});
//   server.tool<EchoArgs>({.name = "echo", .description = "Echo text"},
//       [](const EchoArgs& a, mcp::ToolContext&) { return a.text; });
//   mcp::serve_stdio(server);
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "mcp/context.hpp"
#include "mcp/errors.hpp"
#include "mcp/metrics.hpp"
#include "mcp/schema.hpp"
#include "mcp/session.hpp"
#include "mcp/tasks.hpp"
#include "mcp/types.hpp"

namespace mcp {

struct ServerOptions {
  // serverInfo: name, version and display data. Default: "mcp-server" 0.0.0.
  Implementation info{};
  // Sent in initialize / server/discover; empty (default) = none.
  std::string instructions{};
  // Handler threads; 0 (default) = max(2, hardware threads).
  std::size_t worker_threads = 0;
  // Calls waiting for a worker, all callers together; beyond -> -32603 "Server busy".
  std::size_t max_queued_calls = 4096;
  // Calls of one caller running at once; 0 = half the workers, at least 1. The rest of the
  // workers stay free for other callers, whose calls take turns with this one's (round-robin).
  // A caller is the authenticated principal (bearer subject) if there is one, else the legacy
  // session, else the peer address (modern HTTP); stdio is not capped (its one client may use
  // every worker).
  std::size_t max_running_per_caller = 0;
  // Calls of one caller waiting for a worker; beyond -> -32603 "Server busy", so that one
  // caller cannot fill the queue shared by all (max_queued_calls).
  std::size_t max_queued_per_caller = 256;
  // Deadline of every call that runs on the worker pool (tools/call, resources/read,
  // prompts/get, completion/complete, subscribe checks), counted from its arrival, queueing
  // included. When it passes, the client is answered at once (tools/call: an isError result;
  // the others: -32603) saying the call exceeded its deadline, and the call's
  // CancellationToken is cancelled; its worker is free again once the handler notices. Covers
  // server->client requests too (raise it for tools that wait on a person). Does not apply to
  // subscriptions/listen streams or to tasks once created (they have their ttl). 0 = none.
  std::chrono::milliseconds call_timeout{std::chrono::seconds(30)};
  // Items per */list page; 0 (default) = everything in one page.
  std::size_t page_size = 0;
  // 2026-07-28 caching hint ttlMs on the six cacheable results, in milliseconds. Default 0.
  std::int64_t cache_ttl_ms = 0;
  // Their cacheScope: "public" | "private" | "" (default: "private" for authenticated
  // requests, else "public", because results may depend on who asks).
  std::string cache_scope{};
  // Lifetime of MRTR requestState tokens. Default 10 min.
  std::chrono::seconds request_state_ttl{600};
  // Capabilities advertised (the registries decide tools/resources/prompts; these toggle the
  // rest). Default: all on.
  bool logging = true;
  bool completions = true;
  bool resource_subscriptions = true;
  bool list_changed = true;
  // Limits of the task store (tools registered with task_support; see mcp/tasks.hpp).
  TaskOptions tasks{};
};

// A client that subscribed to a resource, as notify_resource_updated filters see it.
struct Subscriber {
  std::string session_id{};  // as ToolContext::session_id(): empty for modern HTTP (stateless)
  std::optional<Principal> principal{};  // who subscribed (HTTP bearer auth), if known
  Era era = Era::kLegacy;                // legacy resources/subscribe or modern listen stream
  TransportKind transport = TransportKind::kStdio;
};
using SubscriberFilter = std::function<bool(const Subscriber&)>;
// Runs for resources/subscribe and for each resourceSubscriptions URI of
// subscriptions/listen, on the worker pool, with the subscribing request's context.
using SubscribeCheck = std::function<bool(const std::string& uri, RequestContext& ctx)>;

using ToolHandler = std::function<CallToolResult(const json& arguments, ToolContext&)>;
using ResourceHandler = std::function<ReadResourceResult(const std::string& uri, RequestContext&)>;
using TemplateHandler = std::function<ReadResourceResult(
    const std::string& uri, const std::map<std::string, std::string>& vars, RequestContext&)>;
using PromptHandler = std::function<GetPromptResult(
    const std::map<std::string, std::string>& arguments, RequestContext&)>;
// ref is {"type":"ref/prompt","name"} or {"type":"ref/resource","uri"}; context_args are the
// already-resolved arguments (may be empty).
using CompletionHandler = std::function<Completion(
    const boost::json::object& ref, const std::string& argument_name, const std::string& value,
    const std::map<std::string, std::string>& context_args, RequestContext&)>;

namespace detail {
template <class R>
CallToolResult to_call_result(R&& r) {
  using T = std::remove_cvref_t<R>;
  if constexpr (std::is_same_v<T, CallToolResult>) {
    return std::forward<R>(r);
  } else if constexpr (std::is_convertible_v<T, std::string>) {
    return CallToolResult::text(std::string(std::forward<R>(r)));
  } else if constexpr (std::is_same_v<T, json>) {
    return CallToolResult::structured(std::forward<R>(r));
  } else {
    return CallToolResult::structured(mcp::to_json(r));
  }
}
template <class T>
inline constexpr bool has_output_schema =
    schema_detail::Described<T> && !std::is_same_v<T, CallToolResult>;
}  // namespace detail

class Server {
 public:
  explicit Server(ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  const ServerOptions& options() const { return options_; }

  // --- tools ------------------------------------------------------------------------------
  // Typed tool: the input schema comes from Args (see schema.hpp); arguments are validated and
  // converted before `fn` runs, and a mismatch is answered as an isError result naming the
  // field. `fn(const Args&, ToolContext&)` may return CallToolResult, a string (one text block),
  // boost::json::value (structuredContent + text mirror) or a described struct (same, and its
  // schema becomes the tool's outputSchema). Replaces a tool of the same name.
  template <class Args, class Fn>
  void tool(ToolSpec spec, Fn fn) {
    using R = std::invoke_result_t<Fn&, const Args&, ToolContext&>;
    spec.input_schema = schema_of<Args>();
    if constexpr (detail::has_output_schema<std::remove_cvref_t<R>>) {
      if (spec.output_schema.is_null()) spec.output_schema = schema_of<std::remove_cvref_t<R>>();
    }
    add_tool(
        std::move(spec),
        [fn = std::move(fn)](const json& args, ToolContext& ctx) mutable -> CallToolResult {
          Args a{};
          std::string err;
          static const json empty_object = boost::json::object{};
          if (!from_json(args.is_null() ? empty_object : args, a, err))
            return CallToolResult::error("Invalid arguments: " + err);
          return detail::to_call_result(fn(a, ctx));
        },
        /*validate_with_schema=*/false);
  }
  // Raw tool: `spec.input_schema` is used as given (null = any object) and arguments are
  // validated against it (failures become isError results) before `fn` runs.
  void tool_raw(ToolSpec spec, ToolHandler fn) { add_tool(std::move(spec), std::move(fn), true); }
  // Removes a tool; returns whether it existed.
  bool remove_tool(const std::string& name);
  // Top-level input properties of tool `name` annotated with "x-mcp-header" (2026-07-28
  // SEP-2243), as (property, header suffix) pairs; the HTTP transport checks Mcp-Param-* with it.
  std::vector<std::pair<std::string, std::string>> tool_header_params(
      const std::string& name) const;

  // --- resources ----------------------------------------------------------------------------
  void resource(Resource spec, ResourceHandler fn);
  bool remove_resource(const std::string& uri);
  // Template handler receives the URI and the variables matched from `spec.uri_template`, e.g.
  // "refcache://{ref_id}". Throw ResourceNotFound when the URI names nothing.
  void resource_template(ResourceTemplate spec, TemplateHandler fn);

  // --- prompts, completion --------------------------------------------------------------------
  void prompt(PromptSpec spec, PromptHandler fn);
  bool remove_prompt(const std::string& name);
  void completion(CompletionHandler fn);

  // --- notifications pushed by the host -------------------------------------------------------
  void notify_tools_list_changed();
  void notify_resources_list_changed();
  void notify_prompts_list_changed();
  // Sends notifications/resources/updated to sessions subscribed to `uri` (legacy) and to
  // subscriptions/listen streams that asked for it (modern).
  void notify_resource_updated(const std::string& uri);
  // The same, only to the subscribers `filter` accepts (e.g. those still allowed to read the
  // resource). The filter runs on the calling thread, once per subscriber, outside SDK locks.
  void notify_resource_updated(const std::string& uri, const SubscriberFilter& filter);
  // Decides who may subscribe to a resource: resources/subscribe is answered "Resource not
  // found" (-32002 legacy, -32602 modern) and subscriptions/listen leaves the URI out of
  // its acknowledged resourceSubscriptions when the check says false. Unset: anyone may.
  void set_subscribe_check(SubscribeCheck check);
  // Every URI that at least one session or listen stream is subscribed to.
  std::vector<std::string> subscribed_uris() const;

  // --- metrics (see mcp/metrics.hpp) ------------------------------------------------------
  // The SDK's families followed by those of every source, in the Prometheus text format.
  std::string metrics_text() const;
  // Adds a writer of application families (called at every scrape, on the scraping thread;
  // it must write whole families whose names differ from the SDK's and each other's).
  void add_metrics_source(std::function<void(metrics::TextWriter&)> source);
  // What transports record.
  TransportMetrics& transport_metrics();

  // --- transport interface --------------------------------------------------------------------
  // Handles one parsed JSON-RPC message from `session`. The response (if any) and related
  // notifications go to `out`. Returns immediately; work runs on the worker pool.
  void handle(const std::shared_ptr<Session>& session, json message,
              const std::shared_ptr<Outbound>& out, const MessageInfo& info = {});
  // Sessions receive broadcast notifications while attached.
  void attach(const std::shared_ptr<Session>& session);
  void detach(const std::shared_ptr<Session>& session);
  // True when `message` is to be served in the modern era (per-message _meta version).
  static bool is_modern_message(const json& message);
  // Error response text for transports (-32700 etc.).
  static std::string error_response(const json& id, int code, std::string_view message,
                                    const json& data = nullptr);
  // Blocks until no call is running or queued, or `timeout` passes. Returns true if idle.
  bool wait_idle(std::chrono::milliseconds timeout);
  // Stops the worker pool (pending calls are cancelled). Called by the destructor.
  void shutdown();

  struct Impl;

 private:
  void add_tool(ToolSpec spec, ToolHandler fn, bool validate_with_schema);
  ServerOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcp
