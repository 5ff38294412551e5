// The auth/* scenarios run with an mcp::OAuthClientAuthorizer: the suite's authorization server
// approves every authorization request at once, redirecting to the redirect URI with the code,
// so the "human step" here is one GET of the authorization URL whose Location is the answer.
// The suite's servers are plain http:// on the loopback interface.
#include "auth_setup.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>

#include "mcp/client_oauth.hpp"

namespace conformance_client {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// The Client ID Metadata Document URL the suite's basic-cimd scenario expects.
constexpr const char* kClientMetadataUrl = "https://conformance-test.local/client-metadata.json";

// Follows the authorization URL one step: the suite's authorization endpoint answers with a
// redirect to the redirect URI, carrying code, state and iss.
std::string approve(const std::string& authorization_url) {
  auto u = boost::urls::parse_uri(authorization_url);
  if (!u || u->scheme() != "http")
    throw std::runtime_error("the authorization URL is not http://: " + authorization_url);
  asio::io_context ioc;
  asio::ip::tcp::resolver resolver(ioc);
  beast::tcp_stream s(ioc);
  s.expires_after(std::chrono::seconds(10));
  const std::string port = u->has_port() ? std::string(u->port()) : "80";
  s.connect(resolver.resolve(std::string(u->encoded_host()), port));
  std::string target(u->encoded_path());
  if (u->has_query()) target += "?" + std::string(u->encoded_query());
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, std::string(u->encoded_host_and_port()));
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  auto loc = res.find(http::field::location);
  if (res.result_int() / 100 != 3 || loc == res.end())
    throw std::runtime_error("the authorization endpoint answered HTTP " +
                             std::to_string(res.result_int()) + " without a redirect");
  return std::string(loc->value());
}

std::string context_string(const boost::json::object& context, const char* key) {
  const auto* v = context.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

bool configure_auth(const std::string& scenario, const boost::json::object& context,
                    mcp::StreamableHttpClientOptions& http) {
  if (scenario.rfind("auth/", 0) != 0) return false;
  mcp::OAuthClientOptions o;
  o.client_id = context_string(context, "client_id");
  o.client_secret = context_string(context, "client_secret");
  o.private_key_pem = context_string(context, "private_key_pem");
  if (auto alg = context_string(context, "signing_algorithm"); !alg.empty())
    o.private_key_alg = alg;
  o.client_credentials = scenario.find("client-credentials") != std::string::npos;
  if (!o.client_credentials) {
    o.client_id_metadata_url = kClientMetadataUrl;
    o.open_authorization_url = approve;
  }
  http.authorizer = std::make_shared<mcp::OAuthClientAuthorizer>(std::move(o));
  return true;
}

}  // namespace conformance_client
