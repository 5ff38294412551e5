// mcp::ToolContext: what a handler (tool, resource template, prompt) knows about the request it
// serves and can do while serving it: report progress, log to the client, notice cancellation,
// learn who is calling (session, authenticated principal, protocol era), ask the client for
// input (legacy: a server->client request; modern: an input_required result, MRTR).
//
// A context lives for one request. Handlers run on the server's worker pool; a context may be
// used from the handler's thread only, except `cancelled()`/`token()`, which are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/trace_context.hpp"
#include "mcp/types.hpp"

namespace mcp {

namespace detail {
struct CallState;
}

// The transport a session runs on.
enum class TransportKind { kStdio, kStreamableHttp, kLegacySse, kInMemory };

// Becomes "cancelled" when the client cancels the request (notifications/cancelled), closes the
// HTTP response stream, the call's deadline passes (ServerOptions::call_timeout), or the server
// shuts down. Thread-safe.
class CancellationToken {
 public:
  bool cancelled() const noexcept { return flag_.load(std::memory_order_acquire); }
  // Runs `fn` once when cancelled (immediately if already cancelled), on the cancelling thread.
  void on_cancel(std::function<void()> fn);
  // Cancels and runs the callbacks; later calls do nothing.
  void cancel();

 private:
  std::atomic<bool> flag_{false};
  std::mutex mu_;
  std::vector<std::function<void()>> callbacks_;
};

// Thrown by ToolContext::require_input; the SDK turns it into an input_required result.
struct InputRequiredSignal {
  boost::json::object input_requests{};
  std::string request_state{};
};

class ToolContext {
 public:
  explicit ToolContext(std::shared_ptr<detail::CallState> state) : s_(std::move(state)) {}

  // --- who is calling --------------------------------------------------------------------
  // stdio: a per-process random id; HTTP legacy: the Mcp-Session-Id; HTTP modern: empty.
  const std::string& session_id() const;
  // The authenticated bearer-token subject, if the HTTP transport has auth configured.
  const std::optional<Principal>& principal() const;
  Era era() const;
  // The transport the request came on (stdio: the client is whoever started the process).
  TransportKind transport() const;
  // HTTP: the IP address the request came from ("127.0.0.1", "::1"; IPv4-mapped IPv6
  // addresses as IPv4), e.g. a quota key for anonymous callers. Empty for stdio and for
  // transports that do not know it.
  const std::string& peer_address() const;
  const std::string& protocol_version() const;
  // Client capabilities (initialize params or modern _meta); {} when none were declared.
  const boost::json::object& client_capabilities() const;
  bool client_supports(std::string_view capability) const;
  // Throws mcp::Error(-32021, data.requiredCapabilities={capability:{}}) if not declared.
  void require_client_capability(std::string_view capability) const;
  // The request's params._meta ({} if absent) and the method being served.
  const boost::json::object& meta() const;
  const std::string& method() const;
  // The trace context of this request's span: the trace the request carried (params._meta
  // traceparent/tracestate, else the HTTP headers of those names) with a new span id, or a
  // new trace when it carried none. The handler runs inside an mcp::TraceScope of it, so
  // mcp::current_trace() is the same context on the handler's thread (trace_scope.hpp).
  // Null only for a context the dispatcher did not make.
  const TraceContext* trace() const;

  // --- progress, logging, cancellation ----------------------------------------------------
  // Sends notifications/progress when the request carried _meta.progressToken; values that do
  // not increase are dropped (the spec requires strictly increasing progress).
  void progress(double current, std::optional<double> total = std::nullopt,
                std::string_view message = {});
  bool has_progress_token() const;
  // Sends notifications/message if the client's level (logging/setLevel or modern _meta
  // logLevel) lets it through. Modern requests without logLevel get no log messages.
  void log(LogLevel level, json data, std::string_view logger = {});
  bool cancelled() const;
  CancellationToken& token();
  // Legacy Streamable HTTP (2025-11-25): closes this request's SSE stream now; the client
  // reconnects with Last-Event-ID and receives the remaining messages (SEP-1699 polling).
  // A no-op on other transports.
  void close_sse_stream();

  // --- asking the client ------------------------------------------------------------------
  // Legacy era: sends a request (sampling/createMessage, elicitation/create, roots/list) on the
  // request's stream and blocks this worker until the answer. Returns the result; throws
  // mcp::Error on an error answer, timeout, cancellation, in the modern era, or when the client
  // did not declare the capability the method needs (sampling, elicitation, roots).
  json request_client(std::string method, json params,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Modern era (MRTR): the client's answers to an earlier require_input, keyed as requested;
  // null when this is a first round.
  const boost::json::object* input_responses() const;
  const json* input_response(std::string_view key) const;
  // The request state of the earlier round, verified by the SDK (tampered state never reaches a
  // handler); empty on a first round.
  const std::string& request_state() const;
  // Ends the handler with an input_required result asking for `requests` ({key: {method,
  // params}}); `state` is returned to you (integrity-protected) on the retry.
  [[noreturn]] void require_input(boost::json::object requests, std::string state = {});

  // --- tasks (ToolSpec::task_support) ------------------------------------------------------
  // For a tool registered with task_deferred: turns this call into a task now. The client gets
  // the task (CreateTaskResult) at once; what the handler returns or throws afterwards becomes
  // the task's outcome. Returns false (and the call stays synchronous) when the client cannot
  // take a task or the task store is full. True if the call already is a task.
  bool start_task();
  // The id of the task this call runs as; empty when it is an ordinary request.
  const std::string& task_id() const;

  std::shared_ptr<detail::CallState> state() const { return s_; }

 private:
  std::shared_ptr<detail::CallState> s_;
};

// Resource, prompt and completion handlers get the same context.
using RequestContext = ToolContext;

}  // namespace mcp
