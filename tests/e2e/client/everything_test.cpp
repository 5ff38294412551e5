// mcp::Client over stdio against a server no one here wrote: the official
// @modelcontextprotocol/server-everything (npm, pinned in package.json; the TypeScript SDK 1.x,
// so it speaks the 2025-11-25 era only, and the client falls back to it after its
// server/discover probe). Tools (raw and typed), progress, resources with paging and
// templates, subscriptions and their updates, prompts and completion, logging, the server's
// requests (roots, elicitation, sampling) and a task that asks a question on its way.
#include <sys/stat.h>

#include <boost/describe.hpp>

#include "client_e2e.hpp"
#include "jsonio/json_text.hpp"

namespace {

using namespace client_e2e;
namespace bj = boost::json;

struct SumArgs {
  double a = 0;
  double b = 0;
};
BOOST_DESCRIBE_STRUCT(SumArgs, (), (a, b))
struct WeatherArgs {
  std::string location;
};
BOOST_DESCRIBE_STRUCT(WeatherArgs, (), (location))
struct Weather {
  double temperature = 0;
  std::string conditions;
  double humidity = 0;
};
BOOST_DESCRIBE_STRUCT(Weather, (), (temperature, conditions, humidity))

class Everything : public ::testing::Test {
 protected:
  static bool available() {
    struct stat st {};
    return ::stat(MCP_TEST_NODE, &st) == 0 && ::stat(MCP_TEST_EVERYTHING, &st) == 0;
  }
  void SetUp() override {
    // The server is part of the test set-up (scripts/setup installs it): its absence fails.
    ASSERT_TRUE(available()) << "node_modules not installed: run scripts/setup";
    client_.on_roots([this] {
      events_.add("roots");
      return std::vector<mcp::Root>{{.uri = "file:///tmp/project", .name = "project"}};
    });
    client_.on_elicitation([this](const mcp::ElicitationRequest& rq) {
      events_.add("elicit");
      bj::object content;
      if (rq.requested_schema.is_object())
        if (auto* props = rq.requested_schema.as_object().if_contains("properties"))
          for (const auto& [k, v] : props->as_object()) {
            const auto* type = v.as_object().if_contains("type");
            const auto* one_of = v.as_object().if_contains("oneOf");
            const auto* en = v.as_object().if_contains("enum");
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
    });
    client_.on_sampling([this](const mcp::SamplingRequest& rq) {
      events_.add("sample:" + std::to_string(rq.max_tokens));
      return mcp::SamplingResult{.content = mcp::text_content("a sampled answer"),
                                 .model = "stub-model",
                                 .stop_reason = "endTurn"};
    });
    client_.on_log([this](const mcp::LogMessage& m) {
      events_.add("log:" + std::string(mcp::to_string(m.level)));
    });
    client_.on_resource_updated([this](const std::string& uri) { events_.add("updated:" + uri); });
    client_.connect(stdio(MCP_TEST_NODE, {MCP_TEST_EVERYTHING, "stdio"}, "server-everything"));
  }

  Recorder events_;  // before the client, which its handlers outlive otherwise
  mcp::Client client_{{.info = {.name = "everything-e2e", .version = "1"},
                       .request_timeout = std::chrono::seconds(30)}};
};

TEST_F(Everything, FallsBackToTheLegacyEra) {
  EXPECT_EQ(client_.era(), mcp::Era::kLegacy);
  EXPECT_EQ(client_.protocol_version(), "2025-11-25");
  EXPECT_EQ(client_.server().implementation.name, "mcp-servers/everything");
  EXPECT_FALSE(client_.server().instructions.empty());
  EXPECT_TRUE(client_.server_supports("tools"));
  EXPECT_TRUE(client_.server_supports("tasks"));
  client_.ping();
}

TEST_F(Everything, ToolsRawTypedAndProgress) {
  std::vector<std::string> names;
  for (const auto& t : client_.list_tools()) names.push_back(t.name);
  // Its conditional tools appear because the client declared roots, elicitation and sampling.
  for (const char* want :
       {"echo", "get-sum", "get-structured-content", "trigger-long-running-operation",
        "get-roots-list", "trigger-elicitation-request", "trigger-sampling-request",
        "simulate-research-query"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;

  EXPECT_EQ(first_text(client_.call_tool("echo", {{"message", "hello"}})), "Echo: hello");
  EXPECT_EQ(first_text(client_.call_tool<mcp::CallToolResult>("get-sum", SumArgs{.a = 2, .b = 40})),
            "The sum of 2 and 40 is 42.");
  Weather w = client_.call_tool<Weather>("get-structured-content", WeatherArgs{"Chicago"});
  EXPECT_EQ(w.temperature, 36);
  EXPECT_EQ(w.conditions, "Light rain / drizzle");

  std::vector<double> progress;
  auto r = client_.call_tool(
      "trigger-long-running-operation", {{"duration", 0.4}, {"steps", 4}},
      {.on_progress = [&](const mcp::Progress& p) { progress.push_back(p.progress); }});
  EXPECT_FALSE(r.is_error);
  EXPECT_EQ(progress, (std::vector<double>{1, 2, 3, 4}));
}

TEST_F(Everything, ResourcesPromptsCompletion) {
  auto resources = client_.list_resources();
  EXPECT_FALSE(resources.empty());
  auto templates = client_.list_resource_templates();
  bool text_template = false;
  for (const auto& t : templates)
    text_template = text_template || t.uri_template == "demo://resource/dynamic/text/{resourceId}";
  EXPECT_TRUE(text_template);
  auto text = client_.read_resource("demo://resource/dynamic/text/7");
  ASSERT_EQ(text.contents.size(), 1u);
  EXPECT_EQ(text.contents[0].text.value_or("").rfind("Resource 7: This is a plaintext resource", 0),
            0u);
  auto blob = client_.read_resource("demo://resource/dynamic/blob/3");
  ASSERT_EQ(blob.contents.size(), 1u);
  EXPECT_TRUE(blob.contents[0].blob.has_value());

  std::vector<std::string> prompts;
  for (const auto& p : client_.list_prompts()) prompts.push_back(p.name);
  ASSERT_NE(std::find(prompts.begin(), prompts.end(), "completable-prompt"), prompts.end());
  auto c = client_.complete(mcp::Client::prompt_ref("completable-prompt"), "department", "S");
  EXPECT_EQ(c.values, (std::vector<std::string>{"Sales", "Support"}));
  auto names = client_.complete(mcp::Client::prompt_ref("completable-prompt"), "name", "",
                                {{"department", "Sales"}});
  EXPECT_EQ(names.values, (std::vector<std::string>{"David", "Eve", "Frank"}));
  auto got = client_.get_prompt("completable-prompt", {{"department", "Sales"}, {"name", "Eve"}});
  ASSERT_EQ(got.messages.size(), 1u);
  EXPECT_EQ(got.messages[0].content.at("text"),
            "Please promote Eve to the head of the Sales team.");
}

TEST_F(Everything, SubscriptionsAndLogs) {
  client_.set_log_level(mcp::LogLevel::kDebug);
  const std::string uri = "demo://resource/dynamic/text/1";
  client_.subscribe(uri);
  client_.call_tool("toggle-subscriber-updates");  // sends one update at once, then every 5 s
  client_.call_tool("toggle-simulated-logging");   // one log message at once, then every 5 s
  bool updated = false, logged = false;
  for (const auto& e : events_.wait_for(3, std::chrono::seconds(10))) {
    updated = updated || e == "updated:" + uri;
    logged = logged || e.rfind("log:", 0) == 0;
  }
  EXPECT_TRUE(updated);
  EXPECT_TRUE(logged);
  client_.unsubscribe(uri);
}

TEST_F(Everything, ServerRequestsReachTheHandlers) {
  auto roots = client_.call_tool("get-roots-list");
  EXPECT_NE(first_text(roots).find("file:///tmp/project"), std::string::npos) << first_text(roots);
  auto elicited = client_.call_tool("trigger-elicitation-request");
  EXPECT_NE(first_text(elicited).find("User provided the requested information"), std::string::npos)
      << jsonio::to_string(bj::value(elicited.content));
  auto sampled =
      client_.call_tool("trigger-sampling-request", {{"prompt", "hi"}, {"maxTokens", 50}});
  EXPECT_NE(jsonio::to_string(bj::value(sampled.content)).find("a sampled answer"),
            std::string::npos);
  auto seen = events_.items();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "roots"), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), "elicit"), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), "sample:50"), seen.end());
}

