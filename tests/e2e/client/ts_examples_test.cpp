// mcp::Client against the official TypeScript SDK's own example servers
// (node_modules/@modelcontextprotocol/sdk/dist/esm/examples/server/, SDK 1.x, 2025-11-25 era:
// the client falls back to it after its server/discover probe), each run by the npm-provided
// Node 22. The HTTP examples listen on a fixed port; ts_example_listen.mjs, preloaded, makes
// them take a free loopback port instead and print it, so that these tests run in parallel
// with anything else. Covered, as far as each example offers it: tools, resources, prompts,
// logging (simpleStreamableHttp, simpleStatelessStreamableHttp), JSON answers instead of SSE
// (jsonResponseStreamableHttp), elicitation (collect-user-info, elicitationFormExample),
// cancellation (a long tool cancelled over HTTP and over stdio), progress (progressExample over
// stdio), resources/list_changed on the standalone GET stream
// (standaloneSseWithGetStreamableHttp), an answer's stream closed by the server and resumed with
// Last-Event-ID (ssePollingExample), sampling (toolWithSampleServer over stdio), and the legacy
// HTTP+SSE transport (simpleSseServer, sseAndStreamableHttpCompatibleServer, which serves both).
#include <sys/stat.h>

#include <atomic>
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

std::string example(const std::string& file) {
  return std::string(MCP_TEST_TS_EXAMPLES) + "/" + file;
}

// One example server over HTTP, as a child process; url() is "http://127.0.0.1:PORT" once it
// listens on the port the preload gave it.
std::unique_ptr<ServerProcess> ts_example(const std::string& file) {
  struct stat st {};
  if (::stat(MCP_TEST_NODE, &st) != 0 || ::stat(example(file).c_str(), &st) != 0)
    throw std::runtime_error("node_modules not installed: run scripts/setup");
  return std::make_unique<ServerProcess>(
      std::vector<std::string>{MCP_TEST_NODE, "--import", MCP_TEST_TS_LISTEN, example(file)},
      std::vector<std::string>{}, R"(ts-example listening on port (\d+))",
      [](const std::string& port) { return "http://127.0.0.1:" + port; });
}

mcp::ClientOptions options() {
  return {.info = {.name = "ts-examples-e2e", .version = "1"},
          .request_timeout = 30s,
          .log_level = mcp::LogLevel::kDebug};
}

std::unique_ptr<mcp::ClientTransport> streamable(const std::string& url) {
  return std::make_unique<mcp::StreamableHttpClientTransport>(
      mcp::StreamableHttpClientOptions{.url = url});
}
std::unique_ptr<mcp::ClientTransport> legacy_sse(const std::string& url) {
  return std::make_unique<mcp::LegacySseClientTransport>(mcp::LegacySseClientOptions{.url = url});
}

std::vector<std::string> tool_names(mcp::Client& c) {
  std::vector<std::string> names;
  for (const auto& t : c.list_tools()) names.push_back(t.name);
  return names;
}
bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Calls a long tool, cancels it once `started` holds an item (or after 1 s), and expects the
// call to end with kCancelled at once; returns how long the call took.
Clock::duration cancel_long_call(mcp::Client& client, Recorder& started, const std::string& tool,
                                 const mcp::json& args) {
  mcp::CancellationToken token;
  std::thread canceller([&] {
    started.wait_for(1, 1s);
    token.cancel();
  });
  const auto t0 = Clock::now();
  try {
    client.call_tool(tool, args, {.cancellation = &token});
    ADD_FAILURE() << tool << " ran to its end despite the cancellation";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kCancelled) << e.what();
  }
  const auto took = Clock::now() - t0;
  canceller.join();
  return took;
}

// --- simpleStreamableHttp.js: tools, resources, prompts, logs, elicitation, cancellation -------

TEST(TsSimpleStreamableHttp, ToolsResourcesPromptsAndLogs) {
  auto server = ts_example("simpleStreamableHttp.js");
  const std::string base = server->url();
  ASSERT_FALSE(base.empty()) << "the example did not listen";
  Recorder logs;
  mcp::Client client(options());
  client.on_log([&](const mcp::LogMessage& m) {
    logs.add(m.data.is_string() ? std::string(m.data.as_string()) : jsonio::to_string(m.data));
  });
  client.connect(streamable(base + "/mcp"));
  EXPECT_EQ(client.era(), mcp::Era::kLegacy);
  EXPECT_EQ(client.server().implementation.name, "simple-streamable-http-server");

  const auto tools = tool_names(client);
  for (const char* want :
       {"greet", "multi-greet", "collect-user-info", "start-notification-stream", "list-files"})
    EXPECT_TRUE(has(tools, want)) << want;
  EXPECT_EQ(first_text(client.call_tool("greet", {{"name", "Ada"}})), "Hello, Ada!");
  EXPECT_EQ(first_text(client.call_tool("multi-greet", {{"name", "Ada"}})), "Good morning, Ada!");
  const auto seen = logs.wait_for(3, 5s);
  EXPECT_TRUE(has(seen, "Starting multi-greet for Ada")) << seen.size();
  EXPECT_TRUE(has(seen, "Sending second greeting to Ada")) << seen.size();
  // A tool whose result holds resource links.
  const auto files = client.call_tool("list-files", {{"includeDescriptions", true}});
  EXPECT_NE(jsonio::to_string(bj::value(files.content)).find("file:///example/file1.txt"),
            std::string::npos);

  std::vector<std::string> uris;
  for (const auto& r : client.list_resources()) uris.push_back(r.uri);
  EXPECT_TRUE(has(uris, "https://example.com/greetings/default"));
  EXPECT_TRUE(has(uris, "file:///example/file2.txt"));
  const auto greeting = client.read_resource("https://example.com/greetings/default");
  ASSERT_EQ(greeting.contents.size(), 1u);
  EXPECT_EQ(greeting.contents[0].text.value_or(""), "Hello, world!");

  std::vector<std::string> prompts;
  for (const auto& p : client.list_prompts()) prompts.push_back(p.name);
  ASSERT_TRUE(has(prompts, "greeting-template"));
  const auto prompt = client.get_prompt("greeting-template", {{"name", "Ada"}});
  ASSERT_EQ(prompt.messages.size(), 1u);
  EXPECT_EQ(prompt.messages[0].content.at("text"), "Please greet Ada in a friendly manner.");

  // An unknown tool is the server's error result or error, never a hang.
  try {
    auto r = client.call_tool("no-such-tool");
    EXPECT_TRUE(r.is_error);
  } catch (const mcp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-tool"), std::string::npos) << e.what();
  }
  client.close();
  EXPECT_EQ(client.closed_reason(), "closed by the client");
}

TEST(TsSimpleStreamableHttp, ElicitationAcceptedAndDeclined) {
  auto server = ts_example("simpleStreamableHttp.js");
  const std::string base = server->url();
  ASSERT_FALSE(base.empty());
  Recorder asked;
  std::atomic<bool> decline{false};
  mcp::Client client(options());
  client.on_elicitation([&](const mcp::ElicitationRequest& rq) {
    asked.add(rq.message);
    if (decline) return mcp::ElicitationResult{.action = "decline"};
    return mcp::ElicitationResult{
        .action = "accept",
        .content = bj::object{{"name", "Ada Lovelace"}, {"email", "ada@example.com"}}};
  });
  client.connect(streamable(base + "/mcp"));
  const auto accepted =
      first_text(client.call_tool("collect-user-info", {{"infoType", "contact"}}));
  EXPECT_EQ(accepted.rfind("Thank you! Collected contact information:", 0), 0u) << accepted;
  EXPECT_NE(accepted.find("ada@example.com"), std::string::npos) << accepted;
  decline = true;
  EXPECT_EQ(first_text(client.call_tool("collect-user-info", {{"infoType", "contact"}})),
            "No information was collected. User declined contact information request.");
  EXPECT_EQ(asked.items(), (std::vector<std::string>{"Please provide your contact information",
                                                     "Please provide your contact information"}));
}

