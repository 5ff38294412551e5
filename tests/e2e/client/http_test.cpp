// mcp::Client over mcp::StreamableHttpClientTransport: against the SDK's own servers started as
// child processes with `--transport http --port 0` (the conformance fixture and
// refcache-calculator) in both eras, against @modelcontextprotocol/server-everything's
// Streamable HTTP transport (2025-11-25), and against a fake HTTP server in this file that
// answers garbage, breaks off an SSE answer, sends an error status, an oversize answer, or
// never answers; the legacy HTTP+SSE transport; https:// against a TLS fake with certificates
// made by the openssl program (verified, untrusted, for another name). Every failing call must fail
// with a clear error within its deadline.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/describe.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <regex>
#include <thread>

#include "client_e2e.hpp"
#include "jsonio/json_text.hpp"
#include "mcp/client_http.hpp"
#include "server_process.hpp"

namespace {

using namespace client_e2e;
using mcp::ClientError;
namespace bj = boost::json;
using Clock = std::chrono::steady_clock;

struct AddArgs {
  double a = 0;
  double b = 0;
};
BOOST_DESCRIBE_STRUCT(AddArgs, (), (a, b))
struct AddResult {
  double sum = 0;
};
BOOST_DESCRIBE_STRUCT(AddResult, (), (sum))

// Waits (bounded) until `events` holds `want`.
bool wait_has(Recorder& events, const std::string& want, std::chrono::milliseconds timeout = 10s) {
  const auto until = Clock::now() + timeout;
  for (;;) {
    auto seen = events.items();
    if (std::find(seen.begin(), seen.end(), want) != seen.end()) return true;
    if (Clock::now() >= until) return false;
    events.wait_for(seen.size() + 1, 100ms);
  }
}

constexpr const char* kListening = R"(listening on (http://[^ ]+/mcp))";

std::unique_ptr<mcp::StreamableHttpClientTransport> http(const std::string& url,
                                                         mcp::StreamableHttpClientOptions o = {}) {
  o.url = url;
  return std::make_unique<mcp::StreamableHttpClientTransport>(std::move(o));
}

// One raw HTTP request (a new connection; the whole answer read until the server closes or
// `timeout`); returns the status code, 0 when there was none.
int raw_request(const std::string& url, const std::string& method,
                const std::vector<std::string>& headers, const std::string& body = {}) {
  std::smatch m;
  const std::regex re(R"(http://([^:/]+):(\d+)(/.*)?)");
  if (!std::regex_match(url, m, re)) return 0;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(m[2].str())));
  ::inet_pton(AF_INET, m[1].str().c_str(), &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return 0;
  }
  std::string req = method + " " + (m[3].matched ? m[3].str() : "/") +
                    " HTTP/1.1\r\nHost: " + m[1].str() + ":" + m[2].str() +
                    "\r\nConnection: close\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)!::write(fd, req.data(), req.size());
  std::string answer;
  char chunk[4096];
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, 3000) > 0) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    answer.append(chunk, static_cast<std::size_t>(n));
    if (answer.find("\r\n\r\n") != std::string::npos) break;
  }
  ::close(fd);
  if (answer.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::stoi(answer.substr(9, 3));
}

// --- the conformance fixture server over HTTP, both eras -----------------------------------------

class HttpConformance : public ::testing::TestWithParam<mcp::VersionNegotiation> {
 protected:
  bool legacy() const { return GetParam() == mcp::VersionNegotiation::kLegacy; }
  mcp::ClientOptions options() const {
    return {.info = {.name = "client-http-e2e", .version = "1.0.0"},
            .versions = GetParam(),
            .request_timeout = std::chrono::seconds(20),
            .log_level = mcp::LogLevel::kDebug};
  }
  void SetUp() override {
    url_ = server_.url();
    ASSERT_FALSE(url_.empty()) << "the conformance server did not say where it listens";
  }
  // Connects `client`; `transport` (if given) receives the transport, which the client owns.
  void connect(mcp::Client& client, mcp::StreamableHttpClientTransport** transport = nullptr) {
    auto t = http(url_);
    if (transport) *transport = t.get();
    client.connect(std::move(t));
  }

  ServerProcess server_{
      {MCP_TEST_CONFORMANCE_SERVER, "--transport", "http", "--port", "0"}, {}, kListening};
  std::string url_;
};

TEST_P(HttpConformance, NegotiatesTheEraAndEndsTheSession) {
  mcp::Client client(options());
  mcp::StreamableHttpClientTransport* t = nullptr;
  connect(client, &t);
  EXPECT_EQ(client.server().implementation.name, "mcp-conformance-server");
  EXPECT_TRUE(client.server_supports("tools"));
  std::string sid = t->session_id();
  if (legacy()) {
    EXPECT_EQ(client.era(), mcp::Era::kLegacy);
    EXPECT_EQ(client.protocol_version(), "2025-11-25");
    EXPECT_EQ(sid.size(), 32u) << sid;
    client.ping();
  } else {
    EXPECT_EQ(client.era(), mcp::Era::kModern);
    EXPECT_EQ(client.protocol_version(), "2026-07-28");
    EXPECT_TRUE(sid.empty()) << "2026-07-28 is stateless";
  }
  EXPECT_EQ(t->describe(), url_);
  client.close();
  EXPECT_EQ(client.closed_reason(), "closed by the client");
  try {
    client.list_tools();
    ADD_FAILURE() << "a call after close()";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
  }
  if (legacy()) {
    // close() sent DELETE: the session is gone on the server.
    EXPECT_EQ(raw_request(url_, "POST",
                          {"Content-Type: application/json",
                           "Accept: application/json, text/event-stream", "Mcp-Session-Id: " + sid},
                          R"({"jsonrpc":"2.0","id":1,"method":"ping"})"),
              404);
  }
}

