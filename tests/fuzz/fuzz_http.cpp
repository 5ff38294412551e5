// The HTTP request path without a socket. Raw bytes go through the same Beast request parser,
// with the same header limit, that the transport's connection loop uses; the parsed request
// then goes through every check of the transport that does not need a socket, as the library
// runs them (src/mcp/http_checks.hpp, http_sessions.hpp, http_response.hpp): Host and Origin
// validation (DNS rebinding), CORS headers and the preflight answer, bearer-token
// authentication and the RFC 9728 metadata URL, the modern/legacy era decision on headers and
// body, the comparison of the routing headers (Mcp-Method, Mcp-Name, Mcp-Param-*) with the
// body and the decoding of their values (=?base64?...?=), the session table lookup by
// Mcp-Session-Id, the resumable-stream lookup by Last-Event-ID, and the legacy
// /messages?sessionId= query.
//
// Not reached this way: the handlers' coroutines themselves (they take a beast::tcp_stream and
// write to it); the decisions they make on a request are the calls above.
#include <boost/beast/http/parser.hpp>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "fuzz_util.hpp"
#include "jsonio/json_text.hpp"
#include "mcp/http_checks.hpp"
#include "mcp/http_response.hpp"
#include "mcp/http_sessions.hpp"
#include "mcp/server.hpp"

namespace {

namespace http = boost::beast::http;
namespace bj = boost::json;
using mcp::detail::HttpRequest;

struct World {
  mcp::Server server{
      mcp::ServerOptions{.info = {.name = "fuzz-http", .version = "1"}, .worker_threads = 1}};
  mcp::HttpOptions open, authed;
  std::unique_ptr<mcp::detail::HttpSessions> sessions;
  std::unique_ptr<mcp::detail::Responder> responder;
  std::string sid;

