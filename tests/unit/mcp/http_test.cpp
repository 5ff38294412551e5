// HttpServer in-process: a round trip, shutting down while a call is still running, and SSE
// answers whose response comes while an earlier event is still being written.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>
#include <thread>

#include "jsonio/json_text.hpp"
#include "mcp/http.hpp"

namespace {

namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct NoArgs {};
BOOST_DESCRIBE_STRUCT(NoArgs, (), ())

const char* kCall =
    R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"%s","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})";

http::response<http::string_body> post(tcp::socket& sock, std::uint16_t port,
                                       const std::string& tool) {
  char body[512];
  std::snprintf(body, sizeof body, kCall, tool.c_str());
  http::request<http::string_body> req{http::verb::post, "/mcp", 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json, text/event-stream");
  req.set("MCP-Protocol-Version", "2026-07-28");
  req.set("Mcp-Method", "tools/call");
  req.set("Mcp-Name", tool);
  req.body() = body;
  req.prepare_payload();
  http::write(sock, req);
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  return res;
}

TEST(Http, RoundTripAndShutdownWithACallInFlight) {
  mcp::Server server({.worker_threads = 2});
  std::atomic<bool> started{false};
  server.tool<NoArgs>({.name = "hello", .description = ""},
                      [](const NoArgs&, mcp::ToolContext&) { return std::string("hi"); });
  server.tool<NoArgs>({.name = "slow", .description = ""},
                      [&](const NoArgs&, mcp::ToolContext& ctx) {
                        started = true;
                        for (int i = 0; i < 300 && !ctx.cancelled(); ++i)
                          std::this_thread::sleep_for(std::chrono::milliseconds(10));
                        return std::string(ctx.cancelled() ? "cancelled" : "done");
                      });
  boost::asio::io_context ioc;
  {
    mcp::HttpServer httpd(server, {});
    httpd.start();
    ASSERT_NE(httpd.port(), 0);
    tcp::socket sock(ioc);
    sock.connect({boost::asio::ip::make_address("127.0.0.1"), httpd.port()});
    auto res = post(sock, httpd.port(), "hello");
    EXPECT_EQ(res.result_int(), 200);
    auto body = jsonio::parse_or_throw(res.body());
    EXPECT_EQ(body.at("result").at("content").at(0).at("text").as_string(), "hi");
    EXPECT_EQ(body.at("result").at("resultType").as_string(), "complete");

    // Leave a slow call running, then destroy the transport under it.
    tcp::socket sock2(ioc);
    sock2.connect({boost::asio::ip::make_address("127.0.0.1"), httpd.port()});
    std::thread client([&] {
      try {
        post(sock2, httpd.port(), "slow");
      } catch (...) {
      }
    });
    for (int i = 0; i < 200 && !started; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(started);
    auto t0 = std::chrono::steady_clock::now();
    httpd.stop();
    client.join();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  }
  EXPECT_TRUE(server.wait_idle(std::chrono::seconds(5)));
}

http::response<http::string_body> request(tcp::socket& sock, http::verb verb,
                                          const std::string& target, std::uint16_t port,
                                          std::vector<std::pair<std::string, std::string>> headers,
                                          std::string body = {}) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  for (auto& [k, v] : headers) req.set(k, v);
  req.body() = std::move(body);
  req.prepare_payload();
  http::write(sock, req);
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  return res;
}

// /metrics is guarded like /mcp, and the transport records statuses and session expiry.
TEST(Http, MetricsEndpointGuardsStatusesAndSessionExpiry) {
  mcp::Server server({.worker_threads = 2});
  mcp::HttpOptions opt;
  opt.session_ttl = std::chrono::seconds(1);
  opt.auth = mcp::AuthOptions{.verify = [](std::string_view t) -> std::optional<mcp::Principal> {
    if (t == "good") return mcp::Principal{"scraper", {}, {}};
    return std::nullopt;
  }};
  mcp::HttpServer httpd(server, opt);
  httpd.start();
  const auto port = httpd.port();
  boost::asio::io_context ioc;
  auto connect = [&] {
    tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    return s;
  };
  const std::pair<std::string, std::string> token{"Authorization", "Bearer good"};

  auto sock = connect();
  EXPECT_EQ(request(sock, http::verb::get, "/metrics", port, {}).result_int(), 401);
  auto bad = connect();  // a refused connection is closed
  EXPECT_EQ(request(bad, http::verb::get, "/metrics", port, {{"Authorization", "Bearer bad"}})
                .result_int(),
            401);
  auto foreign = connect();
  EXPECT_EQ(request(foreign, http::verb::get, "/metrics", port, {token, {"Host", "evil.example"}})
                .result_int(),
            403);
  auto post_metrics = connect();
  EXPECT_EQ(request(post_metrics, http::verb::post, "/metrics", port, {token}).result_int(), 405);

  // A legacy session that then sits idle past its TTL.
  auto s2 = connect();
  auto init = request(
      s2, http::verb::post, "/mcp", port,
      {token,
       {"Content-Type", "application/json"},
       {"Accept", "application/json, text/event-stream"}},
      R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  ASSERT_EQ(init.result_int(), 200);
  const std::string sid(init["Mcp-Session-Id"]);
  ASSERT_FALSE(sid.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  auto ping = request(s2, http::verb::post, "/mcp", port,
                      {token,
                       {"Content-Type", "application/json"},
                       {"Accept", "application/json, text/event-stream"},
                       {"Mcp-Session-Id", sid},
                       {"MCP-Protocol-Version", "2025-11-25"}},
                      R"({"jsonrpc":"2.0","id":2,"method":"ping"})");
  EXPECT_EQ(ping.result_int(), 404);  // expired

  auto scrape = connect();
  auto res = request(scrape, http::verb::get, "/metrics", port, {token});
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
  const std::string& t = res.body();
  auto has = [&](const std::string& line) {
    return ("\n" + t).find("\n" + line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has("mcp_http_responses_total{code=\"401\"} 2")) << t;
  EXPECT_TRUE(has("mcp_http_responses_total{code=\"403\"} 1")) << t;
  EXPECT_TRUE(has("mcp_http_responses_total{code=\"404\"} 1")) << t;
  EXPECT_TRUE(has("mcp_http_responses_total{code=\"405\"} 1")) << t;
  EXPECT_TRUE(has("mcp_sessions_created_total{transport=\"streamable_http\"} 1")) << t;
  EXPECT_TRUE(has("mcp_sessions_active{transport=\"streamable_http\"} 0")) << t;
  EXPECT_TRUE(has("mcp_sessions_expired_total 1")) << t;
  EXPECT_TRUE(has("mcp_requests_total{method=\"initialize\"} 1")) << t;
  httpd.stop();
}

TEST(Http, MetricsPathCanBeTurnedOff) {
  mcp::Server server({.worker_threads = 1});
  mcp::HttpOptions opt;
  opt.metrics_path.clear();
  mcp::HttpServer httpd(server, opt);
  httpd.start();
  boost::asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), httpd.port()});
  EXPECT_EQ(request(s, http::verb::get, "/metrics", httpd.port(), {}).result_int(), 404);
  httpd.stop();
}

// A response that becomes ready while the server is still writing an earlier event of the
// same SSE answer must follow at once, not at the next keep-alive (regression: the wake-up was
// lost when it came during a write, and the stream slept until the keep-alive).
TEST(Http, AResponseReadyDuringAnEventWriteIsNotHeldUntilTheKeepAlive) {
  mcp::Server server({.worker_threads = 2});
  server.tool<NoArgs>({.name = "big_progress", .description = ""},
                      [](const NoArgs&, mcp::ToolContext& ctx) {
                        ctx.progress(1, 2, std::string(8u << 20, 'x'));  // blocks the writer
                        std::this_thread::sleep_for(std::chrono::milliseconds(100));
                        return std::string("done");
                      });
  mcp::HttpOptions opt;
  opt.sse_keepalive = std::chrono::seconds(30);
  mcp::HttpServer httpd(server, opt);
  httpd.start();
  boost::asio::io_context ioc;
  tcp::socket sock(ioc);
  sock.open(tcp::v4());
  sock.set_option(boost::asio::socket_base::receive_buffer_size(4096));  // before connect
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), httpd.port()});
  std::string body =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"big_progress","arguments":{},"_meta":{"progressToken":7,"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})";
  http::request<http::string_body> req{http::verb::post, "/mcp", 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(httpd.port()));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, "application/json, text/event-stream");
  req.set("MCP-Protocol-Version", "2026-07-28");
  req.set("Mcp-Method", "tools/call");
  req.set("Mcp-Name", "big_progress");
  req.body() = body;
  req.prepare_payload();
  http::write(sock, req);
  // Read nothing while the tool finishes: the server is stuck writing the 8 MiB event then.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  timeval tv{10, 0};
  ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto t0 = std::chrono::steady_clock::now();
  std::string got;
  std::vector<char> chunk(1 << 16);
  boost::system::error_code ec;
  while (got.find(R"("result")") == std::string::npos) {
    std::size_t n = sock.read_some(boost::asio::buffer(chunk), ec);
    if (ec) break;
    got.append(chunk.data(), n);
  }
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(got.find("notifications/progress"), std::string::npos);
  EXPECT_NE(got.find(R"("text":"done")"), std::string::npos) << ec.message();
  EXPECT_LT(waited, std::chrono::seconds(5));  // the keep-alive would be 30 s
  sock.close();
  httpd.stop();
  EXPECT_TRUE(server.wait_idle(std::chrono::seconds(5)));
}

}  // namespace
