// The seven features the client must offer on every transport, each against a server that
// offers them: tools, resources, prompts, progress, cancellation, elicitation and list-changed
// notifications. Where the other end-to-end tests (everything_test.cpp, http_test.cpp,
// conformance_server_test.cpp) leave one out for a server and transport, it is here:
//  - @modelcontextprotocol/server-everything over stdio, Streamable HTTP and the legacy
//    HTTP+SSE transport (2025-11-25);
//  - the SDK's conformance fixture over Streamable HTTP and the legacy HTTP+SSE transport, in
//    both eras (over stdio: conformance_server_test.cpp covers all seven).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  return ok ? ntohs(a.sin_port) : 0;
}

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

// A form answer that fits any flat schema of these servers.
mcp::ElicitationResult fill_form(const mcp::ElicitationRequest& rq) {
  bj::object content;
  if (rq.requested_schema.is_object())
    if (const auto* props = rq.requested_schema.as_object().if_contains("properties"))
      for (const auto& [k, v] : props->as_object()) {
        const auto& p = v.as_object();
        const auto* type = p.if_contains("type");
        const auto* one_of = p.if_contains("oneOf");
        const auto* en = p.if_contains("enum");
        if (one_of && one_of->is_array() && !one_of->as_array().empty())
          content[k] = one_of->as_array()[0].as_object().at("const");
        else if (en && en->is_array() && !en->as_array().empty())
          content[k] = en->as_array()[0];
        else if (type && *type == "boolean")
          content[k] = true;
        else if (type && (*type == "number" || *type == "integer"))
          content[k] = 42;
        else if (type && *type == "array")
          content[k] = bj::array{};
        else
          content[k] = "Ada";
      }
  return mcp::ElicitationResult{.action = "accept", .content = content};
}

// Cancels the call `call` makes once `started` holds an item, or after `at_most`; expects
// kCancelled, soon.
void expect_cancelled(Recorder& started, std::chrono::milliseconds at_most,
                      const std::function<void(mcp::CancellationToken&)>& call) {
  mcp::CancellationToken token;
  std::thread canceller([&] {
    started.wait_for(1, at_most);
    token.cancel();
  });
  const auto t0 = Clock::now();
  try {
    call(token);
    ADD_FAILURE() << "a cancelled call returned";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kCancelled) << e.what();
  }
  canceller.join();
  EXPECT_LT(Clock::now() - t0, 5s);
}

// --- server-everything ---------------------------------------------------------------------------

enum class Transport { kStdio, kStreamableHttp, kLegacySse };

class EverythingFeatures : public ::testing::TestWithParam<Transport> {
 protected:
  void SetUp() override {
    struct stat st {};
    ASSERT_TRUE(::stat(MCP_TEST_NODE, &st) == 0 && ::stat(MCP_TEST_EVERYTHING, &st) == 0)
        << "node_modules not installed: run scripts/setup";
    client_.on_elicitation([this](const mcp::ElicitationRequest& rq) {
      events_.add("elicit");
      return fill_form(rq);
    });
    client_.on_resources_list_changed([this] { events_.add("resources"); });
    const std::string port = std::to_string(free_port());
    switch (GetParam()) {
      case Transport::kStdio:
        client_.connect(stdio(MCP_TEST_NODE, {MCP_TEST_EVERYTHING, "stdio"}, "server-everything"));
        break;
      case Transport::kStreamableHttp: {
        server_ = std::make_unique<ServerProcess>(
            std::vector<std::string>{MCP_TEST_NODE, MCP_TEST_EVERYTHING, "streamableHttp"},
            std::vector<std::string>{"PORT=" + port}, R"(listening on port (\d+))",
            [](const std::string& p) { return "http://127.0.0.1:" + p + "/mcp"; });
        const std::string url = server_->url(30s);
        ASSERT_FALSE(url.empty());
        client_.connect(std::make_unique<mcp::StreamableHttpClientTransport>(
            mcp::StreamableHttpClientOptions{.url = url}));
        break;
      }
      case Transport::kLegacySse: {
        server_ = std::make_unique<ServerProcess>(
            std::vector<std::string>{MCP_TEST_NODE, MCP_TEST_EVERYTHING, "sse"},
            std::vector<std::string>{"PORT=" + port}, R"(Server is running on port (\d+))",
            [](const std::string& p) { return "http://127.0.0.1:" + p + "/sse"; });
        const std::string url = server_->url(30s);
        ASSERT_FALSE(url.empty());
        client_.connect(std::make_unique<mcp::LegacySseClientTransport>(
            mcp::LegacySseClientOptions{.url = url}));
        break;
      }
    }
  }

