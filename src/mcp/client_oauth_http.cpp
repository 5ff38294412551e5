// One HTTP request of the OAuth client (metadata, registration, token endpoints): a connection
// of its own on a private io_context, TLS verified as the transports verify it, one deadline
// for the whole exchange; and the form and query encodings those endpoints use.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "asio_coroutines.hpp"  // a GCC false positive off: see there
#include "client_oauth_internal.hpp"
#include "mcp/client_error.hpp"

namespace mcp::oauth {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Kind = ClientError::Kind;

// Largest answer read from an OAuth endpoint.
constexpr std::uint64_t kMaxBody = std::uint64_t{1} << 20;

struct Target {
  bool tls = false;
  std::string host;  // for the resolver and SNI (no IPv6 brackets)
  std::string port;
  std::string host_header;
  std::string path;  // path and query
};

Target parse_target(const std::string& url) {
  auto r = boost::urls::parse_uri(url);
  if (!r || (r->scheme() != "http" && r->scheme() != "https") || r->encoded_host().empty())
    throw ClientError(Kind::kAuthorization, "OAuth: not an http(s) URL: '" + url + "'");
  Target t;
  t.tls = r->scheme() == "https";
  t.host = std::string(r->encoded_host());
  if (t.host.size() > 2 && t.host.front() == '[' && t.host.back() == ']')
    t.host = t.host.substr(1, t.host.size() - 2);
  t.port = r->has_port() && !r->port().empty() ? std::string(r->port()) : (t.tls ? "443" : "80");
  t.host_header = std::string(r->encoded_host_and_port());
  t.path = std::string(r->encoded_path());
  if (t.path.empty()) t.path = "/";
  if (r->has_query()) t.path += "?" + std::string(r->encoded_query());
  return t;
}

template <class Stream>
asio::awaitable<void> write_and_read(Stream& s, http::request<http::string_body>& req,
                                     HttpAnswer& out) {
  co_await http::async_write(s, req, asio::use_awaitable);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> p;
  p.body_limit(kMaxBody);
  co_await http::async_read(s, buf, p, asio::use_awaitable);
  const auto& res = p.get();
  out.status = res.result_int();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    out.headers.emplace(std::move(name), std::string(f.value()));
  }
  out.body = res.body();
}

}  // namespace

std::string HttpAnswer::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpAnswer http_request(const std::string& method, const std::string& url,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        const std::string& body, const std::string& ca_file,
                        std::chrono::milliseconds timeout) {
  const Target t = parse_target(url);
  http::request<http::string_body> req{http::string_to_verb(method), t.path, 11};
  req.set(http::field::host, t.host_header);
  req.set(http::field::user_agent, "refcache-mcp-client");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty() || method == "POST") {
    req.body() = body;
    req.prepare_payload();
  }

  asio::io_context ioc(1);
  std::optional<asio::ssl::context> tls;
  if (t.tls) {
    tls.emplace(asio::ssl::context::tls_client);
    boost::system::error_code ec;
    tls->set_default_verify_paths(ec);
    if (!ca_file.empty()) {
      tls->load_verify_file(ca_file, ec);
      if (ec)
        throw ClientError(Kind::kAuthorization,
                          "OAuth: cannot read the CA file '" + ca_file + "': " + ec.message());
    }
    tls->set_verify_mode(asio::ssl::verify_peer);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  HttpAnswer out;
  std::string failure;
  auto run = [&]() -> asio::awaitable<void> {
    tcp::resolver resolver(ioc);
    beast::tcp_stream plain(ioc);
    plain.expires_at(deadline);
    auto results = co_await resolver.async_resolve(t.host, t.port, asio::use_awaitable);
    co_await plain.async_connect(results, asio::use_awaitable);
    if (!tls) {
      co_await write_and_read(plain, req, out);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> s(std::move(plain), *tls);
    if (!SSL_set_tlsext_host_name(s.native_handle(), t.host.c_str()))
      throw boost::system::system_error(
          beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()));
    s.set_verify_callback(asio::ssl::host_name_verification(t.host));
    co_await s.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
    co_await write_and_read(s, req, out);
  };
  asio::co_spawn(ioc, run(), [&](const std::exception_ptr& e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const boost::system::system_error& se) {
      failure = se.code() == beast::error::timeout
                    ? "no answer within " + std::to_string(timeout.count()) + " ms"
                    : se.code().message();
    } catch (const std::exception& ex) {
      failure = ex.what();
    }
  });
  ioc.run();
  if (!failure.empty())
    throw ClientError(Kind::kAuthorization, "OAuth: " + method + " " + url + " failed: " + failure);
  return out;
}

std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::string form_encode(const Params& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += percent_encode(k) + "=" + percent_encode(v);
  }
  return out;
}

std::string with_query(const std::string& url, const Params& params) {
  const auto hash = url.find('#');
  std::string base = url.substr(0, hash);
  if (params.empty()) return base;
  base += base.find('?') == std::string::npos ? '?' : '&';
  return base + form_encode(params);
}

std::map<std::string, std::string> query_of(const std::string& url) {
  std::map<std::string, std::string> out;
  auto r = boost::urls::parse_uri_reference(url);
  if (!r) return out;
  for (auto param : r->params()) {
    if (!param.has_value) continue;
    out.emplace(std::string(param.key), std::string(param.value));
  }
  return out;
}

boost::json::object json_object(const HttpAnswer& a, const std::string& what) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(a.body, ec);
  if (ec || !v.is_object())
    throw ClientError(Kind::kAuthorization, "OAuth: " + what + " is not a JSON object");
  return std::move(v.get_object());
}

}  // namespace mcp::oauth
