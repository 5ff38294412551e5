// mcp::Client against servers that misbehave (fake_server.cpp): garbage, answers with the wrong
// id, no answer, a notification flood, an exit in the middle of a call, half a message, malformed
// answers, an over-long line, a server that ignores SIGTERM, a flood of server requests. The
// client keeps its memory bounded, fails the affected calls with errors that say what happened
// within their deadlines, leaves no zombie and no descriptor behind, and never hangs.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "client_e2e.hpp"

namespace {

using namespace client_e2e;
using mcp::ClientError;
using Clock = std::chrono::steady_clock;

std::unique_ptr<mcp::StdioClientTransport> fake(const std::string& mode, std::string arg = {},
                                                mcp::StdioClientOptions o = {}) {
  o.command = MCP_TEST_FAKE_SERVER;
  o.args = {mode};
  if (!arg.empty()) o.args.push_back(std::move(arg));
  o.log_name = "fake-" + mode;
  return std::make_unique<mcp::StdioClientTransport>(std::move(o));
}

mcp::ClientOptions options() {
  return {.info = {.name = "bad-input-test", .version = "1"},
          .request_timeout = std::chrono::seconds(10)};
}

std::size_t open_fds() {
  std::size_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

long rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

// True when this process has no child left unreaped.
bool no_zombie() {
  int status = 0;
  return waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

template <class Fn>
ClientError expect_client_error(Fn fn) {
  try {
    fn();
  } catch (const ClientError& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a ClientError: " << e.what();
    return ClientError(ClientError::Kind::kUnsupported, e.what());
  }
  ADD_FAILURE() << "no error";
  return ClientError(ClientError::Kind::kUnsupported, "no error");
}

TEST(BadServer, FallsBackToTheLegacyHandshake) {
  mcp::Client client(options());
  client.connect(fake("ok"));
  EXPECT_EQ(client.era(), mcp::Era::kLegacy);
  EXPECT_EQ(client.server().implementation.name, "fake");
  EXPECT_EQ(first_text(client.call_tool("anything")), "ok");
}

TEST(BadServer, GarbageIsDroppedAndCounted) {
  mcp::Client client(options());
  client.connect(fake("garbage"));
  EXPECT_EQ(first_text(client.call_tool("x")), "ok");
  EXPECT_GE(client.stats().malformed_messages, 6u);
  EXPECT_EQ(first_text(client.call_tool("x")), "ok");
}

TEST(BadServer, AnswerWithTheWrongIdIsDroppedAndTheCallTimesOut) {
  mcp::Client client(options());
  client.connect(fake("wrong-id"));
  auto t0 = Clock::now();
  auto e = expect_client_error([&] { client.call_tool("x", {}, {.timeout = 500ms}); });
  EXPECT_EQ(e.kind(), ClientError::Kind::kTimeout);
  EXPECT_LT(Clock::now() - t0, 2s);
  EXPECT_EQ(client.stats().unexpected_responses, 1u);
  EXPECT_EQ(client.stats().pending_requests, 0u);
}

TEST(BadServer, SilentServerMeetsTheDeadline) {
  mcp::Client client(options());
  client.connect(fake("silent"));
  auto t0 = Clock::now();
  auto e = expect_client_error([&] { client.call_tool("x", {}, {.timeout = 300ms}); });
  EXPECT_EQ(e.kind(), ClientError::Kind::kTimeout);
  EXPECT_NE(std::string(e.what()).find("tools/call x: no answer within the deadline of 0.3 s"),
            std::string::npos)
      << e.what();
  auto took = Clock::now() - t0;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 1500ms);
  client.ping({.timeout = 2s});  // the connection itself is fine
}

TEST(BadServer, NotificationFloodKeepsMemoryBounded) {
  mcp::ClientOptions o = options();
  o.max_queued_notifications = 64;
  mcp::Client client(o);
  std::atomic<long> handled{0};
  client.on_log([&](const mcp::LogMessage&) {
    ++handled;
    std::this_thread::sleep_for(50us);  // a handler slower than the server
  });
  client.connect(fake("flood", "200000"));
  const long before = rss_kib();
  EXPECT_EQ(first_text(client.call_tool("x", {}, {.timeout = 60s})), "ok");
  const long grown = rss_kib() - before;
  auto s = client.stats();
  EXPECT_GT(s.notifications_dropped, 0u);
  EXPECT_LE(handled.load() + static_cast<long>(s.notifications_dropped), 200000);
  // 200000 queued notifications would take far more (each a parsed JSON object).
  EXPECT_LT(grown, 32 * 1024) << "RSS grew by " << grown << " KiB";
}

TEST(BadServer, ExitFailsEveryPendingCallWithTheStatus) {
  mcp::Client client(options());
  client.connect(fake("exit"));
  std::vector<std::thread> threads;
  std::atomic<int> right{0};
  auto t0 = Clock::now();
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      try {
        client.call_tool("x", {}, {.timeout = 10s});
      } catch (const ClientError& e) {
        if (e.kind() == ClientError::Kind::kTransportClosed &&
            std::string(e.what()).find("server process exited with status 3") != std::string::npos)
          ++right;
        else
          ADD_FAILURE() << e.what();
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(right.load(), 4);
  EXPECT_LT(Clock::now() - t0, 3s);
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.closed_reason(), "server process exited with status 3");
  auto e = expect_client_error([&] { client.call_tool("x"); });
  EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
  client.close();
  EXPECT_TRUE(no_zombie());
}

TEST(BadServer, HalfAMessageThenExit) {
  mcp::Client client(options());
  client.connect(fake("mid-message"));
  auto e = expect_client_error([&] { client.call_tool("x", {}, {.timeout = 10s}); });
  EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
  EXPECT_NE(std::string(e.what()).find("server process exited with status 0"), std::string::npos)
      << e.what();
  EXPECT_EQ(client.stats().malformed_messages, 1u);  // the half line
}

TEST(BadServer, MalformedAnswersFailTheirCalls) {
  mcp::Client client(options());
  client.connect(fake("malformed"));
  auto e1 = expect_client_error([&] { client.call_tool("x"); });
  EXPECT_EQ(e1.kind(), ClientError::Kind::kMalformedAnswer);
  EXPECT_NE(std::string(e1.what()).find("not an object"), std::string::npos) << e1.what();
  auto e2 = expect_client_error([&] { client.call_tool("x"); });
  EXPECT_EQ(e2.kind(), ClientError::Kind::kMalformedAnswer);
  EXPECT_NE(std::string(e2.what()).find("integer code"), std::string::npos) << e2.what();
  EXPECT_EQ(first_text(client.call_tool("x")), "ok");
}

TEST(BadServer, OverlongLineClosesTheConnection) {
  mcp::Client client(options());
  client.connect(fake("huge-line", std::to_string(2 << 20), {.max_line_bytes = 1 << 20}));
  auto e = expect_client_error([&] { client.call_tool("x", {}, {.timeout = 10s}); });
  EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
  EXPECT_NE(std::string(e.what()).find("longer than 1048576 bytes"), std::string::npos) << e.what();
  auto t0 = Clock::now();
  client.close();
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_TRUE(no_zombie());
}

TEST(BadServer, StubbornServerIsKilled) {
  mcp::Client client(options());
  auto transport = fake("stubborn", {}, {.grace = 300ms});
  auto* t = transport.get();
  client.connect(std::move(transport));
  const int pid = t->pid();
  ASSERT_GT(pid, 0);
  auto e = expect_client_error([&] { client.call_tool("x", {}, {.timeout = 200ms}); });
  EXPECT_EQ(e.kind(), ClientError::Kind::kTimeout);
  auto t0 = Clock::now();
  client.close();  // EOF, 300 ms, SIGTERM (ignored), 300 ms, SIGKILL
  auto took = Clock::now() - t0;
  EXPECT_GE(took, 550ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(::kill(pid, 0), -1);  // gone and reaped
  EXPECT_TRUE(no_zombie());
}

TEST(BadServer, FloodOfServerRequestsIsAnsweredOrRefused) {
  mcp::ClientOptions o = options();
  o.handler_threads = 2;
  o.max_queued_server_requests = 16;
  mcp::Client client(o);
  std::atomic<int> asked{0};
  client.on_elicitation([&](const mcp::ElicitationRequest&) {
    ++asked;
    std::this_thread::sleep_for(1ms);
    return mcp::ElicitationResult{.action = "decline"};
  });
  client.connect(fake("requests", "500"));
  // The fake answers the call once every one of its 500 requests got an answer (a result or
  // "Client busy"): none is left unanswered.
  EXPECT_EQ(first_text(client.call_tool("x", {}, {.timeout = 30s})), "all answered");
  EXPECT_GT(client.stats().server_requests_refused, 0u);
  EXPECT_EQ(asked.load() + static_cast<int>(client.stats().server_requests_refused), 500);
}

TEST(BadServer, CommandNotFound) {
  mcp::Client client(options());
  auto e = expect_client_error([&] {
    client.connect(std::make_unique<mcp::StdioClientTransport>(
        mcp::StdioClientOptions{.command = "/nonexistent/mcp-server"}));
  });
  EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
  EXPECT_NE(std::string(e.what()).find("cannot start server '/nonexistent/mcp-server'"),
            std::string::npos)
      << e.what();
  EXPECT_FALSE(client.connected());
}

TEST(BadServer, NoDescriptorOrZombieLeftBehind) {
  const std::size_t before = open_fds();
  for (int i = 0; i < 10; ++i) {
    mcp::Client client(options());
    client.connect(fake(i % 2 ? "ok" : "exit"));
    try {
      client.call_tool("x", {}, {.timeout = 5s});
    } catch (const ClientError&) {
    }
  }
  EXPECT_EQ(open_fds(), before);
  EXPECT_TRUE(no_zombie());
}

}  // namespace