  std::unique_ptr<ServerProcess> server_;
  Recorder events_;  // before the client, which its handlers outlive otherwise
  mcp::Client client_{{.info = {.name = "everything-features-e2e", .version = "1"},
                       .request_timeout = std::chrono::seconds(30)}};
};

TEST_P(EverythingFeatures, AllSeven) {
  ASSERT_TRUE(client_.connected());
  EXPECT_EQ(client_.era(), mcp::Era::kLegacy);
  // Tools.
  EXPECT_EQ(first_text(client_.call_tool("echo", {{"message", "hello"}})), "Echo: hello");
  // Resources.
  const auto text = client_.read_resource("demo://resource/dynamic/text/7");
  ASSERT_EQ(text.contents.size(), 1u);
  EXPECT_EQ(text.contents[0].text.value_or("").rfind("Resource 7: This is a plaintext resource", 0),
            0u);
  // Prompts.
  const auto prompt =
      client_.get_prompt("completable-prompt", {{"department", "Sales"}, {"name", "Eve"}});
  ASSERT_EQ(prompt.messages.size(), 1u);
  EXPECT_EQ(prompt.messages[0].content.at("text"),
            "Please promote Eve to the head of the Sales team.");
  // Progress.
  std::vector<double> progress;
  client_.call_tool(
      "trigger-long-running-operation", {{"duration", 0.4}, {"steps", 4}},
      {.on_progress = [&](const mcp::Progress& p) { progress.push_back(p.progress); }});
  EXPECT_EQ(progress, (std::vector<double>{1, 2, 3, 4}));
  // Cancellation: 30 steps of 1 s, cancelled after the first.
  Recorder started;
  expect_cancelled(started, 2s, [&](mcp::CancellationToken& token) {
    client_.call_tool(
        "trigger-long-running-operation", {{"duration", 30}, {"steps", 30}},
        {.on_progress = [&](const mcp::Progress&) { started.add("p"); }, .cancellation = &token});
  });
  EXPECT_EQ(first_text(client_.call_tool("echo", {{"message", "on"}})), "Echo: on");
  // Elicitation.
  const auto elicited = client_.call_tool("trigger-elicitation-request");
  EXPECT_NE(first_text(elicited).find("User provided the requested information"), std::string::npos)
      << jsonio::to_string(bj::value(elicited.content));
  EXPECT_TRUE(wait_has(events_, "elicit"));
  // List-changed: the tool registers a session resource and announces it.
  const auto gz =
      client_.call_tool("gzip-file-as-resource", {{"name", "hello.txt.gz"},
                                                  {"data", "data:text/plain;base64,aGVsbG8="},
                                                  {"outputType", "resourceLink"}});
  EXPECT_FALSE(gz.is_error) << jsonio::to_string(bj::value(gz.content));
  EXPECT_TRUE(wait_has(events_, "resources"));
}

INSTANTIATE_TEST_SUITE_P(Transports, EverythingFeatures,
                         ::testing::Values(Transport::kStdio, Transport::kStreamableHttp,
                                           Transport::kLegacySse),
                         [](const auto& p) {
                           switch (p.param) {
                             case Transport::kStdio:
                               return std::string("stdio");
                             case Transport::kStreamableHttp:
                               return std::string("streamable_http");
                             case Transport::kLegacySse:
                               return std::string("legacy_sse");
                           }
                           return std::string();
                         });

// --- the conformance fixture over HTTP, both eras -----------------------------------------------

struct ConformanceCase {
  bool sse = false;
  mcp::VersionNegotiation versions = mcp::VersionNegotiation::kLegacy;
};

