// Internal: Client::Impl, the state of one client connection, and the pieces it is made of:
// the table of calls waiting for their answers (PendingCall), the sinks of progress
// notifications, the handlers, the 2026-07-28 subscriptions/listen stream, and the parsers of
// the server's answers (client_types.cpp).
//
// Where each concern lives: client.cpp (the public methods, connect and close),
// client_rpc.cpp (sending requests and waiting for answers, what arrives from the transport),
// client_lifecycle.cpp (version negotiation, the envelope of each era, ping, log level),
// client_features.cpp (tools, resources, prompts, completion, paging), client_input.cpp (the
// server's requests and MRTR input rounds), client_notifications.cpp (notification handlers,
// subscriptions/listen), client_tasks.cpp (tasks), client_types.cpp (wire shapes).
//
// Thread-safety: every field is either set before the transport starts and read-only after,
// atomic, or guarded by the mutex its annotation names.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "client_log.hpp"
#include "mcp/client.hpp"
#include "thread_annotations.hpp"
#include "worker_pool.hpp"

namespace mcp {

namespace detail {

using ClientClock = std::chrono::steady_clock;

inline constexpr std::string_view kClientMetaVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view kClientMetaCaps = "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view kClientMetaInfo = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view kClientMetaLogLevel = "io.modelcontextprotocol/logLevel";
inline constexpr std::string_view kClientMetaServerInfo = "io.modelcontextprotocol/serverInfo";
inline constexpr std::string_view kClientMetaSubscriptionId =
    "io.modelcontextprotocol/subscriptionId";
inline constexpr std::string_view kClientTasksExtension = "io.modelcontextprotocol/tasks";

// One request waiting for its answer: settled once, by the answer, an error (the connection
// closed, the transport gave up on it) or the caller's cancellation.
class PendingCall {
 public:
  // Each returns false if the call was settled already.
  bool settle_response(boost::json::value message) EXCLUDES(mu_);
  bool settle_error(std::exception_ptr error) EXCLUDES(mu_);
  bool settle_cancelled() EXCLUDES(mu_);
  // Waits until settled or `deadline`; false on timeout.
  bool wait_until(ClientClock::time_point deadline) EXCLUDES(mu_);

  struct Outcome {
    boost::json::value response = nullptr;  // the whole JSON-RPC answer
    std::exception_ptr error{};
    bool cancelled = false;
  };
  Outcome take() EXCLUDES(mu_);

 private:
  refcache_sync::Mutex mu_;
  std::condition_variable cv_;
  bool settled_ GUARDED_BY(mu_) = false;
  Outcome outcome_ GUARDED_BY(mu_);
};

// Where the progress notifications of one call go. close() waits for a callback that runs,
// so that none runs once the call has returned (the callback may use the caller's stack).
class ProgressSink {
 public:
  explicit ProgressSink(std::function<void(const Progress&)> fn) : fn_(std::move(fn)) {}
  void deliver(const Progress& p) EXCLUDES(mu_);
  void close() EXCLUDES(mu_);

