// HttpServer: Streamable HTTP (one endpoint, default /mcp) for both protocol eras, and the
// legacy HTTP+SSE transport (GET /sse + POST /messages?sessionId=...) for older clients and
// mcp-remote. Built on Boost.Beast/Asio; each response is written with one write per buffer
// sequence and TCP_NODELAY is set (no Nagle stalls).
//
// Security defaults: binds 127.0.0.1; rejects requests whose Host or Origin is not a loopback
// name (localhost, 127.0.0.1, [::1], any port) or in the allow-lists (403); body limit (413);
// JSON depth limit; session cap and idle TTL; optional bearer-token auth with RFC 9728
// protected-resource metadata.
//
// Thread-safety: start()/stop()/port() may be called from any thread; run() blocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mcp/server.hpp"

namespace mcp {

// Bearer-token authentication. `verify` maps a token to a principal (nullopt = invalid).
struct AuthOptions {
  std::function<std::optional<Principal>(std::string_view token)> verify;
  // Canonical URL of the MCP endpoint as clients type it (RFC 9728 "resource"), e.g.
  // "https://mcp.example.com/mcp". Empty = http://<Host header><path>.
  std::string resource;
  std::vector<std::string> authorization_servers;  // issuer URLs
  std::vector<std::string> scopes_supported;
  std::vector<std::string> required_scopes;  // missing one -> 403 insufficient_scope
};

struct HttpOptions {
  std::string host = "127.0.0.1";  // bind address
  std::uint16_t port = 0;          // 0 = pick a free port (see HttpServer::port())
  std::string path = "/mcp";       // Streamable HTTP endpoint
  bool legacy_sse = true;          // serve GET /sse + POST /messages
  std::string sse_path = "/sse";
  std::string messages_path = "/messages";
  // Prometheus text exposition of Server::metrics_text() (GET); empty = not served. Guarded
  // like the MCP endpoint: Host/Origin validation, and a bearer token when `auth` is set.
  std::string metrics_path = "/metrics";
  std::size_t io_threads = 1;              // Asio threads (handlers use the server's pool)
  std::size_t max_body_bytes = 8u << 20;   // larger bodies -> 413
  std::size_t max_json_depth = 64;         // deeper JSON -> -32700 / 400
  std::size_t max_sessions = 1024;         // legacy sessions; beyond -> 503
  std::chrono::seconds session_ttl{1800};  // idle legacy sessions expire (then 404)
  std::chrono::seconds sse_keepalive{15};  // ": keepalive" comment interval on SSE streams
  std::chrono::seconds idle_connection_timeout{120};
  // Host/Origin validation (DNS-rebinding protection). Loopback names are always allowed;
  // add host names (without port) or origins ("https://app.example.com") here, or "*".
  bool validate_host_origin = true;
  std::vector<std::string> allowed_hosts;
  std::vector<std::string> allowed_origins;
  std::optional<AuthOptions> auth;
};

class HttpServer {
 public:
  HttpServer(Server& server, HttpOptions options = {});
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on background threads. Throws std::system_error on bind failure.
  void start();
  // The bound port (valid after start()).
  std::uint16_t port() const;
  // Blocks until stop() is called (from another thread or a signal handler thread).
  void wait();
  // Stops accepting, closes connections and joins the I/O threads.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcp
