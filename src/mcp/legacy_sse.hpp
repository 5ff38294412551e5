// Internal: the legacy HTTP+SSE transport (protocol 2024-11-05), one handler for its two
// endpoints, for older clients and mcp-remote:
//
//   GET  HttpOptions::sse_path (/sse)  opens a session and its stream; the first event is
//        "event: endpoint" with "<messages_path>?sessionId=<id>", every message of the
//        session follows as "event: message"; the session ends with the stream.
//   POST HttpOptions::messages_path (/messages)?sessionId=<id>  hands one message to the
//        session and answers 202; the response travels on the stream.
//
// Sessions count against the caps of HttpSessions (both transports share the owners' caps).
// A session of an authenticated principal accepts POSTs of that principal only (403).
//
// Thread-safety: serve() runs on the strand of the connection it serves.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "http_checks.hpp"
#include "http_response.hpp"
#include "http_sessions.hpp"
#include "http_stream.hpp"
#include "mcp/http.hpp"
#include "mcp/server.hpp"

namespace mcp::detail {

class LegacySseHandler {
 public:
  LegacySseHandler(Server& server, const HttpOptions& options, HttpSessions& sessions,
                   StreamRegistry& streams, const Responder& responder);

  // Serves one request to `path` (sse_path or messages_path) with query string `query`, from
  // `peer`, already checked for Host, Origin and authentication (`principal`). Returns whether
  // the connection stays open.
  boost::asio::awaitable<bool> serve(boost::beast::tcp_stream& stream, HttpRequest& req,
                                     std::string_view path, std::string_view query,
                                     const std::optional<Principal>& principal,
                                     const std::string& peer);

 private:
  boost::asio::awaitable<bool> open_stream(boost::beast::tcp_stream& stream, HttpRequest& req,
                                           const std::optional<Principal>& principal,
                                           const std::string& peer);
  boost::asio::awaitable<bool> post_message(boost::beast::tcp_stream& stream, HttpRequest& req,
                                            std::string_view query,
                                            const std::optional<Principal>& principal,
                                            const std::string& peer);

  Server& server_;
  const HttpOptions& opt_;
  HttpSessions& sessions_;
  StreamRegistry& streams_;
  const Responder& respond_;
};

}  // namespace mcp::detail
