// mcp::Client: one connection to one MCP server, for a program that uses the server's tools,
// resources and prompts. It speaks both protocol eras: connect() asks for 2026-07-28 first
// (server/discover; every request then carries its _meta envelope) and falls back to the
// 2025-11-25 handshake (initialize + notifications/initialized) against older servers. It
// knows nothing of caching.
//
// Calls block the calling thread until the answer, the call's deadline, its cancellation or
// the end of the connection, and throw mcp::Error for every failure: the server's own JSON-RPC
// error as mcp::Error (code, message, data), and ClientError for what went wrong on this side
// (timeout, cancelled, transport closed, malformed answer, busy, unsupported; see
// client_error.hpp). A tool's own failure is not an exception: it is a CallToolResult with
// is_error (except for typed calls, which throw ClientError kToolError). The client walks the
// pages of */list calls, answers the server's input requests (2025-11-25: elicitation/create,
// sampling/createMessage and roots/list requests; 2026-07-28: input_required results, retried
// with the answers) with the handlers the program registers, and follows tasks to their end.
//
// Thread-safety: all methods are thread-safe after connect(); calls may run concurrently from
// any number of threads (up to ClientOptions::max_pending_requests in flight). Register the
// handlers before connect(): the legacy era declares the client's capabilities (elicitation,
// sampling, roots) once, in initialize, from the handlers set then. Handlers run on the
// client's own threads, never on the caller's: notification handlers one at a time, in the
// order the server sent them; elicitation, sampling and roots handlers on handler_threads
// threads (in the modern era, on the thread of the call that got the input request). A
// handler must not call close().
//
//   mcp::Client client({.info = {.name = "my-app", .version = "1.0"}});
//   client.connect(std::make_unique<mcp::StdioClientTransport>(
//       mcp::StdioClientOptions{.command = "my-server"}));
//   for (const auto& tool : client.list_tools()) std::cout << tool.name << "\n";
//   auto sum = client.call_tool<AddResult>("add", AddArgs{.a = 1, .b = 2});   // typed
//   mcp::CallToolResult r = client.call_tool("echo", {{"text", "hi"}});       // raw
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "mcp/client_error.hpp"
#include "mcp/client_transport.hpp"
#include "mcp/context.hpp"
#include "mcp/errors.hpp"
#include "mcp/schema.hpp"
#include "mcp/types.hpp"

