// HttpServer: Streamable HTTP (one endpoint, default /mcp) for both protocol eras, and the
// legacy HTTP+SSE transport (GET /sse + POST /messages?sessionId=...) for older clients and
// mcp-remote, plus GET /metrics and any application routes (HttpOptions::routes, e.g. a status
// page). Built on Boost.Beast/Asio; each response is written with one write per buffer
// sequence and TCP_NODELAY is set (no Nagle stalls).
//
// Security defaults: binds 127.0.0.1; rejects requests whose Host or Origin is not a loopback
// name (localhost, 127.0.0.1, [::1], any port) or in the allow-lists (403); body limit (413);
// JSON depth limit; legacy sessions capped overall, per principal and per peer address, with an
// idle TTL, and dropped when not initialised within seconds; sessions answer only the principal
// that created them; connections capped, with a deadline for each request's header (slowloris);
// accepting backs off when descriptors run out; optional bearer-token auth with RFC 9728
// protected-resource metadata. start() logs a warning when a setting weakens these (any Host
// accepted, a non-loopback address without auth, more connections allowed than descriptors);
// logs go to spdlog's default logger, which mcp::serve() points at stderr.
//
// Thread-safety: start(), stop(), port() and wait() may be called from any thread; wait()
// blocks until stop(). Destroy the HttpServer before the Server it serves.
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
// Called from the I/O threads, concurrently: `verify` must be thread-safe.
struct AuthOptions {
  std::function<std::optional<Principal>(std::string_view token)> verify{};
  // Canonical URL of the MCP endpoint as clients type it (RFC 9728 "resource"), e.g.
  // "https://mcp.example.com/mcp". Empty (default) = http://<Host header><path>.
  std::string resource{};
  // Issuer URLs listed in the protected-resource metadata. Default: none.
  std::vector<std::string> authorization_servers{};
  // Scopes listed in the metadata. Default: none.
  std::vector<std::string> scopes_supported{};
  // Scopes every token must carry; missing one -> 403 insufficient_scope. Default: none.
  std::vector<std::string> required_scopes{};
};

// A request to an application route (HttpOptions::routes): what a handler may look at.
struct HttpRouteRequest {
  std::string method{};  // "GET", "POST", ...
  std::string path{};    // the route's path as requested, without the query
  std::string query{};   // the query string without '?', or empty
  // The authenticated principal when the route authenticates and HttpOptions::auth is set;
  // unset otherwise.
  std::optional<Principal> principal{};
};

// A route's answer. The server adds Cache-Control: no-store and X-Content-Type-Options: nosniff.
struct HttpRouteResponse {
  unsigned status = 200;                                       // an HTTP status code
  std::string content_type = "application/json";               // the Content-Type header
  std::string body{};                                          // sent as is
  std::vector<std::pair<std::string, std::string>> headers{};  // extra headers (name, value)
};

// An application route served beside the MCP endpoints, e.g. a status page. Requests to it pass
// the Host/Origin validation like every endpoint; `handler` runs on a thread of its own (never
// an I/O thread), one request at a time, so it may block briefly. An exception from it is
// logged and answered 500 without its text.
struct HttpRoute {
  std::string path{};  // exact path, e.g. "/status"
  // With HttpOptions::auth set, the request must carry a valid bearer token (else 401/403 as
  // for the MCP endpoint) and the handler gets its principal. false: served without one (a
  // page that holds no data and asks for the token itself).
  bool authenticate = true;
  std::function<HttpRouteResponse(const HttpRouteRequest&)> handler{};
};