 private:
  refcache_sync::Mutex mu_;
  std::function<void(const Progress&)> fn_ GUARDED_BY(mu_);
};

// The handlers a program registered.
struct ClientHandlers {
  ElicitationHandler elicitation{};
  SamplingHandler sampling{};
  RootsHandler roots{};
  InputRequestsHandler input_requests{};
  std::function<void()> tools_changed{};
  std::function<void()> prompts_changed{};
  std::function<void()> resources_changed{};
  std::function<void(const std::string&)> resource_updated{};
  std::function<void(const LogMessage&)> log{};
  std::function<void(const std::string&, const boost::json::object&)> other{};
};

// How one call runs, once its options are resolved.
struct CallControl {
  ClientClock::time_point deadline = ClientClock::time_point::max();
  std::chrono::milliseconds timeout{0};  // for messages; 0 = none
  CancellationToken* cancellation = nullptr;
  std::function<void(const Progress&)> on_progress{};
  boost::json::object meta{};                               // the caller's _meta members
  std::optional<boost::json::object> input_capabilities{};  // CallOptions's
  std::string name{};                                       // Mcp-Name
  // The era and version the request goes under; unset = the negotiated ones (the version
  // probe and initialize set their own).
  std::optional<Era> era{};
  std::optional<std::string> version{};
  std::vector<std::pair<std::string, std::string>> param_headers{};
};

std::string client_id_key(const boost::json::value& id);

// An exception_ptr to a new E that shares nothing with another object. std::make_exception_ptr
// copies its argument, and the copy of a std::runtime_error shares the message's
// reference-counted buffer with the original; a call that fails this way on another thread
// then reads a buffer whose count this thread changes, through atomics ThreadSanitizer does
// not see (libstdc++ is not instrumented).
template <class E, class... A>
std::exception_ptr fresh_exception(A&&... args) {
  try {
    throw E(std::forward<A>(args)...);
  } catch (...) {
    return std::current_exception();
  }
}
// "2 s", "0.25 s".
std::string duration_text(std::chrono::milliseconds d);

// --- wire shapes (client_types.cpp); each throws ClientError kMalformedAnswer naming `what` --
Implementation implementation_from(const boost::json::value& v);
ToolSpec tool_from(const boost::json::value& v);
Resource resource_from(const boost::json::value& v);
ResourceTemplate resource_template_from(const boost::json::value& v);
PromptSpec prompt_from(const boost::json::value& v);
// (Taken by value: a result's content is moved out of the message, not copied; it may be
// hundreds of megabytes.)
CallToolResult call_result_from(boost::json::object o, const std::string& what);
ReadResourceResult read_result_from(const boost::json::object& o, const std::string& what);
GetPromptResult prompt_result_from(const boost::json::object& o, const std::string& what);
Completion completion_from(const boost::json::object& o, const std::string& what);
TaskInfo task_from(const boost::json::object& o, const std::string& what);
// The mcp::Error a JSON-RPC error object stands for (kMalformedAnswer if it is not one).
std::exception_ptr error_from(const boost::json::value& error, const std::string& what);
[[noreturn]] void malformed(const std::string& what, const std::string& why);

}  // namespace detail

struct Client::Impl {
  explicit Impl(ClientOptions o) : opt(std::move(o)) {}

  const ClientOptions opt;
  // Set by connect() before the transport starts; the pointer never changes afterwards.
  std::unique_ptr<ClientTransport> transport;
  // Written by connect() before `state` becomes kConnected; read-only afterwards.
  ServerInfo server;

  enum class State { kIdle, kConnecting, kConnected, kClosed };

  // --- connection and calls in flight (client_rpc.cpp) -------------------------------------
  mutable refcache_sync::Mutex mu;
  State state GUARDED_BY(mu) = State::kIdle;
  bool link_open GUARDED_BY(mu) = false;  // the transport runs (between start and closed)
  std::string closed_reason GUARDED_BY(mu);
  std::unordered_map<std::string, std::shared_ptr<detail::PendingCall>> pending GUARDED_BY(mu);
  std::unordered_map<std::string, std::shared_ptr<detail::ProgressSink>> progress GUARDED_BY(mu);
  // Requests of the server's being handled (2025-11-25), by id: set when the server cancels.
  std::unordered_map<std::string, std::shared_ptr<std::atomic<bool>>> serving GUARDED_BY(mu);
  // Tools' x-mcp-header arguments, from tools/list: (property, header suffix).
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::string>>> header_params
      GUARDED_BY(mu);
  std::optional<LogLevel> log_level GUARDED_BY(mu);
  // The era and version messages go under: set by the negotiation, as `server` (which the
  // public accessors read once connected) is written only before state is kConnected.
  Era wire_era GUARDED_BY(mu) = Era::kLegacy;
  std::string wire_version GUARDED_BY(mu);
  std::atomic<std::int64_t> next_id{0};

  // --- handlers ------------------------------------------------------------------------------
  mutable refcache_sync::Mutex handlers_mu;
  detail::ClientHandlers handlers GUARDED_BY(handlers_mu);
  detail::ClientHandlers handlers_copy() const;

  // Started by connect(), stopped by close(): notification handlers (one thread, in order) and
  // the server's requests (handler_threads).
  std::unique_ptr<WorkerPool> notify_pool;
  std::unique_ptr<WorkerPool> request_pool;

