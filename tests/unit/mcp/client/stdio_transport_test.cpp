// StdioClientTransport with small shell programs as servers: arguments, environment and
// working directory reach the child; lines come back in order ("\r\n" too); stderr is logged
// line by line; the exit status (or signal) is the close reason; a child that closes its
// stdout is noticed; send() is bounded; every descriptor is close-on-exec; restart works; no
// descriptor and no zombie is left.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "jsonio/json_text.hpp"
#include "mcp/client_stdio.hpp"

namespace {

using namespace std::chrono_literals;
using mcp::ClientError;

// The client's log goes to a ring buffer the tests read (the SDK uses a logger registered
// under "mcp-client" before its first line).
std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> log_sink() {
  static auto sink = [] {
    auto s = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
    auto logger = std::make_shared<spdlog::logger>("mcp-client", s);
    logger->set_level(spdlog::level::debug);
    spdlog::register_logger(logger);
    return s;
  }();
  return sink;
}
const bool kLogRegistered = (log_sink(), true);

// What a transport delivered.
struct Received {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> messages;
  std::vector<std::string> closed;

  mcp::ClientTransportCallbacks callbacks() {
    return {.message =
                [this](std::string t) {
                  std::lock_guard lk(mu);
                  messages.push_back(std::move(t));
                  cv.notify_all();
                },
            .request_failed = [](const boost::json::value&, std::exception_ptr) {},
            .closed =
                [this](const std::string& r) {
                  std::lock_guard lk(mu);
                  closed.push_back(r);
                  cv.notify_all();
                }};
  }
  bool wait_messages(std::size_t n, std::chrono::milliseconds d = 5s) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, d, [&] { return messages.size() >= n; });
  }
  bool wait_closed(std::chrono::milliseconds d = 5s) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, d, [&] { return !closed.empty(); });
  }
};

mcp::StdioClientOptions sh(std::string script, std::vector<std::string> args = {}) {
  mcp::StdioClientOptions o;
  o.command = "/bin/sh";
  o.args = {"-c", std::move(script), "sh"};
  o.args.insert(o.args.end(), args.begin(), args.end());
  o.grace = 500ms;
  o.log_name = "sh";
  return o;
}

std::set<int> fds() {
  std::set<int> s;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (auto* e = readdir(d))
      if (e->d_name[0] != '.') s.insert(std::atoi(e->d_name));
    closedir(d);
  }
  return s;
}

bool no_zombie() {
  int st = 0;
  return waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD;
}

TEST(StdioTransport, ArgumentsEnvironmentAndDirectoryReachTheChild) {
  auto o = sh(
      R"sh(printf '{"a":"%s","v":"%s","d":"%s"}\r\n' "$1" "$MCP_TEST_VAR" "$(pwd)"; cat >/dev/null)sh",
      {"first arg"});
  o.env = {{"MCP_TEST_VAR", "some value"}};
  o.working_directory = "/tmp";
  Received r;
  mcp::StdioClientTransport t(o);
  t.start(r.callbacks());
  ASSERT_TRUE(r.wait_messages(1));
  auto v = jsonio::parse_or_throw(r.messages[0]);
  EXPECT_EQ(v.at("a"), "first arg");
  EXPECT_EQ(v.at("v"), "some value");
  EXPECT_EQ(v.at("d"), "/tmp");
  t.close();
  EXPECT_EQ(r.closed, (std::vector<std::string>{"closed by the client"}));
  EXPECT_EQ(t.pid(), -1);
}

TEST(StdioTransport, EnvironmentCanBeReplaced) {
  auto o = sh(R"(printf '{"home":"%s","v":"%s"}\n' "$HOME" "$ONLY")");
  o.command = "/bin/sh";
  o.inherit_environment = false;
  o.env = {{"ONLY", "this"}};
  Received r;
  mcp::StdioClientTransport t(o);
  t.start(r.callbacks());
  ASSERT_TRUE(r.wait_messages(1));
  auto v = jsonio::parse_or_throw(r.messages[0]);
  EXPECT_EQ(v.at("home"), "");
  EXPECT_EQ(v.at("v"), "this");
}

TEST(StdioTransport, EchoesInOrderAndLogsStderr) {
  Received r;
  mcp::StdioClientTransport t(sh("echo 'from stderr 1' >&2; echo 'from stderr 2' >&2; cat"));
  t.start(r.callbacks());
  for (int i = 0; i < 100; ++i)
    t.send({.text = R"({"jsonrpc":"2.0","method":"n","params":{"i":)" + std::to_string(i) + "}}",
            .kind = mcp::OutgoingMessage::Kind::kNotification,
            .method = "n"});
  ASSERT_TRUE(r.wait_messages(100));
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(jsonio::parse_or_throw(r.messages[i]).at("params").at("i"), i);
  t.close();
  auto lines = log_sink()->last_formatted();
  int seen = 0;
  for (const auto& l : lines)
    if (l.find("[sh] from stderr 1") != std::string::npos ||
        l.find("[sh] from stderr 2") != std::string::npos)
      ++seen;
  EXPECT_EQ(seen, 2);
}

