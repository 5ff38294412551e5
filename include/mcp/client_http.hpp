// mcp::StreamableHttpClientTransport and mcp::LegacySseClientTransport: the client's HTTP
// transports (Streamable HTTP of both eras; the HTTP+SSE transport of 2024-11-05).
//
// Contract: as mcp::ClientTransport. send() queues the message for the I/O thread and returns;
// it throws ClientError kTransportClosed (with the reason) once the transport closed. Each
// request ends in its answer through message() or in request_failed() with a ClientError that
// names the URL and what happened; an HTTP error status with a JSON-RPC error body is the
// server's answer (an mcp::Error). closed() comes once, last: "closed by the client", "the
// server at URL went away: Connection refused", "the server ended the HTTP session ID (404 Not
// Found)". Memory is bounded: a JSON body, an SSE line or an SSE event larger than
// max_message_bytes fails its answer; every message in flight holds one connection (the
// client bounds them with ClientOptions::max_pending_requests), and at most 8 idle ones are
// kept (see Connections).
//
// Thread-safety: as ClientTransport. One I/O thread (Boost.Asio coroutines) runs every
// connection and delivers every callback, so message() is never called concurrently; send()
// may be called from any thread, close() not from a callback.
//
// StreamableHttpClientTransport: every message is one POST to the endpoint URL, with `Content-Type:
// application/json` and `Accept: application/json, text/event-stream`; the server answers a request
// with a JSON body or with an SSE stream whose `message` events (related notifications, the
// server's own requests, then the response) reach the callbacks in order, and answers notifications
// and responses with 202.
//
//  - 2025-11-25 (messages of OutgoingMessage::era kLegacy): the `Mcp-Session-Id` the server
//    gives in its initialize answer goes on every later message; once notifications/initialized
//    is accepted, a GET opens the standalone stream for the server's own messages (a 405 means
//    the server offers none); it is opened again when it ends, after the server's `retry` delay,
//    with Last-Event-ID. A response stream that breaks before its answer is resumed the same way
//    (GET with Last-Event-ID, up to max_resumptions times). close() sends DELETE to end the
//    session. A 404 on a message that carried the session means the server ended it: the
//    transport closes, failing every call.
//  - 2026-07-28 (kModern): stateless POSTs with `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`
//    (a tool or prompt name, a resource URI, a task id; non-ASCII values as `=?base64?...?=`)
//    and the `Mcp-Param-*` headers of x-mcp-header arguments. A request is cancelled by closing
//    its response stream (the server cancels it), not with notifications/cancelled.
//
// Reconnection: once the transport has reached the server, a POST whose connection cannot be
// made (refused, reset or aborted before a byte of the request was written) is tried again on a
// new connection after reconnect_delay, doubled after each failed attempt (at most
// max_reconnect_delay), up to max_reconnect_attempts times, so that a server restarting on its
// port (a stateless 2026-07-28 server, or a 2025-11-25 one that keeps its sessions) loses no
// call. A request that may have reached the server is never sent again. A server never reached
// (a wrong URL, a server not started) fails at once, without retries; the call's own deadline
// or cancellation ends the retries too.
//
// Connections: HTTP/1.1 keep-alive. A connection whose answer was read to its end waits, idle,
// for the next POST (at most 8 idle connections, newest reused first, each for at most 4 s, or
// the server's `Keep-Alive: timeout=N` less 1 s when shorter), so that sequential calls pay
// one TCP (and TLS) handshake instead of one per call. A connection is not kept when the
// server says `Connection: close`, answers in HTTP/1.0 or with a body that ends with the
// connection, sends more than the answer, or the exchange failed; an SSE answer holds its
// connection until the stream ends. Before an idle connection carries a request it is checked:
// one the server closed meanwhile (its FIN or TLS close_notify already arrived) is dropped and
// the request goes out on another. One that fails before a byte of the request was written is
// replaced by a new connection at once (no backoff, no retry counted). A request written on a
// kept connection that the server closes before answering is not sent again (the server may
// have read it): it fails as any request whose connection breaks does. That can only happen if
// the server closes an idle connection at the very moment the request goes out, which the 4 s
// bound keeps below the idle timeouts of common servers (5 s). The standalone GET stream opens
// on the connection that carried notifications/initialized (so that it is open before the
// POSTs that follow, as servers expect) and keeps it; its reopenings, resumption GETs and
// DELETE use new connections.
//
// Failures of one request (request_failed): a connection that cannot be made (other than
// refused), kTimeout past read_timeout, kMalformedAnswer for garbage, an error status without a
// JSON-RPC answer or an oversize answer, kTransportClosed for an answer that ended early and
// could not be resumed. A connection still refused after the retries, or a standalone stream
// that cannot be reopened, means the server is gone: closed() ("the server at URL went away:
// Connection refused (after 3 attempts)").
//
// https:// URLs use TLS (OpenSSL through Boost.Asio) with the certificate verified: its chain
// against the system's trusted roots (plus ca_file), and its name against the URL's host (SNI
// is sent). A failed verification fails the request ("the TLS handshake with URL failed:
// certificate verify failed").
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "mcp/client_transport.hpp"