namespace mcp {

// Which protocol eras connect() tries.
enum class VersionNegotiation {
  kAuto,    // 2026-07-28 (server/discover), then 2025-11-25 (initialize) if the server is older
  kLegacy,  // 2025-11-25 only: initialize, no probe
  kModern,  // 2026-07-28 only: a server that does not offer it fails connect()
};

struct ClientOptions {
  // clientInfo: who the client is, for the server's logs. Default "mcp-client" 0.0.0.
  Implementation info{.name = "mcp-client"};
  // Eras to try. Default kAuto.
  VersionNegotiation versions = VersionNegotiation::kAuto;
  // How long connect() waits for the answer to its server/discover probe. On stdio a silent
  // server is taken for a legacy one; on HTTP silence fails connect(). Default 5 s.
  std::chrono::milliseconds probe_timeout{5000};
  // Deadline of each call, unless CallOptions::timeout says otherwise; 0 = none. When it
  // passes, the client sends notifications/cancelled and the call throws ClientError kTimeout.
  // Default 60 s.
  std::chrono::milliseconds request_timeout{60000};
  // Calls waiting for their answer, all threads together; one more throws ClientError kBusy.
  // Default 1024.
  std::size_t max_pending_requests = 1024;
  // Notifications received and not yet handled; beyond, the newest are dropped (and counted in
  // stats()), so that a server flooding notifications cannot grow memory. Default 1024.
  std::size_t max_queued_notifications = 1024;
  // Threads that run elicitation, sampling and roots handlers for the server's requests
  // (2025-11-25), started at connect(). Default 2.
  std::size_t handler_threads = 2;
  // Server requests waiting for one of those threads; beyond, the server is answered -32603
  // "Client busy". Default 64.
  std::size_t max_queued_server_requests = 64;
  // Largest message accepted from the server, in bytes (a larger one is dropped and logged).
  // Default 64 MiB.
  std::size_t max_message_bytes = 64u << 20;
  // Deepest JSON nesting accepted from the server. Default 64.
  std::size_t max_json_depth = 64;
  // 2026-07-28: input_required rounds of one call (each answered by the handlers and retried)
  // before it fails with ClientError kUnsupported. Default 8.
  std::size_t max_input_rounds = 8;
  // Pages one */list call follows before it fails with ClientError kMalformedAnswer (a server
  // that hands out cursors forever). Default 1000.
  std::size_t max_list_pages = 1000;
  // Log messages wanted from the server: 2025-11-25 sends logging/setLevel after initialize;
  // 2026-07-28 puts it in every request's _meta (without it, servers send no log messages).
  // Default none: the legacy server's own default, and no log messages in the modern era.
  std::optional<LogLevel> log_level{};
  // 2026-07-28: declare the tasks extension (io.modelcontextprotocol/tasks), so that a server
  // may answer a tool call with a task; call_tool() then follows the task to its end. Default
  // true.
  bool tasks = true;
  // Bounds on the interval between two polls of a task (the server suggests one). Default
  // 50 ms to 5 s.
  std::chrono::milliseconds min_poll_interval{50};
  std::chrono::milliseconds max_poll_interval{5000};
};

// One notifications/progress of a call.
struct Progress {
  double progress = 0;
  std::optional<double> total{};
  std::string message{};
};

// How one call runs. Every field is optional.
struct CallOptions {
  // This call's deadline, from when it is made; unset = ClientOptions::request_timeout; 0 =
  // none. It covers every round of the call (input rounds, task polls).
  std::optional<std::chrono::milliseconds> timeout{};
  // Receives the call's progress notifications (the request then carries a progressToken),
  // on the client's notification thread, in order.
  std::function<void(const Progress&)> on_progress{};
  // Cancelling it ends the call at once with ClientError kCancelled and tells the server
  // (notifications/cancelled; a task is cancelled with tasks/cancel). Must outlive the call.
  CancellationToken* cancellation = nullptr;
  // Extra members of the request's params._meta.
  boost::json::object meta{};
  // 2026-07-28: the elicitation, sampling and roots capabilities this request declares (those
  // members of a capabilities object; the others are ignored), in place of those of the
  // client's handlers. For a proxy, which declares its caller's, so that the server asks only
  // for what the caller can answer. Ignored in 2025-11-25, where capabilities are declared
  // once.
  std::optional<boost::json::object> input_capabilities{};
};

// notifications/message.
struct LogMessage {
  LogLevel level = LogLevel::kInfo;
  std::string logger{};
  json data{};
};

// What the server asks the user (elicitation/create): a form to fill (requested_schema, a flat
// JSON Schema object) or, in url mode, a page to visit.
struct ElicitationRequest {
  std::string message{};
  json requested_schema{};
  std::string mode = "form";  // "form" | "url"
  std::string url{};          // url mode
  std::string elicitation_id{};
  boost::json::object params{};  // everything the server sent
};
struct ElicitationResult {
  std::string action = "accept";  // "accept" | "decline" | "cancel"
  boost::json::object content{};  // accept: the form's values
  json to_json() const;
};

// What the server asks the client's model (sampling/createMessage).
struct SamplingRequest {
  boost::json::array messages{};  // [{role, content}]
  std::int64_t max_tokens = 0;
  std::string system_prompt{};
  boost::json::object params{};  // everything the server sent (modelPreferences, tools, ...)
};
struct SamplingResult {
  std::string role = "assistant";
  json content{};  // one content block, e.g. mcp::text_content("...")
  std::string model{};
  std::string stop_reason{};  // "endTurn", "maxTokens", ...; empty = omitted
  json to_json() const;
};

// A root the client offers the server (roots/list).
struct Root {
  std::string uri{};  // file://...
  std::string name{};
};

using ElicitationHandler = std::function<ElicitationResult(const ElicitationRequest&)>;
using SamplingHandler = std::function<SamplingResult(const SamplingRequest&)>;
using RootsHandler = std::function<std::vector<Root>()>;
// All the inputRequests of one 2026-07-28 input_required result ({key: {method, params}}),
// answered together: returns {key: result} for every key; throws mcp::Error to refuse them.
using InputRequestsHandler =
    std::function<boost::json::object(const boost::json::object& requests)>;

// The server, as connect() found it.
struct ServerInfo {
  Era era = Era::kLegacy;
  std::string protocol_version{};   // the version every request is sent under
  Implementation implementation{};  // serverInfo
  boost::json::object capabilities{};
  std::string instructions{};
  std::vector<std::string> supported_versions{};  // 2026-07-28: server/discover's list
};

// A task (2025-11-25 experimental tasks; the 2026-07-28 tasks extension).
struct TaskInfo {
  std::string task_id{};
  // "working", "input_required", "completed", "failed", "cancelled".
  std::string status{};
  std::string status_message{};
  std::string created_at{};
  std::string last_updated_at{};
  std::optional<std::int64_t> ttl_ms{};
  std::optional<std::int64_t> poll_interval_ms{};
  // 2026-07-28 tasks/get: the outcome of a terminal task and the questions of a waiting one.
  std::optional<json> result{};
  std::optional<json> error{};
  std::optional<boost::json::object> input_requests{};
  bool terminal() const;
};

// What a task-augmented tool call started: a task, or (2026-07-28, where the server decides)
// the result at once.
struct ToolTask {
  std::optional<TaskInfo> task{};
  std::optional<CallToolResult> result{};
};

// Counters of what the client dropped or refused (bounded memory at work).
struct ClientStats {
  std::uint64_t notifications_dropped = 0;    // the notification queue was full
  std::uint64_t unexpected_responses = 0;     // answers with an id nobody waits for
  std::uint64_t malformed_messages = 0;       // not JSON, not JSON-RPC, too large or too deep
  std::uint64_t server_requests_refused = 0;  // answered "Client busy"
  std::size_t pending_requests = 0;           // calls waiting for their answer now
};

class Client {
 public:
  explicit Client(ClientOptions options = {});
  ~Client();  // close()
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientOptions& options() const;