  // --- 2026-07-28 subscriptions/listen (client_notifications.cpp) ---------------------------
  // Held while the stream is (re)opened, so that concurrent subscribe() calls take turns.
  refcache_sync::Mutex listen_turn;
  std::set<std::string> listen_uris GUARDED_BY(mu);
  std::optional<std::string> listen_id GUARDED_BY(mu);  // id key of the open listen request
  boost::json::value listen_id_value GUARDED_BY(mu);
  std::shared_ptr<detail::PendingCall> listen_ack GUARDED_BY(mu);  // settled by the ack

  // --- what was dropped ----------------------------------------------------------------------
  std::atomic<std::uint64_t> notifications_dropped{0};
  std::atomic<std::uint64_t> unexpected_responses{0};
  std::atomic<std::uint64_t> malformed_messages{0};
  std::atomic<std::uint64_t> server_requests_refused{0};
  detail::LogLimiter malformed_log;
  detail::LogLimiter unexpected_log;
  detail::LogLimiter dropped_log;

  // --- client_rpc.cpp ------------------------------------------------------------------------
  detail::CallControl control(const CallOptions& o) const;
  // Sends one request and waits for its answer; returns the result object. Throws the
  // server's error, or ClientError (timeout and cancellation tell the server first).
  boost::json::object round_trip(const std::string& method, boost::json::object params,
                                 const detail::CallControl& c);
  // A request of the negotiated era: the envelope, then round trips until the result is not
  // input_required (2026-07-28: the input requests answered by the handlers).
  boost::json::object call(const std::string& method, boost::json::object params,
                           const detail::CallControl& c);
  // Fills the era and version of a message that is not a request.
  void wire(OutgoingMessage& out) const;
  void send_notification(const std::string& method, boost::json::object params,
                         std::optional<boost::json::value> cancels = std::nullopt);
  void send_response(const boost::json::value& id, boost::json::object result);
  void send_error_response(const boost::json::value& id, int code, const std::string& message);
  // Tells the server the request `id` is abandoned (notifications/cancelled).
  void cancel_request(const boost::json::value& id, const std::string& reason);
  ClientTransportCallbacks callbacks();
  void on_message(std::string text);
  void on_request_failed(const boost::json::value& id, std::exception_ptr error);
  void on_closed(const std::string& reason);
  // Throws unless calls can be made now.
  void check_open() const;
  ClientError closed_error() const;

  // --- client_lifecycle.cpp ------------------------------------------------------------------
  void negotiate();
  bool probe_modern();  // server/discover; true when the server speaks 2026-07-28
  void initialize_legacy();
  boost::json::object capabilities(Era era) const;
  // Adds the era's _meta to `params`: the caller's members, and in the modern era the protocol
  // version, capabilities, client info and log level.
  void add_envelope(boost::json::object& params, const detail::CallControl& c, bool modern) const;
  bool modern() const {
    refcache_sync::Lock lk(mu);
    return wire_era == Era::kModern;
  }

  // --- client_input.cpp ----------------------------------------------------------------------
  // Answers one question of the server's (elicitation/create, sampling/createMessage,
  // roots/list) with the registered handler; throws mcp::Error when none answers it.
  boost::json::object answer_input(const std::string& method, const boost::json::object& params);
  // All of an input_required result's inputRequests ({key: {method, params}}).
  boost::json::object answer_inputs(const boost::json::object& requests);
  void on_server_request(const boost::json::value& id, const std::string& method,
                         boost::json::object params);

  // --- client_notifications.cpp --------------------------------------------------------------
  void on_notification(std::string method, boost::json::object params);
  void dispatch_notification(const std::string& method, const boost::json::object& params);
  // 2026-07-28: (re)opens the listen stream with what the handlers and subscriptions want and
  // returns what the server acknowledged ({} when nothing is wanted).
  boost::json::object refresh_listen(const detail::CallControl& c);
  boost::json::object listen_wants() const;
  // A handler was set after connect(): the modern stream follows.
  void handlers_changed();

  // --- client_tasks.cpp ----------------------------------------------------------------------
  // Follows a task to its end (2026-07-28 polls; 2025-11-25 tasks/result).
  CallToolResult follow_task(const TaskInfo& task, const detail::CallControl& c);
  void cancel_task_quietly(const std::string& task_id);
};

}  // namespace mcp
