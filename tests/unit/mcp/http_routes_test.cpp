// HttpOptions::routes: application routes beside /mcp -- authenticated or not as each route
// asks, behind the Host check, never shadowing the MCP endpoints, and an exception in a
// handler answered 500 without its text.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>
#include <string>

#include "mcp/http.hpp"

namespace {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

http::response<http::string_body> send(std::uint16_t port, http::verb verb,
                                       const std::string& target, const std::string& token = {},
                                       const std::string& host = {}) {
  boost::asio::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host.empty() ? "127.0.0.1:" + std::to_string(port) : host);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  req.prepare_payload();
  http::write(sock, req);
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  return res;
}

TEST(HttpRoutes, ServedAuthenticatedAsAskedAndGuarded) {
  mcp::Server server({.worker_threads = 1});
  mcp::HttpOptions opt;
  opt.auth = mcp::AuthOptions{.verify = [](std::string_view t) -> std::optional<mcp::Principal> {
    if (t == "good") return mcp::Principal{.subject = "carol"};
    return std::nullopt;
  }};
  auto echo = [](const mcp::HttpRouteRequest& r) {
    return mcp::HttpRouteResponse{.status = 200,
                                  .content_type = "text/plain",
                                  .body = r.method + " " + r.path + " ?" + r.query + " " +
                                          (r.principal ? r.principal->subject : std::string("-")),
                                  .headers = {{"X-Route", "yes"}}};
  };
  opt.routes.push_back({.path = "/open", .authenticate = false, .handler = echo});
  opt.routes.push_back({.path = "/closed", .authenticate = true, .handler = echo});
  opt.routes.push_back({.path = "/boom",
                        .authenticate = false,
                        .handler = [](const mcp::HttpRouteRequest&) -> mcp::HttpRouteResponse {
                          throw std::runtime_error("secret detail");
                        }});
  // A route may not take the MCP endpoint's path.
  opt.routes.push_back({.path = "/mcp", .authenticate = false, .handler = echo});
  mcp::HttpServer httpd(server, opt);
  httpd.start();
  const auto port = httpd.port();

  auto open = send(port, http::verb::get, "/open?x=1");
  EXPECT_EQ(open.result_int(), 200);
  EXPECT_EQ(open.body(), "GET /open ?x=1 -");
  EXPECT_EQ(open["X-Route"], "yes");
  EXPECT_EQ(open[http::field::cache_control], "no-store");
  EXPECT_EQ(open["X-Content-Type-Options"], "nosniff");

  EXPECT_EQ(send(port, http::verb::get, "/closed").result_int(), 401);
  EXPECT_EQ(send(port, http::verb::get, "/closed", "bad").result_int(), 401);
  auto closed = send(port, http::verb::post, "/closed", "good");
  EXPECT_EQ(closed.result_int(), 200);
  EXPECT_EQ(closed.body(), "POST /closed ? carol");

  EXPECT_EQ(send(port, http::verb::get, "/open", "", "evil.example").result_int(), 403);

  auto boom = send(port, http::verb::get, "/boom");
  EXPECT_EQ(boom.result_int(), 500);
  EXPECT_EQ(boom.body().find("secret"), std::string::npos);

  // /mcp stays the MCP endpoint: unauthenticated, it is refused, not echoed.
  EXPECT_EQ(send(port, http::verb::get, "/mcp").result_int(), 401);
  EXPECT_EQ(send(port, http::verb::get, "/nowhere", "good").result_int(), 404);
  httpd.stop();
}

}  // namespace
