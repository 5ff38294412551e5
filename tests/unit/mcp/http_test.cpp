// HttpServer in-process: a round trip, and shutting down while a call is still running.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
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

}  // namespace
