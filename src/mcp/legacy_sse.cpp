#include "legacy_sse.hpp"

#include "asio_coroutines.hpp"  // a GCC false positive off: see there
#include "jsonio/json_text.hpp"

namespace mcp::detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace bj = boost::json;
using boost::asio::awaitable;

LegacySseHandler::LegacySseHandler(Server& server, const HttpOptions& options,
                                   HttpSessions& sessions, StreamRegistry& streams,
                                   const Responder& responder)
    : server_(server), opt_(options), sessions_(sessions), streams_(streams), respond_(responder) {}

awaitable<bool> LegacySseHandler::serve(beast::tcp_stream& stream, HttpRequest& req,
                                        std::string_view path, std::string_view query,
                                        const std::optional<Principal>& principal,
                                        const std::string& peer) {
  if (path == opt_.sse_path) {
    if (req.method() != http::verb::get)
      co_return co_await Responder::write(stream, respond_.method_not_allowed(req, "GET"));
    co_return co_await open_stream(stream, req, principal, peer);
  }
  if (req.method() != http::verb::post)
    co_return co_await Responder::write(stream, respond_.method_not_allowed(req, "POST"));
  co_return co_await post_message(stream, req, query, principal, peer);
}

awaitable<bool> LegacySseHandler::open_stream(beast::tcp_stream& stream, HttpRequest& req,
                                              const std::optional<Principal>& principal,
                                              const std::string& peer) {
  auto hs = streams_.open(stream.get_executor(), HttpStream::Kind::kLegacySse);
  auto opened = sessions_.open_sse(principal, peer, hs);
  if (!opened.session)
    co_return co_await Responder::write(stream,
                                        respond_.too_many_sessions(req, nullptr, opened.refusal));
  std::string head = respond_.sse_head(req) + "event: endpoint\ndata: " + opt_.messages_path +
                     "?sessionId=" + opened.session->id() + "\n\n";
  co_await serve_event_stream(stream, hs, std::move(head), opt_.sse_keepalive);
  sessions_.close_sse(opened.session);
  co_return false;
}

awaitable<bool> LegacySseHandler::post_message(beast::tcp_stream& stream, HttpRequest& req,
                                               std::string_view query,
                                               const std::optional<Principal>& principal,
                                               const std::string& peer) {
  auto session = sessions_.find_sse(session_id_from_query(query));
  auto not_found = [&] {
    return respond_.error(req, http::status::not_found, nullptr, error_code::kInvalidRequest,
                          "Session not found");
  };
  if (!session) co_return co_await Responder::write(stream, not_found());
  if (auto subj = session->principal_subject(); subj && (!principal || principal->subject != *subj))
    co_return co_await Responder::write(
        stream, respond_.error(req, http::status::forbidden, nullptr, error_code::kInvalidRequest,
                               "Forbidden"));
  std::error_code ec;
  bj::value msg = jsonio::parse(
      req.body(), ec, {.max_depth = opt_.max_json_depth, .max_bytes = opt_.max_body_bytes});
  if (ec)
    co_return co_await Responder::write(
        stream, respond_.error(req, http::status::bad_request, nullptr, error_code::kParseError,
                               "Parse error"));
  auto out = session->standalone();
  if (!out)  // the stream just closed; the session is going away
    co_return co_await Responder::write(stream, not_found());
  MessageInfo info;
  info.principal = principal;
  info.peer_address = peer;
  info.traceparent = std::string(trim(header(req, "traceparent")));
  info.tracestate = std::string(trim(header(req, "tracestate")));
  server_.handle(session, std::move(msg), out, info);
  co_return co_await Responder::write(
      stream, respond_.make(req, http::status::accepted, "Accepted", "text/plain"));
}

}  // namespace mcp::detail
