// mcp::OAuthClientAuthorizer through mcp::StreamableHttpClientTransport end to end, on the
// loopback interface: an mcp::Server of the test's behind mcp::HttpServer with bearer
// authentication (its protected resource metadata names the fake authorization server), and a
// fake authorization server in this file (metadata, dynamic registration, an authorization
// endpoint that approves at once, a token endpoint that checks PKCE and issues refresh
// tokens). Covers the whole flow, refresh after a refused token, the legacy HTTP+SSE transport,
// step-up on 403 with its limit, an issuer mismatch, and a fixed token the server refuses.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "mcp/client.hpp"
#include "mcp/client_http.hpp"
#include "mcp/client_oauth.hpp"
#include "mcp/client_oauth_internal.hpp"
#include "mcp/http.hpp"
#include "mcp/server.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace bj = boost::json;
using mcp::ClientError;
using tcp = asio::ip::tcp;

// The tokens the fake authorization server issued and the scopes each carries; the MCP
// server's verifier reads them.
struct TokenRegistry {
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> scopes;
  void revoke_all() {
    std::lock_guard lk(mu);
    scopes.clear();
  }
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// A synchronous authorization server: one request per connection, on one thread.
class FakeAuthServer {
 public:
  explicit FakeAuthServer(std::shared_ptr<TokenRegistry> tokens)
      : tokens_(std::move(tokens)),
        acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}),
        issuer_("http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port())) {
    thread_ = std::thread([this] { run(); });
  }
  ~FakeAuthServer() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket s(ioc_);
    s.connect(acceptor_.local_endpoint(), ec);  // wakes accept()
    thread_.join();
  }
  FakeAuthServer(const FakeAuthServer&) = delete;
  FakeAuthServer& operator=(const FakeAuthServer&) = delete;

  const std::string& issuer() const { return issuer_; }

  // Behaviour, set before the flow.
  std::string metadata_issuer;             // "" = the right one
  std::vector<std::string> never_granted;  // scopes the token endpoint leaves out, always
  std::vector<std::string> granted_later;  // left out of the first authorization's token only

  // What the server saw.
  struct Seen {
    int registrations = 0;
    std::vector<std::map<std::string, std::string>> authorizations;  // their queries
    std::vector<std::string> grants;                                 // grant_type of each
    int pkce_failures = 0;
  };
  Seen seen() {
    std::lock_guard lk(mu_);
    return seen_;
  }

 private:
  void run() {
    while (!stop_) {
      tcp::socket sock(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (stop_ || ec) continue;
      beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(sock, buf, req, ec);
      if (ec) continue;
      auto res = answer(req);
      res.prepare_payload();
      http::write(sock, res, ec);
      sock.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  static http::response<http::string_body> json(unsigned status, const bj::object& o) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.body() = bj::serialize(o);
    return res;
  }

  http::response<http::string_body> answer(const http::request<http::string_body>& req) {
    std::lock_guard lk(mu_);
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    if (path == "/.well-known/oauth-authorization-server")
      return json(200, {{"issuer", metadata_issuer.empty() ? issuer_ : metadata_issuer},
                        {"authorization_endpoint", issuer_ + "/authorize"},
                        {"token_endpoint", issuer_ + "/token"},
                        {"registration_endpoint", issuer_ + "/register"},
                        {"response_types_supported", bj::array{"code"}},
                        {"code_challenge_methods_supported", bj::array{"S256"}},
                        {"token_endpoint_auth_methods_supported", bj::array{"client_secret_basic"}},
                        {"authorization_response_iss_parameter_supported", true}});
    if (path == "/register") {
      ++seen_.registrations;
      return json(201, {{"client_id", "dyn-client"},
                        {"client_secret", "dyn-secret"},
                        {"token_endpoint_auth_method", "client_secret_basic"}});
    }
    if (path == "/authorize") {
      auto q = mcp::oauth::query_of(target);
      seen_.authorizations.push_back(q);
      challenge_ = q["code_challenge"];
      scope_ = q["scope"];
      http::response<http::string_body> res{http::status::found, 11};
      res.set(
          http::field::location,
          mcp::oauth::with_query(q["redirect_uri"],
                                 {{"code", "code-" + std::to_string(seen_.authorizations.size())},
                                  {"state", q["state"]},
                                  {"iss", issuer_}}));
      return res;
    }
    if (path == "/token") {
      auto f = mcp::oauth::query_of("?" + req.body());
      seen_.grants.push_back(f["grant_type"]);
      if (req[http::field::authorization].substr(0, 6) != "Basic ")
        return json(401, {{"error", "invalid_client"}});
      if (f["grant_type"] == "authorization_code" &&
          mcp::oauth::s256_challenge(f["code_verifier"]) != challenge_) {
        ++seen_.pkce_failures;
        return json(400, {{"error", "invalid_grant"}, {"error_description", "PKCE"}});
      }
      if (f["grant_type"] == "refresh_token" && f["refresh_token"] != refresh_)
        return json(400, {{"error", "invalid_grant"}});
      std::vector<std::string> granted;
      for (const auto& s : split(scope_)) {
        const bool never =
            std::find(never_granted.begin(), never_granted.end(), s) != never_granted.end();
        const bool later =
            seen_.authorizations.size() == 1 &&
            std::find(granted_later.begin(), granted_later.end(), s) != granted_later.end();
        if (!never && !later) granted.push_back(s);
      }
      const std::string token = "tok-" + std::to_string(++issued_);
      refresh_ = "ref-" + std::to_string(issued_);
      {
        std::lock_guard tk(tokens_->mu);
        tokens_->scopes[token] = granted;
      }
      return json(200, {{"access_token", token},
                        {"token_type", "Bearer"},
                        {"expires_in", 3600},
                        {"refresh_token", refresh_}});
    }
    return json(404, {{"error", "not_found"}});
  }

  std::shared_ptr<TokenRegistry> tokens_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::string issuer_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  Seen seen_;
  std::string challenge_, scope_, refresh_;
  int issued_ = 0;
};

class OAuthFlow : public ::testing::Test {
 protected:
  // `whole_origin`: the resource is the server's origin, which names /mcp and /sse alike.
  void start_servers(std::vector<std::string> required_scopes, bool whole_origin = false) {
    as_ = std::make_unique<FakeAuthServer>(tokens_);
    server_ = std::make_unique<mcp::Server>(mcp::ServerOptions{.info = {.name = "protected"}});
    server_->tool_raw(
        {.name = "echo", .description = "echo"},
        [](const bj::value&, mcp::ToolContext&) { return mcp::CallToolResult::text("ok"); });
    mcp::HttpOptions ho;
    ho.auth = mcp::AuthOptions{
        .verify = [t = tokens_](std::string_view token) -> std::optional<mcp::Principal> {
          std::lock_guard lk(t->mu);
          auto it = t->scopes.find(std::string(token));
          if (it == t->scopes.end()) return std::nullopt;
          return mcp::Principal{.subject = "user", .scopes = it->second};
        },
        .authorization_servers = {as_->issuer()},
        .scopes_supported = {"mcp", "admin"},
        .required_scopes = std::move(required_scopes)};
    ho.port = free_port();
    origin_ = "http://127.0.0.1:" + std::to_string(ho.port);
    if (whole_origin) ho.auth->resource = origin_;
    http_ = std::make_unique<mcp::HttpServer>(*server_, ho);
    http_->start();
    url_ = origin_ + "/mcp";
  }

  mcp::OAuthClientOptions approving() {
    mcp::OAuthClientOptions o;
    o.open_authorization_url = [](const std::string& url) {
      // The fake approves at once: its redirect is the answer.
      auto a = mcp::oauth::http_request("GET", url, {}, "", "", std::chrono::seconds(5));
      return a.header("location");
    };
    o.request_timeout = std::chrono::seconds(5);
    return o;
  }

  void connect(mcp::Client& client, mcp::OAuthClientOptions o) {
    auto authorizer = std::make_shared<mcp::OAuthClientAuthorizer>(std::move(o));
    client.connect(std::make_unique<mcp::StreamableHttpClientTransport>(
        mcp::StreamableHttpClientOptions{.url = url_, .authorizer = authorizer}));
  }

  std::shared_ptr<TokenRegistry> tokens_ = std::make_shared<TokenRegistry>();
  std::unique_ptr<FakeAuthServer> as_;
  std::unique_ptr<mcp::Server> server_;
  std::unique_ptr<mcp::HttpServer> http_;
  std::string origin_, url_;

 private:
  static std::uint16_t free_port() {
    asio::io_context ioc;
    tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
  }
};

mcp::ClientOptions client_options() {
  mcp::ClientOptions o;
  o.request_timeout = std::chrono::seconds(20);
  return o;
}

TEST_F(OAuthFlow, DiscoversRegistersAuthorizesAndRefreshes) {
  start_servers({"mcp"});
  mcp::Client client(client_options());
  connect(client, approving());
  ASSERT_EQ(client.list_tools().size(), 1u);
  auto seen = as_->seen();
  EXPECT_EQ(seen.registrations, 1);
  ASSERT_EQ(seen.authorizations.size(), 1u);
  auto& q = seen.authorizations[0];
  EXPECT_EQ(q["response_type"], "code");
  EXPECT_EQ(q["client_id"], "dyn-client");
  EXPECT_EQ(q["code_challenge_method"], "S256");
  EXPECT_EQ(q["resource"], url_);
  EXPECT_EQ(q["scope"], "mcp");  // the challenge's scope
  EXPECT_FALSE(q["state"].empty());
  EXPECT_EQ(seen.pkce_failures, 0);
  EXPECT_EQ(seen.grants, (std::vector<std::string>{"authorization_code"}));

  // The server forgets every token: the next call is refused, refreshed, and goes through.
  tokens_->revoke_all();
  EXPECT_EQ(client.list_tools().size(), 1u);
  seen = as_->seen();
  EXPECT_EQ(seen.authorizations.size(), 1u);
  EXPECT_EQ(seen.grants, (std::vector<std::string>{"authorization_code", "refresh_token"}));
  EXPECT_EQ(seen.registrations, 1);
}

TEST_F(OAuthFlow, LegacySseTransportAuthorizesItsStream) {
  start_servers({"mcp"}, true);
  mcp::Client client(client_options());
  const std::string sse_url = origin_ + "/sse";
  client.connect(std::make_unique<mcp::LegacySseClientTransport>(mcp::LegacySseClientOptions{
      .url = sse_url, .authorizer = std::make_shared<mcp::OAuthClientAuthorizer>(approving())}));
  EXPECT_EQ(client.list_tools().size(), 1u);
  auto seen = as_->seen();
  ASSERT_EQ(seen.authorizations.size(), 1u);
  EXPECT_EQ(seen.authorizations[0]["resource"], origin_);  // as the metadata publishes it
}

TEST_F(OAuthFlow, StepUpAsksForTheUnionOfScopes) {
  start_servers({"mcp", "admin"});
  as_->granted_later = {"admin"};  // the first token lacks it: 403 insufficient_scope
  mcp::Client client(client_options());
  connect(client, approving());
  ASSERT_EQ(client.list_tools().size(), 1u);
  auto seen = as_->seen();
  ASSERT_EQ(seen.authorizations.size(), 2u);
  EXPECT_EQ(seen.authorizations[1]["scope"], "mcp admin");
}

TEST_F(OAuthFlow, StepUpStopsAtItsLimit) {
  start_servers({"mcp", "admin"});
  as_->never_granted = {"admin"};
  mcp::Client client(client_options());
  auto o = approving();
  o.max_step_ups = 1;
  try {
    connect(client, std::move(o));
    client.list_tools();
    ADD_FAILURE() << "no error";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kAuthorization) << e.what();
  }
  // The first authorization, one step-up, then no more.
  EXPECT_EQ(as_->seen().authorizations.size(), 2u);
}

TEST_F(OAuthFlow, IssuerMismatchIsRefusedBeforeAnyRequestToTheServer) {
  start_servers({"mcp"});
  as_->metadata_issuer = "https://attacker.example";
  mcp::Client client(client_options());
  try {
    connect(client, approving());
    client.list_tools();
    ADD_FAILURE() << "no error";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kAuthorization);
    EXPECT_NE(std::string(e.what()).find("has issuer 'https://attacker.example', not '" +
                                         as_->issuer() + "'"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(as_->seen().registrations, 0);
  EXPECT_TRUE(as_->seen().authorizations.empty());
}

TEST_F(OAuthFlow, FixedTokenRefusedIsAnAuthorizationError) {
  start_servers({"mcp"});
  mcp::Client client(client_options());
  mcp::OAuthClientOptions o;
  o.access_token = "not-issued";
  try {
    connect(client, std::move(o));
    client.list_tools();
    ADD_FAILURE() << "no error";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kAuthorization);
    EXPECT_NE(std::string(e.what()).find("HTTP 401"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("not-issued"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(as_->seen().authorizations.empty());
}

}  // namespace