  // --- handlers (before connect()) ----------------------------------------------------------
  // Set, each declares its capability (elicitation, sampling, roots with listChanged).
  void on_elicitation(ElicitationHandler handler);
  void on_sampling(SamplingHandler handler);
  void on_roots(RootsHandler handler);
  // Set, it answers the input requests of each 2026-07-28 input_required result in one call,
  // instead of the handlers above one request at a time: for a client that passes a round on
  // as one round (a proxy). It declares no capability (the handlers above still do), and
  // 2025-11-25 requests, which come one at a time, still go to the handlers above.
  void on_input_requests(InputRequestsHandler handler);
  // Notification handlers; in the 2026-07-28 era the list_changed and resource updates arrive
  // on a subscriptions/listen stream, which the client opens when one of these is set (or
  // subscribe() is called).
  void on_tools_list_changed(std::function<void()> handler);
  void on_prompts_list_changed(std::function<void()> handler);
  void on_resources_list_changed(std::function<void()> handler);
  void on_resource_updated(std::function<void(const std::string& uri)> handler);
  void on_log(std::function<void(const LogMessage&)> handler);
  // Any other notification of the server's.
  void on_notification(
      std::function<void(const std::string& method, const boost::json::object& params)> handler);

  // --- connection ----------------------------------------------------------------------------
  // Starts `transport` and agrees on a protocol version (see VersionNegotiation); returns what
  // it learnt of the server. Throws mcp::Error (ClientError kTransportClosed when the server
  // cannot be started or went away, kUnsupported when no era fits) and leaves the client
  // closed. Once per client.
  const ServerInfo& connect(std::unique_ptr<ClientTransport> transport);
  // Fails the calls in flight (ClientError kTransportClosed, "closed by the client"), closes
  // the transport and stops the client's threads. Idempotent.
  void close();
  // True between a successful connect() and the end of the connection.
  bool connected() const;
  // Why the connection ended ("server process exited with status 1"); empty while it lasts.
  std::string closed_reason() const;

  const ServerInfo& server() const;  // valid after connect()
  Era era() const;
  const std::string& protocol_version() const;
  // Whether the server declared `capability` ("tools", "resources", "prompts", "logging",
  // "completions", "tasks").
  bool server_supports(std::string_view capability) const;

  // --- utilities -----------------------------------------------------------------------------
  // 2025-11-25 only (throws ClientError kUnsupported in the modern era).
  void ping(const CallOptions& options = {});
  // 2025-11-25: logging/setLevel; 2026-07-28: the logLevel of later requests.
  void set_log_level(LogLevel level);

