// Upstream: one configured MCP server behind the gateway, with its own mcp::Client. connect()
// makes the first attempt (a stdio child, or an HTTP connection) and lists its tools,
// resources, resource templates and prompts; a server that cannot be reached is kept as
// "down" with the reason, so that the others still serve. supervise() then keeps it alive on
// a thread of its own:
//   - a server that is down, or whose connection ends (a stdio child that exits, an HTTP
//     server that goes away), is attempted again after a backoff (backoff.hpp: 0.5 s doubling
//     to 30 s, reset by a success); the calls in flight when it ended fail with
//     ClientError kTransportClosed, and calls made while it is down fail at once with
//     kNotConnected, both naming the server;
//   - its notifications/{tools,resources,prompts}/list_changed make it list that kind again;
//     after such a re-listing, or a (re)start, `on_change` is called so that the gateway offers
//     the new lists.
// While it is down, the lists of its last connection are kept (its tools stay offered and
// fail naming it), so that names do not move while a server restarts.
//
// What the upstream sends that belongs to a client call goes to the calls in flight on it,
// registered with CallScope, only when it cannot belong to another caller:
//   - the elicitation, sampling or roots requests of a 2026-07-28 input_required result, made
//     while the call waits for the upstream's answer on the calling thread (part of the call's
//     own result), go to that call, all together (CallSink::ask_all) when it takes them so;
//   - a log message, or a request the upstream sends on its own (2025-11-25), goes to the calls
//     in flight only when they all have the same principal (caller_principal.hpp): a log
//     message to each of them, a request to the oldest. Otherwise a log message goes to the
//     gateway's own log only, and a request is refused to the upstream with an error saying
//     the gateway cannot tell which caller it is for. With no call in flight, the same.
// Progress is routed by its progressToken (CallOptions::on_progress), not by this rule.
//
// Thread-safety: connect() once, before serving; supervise() once after it; every other
// method may be called concurrently.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backoff.hpp"
#include "gateway_config.hpp"
#include "mcp/client.hpp"
#include "mcp/client_oauth.hpp"

namespace gateway {

struct UpstreamOptions {
  // How long one attempt to connect (start, handshake, the lists) may take.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  // Deadline of each call forwarded to it (ClientOptions::request_timeout).
  std::chrono::milliseconds call_timeout{std::chrono::seconds(60)};
  // Delays between attempts to start it again.
  BackoffPolicy backoff{};
  // The largest message taken from it (GatewayConfig::max_result_mb): the transport's and the
  // client's message limits.
  std::size_t max_message_bytes = std::size_t{256} << 20;
};

// What a client call in flight on the upstream receives of it.
struct CallSink {
  // Who the call is made for (caller_principal()); empty when unknown.
  std::string principal{};
  // A notifications/message of the upstream.
  std::function<void(const mcp::LogMessage&)> log{};
  // A request of the upstream for the client (elicitation/create, sampling/createMessage,
  // roots/list); returns the client's result, throws mcp::Error.
  std::function<boost::json::value(const std::string& method, const boost::json::value& params)>
      ask{};
  // All the requests of one 2026-07-28 input_required result of the call ({key: {method,
  // params}}), answered together ({key: result}); unset, they go to `ask` one at a time.
  std::function<boost::json::object(const boost::json::object& requests)> ask_all{};
};

class Upstream {
 public:
  Upstream(UpstreamConfig config, UpstreamOptions options = {});
  ~Upstream();
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  const UpstreamConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }

  // First attempt to start the server and list what it offers; never throws: a failure leaves
  // it down, with the reason logged and kept for status().
  void connect();
  // Starts the supervising thread (restarts, late start, list_changed); `on_change` runs on it
  // after each (re)start (`started` true) or re-listing (false). Stopped by the destructor.
  void supervise(std::function<void(bool started)> on_change);
  // True while connected.
  bool up() const;
  // What it listed at its last connection (empty when it never came up, or when it does not
  // offer the kind). Copies: the lists change when the upstream does.
  std::vector<mcp::ToolSpec> tools() const;
  std::vector<mcp::Resource> resources() const;
  std::vector<mcp::ResourceTemplate> resource_templates() const;
  std::vector<mcp::PromptSpec> prompts() const;
  // Forwards tools/call. Throws mcp::Error: the server's JSON-RPC errors, and ClientError
  // (kTransportClosed, kNotConnected, kTimeout...) for a server that is down or hung.
  mcp::CallToolResult call_tool(const std::string& name, const boost::json::value& arguments,
                                const mcp::CallOptions& options);
  // Forwards resources/read and prompts/get; throws as call_tool().
  mcp::ReadResourceResult read_resource(const std::string& uri, const mcp::CallOptions& options);
  mcp::GetPromptResult get_prompt(const std::string& name,
                                  const std::map<std::string, std::string>& arguments,
                                  const mcp::CallOptions& options);
  // Forwards completion/complete (`ref` as the upstream names it); throws as call_tool().
  mcp::Completion complete(const boost::json::object& ref, const std::string& argument,
                           const std::string& value,
                           const std::map<std::string, std::string>& context,
                           const mcp::CallOptions& options);
  // Receives the upstream's notifications/resources/updated (on the client's notification
  // thread). Set before connect().
  void on_resource_updated(std::function<void(const std::string& uri)> handler);
  // Makes the upstream's subscriptions those of `uris` (resources/subscribe and unsubscribe
  // for the difference); after a restart every one of them is subscribed again. Throws
  // nothing: a failure is logged, and that URI is not asked for again until a restart.
  void sync_subscriptions(const std::set<std::string>& uris);
  // {"name","transport","state":"up"|"down","reason"?,"attempts","restarts","last_error"?,
  //  "protocol_version"?,"server"?,"tools",...}.
  boost::json::object status() const;

  // Registers a call in flight for the duration of the scope.
  class CallScope {
   public:
    CallScope(Upstream& upstream, CallSink sink);
    ~CallScope();
    CallScope(const CallScope&) = delete;
    CallScope& operator=(const CallScope&) = delete;

   private:
    Upstream& upstream_;
    std::uint64_t id_ = 0;
    const Upstream* previous_upstream_;  // the thread's call before this one (nested scopes)
    std::uint64_t previous_id_;
  };

 private:
  bool attempt();  // one connection attempt; true when up
  void supervise_loop();
  std::shared_ptr<mcp::Client> client() const;
  [[noreturn]] void throw_down() const;
  void deliver_log(const mcp::LogMessage& m);
  boost::json::value ask_client(const std::string& method, const boost::json::value& params);
  // The requests of an input_required result of the call on this thread.
  boost::json::object ask_client_all(const boost::json::object& requests);

  UpstreamConfig config_;
  UpstreamOptions options_;
  // HTTP upstreams: one authorizer for every connection, so that tokens survive reconnects.
  std::shared_ptr<mcp::ClientAuthorizer> authorizer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<mcp::Client> client_;  // guarded by mu_
  std::vector<mcp::ToolSpec> tools_;     // guarded by mu_
  std::vector<mcp::Resource> resources_;
  std::vector<mcp::ResourceTemplate> templates_;
  std::vector<mcp::PromptSpec> prompts_;
  std::string last_error_;                   // guarded by mu_
  std::uint64_t attempts_ = 0;               // guarded by mu_
  std::uint64_t restarts_ = 0;               // guarded by mu_
  bool relist_ = false;                      // guarded by mu_: a list_changed arrived
  bool stopping_ = false;                    // guarded by mu_
  std::map<std::uint64_t, CallSink> calls_;  // guarded by calls_mu_, oldest first
  std::uint64_t next_call_ = 0;
  std::mutex calls_mu_;
  std::function<void(bool)> on_change_;
  std::function<void(const std::string&)> on_updated_;
  std::set<std::string> subscribed_;  // guarded by mu_: of the current client
  std::thread supervisor_;
};

}  // namespace gateway