class ConformanceHttpFeatures : public ::testing::TestWithParam<ConformanceCase> {};

TEST_P(ConformanceHttpFeatures, AllSeven) {
  const ConformanceCase c = GetParam();
  ServerProcess server({MCP_TEST_CONFORMANCE_SERVER, "--transport", "http", "--port", "0"}, {},
                       R"(listening on (http://[^ ]+)/mcp)");
  const std::string base = server.url();
  ASSERT_FALSE(base.empty());
  Recorder events;
  mcp::Client client({.info = {.name = "conformance-features-e2e", .version = "1"},
                      .versions = c.versions,
                      .request_timeout = std::chrono::seconds(20)});
  client.on_elicitation([&](const mcp::ElicitationRequest& rq) {
    events.add("elicit");
    return fill_form(rq);
  });
  client.on_tools_list_changed([&] { events.add("tools"); });
  if (c.sse)
    client.connect(std::make_unique<mcp::LegacySseClientTransport>(
        mcp::LegacySseClientOptions{.url = base + "/sse"}));
  else
    client.connect(std::make_unique<mcp::StreamableHttpClientTransport>(
        mcp::StreamableHttpClientOptions{.url = base + "/mcp"}));
  const bool legacy = c.versions == mcp::VersionNegotiation::kLegacy;
  EXPECT_EQ(client.era(), legacy ? mcp::Era::kLegacy : mcp::Era::kModern);
  // Tools.
  EXPECT_EQ(first_text(client.call_tool("echo", {{"text", "hi"}})), "hi");
  // Resources.
  const auto text = client.read_resource("test://static-text");
  ASSERT_EQ(text.contents.size(), 1u);
  EXPECT_EQ(text.contents[0].text.value_or(""), "This is the content of the static text resource.");
  // Prompts.
  const auto prompt =
      client.get_prompt("test_prompt_with_arguments", {{"arg1", "a"}, {"arg2", "b"}});
  ASSERT_EQ(prompt.messages.size(), 1u);
  EXPECT_EQ(prompt.messages[0].content.at("text"), "Prompt with arguments: arg1='a', arg2='b'");
  // Progress.
  std::vector<double> progress;
  client.call_tool("test_tool_with_progress", {}, {.on_progress = [&](const mcp::Progress& p) {
                     progress.push_back(p.progress);
                   }});
  EXPECT_EQ(progress, (std::vector<double>{0, 50, 100}));
  // Cancellation of a slow tool, 200 ms in.
  Recorder never;
  expect_cancelled(never, 200ms, [&](mcp::CancellationToken& token) {
    client.call_tool("slow", {}, {.cancellation = &token});
  });
  EXPECT_EQ(first_text(client.call_tool("echo", {{"text", "on"}})), "on");
  // Elicitation: a server request (2025-11-25) or an input_required result (2026-07-28).
  if (legacy) {
    const auto r = client.call_tool("test_elicitation", {{"message", "Who are you?"}});
    EXPECT_NE(first_text(r).find("\"username\":\"Ada\""), std::string::npos) << first_text(r);
  } else {
    EXPECT_EQ(first_text(client.call_tool("test_input_required_result_elicitation")),
              "Hello, Ada!");
  }
  EXPECT_TRUE(wait_has(events, "elicit"));
  // List-changed.
  client.call_tool("test_trigger_tool_change");
  EXPECT_TRUE(wait_has(events, "tools"));
}

INSTANTIATE_TEST_SUITE_P(TransportsAndEras, ConformanceHttpFeatures,
                         ::testing::Values(ConformanceCase{false, mcp::VersionNegotiation::kLegacy},
                                           ConformanceCase{false, mcp::VersionNegotiation::kModern},
                                           ConformanceCase{true, mcp::VersionNegotiation::kLegacy},
                                           ConformanceCase{true, mcp::VersionNegotiation::kModern}),
                         [](const auto& p) {
                           return std::string(p.param.sse ? "legacy_sse_" : "streamable_http_") +
                                  (p.param.versions == mcp::VersionNegotiation::kLegacy ? "legacy"
                                                                                        : "modern");
                         });

}  // namespace