TEST_F(Everything, TaskWithAQuestionOnItsWay) {
  // A tool that only runs as a task (taskSupport "required"); "ambiguous" makes it ask the
  // user through tasks/result before it finishes.
  mcp::ToolTask started = client_.call_tool_as_task("simulate-research-query",
                                                    {{"topic", "python"}, {"ambiguous", true}},
                                                    std::chrono::milliseconds(60000));
  ASSERT_TRUE(started.task.has_value());
  EXPECT_FALSE(started.task->task_id.empty());
  mcp::TaskInfo info = client_.get_task(started.task->task_id);
  EXPECT_FALSE(info.terminal());
  bool listed = false;
  for (const auto& t : client_.list_tasks()) listed = listed || t.task_id == info.task_id;
  EXPECT_TRUE(listed);
  auto result = client_.task_result(started.task->task_id, {.timeout = std::chrono::seconds(30)});
  EXPECT_FALSE(result.is_error);
  EXPECT_NE(first_text(result).find("# Research Report: python (programming)"), std::string::npos)
      << first_text(result).substr(0, 200);
  auto seen = events_.items();
  EXPECT_NE(std::find(seen.begin(), seen.end(), "elicit"), seen.end());
  EXPECT_EQ(client_.get_task(started.task->task_id).status, "completed");
}

}  // namespace
