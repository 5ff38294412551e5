// mcp::StreamableHttpClientTransport's reconnection (client_http.hpp, "Reconnection"): a POST
// whose connection cannot be made is tried again with backoff, so that a server restarting on
// its port loses no call; a server that stays down is a clear "went away" error within a bound;
// a request that reached the server is never sent again. The servers: the SDK's conformance
// fixture (2026-07-28, stateless, so that a restarted process serves the same client) started
// as a child process, and a fake in this file that answers server/discover and then closes
// every other request's connection without an answer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <regex>
#include <thread>

#include "client_e2e.hpp"
#include "mcp/client_http.hpp"
#include "server_process.hpp"

namespace {

using namespace client_e2e;
using mcp::ClientError;
namespace bj = boost::json;
using Clock = std::chrono::steady_clock;

// The conformance server on `port` (0: a free one).
std::unique_ptr<ServerProcess> conformance(int port) {
  return std::make_unique<ServerProcess>(
      std::vector<std::string>{MCP_TEST_CONFORMANCE_SERVER, "--transport", "http", "--port",
                               std::to_string(port)},
      std::vector<std::string>{}, R"(listening on (http://[^ ]+/mcp))");
}

int port_of(const std::string& url) {
  std::smatch m;
  const std::regex re(R"(:(\d+)/)");
  return std::regex_search(url, m, re) ? std::stoi(m[1].str()) : 0;
}

mcp::ClientOptions modern() {
  return {.info = {.name = "client-reconnect-e2e", .version = "1"},
          .versions = mcp::VersionNegotiation::kModern,
          .request_timeout = 20s};
}

std::unique_ptr<mcp::StreamableHttpClientTransport> http(const std::string& url,
                                                         std::size_t attempts) {
  return std::make_unique<mcp::StreamableHttpClientTransport>(
      mcp::StreamableHttpClientOptions{.url = url,
                                       .reconnect_delay = 100ms,
                                       .max_reconnect_delay = 800ms,
                                       .max_reconnect_attempts = attempts});
}

TEST(HttpReconnect, ServerRestartingOnItsPortLosesNoCall) {
  auto first = conformance(0);
  const std::string url = first->url();
  ASSERT_FALSE(url.empty());
  mcp::Client client(modern());
  // Up to 100+200+400+800*5 ms of retries: the restart below fits well within them.
  client.connect(http(url, 8));
  EXPECT_EQ(first_text(client.call_tool("echo", {{"text", "before"}})), "before");

  first->kill_now();
  std::unique_ptr<ServerProcess> second;
  std::thread restart([&] {
    std::this_thread::sleep_for(700ms);
    second = conformance(port_of(url));
    (void)second->url();
  });
  const auto t0 = Clock::now();
  std::string text;
  try {
    text = first_text(client.call_tool("echo", {{"text", "after"}}));
  } catch (const std::exception& e) {
    ADD_FAILURE() << "the call during the restart failed: " << e.what();
  }
  const auto took = Clock::now() - t0;
  restart.join();
  EXPECT_EQ(text, "after");
  EXPECT_GE(took, 600ms) << "the call waited for the restart";
  EXPECT_LT(took, 10s);
  EXPECT_TRUE(client.connected()) << client.closed_reason();
  EXPECT_EQ(first_text(client.call_tool("echo", {{"text", "again"}})), "again");
}

TEST(HttpReconnect, ServerThatStaysDownIsAClearErrorWithinTheBound) {
  auto server = conformance(0);
  const std::string url = server->url();
  ASSERT_FALSE(url.empty());
  mcp::Client client(modern());
  client.connect(http(url, 3));  // 100 + 200 + 400 ms of retries
  server->kill_now();
  const auto t0 = Clock::now();
  try {
    client.call_tool("echo", {{"text", "lost"}});
    ADD_FAILURE() << "a call to a server that is gone";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed) << e.what();
    EXPECT_NE(std::string(e.what()).find("went away: Connection refused (after 4 attempts)"),
              std::string::npos)
        << e.what();
  }
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, 600ms) << "the retries waited";
  EXPECT_LT(took, 5s);
  EXPECT_FALSE(client.connected());
  EXPECT_NE(client.closed_reason().find("went away"), std::string::npos) << client.closed_reason();
}