  // --- tools ---------------------------------------------------------------------------------
  // Every tool, all pages.
  std::vector<ToolSpec> list_tools(const CallOptions& options = {});
  // tools/call. A tool's failure is a result with is_error; protocol failures throw.
  CallToolResult call_tool(const std::string& name, const json& arguments = boost::json::object{},
                           const CallOptions& options = {});
  // Typed: `arguments` (a described struct) goes out as mcp::to_json(arguments), and the
  // result's structuredContent (else the JSON of its first text block) is read into R with
  // mcp::from_json. An isError result throws ClientError kToolError with the tool's text; a
  // result that does not fit R throws ClientError kMalformedAnswer naming the field. R =
  // CallToolResult returns the result as it is.
  template <class R, class Args>
  R call_tool(const std::string& name, const Args& arguments, const CallOptions& options = {}) {
    CallToolResult r = call_tool(name, mcp::to_json(arguments), options);
    if constexpr (std::is_same_v<R, CallToolResult>) {
      return r;
    } else {
      const json v = structured_result(name, r);
      R out{};
      std::string err;
      if (!mcp::from_json(v, out, err, "result"))
        throw ClientError(ClientError::Kind::kMalformedAnswer,
                          "tools/call " + name + ": the result does not fit the type: " + err);
      return out;
    }
  }

  // --- resources -----------------------------------------------------------------------------
  std::vector<Resource> list_resources(const CallOptions& options = {});
  std::vector<ResourceTemplate> list_resource_templates(const CallOptions& options = {});
  ReadResourceResult read_resource(const std::string& uri, const CallOptions& options = {});
  // on_resource_updated is called when `uri` changes. 2025-11-25: resources/subscribe;
  // 2026-07-28: the URI joins the subscriptions/listen stream, and a URI the server does not
  // accept throws mcp::Error (-32602 "Resource not found").
  void subscribe(const std::string& uri, const CallOptions& options = {});
  void unsubscribe(const std::string& uri, const CallOptions& options = {});

  // --- prompts, completion -------------------------------------------------------------------
  std::vector<PromptSpec> list_prompts(const CallOptions& options = {});
  GetPromptResult get_prompt(const std::string& name,
                             const std::map<std::string, std::string>& arguments = {},
                             const CallOptions& options = {});
  // completion/complete for argument `argument` of a prompt (prompt_ref) or resource template
  // (resource_ref), whose value so far is `value`; `context` holds arguments already chosen.
  Completion complete(const boost::json::object& ref, const std::string& argument,
                      const std::string& value,
                      const std::map<std::string, std::string>& context = {},
                      const CallOptions& options = {});
  static boost::json::object prompt_ref(const std::string& name);
  static boost::json::object resource_ref(const std::string& uri_template);

  // --- tasks ---------------------------------------------------------------------------------
  // Calls a tool as a task: 2025-11-25 asks for one (params.task, with `ttl` if given); in
  // 2026-07-28 the server decides (the tool's taskSupport), and may answer at once.
  ToolTask call_tool_as_task(const std::string& name, const json& arguments = boost::json::object{},
                             std::optional<std::chrono::milliseconds> ttl = std::nullopt,
                             const CallOptions& options = {});
  TaskInfo get_task(const std::string& task_id, const CallOptions& options = {});
  // Waits for the task's end and returns its result; a failed task throws its error (an
  // mcp::Error), a cancelled one ClientError kCancelled. 2025-11-25: tasks/result (the
  // server's requests meanwhile go to the handlers); 2026-07-28: polls tasks/get and answers
  // input requests with the handlers (tasks/update). The call's deadline or cancellation
  // cancels the task (tasks/cancel).
  CallToolResult task_result(const std::string& task_id, const CallOptions& options = {});
  void cancel_task(const std::string& task_id, const CallOptions& options = {});
  // 2025-11-25 only.
  std::vector<TaskInfo> list_tasks(const CallOptions& options = {});

  // --- the rest --------------------------------------------------------------------------------
  // 2025-11-25: notifications/roots/list_changed (when a roots handler is set).
  void notify_roots_list_changed();
  // Any request: the era's envelope (and, for tools/call, prompts/get and resources/*, the
  // Mcp-Name of params.name or params.uri) is added, input rounds are answered; returns the
  // result.
  json request(const std::string& method, boost::json::object params = {},
               const CallOptions& options = {});
  // Any notification.
  void notify(const std::string& method, boost::json::object params = {});
  ClientStats stats() const;

  struct Impl;

 private:
  // The value a typed call reads: structuredContent, else the JSON of the first text block;
  // throws ClientError kToolError for an isError result.
  static json structured_result(const std::string& tool, const CallToolResult& result);

  std::unique_ptr<Impl> impl_;
};

}  // namespace mcp
