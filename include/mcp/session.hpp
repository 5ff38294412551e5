// Transport-facing plumbing: a Session is the protocol state of one client connection (stdio
// process, HTTP session or legacy SSE stream); an Outbound is where the messages belonging to one
// request go (the response and any related notifications). Transports create both and feed
// parsed messages to Server::handle. Application code normally does not touch these.
//
// Thread-safety: Session is internally synchronized. Outbound implementations must accept
// calls from any thread.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "mcp/context.hpp"
#include "mcp/types.hpp"

namespace mcp {

class Outbound {
 public:
  virtual ~Outbound() = default;
  // Sends a notification or server->client request (compact JSON text, no newline). Returns
  // false if the peer is gone.
  virtual bool send(std::string text) = 0;
  // Sends the final response. `http_status` is the status an HTTP transport should use.
  virtual void respond(std::string text, int http_status) = 0;
  // The message needed no response (notification, or a client's response to our request).
  virtual void accepted() {}
  // The request ends without a response (it was cancelled); close whatever is open for it.
  virtual void abandon() {}
  // False once the peer has gone away.
  virtual bool is_open() const { return true; }
  // Runs `fn` when the peer goes away (HTTP: the response stream closed), which cancels the
  // request. Transports without that notion ignore it.
  // A sink parameter (overrides keep the callback), hence by value.
  // NOLINTNEXTLINE(performance-unnecessary-value-param)
  virtual void on_peer_closed(std::function<void()> /*fn*/) {}
  // Ends the current response stream early if the transport can resume it later (legacy
  // Streamable HTTP SSE with Last-Event-ID); otherwise does nothing.
  virtual void close_stream() {}
};

// TransportKind: see mcp/context.hpp.

namespace detail {
struct SessionState;
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::string id, TransportKind kind, bool stateless = false);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const std::string& id() const { return id_; }
  TransportKind kind() const { return kind_; }
  // A stateless session (modern HTTP) keeps no per-client state and no in-flight table.
  bool stateless() const { return stateless_; }

  // Channel for messages not tied to a request (list_changed, resources/updated). May be null.
  void set_standalone(std::shared_ptr<Outbound> out);
  std::shared_ptr<Outbound> standalone() const;

  // notifications/initialized was received.
  bool initialized() const;
  // The version agreed in initialize; empty before.
  std::string protocol_version() const;
  boost::json::object client_capabilities() const;
  // The level set by logging/setLevel (a LogLevel as int); -1 = none seen (everything is
  // sent).
  int log_level() const;
  bool subscribed(const std::string& uri) const;
  // The authenticated subject that created the session, if any: only it may use the session.
  std::optional<std::string> principal_subject() const;
  void set_principal_subject(std::string s);

  // Cancels every in-flight request and fails every pending server->client request (the
  // transport closed).
  void cancel_all();
  // The MCP requests of the session that are being served.
  std::size_t in_flight() const;

  // The SDK's own state of the session (src/mcp/session_state.hpp).
  detail::SessionState& state() const { return *state_; }

 private:
  std::string id_;
  TransportKind kind_;
  bool stateless_;
  std::unique_ptr<detail::SessionState> state_;
};

// What the transport knows about a message beyond its JSON text.
struct MessageInfo {
  // HTTP: the MCP-Protocol-Version header, if present.
  std::optional<std::string> protocol_version_header{};
  // HTTP: true when the header selects the modern era for this message.
  bool modern_http = false;
  // HTTP with bearer auth: the authenticated caller.
  std::optional<Principal> principal{};
  // HTTP: the client's IP address (as ToolContext::peer_address()); empty for stdio.
  std::string peer_address{};
  // HTTP: the W3C trace context headers (traceparent, tracestate) as received, unchecked; the
  // dispatcher validates them and prefers the request's params._meta when that carries one.
  std::string traceparent{};
  std::string tracestate{};
};

}  // namespace mcp