namespace mcp {

class ClientAuthorizer;  // mcp/client_oauth.hpp

struct StreamableHttpClientOptions {
  // The MCP endpoint: http://HOST[:PORT][/PATH] or https://... (default port 80 or 443,
  // default path "/"); HOST may be a name, an IPv4 address or a bracketed IPv6 address.
  // Required.
  std::string url{};
  // https://: a PEM file of certificates trusted besides the system's roots (a private CA, a
  // self-signed server); empty (default) = the system's only. Verification cannot be turned
  // off.
  std::string ca_file{};
  // Headers sent with every request (Authorization, for instance). Where one names a header
  // of the transport's own (Host, Content-Type, Accept, Mcp-*, MCP-Protocol-Version), the
  // transport's value is sent. Default none.
  std::map<std::string, std::string> headers{};
  // How long resolving the host and connecting may take, per connection. Default 10 s.
  std::chrono::milliseconds connect_timeout{10000};
  // The longest silence on an answer (between its bytes) before the request fails; 0 = no
  // limit, the call's own deadline bounds it (a tool may compute for minutes before the server
  // writes a byte). SSE keep-alive comments count as bytes. Default 0.
  std::chrono::milliseconds read_timeout{0};
  // How long the server has to accept a notification or response (its 202), to end the
  // session on close() (DELETE), and to write a request. Default 10 s.
  std::chrono::milliseconds write_timeout{10000};
  // Largest JSON body, SSE line or SSE event accepted, in bytes; a larger one fails that
  // answer (memory stays bounded). Default 64 MiB (the SDK server's own limit).
  std::size_t max_message_bytes = 64u << 20;
  // 2025-11-25: open the standalone GET stream after initialization. Default true.
  bool standalone_stream = true;
  // 2025-11-25: times a broken response stream is resumed (GET with Last-Event-ID) before its
  // request fails. Default 3.
  std::size_t max_resumptions = 3;
  // The delay before reopening a stream when the server gave no `retry` (doubled after each
  // failed attempt in a row); and the longest delay, whatever `retry` says. Default 1 s and
  // 10 s.
  std::chrono::milliseconds reconnect_delay{1000};
  std::chrono::milliseconds max_reconnect_delay{10000};
  // Authorization (mcp/client_oauth.hpp, e.g. an OAuthClientAuthorizer): its Authorization
  // header goes on every request, over a header of that name in `headers`. A message answered
  // 401 or 403 is sent again after authorize() got new credentials (a 401 then a 403 for more
  // scope: up to 3 rounds); authorize() runs on a thread of its own, the I/O thread goes on
  // meanwhile. Its ClientError (kAuthorization) fails the request; so does a refusal it has
  // nothing more for, or one past the rounds (kAuthorization, with the server's
  // WWW-Authenticate). Default none.
  std::shared_ptr<ClientAuthorizer> authorizer{};
  // Times a POST whose connection could not be made is tried again (with the backoff above)
  // before the server counts as gone; 0 = never. With the default delays, the 2 retries wait
  // 3 s in all. Default 2.
  std::size_t max_reconnect_attempts = 2;
};

class StreamableHttpClientTransport : public ClientTransport {
 public:
  explicit StreamableHttpClientTransport(StreamableHttpClientOptions options);
  ~StreamableHttpClientTransport() override;  // close()
  StreamableHttpClientTransport(const StreamableHttpClientTransport&) = delete;
  StreamableHttpClientTransport& operator=(const StreamableHttpClientTransport&) = delete;