  World() {
    open.allowed_hosts = {"example.com"};
    open.allowed_origins = {"https://app.example.com"};
    authed = open;
    authed.allow_any_host = true;
    authed.auth = mcp::AuthOptions{};
    authed.auth->verify = [](std::string_view token) -> std::optional<mcp::Principal> {
      if (token == "good") return mcp::Principal{.subject = "alice", .scopes = {"mcp", "x"}};
      if (token == "weak") return mcp::Principal{.subject = "bob", .scopes = {}};
      return std::nullopt;
    };
    authed.auth->authorization_servers = {"https://auth.example.com"};
    authed.auth->required_scopes = {"mcp"};
    // A tool whose argument must be mirrored in Mcp-Param-Region (SEP-2243).
    server.tool_raw(
        {.name = "echo",
         .input_schema =
             bj::object{
                 {"type", "object"},
                 {"properties", bj::object{{"region", bj::object{{"type", "string"},
                                                                 {"x-mcp-header", "Region"}}}}}}},
        [](const bj::value&, mcp::ToolContext&) { return mcp::CallToolResult{}; });
    sessions = std::make_unique<mcp::detail::HttpSessions>(server, open);
    responder = std::make_unique<mcp::detail::Responder>(server);
    sid = sessions->create(std::nullopt, "127.0.0.1").session->id();
  }
};

World& world() {
  static World* w = new World();
  return *w;
}

void check(World& w, const mcp::HttpOptions& opt, const HttpRequest& req) {
  using namespace mcp::detail;
  const bool host_ok = host_allowed(opt, req);
  (void)origin_allowed(opt, req);
  if (!has_header(req, "Host") && opt.validate_host_origin && !opt.allow_any_host)
    FUZZ_CHECK(!host_ok, "a request without Host is refused");

  AuthOutcome auth = authenticate(opt, req, 8000);
  if (opt.auth) {
    FUZZ_CHECK(auth.principal.has_value() != auth.denied, "authenticated xor denied");
    if (auth.denied) {
      FUZZ_CHECK(
          auth.status == http::status::unauthorized || auth.status == http::status::forbidden,
          "a denial is 401 or 403");
      FUZZ_CHECK(auth.www_authenticate.find("resource_metadata=") != std::string::npos,
                 "a denial names the metadata URL");
    }
    if (auth.principal)
      FUZZ_CHECK(auth.principal->subject == "alice", "only a token with the required scope passes");
  } else {
    FUZZ_CHECK(!auth.principal && !auth.denied, "no auth configured: nothing to check");
  }
  (void)metadata_url(opt, req, 8000);
  HttpResponse r = w.responder->make(req, http::status::ok, "{}");
  fill_preflight(req, r);
  (void)w.responder->method_not_allowed(req, "POST");
  (void)w.responder->sse_head(req, {{"Mcp-Session-Id", w.sid}});
  (void)accepts_sse(req);

  // Body, era and routing headers, as the Streamable HTTP handler reads them.
  std::error_code ec;
  bj::value msg = jsonio::parse(req.body(), ec,
                                {.max_depth = opt.max_json_depth, .max_bytes = opt.max_body_bytes});
  if (!ec) {
    const bool modern = modern_request(req, msg);
    if (auto* o = msg.if_object()) {
      std::string method;
      if (auto it = o->find("method"); it != o->end() && it->value().is_string())
        method = std::string(it->value().get_string());
      if (modern && !method.empty()) {
        auto why = routing_header_mismatch(req, *o, method, w.server);
        if (!why) {
          FUZZ_CHECK(
              has_header(req, "Mcp-Method") && !trim(header(req, "MCP-Protocol-Version")).empty(),
              "headers that agree with the body include Mcp-Method and the version");
        }
      }
    }
  }
  std::string decoded;
  (void)decode_header_value(header(req, "Mcp-Name"), decoded);
  for (const auto& f : req) {
    std::string_view name(f.name_string().data(), f.name_string().size());
    if (lower(name.substr(0, 10)) == "mcp-param-")
      (void)decode_header_value(std::string_view(f.value().data(), f.value().size()), decoded);
  }

  // Session id and Last-Event-ID (GET), as the authenticated principal (if any) asks.
  std::string sid(trim(header(req, "Mcp-Session-Id")));
  HttpSessions::Lookup why = HttpSessions::Lookup::kMissing;
  auto session = w.sessions->find(sid, auth.principal, &why);
  if (session) FUZZ_CHECK(session->id() == sid, "find finds that session");
  FUZZ_CHECK((session != nullptr) == (why == HttpSessions::Lookup::kFound),
             "a session is given exactly when the lookup found one the caller may use");
  (void)owner_key(auth.principal, std::string(trim(header(req, "X-Forwarded-For"))));
  if (std::string last(trim(header(req, "Last-Event-ID"))); !last.empty()) {
    std::string stream_id;
    std::uint64_t after = 0;
    if (parse_last_event_id(last, stream_id, after)) (void)w.sessions->find_stream(sid, stream_id);
  }
  // Legacy POST /messages?sessionId=...
  auto target = std::string_view(req.target().data(), req.target().size());
  std::string_view query = target.find('?') == std::string_view::npos
                               ? std::string_view()
                               : target.substr(target.find('?') + 1);
  (void)w.sessions->find_sse(session_id_from_query(query));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  http::request_parser<http::string_body> parser;
  parser.body_limit(w.open.max_body_bytes);
  parser.header_limit(64 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  boost::asio::const_buffer buf(data, size);
  while (buf.size() > 0 && !parser.is_done()) {
    std::size_t n = parser.put(buf, ec);
    if (ec == http::error::need_more) {
      ec = {};
      if (n == 0) break;
    }
    if (ec) return 0;
    buf += n;
  }
  if (!parser.is_done()) {
    // Beast requires some input before an end of file (an assertion in its debug builds).
    if (!parser.got_some()) return 0;
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
  }
  HttpRequest req = parser.release();
  try {
    check(w, w.open, req);
    check(w, w.authed, req);
  } catch (const std::exception&) {
    // The connection loop catches std::exception and closes the connection: not a crash.
  }
  return 0;
}
