// mcp::StreamableHttpClientTransport's kept-alive connections (client_http.hpp, "Connections"):
// sequential POSTs share one connection; a connection the server closed while it was idle is
// dropped and the next request goes out on a new one; a server that says Connection: close gets
// a connection per request; no request is ever sent twice. The server: a fake in this file
// (2026-07-28: server/discover, then tools/call echoing its text), which counts the connections
// it accepted and every request id it read.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include "client_e2e.hpp"
#include "mcp/client_http.hpp"

namespace {

using namespace client_e2e;
namespace bj = boost::json;

class CountingServer {
 public:
  struct Options {
    // Closes a connection idle for this long (0: keeps it until the client closes it).
    std::chrono::milliseconds idle_close{0};
    // Answers with Connection: close and closes the connection after each answer.
    bool close_each = false;
  };
  explicit CountingServer(Options o) : opt_(o) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0)
      throw std::runtime_error("cannot listen on a loopback port");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (::pipe2(stop_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~CountingServer() {
    (void)!::write(stop_[1], "x", 1);
    acceptor_.join();
    for (auto& t : handlers_) t.join();
    ::close(fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }
  int connections() const { return connections_; }
  // How many times each request id was read.
  std::map<std::string, int> ids() {
    std::lock_guard lk(mu_);
    return ids_;
  }

 private:
  void accept_loop() {
    for (;;) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) <= 0) continue;
      if (p[1].revents) return;
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++connections_;
      handlers_.emplace_back([this, c] { serve(c); });
    }
  }
  // Answers requests on `c` until the client closes it, the server stops, or (idle_close) it
  // stays silent too long.
  void serve(int c) {
    std::string in;
    char chunk[4096];
    for (;;) {
      const auto end = in.find("\r\n\r\n");
      std::size_t want = std::string::npos;
      if (end != std::string::npos) {
        std::smatch m;
        const std::string head = in.substr(0, end);
        const std::regex re("Content-Length: *(\\d+)", std::regex::icase);
        want = end + 4 + (std::regex_search(head, m, re) ? std::stoul(m[1].str()) : 0);
      }
      if (want != std::string::npos && in.size() >= want) {
        const std::string body = in.substr(end + 4, want - end - 4);
        in.erase(0, want);
        answer(c, body);
        if (opt_.close_each) break;
        continue;
      }
      pollfd p[2] = {{c, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      const int timeout = opt_.idle_close.count() > 0 && in.empty()
                              ? static_cast<int>(opt_.idle_close.count())
                              : 5000;
      if (::poll(p, 2, timeout) <= 0 || p[1].revents) break;
      const ssize_t n = ::read(c, chunk, sizeof chunk);
      if (n <= 0) break;
      in.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(c);
  }
  void answer(int c, const std::string& body) {
    boost::system::error_code ec;
    const bj::value msg = bj::parse(body, ec);
    const bj::object* o = ec ? nullptr : msg.if_object();
    const bj::value id = o && o->contains("id") ? o->at("id") : bj::value(nullptr);
    const std::string method = o && o->contains("method") && o->at("method").is_string()
                                   ? std::string(o->at("method").as_string())
                                   : std::string();
    if (!id.is_null()) {
      std::lock_guard lk(mu_);
      ++ids_[bj::serialize(id)];
    }
    bj::object result;
    if (method == "server/discover") {
      result = {{"supportedVersions", bj::array{"2026-07-28"}},
                {"capabilities", bj::object{{"tools", bj::object{}}}},
                {"serverInfo", bj::object{{"name", "counting"}, {"version", "1"}}}};
    } else {
      std::string text;
      if (const auto* p = o ? o->if_contains("params") : nullptr; p && p->is_object())
        if (const auto* a = p->as_object().if_contains("arguments"); a && a->is_object())
          if (const auto* t = a->as_object().if_contains("text"); t && t->is_string())
            text = std::string(t->as_string());
      result = {{"content", bj::array{bj::object{{"type", "text"}, {"text", text}}}}};
    }
    const std::string json =
        bj::serialize(bj::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
    const std::string out = std::string("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n") +
                            (opt_.close_each ? "Connection: close\r\n" : "") +
                            "Content-Length: " + std::to_string(json.size()) + "\r\n\r\n" + json;
    (void)!::send(c, out.data(), out.size(), MSG_NOSIGNAL);
  }

  Options opt_;
  int fd_ = -1;
  int stop_[2] = {-1, -1};
  std::uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  std::vector<std::thread> handlers_;  // joined by the destructor
  std::mutex mu_;
  std::map<std::string, int> ids_;
};

mcp::Client modern_client() {
  return mcp::Client({.info = {.name = "client-keepalive-e2e", .version = "1"},
                      .versions = mcp::VersionNegotiation::kModern,
                      .request_timeout = 10s});
}

std::unique_ptr<mcp::StreamableHttpClientTransport> http(const std::string& url) {
  return std::make_unique<mcp::StreamableHttpClientTransport>(
      mcp::StreamableHttpClientOptions{.url = url});
}

// Every request the client sent was read once, and there were `n` of them.
void expect_each_once(CountingServer& server, std::size_t n) {
  const auto ids = server.ids();
  EXPECT_EQ(ids.size(), n);
  for (const auto& [id, times] : ids) EXPECT_EQ(times, 1) << "request " << id;
}

TEST(HttpKeepAlive, SequentialCallsShareOneConnection) {
  CountingServer server({});
  mcp::Client client = modern_client();
  client.connect(http(server.url()));
  for (int i = 0; i < 20; ++i) {
    const std::string text = "call " + std::to_string(i);
    EXPECT_EQ(first_text(client.call_tool("echo", {{"text", text}})), text);
  }
  EXPECT_EQ(server.connections(), 1) << "server/discover and 20 calls, one connection";
  expect_each_once(server, 21);
  client.close();
}

TEST(HttpKeepAlive, ConnectionClosedByTheServerWhileIdleIsReplaced) {
  CountingServer server({.idle_close = 50ms});
  mcp::Client client = modern_client();
  client.connect(http(server.url()));
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(200ms);  // the server closes the idle connection meanwhile
    const std::string text = "after idle " + std::to_string(i);
    try {
      EXPECT_EQ(first_text(client.call_tool("echo", {{"text", text}})), text);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "a call after the server closed the idle connection: " << e.what();
    }
  }
  EXPECT_EQ(server.connections(), 6) << "a new connection for each call after an idle close";
  expect_each_once(server, 6);
  EXPECT_TRUE(client.connected()) << client.closed_reason();
  client.close();
}

TEST(HttpKeepAlive, ConnectionCloseFromTheServerIsHonoured) {
  CountingServer server({.close_each = true});
  mcp::Client client = modern_client();
  client.connect(http(server.url()));
  for (int i = 0; i < 5; ++i) {
    const std::string text = "closing " + std::to_string(i);
    EXPECT_EQ(first_text(client.call_tool("echo", {{"text", text}})), text);
  }
  EXPECT_EQ(server.connections(), 6) << "one connection per request";
  expect_each_once(server, 6);
  client.close();
}

TEST(HttpKeepAlive, ConcurrentCallsUseSeveralConnectionsThenReuseThem) {
  CountingServer server({});
  mcp::Client client = modern_client();
  client.connect(http(server.url()));
  for (int round = 0; round < 3; ++round) {
    std::vector<std::thread> callers;
    std::atomic<int> ok{0};
    for (int i = 0; i < 4; ++i)
      callers.emplace_back([&, i] {
        const std::string text = std::to_string(round) + "/" + std::to_string(i);
        try {
          if (first_text(client.call_tool("echo", {{"text", text}})) == text) ++ok;
        } catch (const std::exception&) {
        }
      });
    for (auto& t : callers) t.join();
    EXPECT_EQ(ok.load(), 4);
  }
  // At most one connection per call in flight, kept for the next rounds.
  EXPECT_GE(server.connections(), 1);
  EXPECT_LE(server.connections(), 5);
  expect_each_once(server, 13);
  client.close();
}

}  // namespace