struct HttpOptions {
  std::string host = "127.0.0.1";  // bind address; not loopback without `auth` -> a warning
  std::uint16_t port = 0;          // 0 = pick a free port (see HttpServer::port())
  std::string path = "/mcp";       // Streamable HTTP endpoint
  bool legacy_sse = true;          // serve the legacy HTTP+SSE transport on the two paths below
  std::string sse_path = "/sse";   // legacy SSE: GET opens a session's stream
  std::string messages_path = "/messages";  // legacy SSE: POST ?sessionId=... a message
  // Prometheus text exposition of Server::metrics_text() (GET); empty = not served. Guarded
  // like the MCP endpoint: Host/Origin validation, and a bearer token when `auth` is set.
  std::string metrics_path = "/metrics";
  // Application routes (see HttpRoute); a path equal to one of the endpoints above is never
  // routed here. Default: none.
  std::vector<HttpRoute> routes{};
  std::size_t io_threads = 1;             // Asio threads (handlers use the server's pool)
  std::size_t max_body_bytes = 8u << 20;  // larger bodies -> 413
  std::size_t max_json_depth = 64;        // deeper JSON -> -32700 / 400

  // --- legacy sessions (Streamable HTTP 2025-11-25 and older, and legacy SSE streams) ---------
  // Sessions of each transport at once; beyond -> 503 "Too many sessions".
  std::size_t max_sessions = 1024;
  // Sessions (both transports together) of one authenticated principal (bearer subject);
  // beyond -> 503. Keeps one user's flood of initialize requests from filling the table for
  // everyone else.
  std::size_t max_sessions_per_principal = 64;
  // Sessions of one unauthenticated peer: one IPv4 address, or one IPv6 /64 (what one host
  // usually holds); beyond -> 503. Local clients all share 127.0.0.1, so without `auth` they
  // share this budget.
  std::size_t max_sessions_per_peer = 256;
  // Idle legacy sessions expire (then 404; clients initialize again).
  std::chrono::seconds session_ttl{1800};
  // A Streamable HTTP session that sees no request after its initialize (the client sends
  // notifications/initialized at once) within this time is dropped, so that initialize floods
  // hold their places for seconds, not for session_ttl.
  std::chrono::milliseconds session_init_timeout{std::chrono::seconds(10)};
  std::chrono::seconds sse_keepalive{15};  // ": keepalive" comment interval on SSE streams

  // --- connections --------------------------------------------------------------------------
  // Connections open at once (SSE streams included); beyond, a new connection is answered 503
  // and closed. Keep it below the process's descriptor limit (RLIMIT_NOFILE; start() warns
  // when it is not). When descriptors run out anyway, accepting pauses 50 ms, doubling up to
  // 1 s, with one log line per 10 s, instead of spinning.
  std::size_t max_connections = 2048;
  // Time for a request's header to arrive in full: from the connection's start for the first
  // request, from the request's first byte for later ones. Slower clients are disconnected
  // (slowloris), so connections that never send a request last this long, not
  // idle_connection_timeout.
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  // Time a kept-alive connection may wait for its next request; also bounds a request's body.
  std::chrono::seconds idle_connection_timeout{120};

  // --- Host/Origin validation (DNS-rebinding protection) -----------------------------------
  // Loopback names are always allowed; add host names (without port) to allowed_hosts and
  // origins ("https://app.example.com") to allowed_origins. A "*" entry in either is refused
  // by start() (std::invalid_argument): use allow_any_host.
  bool validate_host_origin = true;
  std::vector<std::string> allowed_hosts{};    // default: none (loopback names only)
  std::vector<std::string> allowed_origins{};  // default: none
  // Accept any Host and Origin: DNS-rebinding protection off, for deployments behind a proxy
  // that checks them. start() logs a warning. (validate_host_origin = false does the same.)
  bool allow_any_host = false;
  // Bearer-token authentication of every endpoint but /.well-known; unset (default) = none.
  std::optional<AuthOptions> auth{};
};

class HttpServer {
 public:
  HttpServer(Server& server, HttpOptions options = {});
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on background threads. Throws std::system_error on bind failure
  // and std::invalid_argument on contradictory options ("*" in allowed_hosts/allowed_origins).
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