TEST_P(HttpConformance, ToolsListAndCalls) {
  mcp::Client client(options());
  connect(client);
  auto tools = client.list_tools();
  EXPECT_GT(tools.size(), 30u);
  EXPECT_EQ(client.call_tool<AddResult>("add", AddArgs{.a = 2, .b = 3.5}).sum, 5.5);
  EXPECT_EQ(first_text(client.call_tool("echo", {{"text", "héllo"}})), "héllo");
  // x-mcp-header arguments: Mcp-Param-Region over modern HTTP, checked by the server.
  EXPECT_EQ(first_text(client.call_tool("test_custom_header", {{"region", "eu"}})), "region=eu");
  // A non-ASCII Mcp-Name (base64-encoded in the header) matches the body.
  auto templated = client.read_resource("test://template/é 1/data");
  ASSERT_EQ(templated.contents.size(), 1u);
  EXPECT_NE(templated.contents[0].text.value_or("").find("é 1"), std::string::npos);
  try {
    client.call_tool("no_such_tool");
    ADD_FAILURE() << "unknown tool";
  } catch (const ClientError& e) {
    ADD_FAILURE() << "a local error for the server's: " << e.what();
  } catch (const mcp::Error& e) {
    EXPECT_EQ(e.code(), mcp::error_code::kInvalidParams);
  }
}

TEST_P(HttpConformance, ProgressArrivesOnTheSseAnswer) {
  mcp::Client client(options());
  connect(client);
  std::vector<double> seen;
  auto r = client.call_tool(
      "test_tool_with_progress", {},
      {.on_progress = [&](const mcp::Progress& p) { seen.push_back(p.progress); }});
  EXPECT_EQ(first_text(r), "Tool with progress executed successfully");
  EXPECT_EQ(seen, (std::vector<double>{0, 50, 100}));
}

TEST_P(HttpConformance, CancellationAndDeadline) {
  mcp::Client client(options());
  connect(client);
  mcp::CancellationToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    token.cancel();
  });
  auto t0 = Clock::now();
  try {
    client.call_tool("slow", {}, {.cancellation = &token});
    ADD_FAILURE() << "a cancelled call returned";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kCancelled);
  }
  canceller.join();
  EXPECT_LT(Clock::now() - t0, 3s);
  t0 = Clock::now();
  try {
    client.call_tool("slow", {}, {.timeout = 300ms});
    ADD_FAILURE() << "a call past its deadline returned";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTimeout);
  }
  EXPECT_LT(Clock::now() - t0, 2s);
  EXPECT_EQ(client.stats().pending_requests, 0u);
  EXPECT_EQ(client.call_tool<AddResult>("add", AddArgs{.a = 2, .b = 2}).sum, 4);
}

TEST_P(HttpConformance, ResourcesSubscriptionsAndNotifications) {
  mcp::Client client(options());
  Recorder events;
  client.on_tools_list_changed([&] { events.add("tools"); });
  client.on_log([&](const mcp::LogMessage& m) {
    events.add("log:" + (m.data.is_string() ? std::string(m.data.as_string()) : std::string()));
  });
  connect(client);
  auto text = client.read_resource("test://static-text");
  ASSERT_EQ(text.contents.size(), 1u);
  EXPECT_EQ(text.contents[0].text.value_or(""), "This is the content of the static text resource.");
  client.subscribe("test://watched-resource");
  client.unsubscribe("test://watched-resource");
  client.call_tool("test_trigger_tool_change");
  EXPECT_EQ(first_text(client.call_tool("test_tool_with_logging")),
            "Tool with logging executed successfully");
  for (const char* want : {"tools", "log:Tool execution started", "log:Tool execution completed"})
    EXPECT_TRUE(wait_has(events, want)) << want;
}

TEST_P(HttpConformance, ServerQuestionsAndTasks) {
  mcp::Client client(options());
  client.on_sampling([&](const mcp::SamplingRequest&) {
    return mcp::SamplingResult{.content = mcp::text_content("Paris"), .model = "test-model"};
  });
  connect(client);
  if (legacy()) {
    // The server's request arrives on the SSE answer; the client's answer is a POST of its own.
    EXPECT_EQ(first_text(client.call_tool("test_sampling", {{"prompt", "Capital?"}})),
              "LLM response: Paris");
  } else {
    EXPECT_EQ(first_text(client.call_tool("test_input_required_result_sampling")),
              "Sampling result: Paris");
  }
  // tasks/get, tasks/cancel (Mcp-Name: the task id in 2026-07-28).
  mcp::ToolTask started = client.call_tool_as_task("slow_compute", {{"seconds", 0.2}});
  ASSERT_TRUE(started.task.has_value());
  EXPECT_EQ(client.get_task(started.task->task_id).task_id, started.task->task_id);
  EXPECT_EQ(first_text(client.task_result(started.task->task_id)), "Computed result after 0.2s");
  mcp::ToolTask long_one = client.call_tool_as_task("slow_compute", {{"seconds", 30}});
  ASSERT_TRUE(long_one.task.has_value());
  client.cancel_task(long_one.task->task_id);
  EXPECT_EQ(client.get_task(long_one.task->task_id).status, "cancelled");
}