TEST(TsSimpleStreamableHttp, CancelledCallEndsAtOnceAndTheSessionGoesOn) {
  auto server = ts_example("simpleStreamableHttp.js");
  const std::string base = server->url();
  ASSERT_FALSE(base.empty());
  Recorder logs;
  mcp::Client client(options());
  client.on_log([&](const mcp::LogMessage&) { logs.add("log"); });
  client.connect(streamable(base + "/mcp"));
  // 100 notifications 100 ms apart: 10 s unless cancelled.
  const auto took = cancel_long_call(client, logs, "start-notification-stream",
                                     {{"interval", 100}, {"count", 100}});
  EXPECT_LT(took, 3s);
  EXPECT_EQ(first_text(client.call_tool("greet", {{"name", "again"}})), "Hello, again!");
  EXPECT_TRUE(client.connected());
}

// --- simpleStatelessStreamableHttp.js: no session -----------------------------------------------

TEST(TsStatelessStreamableHttp, ToolsResourcesPrompts) {
  auto server = ts_example("simpleStatelessStreamableHttp.js");
  const std::string base = server->url();
  ASSERT_FALSE(base.empty());
  mcp::Client client(options());
  auto t = std::make_unique<mcp::StreamableHttpClientTransport>(
      mcp::StreamableHttpClientOptions{.url = base + "/mcp"});
  auto* raw = t.get();
  client.connect(std::move(t));
  EXPECT_TRUE(raw->session_id().empty()) << raw->session_id();
  EXPECT_TRUE(has(tool_names(client), "start-notification-stream"));
  const auto r = client.call_tool("start-notification-stream", {{"interval", 10}, {"count", 2}});
  EXPECT_FALSE(r.is_error);
  const auto greeting = client.read_resource("https://example.com/greetings/default");
  ASSERT_EQ(greeting.contents.size(), 1u);
  EXPECT_EQ(greeting.contents[0].text.value_or(""), "Hello, world!");
  const auto prompt = client.get_prompt("greeting-template", {{"name", "Bo"}});
  ASSERT_EQ(prompt.messages.size(), 1u);
  EXPECT_EQ(prompt.messages[0].content.at("text"), "Please greet Bo in a friendly manner.");
}

// --- jsonResponseStreamableHttp.js: answers as JSON bodies, not SSE -----------------------------

TEST(TsJsonResponseStreamableHttp, ToolsAnsweredAsJson) {
  auto server = ts_example("jsonResponseStreamableHttp.js");
  const std::string base = server->url();
  ASSERT_FALSE(base.empty());
  mcp::Client client(options());
  client.connect(streamable(base + "/mcp"));
  EXPECT_EQ(client.era(), mcp::Era::kLegacy);
  const auto tools = tool_names(client);
  EXPECT_TRUE(has(tools, "greet"));
  EXPECT_TRUE(has(tools, "multi-greet"));
  EXPECT_EQ(first_text(client.call_tool("greet", {{"name", "Ada"}})), "Hello, Ada!");
  EXPECT_EQ(first_text(client.call_tool("multi-greet", {{"name", "Ada"}})), "Good morning, Ada!");
}

// --- elicitationFormExample.js: forms, one step and several ---------------------------------

