// mcp::ClientTransport: how an mcp::Client reaches one MCP server. A transport moves whole
// JSON-RPC messages and knows nothing of their meaning beyond what OutgoingMessage tells it:
// the client hands it one message at a time, with the method, the Mcp-Name, the protocol
// version and the era an HTTP transport puts in headers; the transport hands every message the
// server sends (responses, notifications, server->client requests) to the client's callbacks,
// and tells once that the connection is gone, and why. It fits stdio (newline-delimited JSON to
// a child process, client_stdio.hpp), Streamable HTTP of both eras (a POST per message; JSON or
// SSE answers; the legacy session and its GET stream; resumption with Last-Event-ID) and the
// legacy HTTP+SSE transport (one SSE stream, POSTs to its endpoint).
//
// Contract:
//  - start() first. The transport calls the callbacks on threads it owns ("transport threads"),
//    never from inside send() or start(). Messages of one stream (the stdio pipe, one SSE
//    response) reach message() in the order the server sent them; a transport with several
//    streams (HTTP) may call message() from several threads at once. Callbacks return quickly
//    (they may queue work, never wait for the server) and never call close().
//  - closed(reason) is called exactly once per start(), after every other callback of that
//    start, whether the server went away or close() was called (then reason says so); nothing
//    is delivered after it. A transport whose start() threw calls no callback.
//  - send() queues one message and returns; it never waits for the server's answer (which
//    comes back through message(), or request_failed()). It throws ClientError (kBusy: the
//    queue is full; kTransportClosed: the connection is gone, with the reason) when it cannot.
//  - close() ends the connection (stdio: ends the child process; HTTP: ends the session,
//    closes the streams) and returns once no transport thread runs a callback any more.
//
// Thread-safety: send() may be called from any thread, concurrently; each message is written
// whole. start(), close() and the accessors may be called from any thread, but start() and
// close() not concurrently with each other, and not from a callback.
#pragma once

#include <boost/json/value.hpp>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mcp/client_error.hpp"
#include "mcp/context.hpp"
#include "mcp/types.hpp"

namespace mcp {

// One JSON-RPC message to the server, with what a transport needs to know of it without
// parsing it.
struct OutgoingMessage {
  enum class Kind { kRequest, kNotification, kResponse };
  // The compact JSON text of the message (no newline).
  std::string text{};
  Kind kind = Kind::kRequest;
  // Requests and responses: the JSON-RPC id; null for notifications.
  boost::json::value id = nullptr;
  // Requests and notifications: the method (the Mcp-Method header of modern HTTP); empty for
  // responses.
  std::string method{};
  // tools/call, prompts/get: params.name; resources/read, resources/subscribe and
  // resources/unsubscribe: params.uri (the Mcp-Name header of modern HTTP); else empty.
  std::string name{};
  // The version the message is sent under (the MCP-Protocol-Version header); empty while none
  // is agreed (the legacy initialize request and the server/discover probe carry theirs in
  // their body).
  std::string protocol_version{};
  // kLegacy: the message belongs to the legacy session (HTTP: carries Mcp-Session-Id once the
  // server gave one in its initialize answer; an initialize request starts a new session).
  // kModern: stateless (no session header).
  Era era = Era::kLegacy;
  // Modern HTTP: headers mirroring tool arguments marked x-mcp-header, as (suffix, value):
  // {"Region", "eu"} is sent as Mcp-Param-Region: eu.
  std::vector<std::pair<std::string, std::string>> param_headers{};
  // notifications/cancelled: the id of the request it cancels. A modern HTTP transport
  // cancels by closing that request's response stream instead of sending the notification.
  std::optional<boost::json::value> cancels{};
  // Requests sent under a trace (mcp::current_trace()): the W3C trace context also carried in
  // params._meta, which HTTP transports send as the traceparent/tracestate headers; else empty.
  std::string traceparent{};
  std::string tracestate{};
};

// Where a transport delivers what it receives. All three must be set.
struct ClientTransportCallbacks {
  // One JSON-RPC message from the server, as text: a stdio line, an HTTP JSON body, the data
  // of one SSE event. The client parses it (with its own limits).
  std::function<void(std::string text)> message{};
  // The request `id` got no JSON-RPC answer and will not get one (HTTP: a 4xx/5xx status
  // without a JSON-RPC body, a response stream that ended early and could not be resumed):
  // `error` is an mcp::Error (ClientError or the server's error) that fails that call.
  std::function<void(const boost::json::value& id, std::exception_ptr error)> request_failed{};
  // The connection is gone; `reason` says why in words a person reads ("server process
  // exited with status 1", "closed by the client", "HTTP session expired").
  std::function<void(const std::string& reason)> closed{};
};

class ClientTransport {
 public:
  virtual ~ClientTransport() = default;

  // Opens the connection (stdio: spawns the server) and starts delivering to `callbacks`.
  // Throws ClientError (kTransportClosed) naming what failed (a command not found).
  virtual void start(ClientTransportCallbacks callbacks) = 0;
  // Queues `message` for the server; see the contract above for what it throws.
  virtual void send(OutgoingMessage message) = 0;
  // Ends the connection; closed() has been delivered when it returns. Idempotent.
  virtual void close() = 0;

  // Which kind of transport this is (the client's version probe reads silence on stdio as a
  // legacy server, and on HTTP as an outage).
  virtual TransportKind kind() const = 0;
  // Whether start() may be called again after closed() (stdio: spawns the server anew). The
  // client uses it when a server exits on its version probe, as some legacy servers do.
  virtual bool restartable() const { return false; }
  // The legacy HTTP session (Mcp-Session-Id, or the legacy SSE sessionId); empty otherwise.
  virtual std::string session_id() const { return {}; }
  // For log lines: "stdio: node server.js (pid 4242)", "http://127.0.0.1:8000/mcp".
  virtual std::string describe() const = 0;
};

}  // namespace mcp
