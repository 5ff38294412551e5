// The HTTP request path without a socket. Raw bytes go through the same Beast request parser,
// with the same header limit, that HttpServer's connection loop uses; the parsed request then
// goes through every check of the transport that does not need a socket: Host and Origin
// validation (DNS rebinding), bearer-token authentication and the RFC 9728 metadata URL, the
// modern/legacy era decision on headers and body, CORS headers, the decoding
// of Mcp-Name / Mcp-Param-* header values (=?base64?...?=), the session table lookup by
// Mcp-Session-Id, the resumable-stream lookup by Last-Event-ID, and the legacy
// /messages?sessionId= query.
//
// Those checks are private to src/mcp/http.cpp (an anonymous namespace and HttpServer::Impl),
// so this target compiles that file into itself; libmcp's copy of it is then never linked.
// Not reachable this way: route() and the mcp_post/mcp_get/mcp_delete/legacy_* coroutines
// themselves (they take a beast::tcp_stream and write to it), so their inline code -- the
// Mcp-Method/Mcp-Name comparison with the body, the Last-Event-ID split (replicated below from
// mcp_get), the sessionId query split (replicated below from legacy_sse_post) -- is exercised
// only through the same helper calls, not as the coroutines run it.
#include "mcp/http.cpp"  // NOLINT(bugprone-suspicious-include)

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "fuzz_util.hpp"

namespace mcp {  // the helpers of http.cpp live in mcp's anonymous namespace
namespace {

struct World {
  mcp::Server server{
      mcp::ServerOptions{.info = {.name = "fuzz-http", .version = "1"}, .worker_threads = 1}};
  std::unique_ptr<mcp::HttpServer::Impl> open, authed;
  std::string sid;

  World() {
    mcp::HttpOptions o;
    o.allowed_hosts = {"example.com"};
    o.allowed_origins = {"https://app.example.com"};
    open = std::make_unique<mcp::HttpServer::Impl>(server, o);
    mcp::HttpOptions a = o;
    a.allow_any_host = true;
    a.auth = mcp::AuthOptions{};
    a.auth->verify = [](std::string_view token) -> std::optional<mcp::Principal> {
      if (token == "good") return mcp::Principal{.subject = "alice", .scopes = {"mcp", "x"}};
      if (token == "weak") return mcp::Principal{.subject = "bob", .scopes = {}};
      return std::nullopt;
    };
    a.auth->authorization_servers = {"https://auth.example.com"};
    a.auth->required_scopes = {"mcp"};
    authed = std::make_unique<mcp::HttpServer::Impl>(server, a);
    auto s = open->create_session(std::nullopt, "127.0.0.1").session;
    sid = s->id();
  }
};

World& world() {
  static World* w = new World();
  return *w;
}

void check(World& w, mcp::HttpServer::Impl& impl, const Request& req) {
  bool host_ok = impl.host_allowed(req);
  bool origin_ok = impl.origin_allowed(req);
  if (!has_header(req, "Host") && impl.opt.validate_host_origin)
    FUZZ_CHECK(!host_ok, "a request without Host is refused");
  (void)origin_ok;

  std::optional<Response> deny;
  std::optional<mcp::Principal> p = impl.authenticate(req, deny);
  if (impl.opt.auth) {
    FUZZ_CHECK(p.has_value() != deny.has_value(), "authenticated xor denied");
    if (deny)
      FUZZ_CHECK(
          deny->result() == http::status::unauthorized || deny->result() == http::status::forbidden,
          "a denial is 401 or 403");
    if (p) FUZZ_CHECK(p->subject == "alice", "only a token with the required scope passes");
  } else {
    FUZZ_CHECK(!p && !deny, "no auth configured: nothing to check");
  }
  (void)impl.metadata_url(req);
  Response r = impl.make(req, http::status::ok, "{}");
  (void)r;
  (void)impl.method_not_allowed(req, "POST");

  // Body and era, as mcp_post reads them.
  std::error_code ec;
  bj::value msg = jsonio::parse(
      req.body(), ec, {.max_depth = impl.opt.max_json_depth, .max_bytes = impl.opt.max_body_bytes});
  if (!ec) {
    (void)impl.modern_request(req, msg);
    bj::value id = nullptr;
    if (auto* o = msg.if_object())
      if (auto it = o->find("id");
          it != o->end() && (it->value().is_string() || it->value().is_number()))
        id = it->value();
    (void)error_body(id, error_code::kHeaderMismatch, "Header mismatch: x");
  }
  std::string decoded;
  (void)decode_header_value(header(req, "Mcp-Name"), decoded);
  for (const auto& f : req) {
    std::string_view name(f.name_string().data(), f.name_string().size());
    if (lower(name.substr(0, 10)) == "mcp-param-")
      (void)decode_header_value(std::string_view(f.value().data(), f.value().size()), decoded);
  }
  (void)Server::is_modern_message(msg);

  // Session id and Last-Event-ID (mcp_get), as the authenticated principal (if any) asks.
  std::string sid(trim(header(req, "Mcp-Session-Id")));
  HttpServer::Impl::Lookup why = HttpServer::Impl::Lookup::kMissing;
  auto session = impl.find_session(sid, p, &why);
  if (session) FUZZ_CHECK(session->id() == sid, "find_session finds that session");
  FUZZ_CHECK((session != nullptr) == (why == HttpServer::Impl::Lookup::kFound),
             "a session is given exactly when the lookup found one the caller may use");
  // The owner key of a session this request would create (IPv6 peers by their /64).
  (void)owner_key(p, std::string(trim(header(req, "X-Forwarded-For"))));
  if (std::string last(trim(header(req, "Last-Event-ID"))); !last.empty()) {
    auto dash = last.rfind('-');
    if (dash != std::string::npos) {
      (void)impl.find_stream(sid, last.substr(0, dash));
      (void)std::strtoull(last.c_str() + dash + 1, nullptr, 10);
    }
  }
  // Legacy POST /messages?sessionId=... (legacy_sse_post).
  auto target = std::string_view(req.target().data(), req.target().size());
  std::string_view query = target.find('?') == std::string_view::npos
                               ? std::string_view()
                               : target.substr(target.find('?') + 1);
  std::string lsid;
  for (std::string_view rest = query; !rest.empty();) {
    auto amp = rest.find('&');
    std::string_view kv = rest.substr(0, amp);
    if (kv.substr(0, 10) == "sessionId=") lsid = std::string(kv.substr(10));
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
  }
  {
    std::lock_guard lk(impl.mu);
    (void)impl.sse_sessions.count(lsid);
  }
  (void)w;
}

}  // namespace
}  // namespace mcp

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mcp;
  World& w = world();
  http::request_parser<http::string_body> parser;
  parser.body_limit(w.open->opt.max_body_bytes);
  parser.header_limit(64 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  asio::const_buffer buf(data, size);
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
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return 0;
  }
  Request req = parser.release();
  try {
    check(w, *w.open, req);
    check(w, *w.authed, req);
  } catch (const std::exception&) {
    // route() catches std::exception and closes the connection: not a crash of the server.
  }
  return 0;
}