TEST_P(HttpConformance, ConcurrentCalls) {
  mcp::Client client(options());
  connect(client);
  std::atomic<int> right{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) try {
          if (client.call_tool<AddResult>("add", AddArgs{.a = double(t), .b = double(i)}).sum ==
              t + i)
            ++right;
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(right.load(), 80);
  EXPECT_EQ(client.stats().unexpected_responses, 0u);
}

TEST_P(HttpConformance, ServerGoingAwayClosesTheClient) {
  mcp::Client client(options());
  connect(client);
  EXPECT_EQ(client.call_tool<AddResult>("add", AddArgs{.a = 1, .b = 1}).sum, 2);
  server_.kill_now();
  const auto t0 = Clock::now();
  if (legacy()) {
    // The standalone stream ends, cannot be reopened: closed without a call.
    while (client.connected() && Clock::now() - t0 < 10s) std::this_thread::sleep_for(20ms);
    EXPECT_FALSE(client.connected());
  }
  try {
    client.call_tool("add", {{"a", 1}, {"b", 1}});
    ADD_FAILURE() << "a call to a server that is gone";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
  }
  EXPECT_LT(Clock::now() - t0, 10s);
  EXPECT_NE(client.closed_reason().find("went away"), std::string::npos) << client.closed_reason();
  EXPECT_NE(client.closed_reason().find(url_), std::string::npos) << client.closed_reason();
}

INSTANTIATE_TEST_SUITE_P(BothEras, HttpConformance,
                         ::testing::Values(mcp::VersionNegotiation::kLegacy,
                                           mcp::VersionNegotiation::kAuto),
                         [](const auto& p) {
                           return std::string(
                               p.param == mcp::VersionNegotiation::kLegacy ? "legacy" : "modern");
                         });

TEST(HttpSession, DeletedSessionIsAClearError) {
  ServerProcess server({MCP_TEST_CONFORMANCE_SERVER, "--transport", "http", "--port", "0"}, {},
                       kListening);
  const std::string url = server.url();
  ASSERT_FALSE(url.empty());
  mcp::Client client({.versions = mcp::VersionNegotiation::kLegacy});
  auto t = http(url);
  auto* transport = t.get();
  client.connect(std::move(t));
  const std::string sid = transport->session_id();
  ASSERT_FALSE(sid.empty());
  client.ping();  // notifications/initialized has been accepted (it travels on its own POST)
  EXPECT_EQ(raw_request(url, "DELETE", {"Mcp-Session-Id: " + sid}), 200);
  try {
    client.list_tools();
    ADD_FAILURE() << "a call on a deleted session";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
    EXPECT_NE(std::string(e.what()).find("ended the HTTP session " + sid), std::string::npos)
        << e.what();
  }
  const auto t0 = Clock::now();
  while (client.connected() && Clock::now() - t0 < 5s) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(client.connected());
  EXPECT_NE(client.closed_reason().find("ended the HTTP session"), std::string::npos)
      << client.closed_reason();
}

// --- refcache-calculator over HTTP, both eras ----------------------------------------------------

struct CalculateArgs {
  std::string expression;
};
BOOST_DESCRIBE_STRUCT(CalculateArgs, (), (expression))
struct CalculateResult {
  std::string expression;
  double result = 0;
};
BOOST_DESCRIBE_STRUCT(CalculateResult, (), (expression, result))

class HttpCalculator : public ::testing::TestWithParam<mcp::VersionNegotiation> {};

TEST_P(HttpCalculator, CallsAndReferences) {
  ServerProcess server(
      {MCP_TEST_CALCULATOR, "--transport", "http", "--port", "0", "--backend", "memory:"}, {},
      kListening);
  const std::string url = server.url();
  ASSERT_FALSE(url.empty());
  mcp::Client client({.info = {.name = "calculator-http-e2e", .version = "1"},
                      .versions = GetParam(),
                      .request_timeout = std::chrono::seconds(20)});
  client.connect(http(url));
  EXPECT_EQ(client.era(),
            GetParam() == mcp::VersionNegotiation::kLegacy ? mcp::Era::kLegacy : mcp::Era::kModern);
  EXPECT_EQ(client.server().implementation.name, "refcache-calculator");
  auto calc = client.call_tool<CalculateResult>("calculate", CalculateArgs{"2 * (3 + 4) ** 2"});
  EXPECT_EQ(calc.result, 98);
  auto primes = client.call_tool("generate_primes", {{"count", 10}});
  ASSERT_TRUE(primes.structured_content && primes.structured_content->is_object())
      << jsonio::to_string(bj::value(primes.content));
  const std::string ref(primes.structured_content->at("ref_id").as_string());
  auto read = client.read_resource("refcache://" + ref);
  ASSERT_EQ(read.contents.size(), 1u);
  EXPECT_NE(read.contents[0].text.value_or("").find("29"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(BothEras, HttpCalculator,
                         ::testing::Values(mcp::VersionNegotiation::kLegacy,
                                           mcp::VersionNegotiation::kAuto),
                         [](const auto& p) {
                           return std::string(
                               p.param == mcp::VersionNegotiation::kLegacy ? "legacy" : "modern");
                         });

// --- server-everything's Streamable HTTP transport -----------------------------------------------

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(HttpEverything, LegacySessionWithStreams) {
  struct stat st {};
  ASSERT_TRUE(::stat(MCP_TEST_NODE, &st) == 0 && ::stat(MCP_TEST_EVERYTHING, &st) == 0)
      << "node_modules not installed: run scripts/setup";
  const int port = free_port();
  ServerProcess server({MCP_TEST_NODE, MCP_TEST_EVERYTHING, "streamableHttp"},
                       {"PORT=" + std::to_string(port)}, R"(listening on port (\d+))",
                       [](const std::string& p) { return "http://127.0.0.1:" + p + "/mcp"; });
  const std::string url = server.url(30s);
  ASSERT_FALSE(url.empty());
  Recorder events;
  mcp::Client client({.info = {.name = "everything-http-e2e", .version = "1"},
                      .request_timeout = std::chrono::seconds(30)});
  client.on_resource_updated([&](const std::string& uri) { events.add("updated:" + uri); });
  client.on_log([&](const mcp::LogMessage&) { events.add("log"); });
  auto t = http(url);
  auto* transport = t.get();
  client.connect(std::move(t));
  // A 2025 server refuses server/discover without a session: the client falls back.
  EXPECT_EQ(client.era(), mcp::Era::kLegacy);
  EXPECT_EQ(client.server().implementation.name, "mcp-servers/everything");
  EXPECT_FALSE(transport->session_id().empty());
  client.ping();
  EXPECT_EQ(first_text(client.call_tool("echo", {{"message", "hello"}})), "Echo: hello");
  std::vector<double> progress;
  auto r = client.call_tool(
      "trigger-long-running-operation", {{"duration", 0.4}, {"steps", 4}},
      {.on_progress = [&](const mcp::Progress& p) { progress.push_back(p.progress); }});
  EXPECT_FALSE(r.is_error);
  EXPECT_EQ(progress, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_FALSE(client.list_resources().empty());
  // Updates and logs arrive on the standalone GET stream.
  const std::string uri = "demo://resource/dynamic/text/1";
  client.subscribe(uri);
  client.call_tool("toggle-subscriber-updates");
  client.call_tool("toggle-simulated-logging");
  EXPECT_TRUE(wait_has(events, "updated:" + uri));
  EXPECT_TRUE(wait_has(events, "log"));
  client.close();
  EXPECT_EQ(client.closed_reason(), "closed by the client");
}

// --- a fake HTTP server that misbehaves ----------------------------------------------------------

// Answers server/discover properly (2026-07-28), then every other POST as `mode` says.
class FakeHttpServer {
 public:
  enum class Mode {
    kGarbage,
    kCloseMidStream,
    kNeverAnswer,
    kError500,
    kHuge,
    kPagedTools,
    kResumable,  // 2025-11-25: a session; a tool call's SSE answer breaks, GET resumes it
  };
  explicit FakeHttpServer(Mode mode, bool answer_discover = true)
      : mode_(mode), discover_(answer_discover) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 64);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (::pipe2(stop_, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~FakeHttpServer() {
    (void)!::write(stop_[1], "x", 1);
    acceptor_.join();
    for (auto& t : handlers_) t.join();
    ::close(fd_);
    ::close(stop_[0]);
    ::close(stop_[1]);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }

 private:
  bool stopped(int timeout_ms) {
    pollfd p{stop_[0], POLLIN, 0};
    return ::poll(&p, 1, timeout_ms) > 0;
  }
  void accept_loop() {
    for (;;) {
      pollfd p[2] = {{fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(p, 2, -1) <= 0) continue;
      if (p[1].revents) return;
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) handlers_.emplace_back([this, c] { serve(c); });
    }
  }
  static std::string chunk(const std::string& data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
  }
  // Answers say Connection: close (the server closes every connection after one answer), so
  // that the client keeps none of them alive.
  void write_all(int c, std::string s) {
    if (s.rfind("HTTP/1.1 ", 0) == 0 && s.find("Connection: close") == std::string::npos)
      s.insert(s.find("\r\n") + 2, "Connection: close\r\n");
    (void)!::send(c, s.data(), s.size(), MSG_NOSIGNAL);
  }
  void serve(int c) {
    std::string in;
    char chunk[4096];
    std::size_t want = std::string::npos;
    while (want == std::string::npos || in.size() < want) {
      pollfd p[2] = {{c, POLLIN, 0}, {stop_[0], POLLIN, 0}};
      if (::poll(p, 2, 5000) <= 0 || p[1].revents) break;
      ssize_t n = ::read(c, chunk, sizeof chunk);
      if (n <= 0) break;
      in.append(chunk, static_cast<std::size_t>(n));
      auto end = in.find("\r\n\r\n");
      if (end != std::string::npos && want == std::string::npos) {
        std::smatch m;
        const std::string head = in.substr(0, end);
        std::regex re("Content-Length: *(\\d+)", std::regex::icase);
        want = end + 4 + (std::regex_search(head, m, re) ? std::stoul(m[1].str()) : 0);
      }
    }
    if (want != std::string::npos && in.size() >= want) {
      const auto end = in.find("\r\n\r\n");
      answer(c, in.substr(0, end), in.substr(end + 4));
    }
    ::close(c);
  }
  void answer(int c, const std::string& head, const std::string& body) {
    boost::system::error_code ec;
    bj::value msg = bj::parse(body, ec);
    const bj::value id = (!ec && msg.is_object() && msg.as_object().contains("id"))
                             ? msg.as_object().at("id")
                             : bj::value(nullptr);
    if (discover_ && body.find("\"server/discover\"") != std::string::npos) {
      const std::string json = bj::serialize(bj::object{
          {"jsonrpc", "2.0"},
          {"id", id},
          {"result", bj::object{{"supportedVersions", bj::array{"2026-07-28"}},
                                {"capabilities", bj::object{{"tools", bj::object{}}}},
                                {"serverInfo", bj::object{{"name", "fake"}, {"version", "1"}}}}}});
      write_all(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(json.size()) + "\r\n\r\n" + json);
      return;
    }
    if (mode_ == Mode::kResumable) return resumable(c, head, body, id);
    switch (mode_) {
      case Mode::kResumable:
        return;
      case Mode::kPagedTools: {
        // tools/list in two pages: the first as JSON, the second as an SSE answer.
        const bool second = body.find("\"cursor\":\"page-2\"") != std::string::npos;
        bj::object result{
            {"tools", bj::array{bj::object{{"name", second ? "beta" : "alpha"},
                                           {"inputSchema", bj::object{{"type", "object"}}}}}}};
        if (!second) result["nextCursor"] = "page-2";
        const std::string json = bj::serialize(
            bj::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
        if (second)
          write_all(c,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n" +
                        chunk(": hello\n\nevent: message\nid: 1\n") +
                        chunk("data: " + json + "\n\n") + "0\r\n\r\n");
        else
          write_all(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(json.size()) + "\r\n\r\n" + json);
        return;
      }
      case Mode::kGarbage:
        write_all(c, "this is not HTTP at all\r\n\r\n");
        return;
      case Mode::kCloseMidStream:
        write_all(c,
                  "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
                  "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":"
                  "{\"level\":\"info\",\"data\":\"half way\"}}\n\ndata: {\"jsonrpc\":");
        return;
      case Mode::kNeverAnswer:
        stopped(-1);
        return;
      case Mode::kError500:
        write_all(c,
                  "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                  "Content-Length: 4\r\n\r\nboom");
        return;
      case Mode::kHuge: {
        const std::string big(100000, 'x');
        write_all(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(big.size()) + "\r\n\r\n" + big);
        return;
      }
    }
  }

  void resumable(int c, const std::string& head, const std::string& body, const bj::value& id) {
    const std::string sse_head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
    if (head.rfind("GET ", 0) == 0) {
      const auto at = head.find("Last-Event-ID: ");
      if (at == std::string::npos ||
          head.find("Mcp-Session-Id: fake-session") == std::string::npos) {
        write_all(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      const std::string last = head.substr(at + 15, head.find("\r\n", at) - at - 15);
      std::lock_guard lk(mu_);
      ++resumptions_;
      const bj::object result{
          {"content", bj::array{bj::object{{"type", "text"}, {"text", "resumed after " + last}}}}};
      write_all(c, sse_head + "id: r-2\ndata: " +
                       bj::serialize(bj::object{
                           {"jsonrpc", "2.0"}, {"id", pending_id_}, {"result", result}}) +
                       "\n\n");
      return;
    }
    if (body.find("\"initialize\"") != std::string::npos) {
      const std::string json = bj::serialize(bj::object{
          {"jsonrpc", "2.0"},
          {"id", id},
          {"result", bj::object{{"protocolVersion", "2025-11-25"},
                                {"capabilities", bj::object{{"tools", bj::object{}}}},
                                {"serverInfo", bj::object{{"name", "fake"}, {"version", "1"}}}}}});
      write_all(c,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: "
                "fake-session\r\nContent-Length: " +
                    std::to_string(json.size()) + "\r\n\r\n" + json);
      return;
    }
    if (id.is_null()) {
      write_all(c, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    {
      std::lock_guard lk(mu_);
      pending_id_ = id;
    }
    // The priming event, one event, then the connection breaks before the answer.
    write_all(c, sse_head + "id: r-0\nretry: 50\ndata: \n\nid: r-1\ndata: " +
                     R"({"jsonrpc":"2.0","method":"notifications/message",)" +
                     R"("params":{"level":"info","data":"x"}})" + "\n\n");
  }

 public:
  int resumptions() {
    std::lock_guard lk(mu_);
    return resumptions_;
  }

 private:
  std::mutex mu_;
  bj::value pending_id_;
  int resumptions_ = 0;
  Mode mode_;
  bool discover_;
  int fd_ = -1;
  int stop_[2] = {-1, -1};
  int port_ = 0;
  std::thread acceptor_;
  std::vector<std::thread> handlers_;  // joined by the destructor
};

// Connects a client (2026-07-28, thanks to the fake's discover answer) and makes one call,
// which must fail with `kind` and a message containing `text`, within `bound`.
void expect_call_fails(FakeHttpServer::Mode mode, ClientError::Kind kind, const std::string& text,
                       mcp::StreamableHttpClientOptions o = {},
                       std::chrono::milliseconds deadline = 3000ms,
                       std::chrono::milliseconds bound = 3000ms) {
  FakeHttpServer fake(mode);
  mcp::Client client({.versions = mcp::VersionNegotiation::kModern, .request_timeout = deadline});
  client.connect(http(fake.url(), o));
  EXPECT_EQ(client.server().implementation.name, "fake");
  for (int round = 0; round < 2; ++round) {  // the failure does not wedge the transport
    const auto t0 = Clock::now();
    try {
      client.call_tool("anything");
      ADD_FAILURE() << "a call answered by a misbehaving server succeeded";
    } catch (const ClientError& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
    EXPECT_LT(Clock::now() - t0, bound);
  }
  client.close();
}

TEST(HttpFakeServer, ListsFollowPagesOfJsonAndSseAnswers) {
  FakeHttpServer fake(FakeHttpServer::Mode::kPagedTools);
  mcp::Client client({.versions = mcp::VersionNegotiation::kModern});
  client.connect(http(fake.url()));
  std::vector<std::string> names;
  for (const auto& t : client.list_tools()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"alpha", "beta"}));
}

TEST(HttpFakeServer, BrokenAnswerIsResumedWithLastEventId) {
  FakeHttpServer fake(FakeHttpServer::Mode::kResumable, /*answer_discover=*/false);
  mcp::Client client(
      {.versions = mcp::VersionNegotiation::kLegacy, .request_timeout = std::chrono::seconds(5)});
  auto t = http(fake.url());
  auto* transport = t.get();
  client.connect(std::move(t));
  EXPECT_EQ(transport->session_id(), "fake-session");
  EXPECT_EQ(first_text(client.call_tool("anything")), "resumed after r-1");
  EXPECT_EQ(fake.resumptions(), 1);
}

TEST(HttpBadServer, GarbageInsteadOfHttp) {
  expect_call_fails(FakeHttpServer::Mode::kGarbage, ClientError::Kind::kMalformedAnswer,
                    "did not answer tools/call anything with HTTP");
}

TEST(HttpBadServer, SseStreamClosedMidway) {
  expect_call_fails(FakeHttpServer::Mode::kCloseMidStream, ClientError::Kind::kTransportClosed,
                    "ended the answer to tools/call anything before answering it");
}

TEST(HttpBadServer, ErrorStatusWithoutJsonRpc) {
  expect_call_fails(FakeHttpServer::Mode::kError500, ClientError::Kind::kMalformedAnswer,
                    "with HTTP 500 Internal Server Error: boom");
}

TEST(HttpBadServer, OversizeAnswer) {
  expect_call_fails(FakeHttpServer::Mode::kHuge, ClientError::Kind::kMalformedAnswer,
                    "larger than 4096 bytes", {.max_message_bytes = 4096});
}

TEST(HttpBadServer, NeverAnswersTheDeadlineFails) {
  expect_call_fails(FakeHttpServer::Mode::kNeverAnswer, ClientError::Kind::kTimeout,
                    "no answer within the deadline of 0.5 s", {}, 500ms, 1500ms);
}

TEST(HttpBadServer, NeverAnswersTheReadTimeoutFails) {
  expect_call_fails(FakeHttpServer::Mode::kNeverAnswer, ClientError::Kind::kTimeout,
                    "did not answer tools/call anything within 300 ms", {.read_timeout = 300ms},
                    10000ms, 1500ms);
}

TEST(HttpBadServer, SilentServerFailsConnect) {
  FakeHttpServer fake(FakeHttpServer::Mode::kNeverAnswer, /*answer_discover=*/false);
  mcp::Client client({.probe_timeout = 500ms});
  const auto t0 = Clock::now();
  try {
    client.connect(http(fake.url()));
    ADD_FAILURE() << "connect() to a silent server";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTimeout) << e.what();
  }
  EXPECT_LT(Clock::now() - t0, 2s);
}

TEST(HttpBadServer, NobodyListens) {
  const int port = free_port();
  mcp::Client client;
  const auto t0 = Clock::now();
  try {
    client.connect(http("http://127.0.0.1:" + std::to_string(port) + "/mcp"));
    ADD_FAILURE() << "connect() to a closed port";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
    EXPECT_NE(std::string(e.what()).find("went away: Connection refused"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(Clock::now() - t0, 2s);
}

TEST(HttpBadServer, BadUrls) {
  for (const char* url : {"ftp://x/y", "not a url", "http:///mcp"}) {
    mcp::Client client;
    try {
      client.connect(http(url));
      ADD_FAILURE() << url;
    } catch (const ClientError& e) {
      EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
      EXPECT_NE(std::string(e.what()).find(url), std::string::npos) << e.what();
    }
  }
}

// --- the legacy HTTP+SSE transport
// ----------------------------------------------------------------

class LegacySse : public ::testing::TestWithParam<mcp::VersionNegotiation> {};

TEST_P(LegacySse, ConformanceServerOverSse) {
  ServerProcess server({MCP_TEST_CONFORMANCE_SERVER, "--transport", "http", "--port", "0"}, {},
                       R"(listening on (http://[^ ]+)/mcp \(legacy SSE on /sse\))");
  const std::string base = server.url();
  ASSERT_FALSE(base.empty());
  mcp::Client client({.info = {.name = "sse-e2e", .version = "1"},
                      .versions = GetParam(),
                      .request_timeout = std::chrono::seconds(20),
                      .log_level = mcp::LogLevel::kDebug});
  Recorder events;
  client.on_log([&](const mcp::LogMessage& m) {
    events.add("log:" + (m.data.is_string() ? std::string(m.data.as_string()) : std::string()));
  });
  client.on_sampling([&](const mcp::SamplingRequest&) {
    return mcp::SamplingResult{.content = mcp::text_content("Paris"), .model = "test-model"};
  });
  auto t = std::make_unique<mcp::LegacySseClientTransport>(
      mcp::LegacySseClientOptions{.url = base + "/sse"});
  auto* transport = t.get();
  client.connect(std::move(t));
  // The SDK's server answers server/discover on this transport too: kAuto agrees on 2026-07-28.
  const bool legacy = GetParam() == mcp::VersionNegotiation::kLegacy;
  EXPECT_EQ(client.era(), legacy ? mcp::Era::kLegacy : mcp::Era::kModern);
  EXPECT_EQ(client.server().implementation.name, "mcp-conformance-server");
  EXPECT_EQ(transport->session_id().size(), 32u) << transport->session_id();
  EXPECT_EQ(transport->kind(), mcp::TransportKind::kLegacySse);
  if (legacy) client.ping();
  EXPECT_GT(client.list_tools().size(), 30u);
  EXPECT_EQ(client.call_tool<AddResult>("add", AddArgs{.a = 2, .b = 3.5}).sum, 5.5);
  std::vector<double> seen;
  client.call_tool("test_tool_with_progress", {},
                   {.on_progress = [&](const mcp::Progress& p) { seen.push_back(p.progress); }});
  EXPECT_EQ(seen, (std::vector<double>{0, 50, 100}));
  if (legacy)
    EXPECT_EQ(first_text(client.call_tool("test_sampling", {{"prompt", "Capital?"}})),
              "LLM response: Paris");
  else
    EXPECT_EQ(first_text(client.call_tool("test_input_required_result_sampling")),
              "Sampling result: Paris");
  client.call_tool("test_tool_with_logging");
  EXPECT_TRUE(wait_has(events, "log:Tool execution completed"));
  try {
    client.call_tool("slow", {}, {.timeout = 300ms});
    ADD_FAILURE() << "a call past its deadline returned";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTimeout);
  }
  server.kill_now();
  const auto t0 = Clock::now();
  while (client.connected() && Clock::now() - t0 < 5s) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(client.connected());
  // The stream's end, and (once the listening socket is gone too) the refused connection.
  const std::string why = client.closed_reason();
  EXPECT_TRUE(why.find("went away: Connection refused") != std::string::npos ||
              why.find("the server closed the SSE stream at " + base + "/sse") != std::string::npos)
      << why;
}

INSTANTIATE_TEST_SUITE_P(BothNegotiations, LegacySse,
                         ::testing::Values(mcp::VersionNegotiation::kLegacy,
                                           mcp::VersionNegotiation::kAuto),
                         [](const auto& p) {
                           return std::string(p.param == mcp::VersionNegotiation::kLegacy ? "legacy"
                                                                                          : "auto");
                         });

TEST(LegacySseEverything, ToolsAndProgress) {
  struct stat st {};
  ASSERT_TRUE(::stat(MCP_TEST_NODE, &st) == 0 && ::stat(MCP_TEST_EVERYTHING, &st) == 0)
      << "node_modules not installed: run scripts/setup";
  const int port = free_port();
  ServerProcess server({MCP_TEST_NODE, MCP_TEST_EVERYTHING, "sse"},
                       {"PORT=" + std::to_string(port)}, R"(Server is running on port (\d+))",
                       [](const std::string& p) { return "http://127.0.0.1:" + p + "/sse"; });
  const std::string url = server.url(30s);
  ASSERT_FALSE(url.empty());
  mcp::Client client({.info = {.name = "everything-sse-e2e", .version = "1"},
                      .request_timeout = std::chrono::seconds(30)});
  client.connect(
      std::make_unique<mcp::LegacySseClientTransport>(mcp::LegacySseClientOptions{.url = url}));
  EXPECT_EQ(client.era(), mcp::Era::kLegacy);
  EXPECT_EQ(client.server().implementation.name, "mcp-servers/everything");
  EXPECT_EQ(first_text(client.call_tool("echo", {{"message", "hello"}})), "Echo: hello");
  std::vector<double> progress;
  client.call_tool(
      "trigger-long-running-operation", {{"duration", 0.4}, {"steps", 4}},
      {.on_progress = [&](const mcp::Progress& p) { progress.push_back(p.progress); }});
  EXPECT_EQ(progress, (std::vector<double>{1, 2, 3, 4}));
  client.close();
  EXPECT_EQ(client.closed_reason(), "closed by the client");
}

TEST(LegacySseBadServer, NoEndpointFailsStart) {
  // A Streamable HTTP endpoint is not an SSE stream: start() says what it got.
  FakeHttpServer fake(FakeHttpServer::Mode::kError500, false);
  mcp::Client client;
  try {
    client.connect(std::make_unique<mcp::LegacySseClientTransport>(
        mcp::LegacySseClientOptions{.url = fake.url()}));
    ADD_FAILURE() << "connect() without an endpoint event";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
    EXPECT_NE(std::string(e.what()).find("answered the SSE request with HTTP 500"),
              std::string::npos)
        << e.what();
  }
}

// --- https:// with certificate verification ------------------------------------------------------

namespace asio = boost::asio;
namespace beast_http = boost::beast::http;

// A directory of certificates made for the test by the openssl program: good.pem for localhost
// (and 127.0.0.1), other.pem for other.example; each self-signed, with its key.
class TestCerts {
 public:
  TestCerts() {
    char tmpl[] = "/tmp/mcp-tls-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    make("good", "localhost", "DNS:localhost,IP:127.0.0.1");
    make("other", "other.example", "DNS:other.example");
  }
  ~TestCerts() { (void)!std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string cert(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string key(const std::string& name) const { return dir_ + "/" + name + ".key"; }

 private:
  void make(const std::string& name, const std::string& cn, const std::string& san) {
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout '" +
                            key(name) + "' -out '" + cert(name) + "' -subj '/CN=" + cn +
                            "' -addext 'subjectAltName=" + san + "' 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl req failed: " + cmd);
  }
  std::string dir_;
};

// A TLS server (one connection at a time) answering server/discover (2026-07-28) and
// tools/call with JSON.
class FakeTlsServer {
 public:
  FakeTlsServer(const std::string& cert, const std::string& key)
      : ctx_(asio::ssl::context::tls_server),
        acceptor_(ioc_, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    ctx_.use_certificate_chain_file(cert);
    ctx_.use_private_key_file(key, asio::ssl::context::pem);
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { run(); });
  }
  ~FakeTlsServer() {
    stop_ = true;
    asio::io_context wake;
    asio::ip::tcp::socket s(wake);
    boost::system::error_code ec;
    s.connect(asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), port_), ec);
    thread_.join();
  }
  std::string url() const { return "https://localhost:" + std::to_string(port_) + "/mcp"; }

 private:
  void run() {
    while (!stop_) {
      asio::ip::tcp::socket sock(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(sock, ec);
      if (ec || stop_) return;
      asio::ssl::stream<asio::ip::tcp::socket&> tls(sock, ctx_);
      tls.handshake(asio::ssl::stream_base::server, ec);
      if (ec) continue;  // the client refused the certificate
      boost::beast::flat_buffer buf;
      beast_http::request<beast_http::string_body> req;
      beast_http::read(tls, buf, req, ec);
      if (ec) continue;
      bj::value msg = bj::parse(req.body(), ec);
      if (ec || !msg.is_object()) continue;
      const bj::value id = msg.as_object().contains("id") ? msg.at("id") : bj::value(nullptr);
      bj::object result;
      if (msg.at("method") == "server/discover")
        result = {{"supportedVersions", bj::array{"2026-07-28"}},
                  {"capabilities", bj::object{{"tools", bj::object{}}}},
                  {"serverInfo", bj::object{{"name", "tls-fake"}, {"version", "1"}}}};
      else
        result = {{"content", bj::array{bj::object{{"type", "text"}, {"text", "over TLS"}}}}};
      beast_http::response<beast_http::string_body> res{beast_http::status::ok, 11};
      res.set(beast_http::field::content_type, "application/json");
      res.body() = bj::serialize(bj::object{{"jsonrpc", "2.0"}, {"id", id}, {"result", result}});
      res.keep_alive(false);  // one request per connection
      res.prepare_payload();
      beast_http::write(tls, res, ec);
      tls.shutdown(ec);
    }
  }

  asio::io_context ioc_;
  asio::ssl::context ctx_;
  asio::ip::tcp::acceptor acceptor_;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(Https, VerifiedCertificate) {
  TestCerts certs;
  FakeTlsServer server(certs.cert("good"), certs.key("good"));
  mcp::Client client({.versions = mcp::VersionNegotiation::kModern});
  client.connect(http(server.url(), {.ca_file = certs.cert("good")}));
  EXPECT_EQ(client.server().implementation.name, "tls-fake");
  EXPECT_EQ(first_text(client.call_tool("anything")), "over TLS");
}

TEST(Https, UntrustedCertificateFails) {
  TestCerts certs;
  FakeTlsServer server(certs.cert("good"), certs.key("good"));
  mcp::Client client({.versions = mcp::VersionNegotiation::kModern});
  try {
    client.connect(http(server.url()));  // the system's roots only
    ADD_FAILURE() << "a self-signed certificate was accepted";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
    EXPECT_NE(std::string(e.what()).find("the TLS handshake with " + server.url() +
                                         " failed: certificate verify failed"),
              std::string::npos)
        << e.what();
  }
}

TEST(Https, CertificateForAnotherNameFails) {
  TestCerts certs;
  FakeTlsServer server(certs.cert("other"), certs.key("other"));
  mcp::Client client({.versions = mcp::VersionNegotiation::kModern});
  try {
    client.connect(http(server.url(), {.ca_file = certs.cert("other")}));  // trusted, wrong name
    ADD_FAILURE() << "a certificate for other.example was accepted for localhost";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
    EXPECT_NE(std::string(e.what()).find("certificate verify failed"), std::string::npos)
        << e.what();
  }
}

TEST(Https, MissingCaFileFailsStart) {
  mcp::Client client;
  try {
    client.connect(http("https://localhost:1/mcp", {.ca_file = "/nonexistent/ca.pem"}));
    ADD_FAILURE() << "a CA file that does not exist";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
    EXPECT_NE(std::string(e.what()).find("cannot read the CA file '/nonexistent/ca.pem'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