  // Checks the URL (throws ClientError kTransportClosed for a malformed or https:// one) and
  // starts the I/O thread; no connection is made before the first send().
  void start(ClientTransportCallbacks callbacks) override;
  void send(OutgoingMessage message) override;
  // Ends the session (DELETE, bounded by write_timeout) when there is one, closes every
  // stream, delivers closed("closed by the client") and stops the I/O thread.
  void close() override;
  TransportKind kind() const override { return TransportKind::kStreamableHttp; }
  std::string session_id() const override;
  std::string describe() const override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// mcp::LegacySseClientTransport: the HTTP+SSE transport of protocol 2024-11-05, which many
// servers still offer beside Streamable HTTP (the SDK's own on /sse). start() opens the SSE
// stream (GET, `Accept: text/event-stream`) and waits, up to connect_timeout + write_timeout,
// for its `endpoint` event, the URL every message is then POSTed to (it must be on the same
// origin as the stream; its sessionId is session_id()). The server answers each POST with
// 202 and sends everything (responses, notifications, its own requests) as `message` events
// on the one stream, in order. A POST the server refuses (an error status) fails its request;
// the stream's end closes the transport ("the server closed the SSE stream"), a refused
// connection too ("the server at URL went away: ..."). Either era runs on it: a 2025 server
// answers the client's server/discover probe with an error and initialize follows; the SDK's
// own servers answer the probe, and the client speaks 2026-07-28 over the stream.
//
// Thread-safety: as ClientTransport; one I/O thread, as StreamableHttpClientTransport.
struct LegacySseClientOptions {
  // The SSE endpoint: http://HOST[:PORT]/PATH (the SDK's servers: /sse), or https://...
  // Required.
  std::string url{};
  // https://: as StreamableHttpClientOptions::ca_file.
  std::string ca_file{};
  // Headers sent with the GET and every POST. Default none.
  std::map<std::string, std::string> headers{};
  // Resolving and connecting, per connection. Default 10 s.
  std::chrono::milliseconds connect_timeout{10000};
  // Writing a POST and reading its 202; and, with connect_timeout, how long start() waits for
  // the endpoint event. Default 10 s.
  std::chrono::milliseconds write_timeout{10000};
  // Largest SSE line or event accepted, in bytes; a larger one closes the transport. Default
  // 64 MiB.
  std::size_t max_message_bytes = 64u << 20;
  // As StreamableHttpClientOptions::authorizer, for the GET and every POST; start() waits for
  // an authorization the stream's GET needs, however long it takes. Default none.
  std::shared_ptr<ClientAuthorizer> authorizer{};
};

class LegacySseClientTransport : public ClientTransport {
 public:
  explicit LegacySseClientTransport(LegacySseClientOptions options);
  ~LegacySseClientTransport() override;  // close()
  LegacySseClientTransport(const LegacySseClientTransport&) = delete;
  LegacySseClientTransport& operator=(const LegacySseClientTransport&) = delete;

  // Opens the stream and waits for its endpoint; throws ClientError kTransportClosed naming
  // what failed (a malformed URL, a refused connection, an error status, no endpoint in time).
  void start(ClientTransportCallbacks callbacks) override;
  void send(OutgoingMessage message) override;
  // Closes the stream (the server ends the session), delivers closed("closed by the client").
  void close() override;
  TransportKind kind() const override { return TransportKind::kLegacySse; }
  std::string session_id() const override;
  std::string describe() const override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcp
