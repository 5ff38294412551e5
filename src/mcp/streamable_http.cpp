#include "streamable_http.hpp"

#include "asio_coroutines.hpp"  // a GCC false positive off: see there
#include "crypto.hpp"
#include "jsonio/json_text.hpp"

namespace mcp::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace bj = boost::json;
using asio::awaitable;

StreamableHttpHandler::StreamableHttpHandler(Server& server, const HttpOptions& options,
                                             HttpSessions& sessions, StreamRegistry& streams,
                                             const Responder& responder)
    : server_(server),
      opt_(options),
      sessions_(sessions),
      streams_(streams),
      respond_(responder),
      stateless_(std::make_shared<Session>("", TransportKind::kStreamableHttp, true)) {}

void StreamableHttpHandler::shutdown() {
  server_.detach(stateless_);
}

awaitable<bool> StreamableHttpHandler::serve(beast::tcp_stream& stream, HttpRequest& req,
                                             const std::optional<Principal>& principal,
                                             const std::string& peer) {
  switch (req.method()) {
    case http::verb::post:
      co_return co_await post(stream, req, principal, peer);
    case http::verb::get:
      co_return co_await get(stream, req, principal);
    case http::verb::delete_:
      co_return co_await remove(stream, req, principal);
    default:
      co_return co_await Responder::write(
          stream, respond_.method_not_allowed(req, "GET, POST, DELETE, OPTIONS"));
  }
}

HttpResponse StreamableHttpHandler::session_refused(const HttpRequest& req, const bj::value& id,
                                                    HttpSessions::Lookup why) const {
  if (why == HttpSessions::Lookup::kForeign)
    return respond_.error(req, http::status::forbidden, id, error_code::kInvalidRequest,
                          "Session belongs to another principal");
  return respond_.error(req, http::status::not_found, id, error_code::kInvalidRequest,
                        "Session not found");
}

awaitable<bool> StreamableHttpHandler::post(beast::tcp_stream& stream, HttpRequest& req,
                                            const std::optional<Principal>& principal,
                                            const std::string& peer) {
  if (lower(header(req, "Content-Type")).find("application/json") == std::string::npos)
    co_return co_await Responder::write(
        stream,
        respond_.error(req, http::status::unsupported_media_type, nullptr,
                       error_code::kInvalidRequest, "Content-Type must be application/json"));
  std::error_code ec;
  bj::value msg = jsonio::parse(
      req.body(), ec, {.max_depth = opt_.max_json_depth, .max_bytes = opt_.max_body_bytes});
  if (ec)
    co_return co_await Responder::write(
        stream, respond_.error(req, http::status::bad_request, nullptr, error_code::kParseError,
                               "Parse error: " + ec.message()));
  bj::object* obj = msg.if_object();
  bj::value id = nullptr;
  std::string method;
  bool is_request = false;
  if (obj) {
    if (auto it = obj->find("id");
        it != obj->end() && (it->value().is_string() || it->value().is_number()))
      id = it->value();
    if (auto it = obj->find("method"); it != obj->end() && it->value().is_string()) {
      method = std::string(it->value().get_string());
      is_request = obj->contains("id");
    }
  }
  MessageInfo info;
  info.principal = principal;
  info.peer_address = peer;
  info.traceparent = std::string(trim(header(req, "traceparent")));
  info.tracestate = std::string(trim(header(req, "tracestate")));

  if (modern_request(req, msg)) {
    std::string hv(trim(header(req, "MCP-Protocol-Version")));
    if (!hv.empty()) info.protocol_version_header = hv;
    info.modern_http = true;
    if (obj && !method.empty())
      if (auto why = routing_header_mismatch(req, *obj, method, server_))
        co_return co_await Responder::write(
            stream, respond_.error(req, http::status::bad_request, id, error_code::kHeaderMismatch,
                                   "Header mismatch: " + *why));
    auto hs = streams_.open(stream.get_executor(), HttpStream::Kind::kPost, !accepts_sse(req));
    server_.handle(stateless_, std::move(msg), hs, info);
    co_return co_await answer(stream, req, hs, {}, std::nullopt);
  }

  // Legacy era: a session, created by initialize.
  HeaderFields extra;
  std::shared_ptr<Session> session;
  std::string sid(trim(header(req, "Mcp-Session-Id")));
  if (is_request && method == "initialize") {
    if (!sid.empty() && sessions_.find(sid, principal))
      co_return co_await Responder::write(
          stream, respond_.error(req, http::status::bad_request, id, error_code::kInvalidRequest,
                                 "Session already initialized"));
    auto created = sessions_.create(principal, peer);
    if (!created.session)
      co_return co_await Responder::write(stream,
                                          respond_.too_many_sessions(req, id, created.refusal));
    session = std::move(created.session);
    extra.emplace_back("Mcp-Session-Id", session->id());
  } else {
    if (sid.empty())
      co_return co_await Responder::write(
          stream, respond_.error(req, http::status::bad_request, id, error_code::kInvalidRequest,
                                 "Bad Request: Mcp-Session-Id header is required"));
    HttpSessions::Lookup why;
    session = sessions_.find(sid, principal, &why);
    if (!session) co_return co_await Responder::write(stream, session_refused(req, id, why));
    std::string hv(trim(header(req, "MCP-Protocol-Version")));
    if (!hv.empty() && !is_legacy_version(hv))
      co_return co_await Responder::write(
          stream, respond_.error(req, http::status::bad_request, id, error_code::kInvalidRequest,
                                 "Unsupported MCP-Protocol-Version: " + hv));
  }
  // SSE answers of 2025-11-25 sessions are resumable (priming event, Last-Event-ID).
  std::optional<std::string> resume_sid;
  if (is_request && method != "initialize" &&
      session->protocol_version() >= std::string("2025-11-25"))
    resume_sid = session->id();
  auto hs = streams_.open(stream.get_executor(), HttpStream::Kind::kPost, !accepts_sse(req));
  server_.handle(session, std::move(msg), hs, info);
  co_return co_await answer(stream, req, hs, std::move(extra), std::move(resume_sid));
}