TEST(TsElicitationForm, RegistrationAndAMultiStepForm) {
  auto server = ts_example("elicitationFormExample.js");
  const std::string base = server->url();
  ASSERT_FALSE(base.empty());
  Recorder asked;
  std::atomic<bool> decline{false};
  mcp::Client client(options());
  client.on_elicitation([&](const mcp::ElicitationRequest& rq) {
    asked.add(rq.message);
    if (decline) return mcp::ElicitationResult{.action = "decline"};
    // Values that satisfy each form's schema (the server checks them).
    bj::object content;
    const auto& props = rq.requested_schema.as_object().at("properties").as_object();
    for (const auto& [k, v] : props) {
      const auto& p = v.as_object();
      const auto* type = p.if_contains("type");
      if (k == "username")
        content[k] = "ada_l";
      else if (k == "email")
        content[k] = "ada@example.com";
      else if (k == "password")
        content[k] = "correct-horse";
      else if (const auto* one_of = p.if_contains("oneOf"))
        content[k] = one_of->as_array()[0].as_object().at("const");
      else if (const auto* en = p.if_contains("enum"))
        content[k] = en->as_array()[0];
      else if (type && *type == "boolean")
        content[k] = true;
      else if (type && (*type == "integer" || *type == "number"))
        content[k] = p.contains("minimum") ? p.at("minimum") : bj::value(30);
      else if (type && *type == "array")
        content[k] = bj::array{p.at("items").as_object().at("enum").as_array()[0]};
      else if (const auto* f = p.if_contains("format"); f && *f == "date")
        content[k] = "2030-01-02";
      else if (f && *f == "time")
        content[k] = "10:30";
      else
        content[k] = "Planning";
    }
    return mcp::ElicitationResult{.action = "accept", .content = content};
  });
  client.connect(streamable(base + "/mcp"));
  const auto tools = tool_names(client);
  for (const char* want : {"register_user", "create_event", "update_shipping_address"})
    EXPECT_TRUE(has(tools, want)) << want;

  const auto reg = client.call_tool("register_user");
  EXPECT_FALSE(reg.is_error) << first_text(reg);
  EXPECT_EQ(first_text(reg),
            "Registration successful!\n\nUsername: ada_l\nEmail: ada@example.com\nNewsletter: Yes");
  const auto event = client.call_tool("create_event");
  EXPECT_FALSE(event.is_error) << first_text(event);
  EXPECT_GE(asked.items().size(), 3u) << "one question, then the two steps of create_event";
  decline = true;
  EXPECT_EQ(first_text(client.call_tool("register_user")), "Registration cancelled by user.");
}

// --- standaloneSseWithGetStreamableHttp.js: resources/list_changed on the GET stream ------------

TEST(TsStandaloneGetStream, ResourceListChangedArrives) {
  auto server = ts_example("standaloneSseWithGetStreamableHttp.js");
  const std::string base = server->url();
  ASSERT_FALSE(base.empty());
  Recorder changed;
  mcp::Client client(options());
  client.on_resources_list_changed([&] { changed.add("resources"); });
  client.connect(streamable(base + "/mcp"));
  const std::size_t before = client.list_resources().size();
  EXPECT_GE(before, 1u);
  // The server adds a resource every 5 s and announces it on the standalone stream.
  ASSERT_GE(changed.wait_for(1, 15s).size(), 1u) << "no resources/list_changed within 15 s";
  EXPECT_GT(client.list_resources().size(), before);
  const auto r = client.read_resource("https://mcp-example.com/dynamic/example-resource");
  ASSERT_EQ(r.contents.size(), 1u);
  EXPECT_EQ(r.contents[0].text.value_or(""), "Initial content for example-resource");
}

// --- the legacy HTTP+SSE transport ------------------------------------------------------------

TEST(TsSimpleSseServer, ToolWithLogsOverTheLegacyTransport) {
  auto server = ts_example("simpleSseServer.js");
  const std::string base = server->url();
  ASSERT_FALSE(base.empty());
  Recorder logs;
  mcp::Client client(options());
  client.on_log([&](const mcp::LogMessage&) { logs.add("log"); });
  client.connect(legacy_sse(base + "/mcp"));
  EXPECT_TRUE(has(tool_names(client), "start-notification-stream"));
  const auto r = client.call_tool("start-notification-stream", {{"interval", 20}, {"count", 3}});
  EXPECT_FALSE(r.is_error);
  EXPECT_EQ(first_text(r), "Completed sending 3 notifications every 20ms");
  EXPECT_GE(logs.wait_for(3, 5s).size(), 3u);
}

