// Internal: building and writing the HTTP transport's answers. Every answer is counted in the
// server's TransportMetrics (mcp_http_responses_total), carries the CORS headers of an allowed
// Origin, and keeps the connection alive when the request asked for it. A response goes out
// with one gather write (Beast serializes header and body into one buffer sequence); an SSE
// stream starts with a head written by hand (sse_head) and continues with raw writes.
//
// Thread-safety: Responder is immutable after construction and may be used from any thread;
// the write functions must run on the connection's strand.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http_checks.hpp"
#include "mcp/server.hpp"

namespace mcp::detail {

// Extra header fields of one answer (Mcp-Session-Id of a new session).
using HeaderFields = std::vector<std::pair<std::string, std::string>>;

class Responder {
 public:
  explicit Responder(Server& server) : server_(server) {}

  // An answer with `body` of type `content_type` (none when the body is empty).
  HttpResponse make(const HttpRequest& req, boost::beast::http::status status, std::string body,
                    std::string_view content_type = "application/json") const;
  // An answer whose body is the JSON-RPC error {code, message} for request `id`.
  HttpResponse error(const HttpRequest& req, boost::beast::http::status status,
                     const boost::json::value& id, int code, std::string_view message) const;
  // 405 with Allow: `allow`.
  HttpResponse method_not_allowed(const HttpRequest& req, const char* allow) const;
  // 503 with Retry-After: 10, when a session table (or an owner's share of it) is full.
  HttpResponse too_many_sessions(const HttpRequest& req, const boost::json::value& id,
                                 const char* why) const;
  // The head of an SSE answer (200, text/event-stream, no caching or proxy buffering, the
  // connection closes with the stream) with CORS and `extra` fields; counts a 200.
  std::string sse_head(const HttpRequest& req, const HeaderFields& extra = {}) const;

  // Writes `res`; true when it went out and the connection stays open (keep-alive).
  static boost::asio::awaitable<bool> write(boost::beast::tcp_stream& stream, HttpResponse res);
  // Writes `data` as is; true when it went out.
  static boost::asio::awaitable<bool> write_raw(boost::beast::tcp_stream& stream,
                                                const std::string& data);

  TransportMetrics& metrics() const { return server_.transport_metrics(); }

 private:
  Server& server_;
};

}  // namespace mcp::detail