awaitable<bool> StreamableHttpHandler::answer(beast::tcp_stream& stream, const HttpRequest& req,
                                              std::shared_ptr<HttpStream> hs, HeaderFields extra,
                                              std::optional<std::string> resume_sid) {
  const bool resumable = resume_sid.has_value();
  // Most answers are ready within microseconds: poll briefly before watching the socket for a
  // client that goes away (an operation of its own per request).
  bool watching = false;
  while (!hs->settled(resumable)) {
    co_await hs->wait_for_wake(watching ? std::chrono::steady_clock::duration(std::chrono::hours(1))
                                        : std::chrono::milliseconds(20));
    if (!watching) {
      watching = true;
      watch_peer(stream, hs);
    }
  }
  auto first = hs->first_answer(resumable);
  if (first.kind == HttpStream::FirstAnswer::kGone) co_return false;
  if (first.kind != HttpStream::FirstAnswer::kEvents) {
    if (watching) {
      boost::system::error_code cec;
      stream.socket().cancel(cec);  // the watch; the socket may have been closed by stop()
    }
    HttpResponse r =
        first.kind == HttpStream::FirstAnswer::kAccepted
            ? respond_.make(req, http::status::accepted, "")
            : respond_.make(req, static_cast<http::status>(first.status), std::move(first.body));
    for (auto& [k, v] : extra) r.set(k, v);
    co_return co_await Responder::write(stream, std::move(r));
  }
  // SSE: related messages first, then the response; the stream ends after it.
  std::string out = respond_.sse_head(req, extra);
  std::uint64_t gen = 0;
  if (resumable) {
    gen = hs->make_resumable(out);
    sessions_.add_stream(*resume_sid, hs);
  }
  if (!watching) watch_peer(stream, hs, gen);
  co_return co_await pump(stream, hs, std::move(out), 0, gen, std::move(resume_sid));
}

awaitable<bool> StreamableHttpHandler::pump(beast::tcp_stream& stream,
                                            std::shared_ptr<HttpStream> hs, std::string out,
                                            std::uint64_t after_seq, std::uint64_t gen,
                                            std::optional<std::string> resume_sid) {
  for (;;) {
    const auto batch = hs->take_post_events(after_seq, gen, out);
    if (!out.empty() && !co_await Responder::write_raw(stream, out)) {
      hs->connection_lost(gen);
      co_return false;
    }
    out.clear();
    if (batch.finished) {
      if (resume_sid) sessions_.remove_stream(*resume_sid, hs);
      co_return false;
    }
    if (batch.detach) co_return false;  // the client resumes with GET + Last-Event-ID
    if (co_await hs->wait_for_wake(opt_.sse_keepalive)) out = ": keepalive\n\n";
  }
}

awaitable<bool> StreamableHttpHandler::get(beast::tcp_stream& stream, HttpRequest& req,
                                           const std::optional<Principal>& principal) {
  std::string sid(trim(header(req, "Mcp-Session-Id")));
  if (sid.empty())  // 2026-07-28: POST only
    co_return co_await Responder::write(stream, respond_.method_not_allowed(req, "POST"));
  if (lower(header(req, "Accept")).find("text/event-stream") == std::string::npos)
    co_return co_await Responder::write(
        stream,
        respond_.error(req, http::status::not_acceptable, nullptr, error_code::kInvalidRequest,
                       "Accept must include text/event-stream"));
  HttpSessions::Lookup why;
  auto session = sessions_.find(sid, principal, &why);
  if (!session) co_return co_await Responder::write(stream, session_refused(req, nullptr, why));
  if (std::string last(trim(header(req, "Last-Event-ID"))); !last.empty()) {
    // Resumption: replay the named POST stream after the given event, then continue it.
    std::string stream_id;
    std::uint64_t after = 0;
    if (parse_last_event_id(last, stream_id, after))
      if (auto hs = sessions_.find_stream(sid, stream_id)) {
        const std::uint64_t gen = hs->reattach();
        watch_peer(stream, hs, gen);
        co_return co_await pump(stream, hs, respond_.sse_head(req), after, gen, sid);
      }
  }
  auto hs = streams_.open(stream.get_executor(), HttpStream::Kind::kStandalone);
  if (auto old = session->standalone()) static_cast<HttpStream*>(old.get())->peer_closed();
  session->set_standalone(hs);
  // The priming event (SEP-1699).
  std::string head = respond_.sse_head(req) + "id: " + crypto::random_hex(6) + "-0\ndata: \n\n";
  const bool keep = co_await serve_event_stream(stream, hs, std::move(head), opt_.sse_keepalive);
  if (session->standalone() == hs) session->set_standalone(nullptr);
  co_return keep;
}

awaitable<bool> StreamableHttpHandler::remove(beast::tcp_stream& stream, HttpRequest& req,
                                              const std::optional<Principal>& principal) {
  std::string sid(trim(header(req, "Mcp-Session-Id")));
  if (sid.empty())
    co_return co_await Responder::write(stream, respond_.method_not_allowed(req, "POST"));
  HttpSessions::Lookup why;
  if (!sessions_.find(sid, principal, &why))
    co_return co_await Responder::write(stream, session_refused(req, nullptr, why));
  sessions_.end(sid);
  co_return co_await Responder::write(stream, respond_.make(req, http::status::ok, ""));
}

}  // namespace mcp::detail