TEST(TsSseAndStreamableCompatible, BothTransportsOfOneServer) {
  auto server = ts_example("sseAndStreamableHttpCompatibleServer.js");
  const std::string base = server->url();
  ASSERT_FALSE(base.empty());
  for (const bool sse : {false, true}) {
    SCOPED_TRACE(sse ? "legacy SSE" : "Streamable HTTP");
    Recorder logs;
    mcp::Client client(options());
    client.on_log([&](const mcp::LogMessage&) { logs.add("log"); });
    client.connect(sse ? legacy_sse(base + "/sse") : streamable(base + "/mcp"));
    EXPECT_TRUE(has(tool_names(client), "start-notification-stream"));
    const auto r = client.call_tool("start-notification-stream", {{"interval", 20}, {"count", 2}});
    EXPECT_FALSE(r.is_error) << first_text(r);
    EXPECT_GE(logs.wait_for(2, 5s).size(), 2u);
  }
}

// --- ssePollingExample.js: the server closes an answer's stream; the client resumes it ----------

TEST(TsSsePolling, AnswerClosedByTheServerIsResumedWithLastEventId) {
  auto server = ts_example("ssePollingExample.js");
  const std::string base = server->url();
  ASSERT_FALSE(base.empty());
  Recorder logs;
  mcp::Client client(options());
  client.on_log([&](const mcp::LogMessage& m) {
    logs.add(m.data.is_string() ? std::string(m.data.as_string()) : jsonio::to_string(m.data));
  });
  client.connect(streamable(base + "/mcp"));
  // Two log messages, then the server ends the answer's stream (retry: 2 s); two more are
  // stored meanwhile and replayed on the GET with Last-Event-ID, then the answer.
  const auto r = client.call_tool("long-task");
  EXPECT_EQ(first_text(r), "Long task completed successfully!");
  const auto seen = logs.wait_for(4, 5s);
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "Progress: 25% - Starting work...", "Progress: 50% - Halfway there...",
                      "Progress: 75% - Almost done (sent while client disconnected)...",
                      "Progress: 100% - Complete!"}));
}

// --- toolWithSampleServer.js (stdio): sampling ------------------------------------------------

TEST(TsSamplingStdio, ToolAsksTheClientsModel) {
  Recorder asked;
  mcp::Client client(options());
  client.on_sampling([&](const mcp::SamplingRequest& rq) {
    asked.add(std::to_string(rq.max_tokens));
    return mcp::SamplingResult{.content = mcp::text_content("A short summary."),
                               .model = "stub-model",
                               .stop_reason = "endTurn"};
  });
  client.connect(stdio(MCP_TEST_NODE, {example("toolWithSampleServer.js")}, "ts-sampling"));
  EXPECT_EQ(first_text(client.call_tool("summarize", {{"text", "A long text."}})),
            "A short summary.");
  EXPECT_EQ(asked.items(), (std::vector<std::string>{"500"}));
}

// --- progressExample.js (stdio): progress, cancellation -----------------------------------------

TEST(TsProgressStdio, ProgressInOrderThenCancellation) {
  mcp::Client client(options());
  client.connect(stdio(MCP_TEST_NODE, {example("progressExample.js")}, "ts-progress"));
  EXPECT_EQ(client.server().implementation.name, "progress-example");
  std::vector<std::pair<double, double>> seen;
  const auto r = client.call_tool("count", {{"n", 4}}, {.on_progress = [&](const mcp::Progress& p) {
                                    seen.emplace_back(p.progress, p.total.value_or(-1));
                                  }});
  EXPECT_EQ(first_text(r), "Counted to 4");
  EXPECT_EQ(seen, (std::vector<std::pair<double, double>>{{1, 4}, {2, 4}, {3, 4}, {4, 4}}));

  // 100 steps of 100 ms: cancelled after its second progress report.
  Recorder progress;
  mcp::CancellationToken token;
  std::thread canceller([&] {
    progress.wait_for(2, 5s);
    token.cancel();
  });
  const auto t0 = Clock::now();
  try {
    client.call_tool(
        "count", {{"n", 100}},
        {.on_progress = [&](const mcp::Progress&) { progress.add("p"); }, .cancellation = &token});
    ADD_FAILURE() << "count ran to its end despite the cancellation";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kCancelled) << e.what();
  }
  canceller.join();
  EXPECT_LT(Clock::now() - t0, 3s);
  EXPECT_EQ(first_text(client.call_tool("count", {{"n", 1}})), "Counted to 1");
}

}  // namespace
