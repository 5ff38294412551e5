// Internal: the Streamable HTTP transport, one handler for the MCP endpoint
// (HttpOptions::path, /mcp) in both protocol eras:
//
//   - 2026-07-28 (the MCP-Protocol-Version header or the body's _meta version): stateless POST
//     only; the routing headers must agree with the body (SEP-2243, answered 400 + -32020);
//     every request runs in one shared stateless session; GET and DELETE without a session
//     are 405.
//   - 2025-11-25 and older: POST initialize creates a session (Mcp-Session-Id); later POSTs,
//     GET (the session's notification stream, or the resumption of a POST stream with
//     Last-Event-ID) and DELETE name it. 2025-11-25 sessions get resumable SSE answers: a
//     priming event, numbered events, and a disconnect that does not cancel the request.
//
// A POST's answer is application/json when the response is ready before anything else was
// sent, an SSE stream when a notification or server->client request comes first (or the
// handler asked to close the stream), and 202 for notifications and client responses. While a
// request is pending the socket is watched, so that a client that goes away cancels its
// request (non-resumable streams).
//
// Thread-safety: serve() runs on the strand of the connection it serves; any number of
// connections may be served at once.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>
#include <optional>
#include <string>

#include "http_checks.hpp"
#include "http_response.hpp"
#include "http_sessions.hpp"
#include "http_stream.hpp"
#include "mcp/http.hpp"
#include "mcp/server.hpp"

namespace mcp::detail {

class StreamableHttpHandler {
 public:
  StreamableHttpHandler(Server& server, const HttpOptions& options, HttpSessions& sessions,
                        StreamRegistry& streams, const Responder& responder);

  // Serves one request to the endpoint from `peer` (its IP address), already checked for Host,
  // Origin and authentication (`principal`). Returns whether the connection stays open.
  boost::asio::awaitable<bool> serve(boost::beast::tcp_stream& stream, HttpRequest& req,
                                     const std::optional<Principal>& principal,
                                     const std::string& peer);
  // Detaches the stateless session, which ends the 2026-07-28 subscriptions/listen streams.
  void shutdown();

 private:
  boost::asio::awaitable<bool> post(boost::beast::tcp_stream& stream, HttpRequest& req,
                                    const std::optional<Principal>& principal,
                                    const std::string& peer);
  boost::asio::awaitable<bool> get(boost::beast::tcp_stream& stream, HttpRequest& req,
                                   const std::optional<Principal>& principal);
  boost::asio::awaitable<bool> remove(boost::beast::tcp_stream& stream, HttpRequest& req,
                                      const std::optional<Principal>& principal);
  // Serves the answer to one POST whose message was handed to the server with `hs`;
  // `resume_sid` names the session of a resumable one. Returns whether the connection stays
  // open.
  boost::asio::awaitable<bool> answer(boost::beast::tcp_stream& stream, const HttpRequest& req,
                                      std::shared_ptr<HttpStream> hs, HeaderFields extra,
                                      std::optional<std::string> resume_sid);
  // Writes a POST's SSE events, starting with `out`, after sequence `after_seq`, until its
  // response went out (then the stream ends), the client went away, or -- resumable streams --
  // the handler asked to close the stream or another connection took it over.
  boost::asio::awaitable<bool> pump(boost::beast::tcp_stream& stream,
                                    std::shared_ptr<HttpStream> hs, std::string out,
                                    std::uint64_t after_seq, std::uint64_t gen,
                                    std::optional<std::string> resume_sid);
  // The answer to a request naming a session that HttpSessions::find() would not give it.
  HttpResponse session_refused(const HttpRequest& req, const boost::json::value& id,
                               HttpSessions::Lookup why) const;

  Server& server_;
  const HttpOptions& opt_;
  HttpSessions& sessions_;
  StreamRegistry& streams_;
  const Responder& respond_;
  // Every 2026-07-28 request runs in this one MCP session, which keeps no state and no
  // in-flight table.
  std::shared_ptr<Session> stateless_;
};

}  // namespace mcp::detail