TEST(StdioTransport, ExitStatusAndSignalAreTheReason) {
  {
    Received r;
    mcp::StdioClientTransport t(sh("exit 7"));
    t.start(r.callbacks());
    ASSERT_TRUE(r.wait_closed());
    EXPECT_EQ(r.closed[0], "server process exited with status 7");
    try {
      t.send({.text = "{}"});
      ADD_FAILURE() << "send after the child exited";
    } catch (const ClientError& e) {
      EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
      EXPECT_EQ(std::string(e.what()), "server process exited with status 7");
    }
  }
  Received r;
  mcp::StdioClientTransport t(sh("kill -9 $$"));
  t.start(r.callbacks());
  ASSERT_TRUE(r.wait_closed());
  EXPECT_EQ(r.closed[0], "server process was killed by signal 9 (SIGKILL)");
}

// A message sent after the child stopped reading its stdin, while it exits, is not refused as
// if the client had closed the transport: the calls in flight end with the exit status.
TEST(StdioTransport, SendWhileTheChildExitsIsNotAClientClose) {
  Received r;
  mcp::StdioClientTransport t(sh("exec 0<&-; sleep 0.6; exit 3"));
  t.start(r.callbacks());
  std::this_thread::sleep_for(150ms);  // the child's stdin is closed by now
  t.send({.text = "{\"first\":1}"});   // the writer meets EPIPE and stops
  std::this_thread::sleep_for(150ms);
  try {
    t.send({.text = "{\"second\":2}"});
  } catch (const ClientError& e) {
    ADD_FAILURE() << "send while the child exits: " << e.what();
  }
  ASSERT_TRUE(r.wait_closed());
  EXPECT_EQ(r.closed[0], "server process exited with status 3");
}

TEST(StdioTransport, ChildThatClosesItsStdoutIsNoticed) {
  Received r;
  mcp::StdioClientTransport t(sh("exec >&-; sleep 30"));
  auto t0 = std::chrono::steady_clock::now();
  t.start(r.callbacks());
  ASSERT_TRUE(r.wait_closed(5s));
  EXPECT_EQ(r.closed[0], "server process closed its standard output");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  t.close();  // sleep ignores EOF: SIGTERM ends it
  EXPECT_EQ(r.closed.size(), 1u);
  EXPECT_TRUE(no_zombie());
}

TEST(StdioTransport, SendIsBoundedWhenTheChildDoesNotRead) {
  auto o = sh("sleep 30");
  o.max_queued_bytes = 256 * 1024;
  Received r;
  mcp::StdioClientTransport t(o);
  t.start(r.callbacks());
  const std::string big(16 * 1024, 'x');
  bool busy = false;
  for (int i = 0; i < 1000 && !busy; ++i) {
    try {
      t.send({.text = big});
    } catch (const ClientError& e) {
      EXPECT_EQ(e.kind(), ClientError::Kind::kBusy);
      busy = true;
    }
  }
  EXPECT_TRUE(busy);
  auto t0 = std::chrono::steady_clock::now();
  t.close();  // the writer gives up on what is queued; SIGTERM ends sleep
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(StdioTransport, EveryDescriptorIsCloseOnExecAndNoneLeaks) {
  const std::set<int> before = fds();
  {
    Received r;
    mcp::StdioClientTransport t(sh("cat"));
    t.start(r.callbacks());
    for (int fd : fds())
      if (!before.count(fd)) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0) {
          EXPECT_TRUE(flags & FD_CLOEXEC) << "fd " << fd;
        }
      }
    // A second child sees none of the first one's pipes: only 0, 1, 2 and what this test
    // process itself lets children inherit.
    std::set<int> inheritable;
    for (int fd : fds())
      if (int flags = fcntl(fd, F_GETFD); flags >= 0 && !(flags & FD_CLOEXEC))
        inheritable.insert(fd);
    Received r2;
    mcp::StdioClientTransport t2(sh("exec sleep 30"));
    t2.start(r2.callbacks());
    std::this_thread::sleep_for(100ms);  // the exec
    const std::string dir = "/proc/" + std::to_string(t2.pid()) + "/fd";
    if (DIR* d = opendir(dir.c_str())) {
      while (auto* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        int fd = std::atoi(e->d_name);
        EXPECT_TRUE(fd <= 2 || inheritable.count(fd)) << "the child inherited fd " << fd;
      }
      closedir(d);
    }
  }
  EXPECT_EQ(fds(), before);
  EXPECT_TRUE(no_zombie());
}

TEST(StdioTransport, RestartsAfterTheChildExited) {
  mcp::StdioClientTransport t(sh("echo '{\"n\":1}'; exit 0"));
  for (int i = 0; i < 3; ++i) {
    Received r;
    t.start(r.callbacks());
    ASSERT_TRUE(r.wait_closed());
    EXPECT_EQ(r.messages, (std::vector<std::string>{R"({"n":1})"}));
    EXPECT_EQ(r.closed[0], "server process exited with status 0");
  }
  t.close();
  EXPECT_TRUE(no_zombie());
}

TEST(StdioTransport, CommandNotFound) {
  Received r;
  mcp::StdioClientTransport t({.command = "no-such-command-for-mcp-tests"});
  try {
    t.start(r.callbacks());
    ADD_FAILURE() << "started";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(r.closed.empty());
}

}  // namespace