TEST(HttpReconnect, NoRetriesWhenDisabled) {
  auto server = conformance(0);
  const std::string url = server->url();
  ASSERT_FALSE(url.empty());
  mcp::Client client(modern());
  client.connect(http(url, 0));
  server->kill_now();
  const auto t0 = Clock::now();
  try {
    client.call_tool("echo", {{"text", "lost"}});
    ADD_FAILURE() << "a call to a server that is gone";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed) << e.what();
    EXPECT_NE(std::string(e.what()).find("went away: Connection refused"), std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("attempts"), std::string::npos) << e.what();
  }
  EXPECT_LT(Clock::now() - t0, 1s);
}

// Answers server/discover (2026-07-28; Connection: close, since it closes every connection after
// one request); reads every other request whole and closes its connection without an answer,
// counting the tools/call requests it read.
class HangUpServer {
 public:
  HangUpServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("cannot listen on a loopback port");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (::pipe2(stop_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    thread_ = std::thread([this] { run(); });
  }
  ~HangUpServer() {
    (void)!::write(stop_[1], "x", 1);
    thread_.join();
    ::close(fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }
  int tool_calls() const { return tool_calls_; }

 private:
  void run() {
    for (;;) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) <= 0) continue;
      if (p[1].revents) return;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::string in = read_request(c);
      if (in.find("\"server/discover\"") != std::string::npos) {
        const auto body = in.substr(in.find("\r\n\r\n") + 4);
        const bj::value id = bj::parse(body).as_object().at("id");
        const std::string json = bj::serialize(bj::object{
            {"jsonrpc", "2.0"},
            {"id", id},
            {"result", bj::object{{"supportedVersions", bj::array{"2026-07-28"}},
                                  {"capabilities", bj::object{{"tools", bj::object{}}}}}}});
        const std::string out =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: "
            "close\r\nContent-Length: " +
            std::to_string(json.size()) + "\r\n\r\n" + json;
        (void)!::send(c, out.data(), out.size(), MSG_NOSIGNAL);
      } else if (in.find("\"tools/call\"") != std::string::npos) {
        ++tool_calls_;
      }
      ::close(c);
    }
  }
  static std::string read_request(int c) {
    std::string in;
    char chunk[4096];
    for (;;) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return in;
      const ssize_t n = ::read(c, chunk, sizeof chunk);
      if (n <= 0) return in;
      in.append(chunk, static_cast<std::size_t>(n));
      const auto end = in.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      std::smatch m;
      const std::string head = in.substr(0, end);
      const std::regex re("Content-Length: *(\\d+)", std::regex::icase);
      const std::size_t want =
          end + 4 + (std::regex_search(head, m, re) ? std::stoul(m[1].str()) : 0);
      if (in.size() >= want) return in;
    }
  }

  int fd_ = -1;
  int stop_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> tool_calls_{0};
};

TEST(HttpReconnect, RequestThatReachedTheServerIsNeverSentAgain) {
  HangUpServer server;
  mcp::Client client(modern());
  client.connect(http(server.url(), 5));
  try {
    client.call_tool("echo", {{"text", "once"}}, {.timeout = 5s});
    ADD_FAILURE() << "a call whose connection was closed without an answer";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed) << e.what();
    EXPECT_NE(std::string(e.what()).find("closed the connection before answering"),
              std::string::npos)
        << e.what();
  }
  std::this_thread::sleep_for(300ms);  // a retry, were there one, would have come by now
  EXPECT_EQ(server.tool_calls(), 1);
}

}  // namespace
