// mcp::Client over stdio against the SDK's conformance fixture server (apps/mcp-conformance-
// server), in both protocol eras: the handshake, tools (typed and raw), resources, prompts,
// completion, progress, cancellation, deadlines, list_changed and log notifications, the
// server's questions (2025-11-25 requests, 2026-07-28 input_required rounds) and tasks.
#include <atomic>
#include <boost/describe.hpp>
#include <thread>

#include "client_e2e.hpp"
#include "jsonio/json_text.hpp"

namespace {

using namespace client_e2e;
using mcp::ClientError;
namespace bj = boost::json;

struct AddArgs {
  double a = 0;
  double b = 0;
};
BOOST_DESCRIBE_STRUCT(AddArgs, (), (a, b))
struct AddResult {
  double sum = 0;
};
BOOST_DESCRIBE_STRUCT(AddResult, (), (sum))
struct EchoArgs {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(EchoArgs, (), (text))
struct WrongResult {
  std::string sum;  // the server sends a number
};
BOOST_DESCRIBE_STRUCT(WrongResult, (), (sum))

const char* era_name(mcp::VersionNegotiation v) {
  return v == mcp::VersionNegotiation::kLegacy ? "legacy" : "modern";
}

class ConformanceServer : public ::testing::TestWithParam<mcp::VersionNegotiation> {
 protected:
  bool legacy() const { return GetParam() == mcp::VersionNegotiation::kLegacy; }

  mcp::ClientOptions options() const {
    return {.info = {.name = "client-e2e", .version = "1.0.0"},
            .versions = GetParam(),
            .request_timeout = std::chrono::seconds(20),
            .log_level = mcp::LogLevel::kDebug};
  }
  // Connects `client` to a fresh fixture server over stdio.
  void connect(mcp::Client& client) {
    client.connect(stdio(MCP_TEST_CONFORMANCE_SERVER, {"--stdio"}, "conformance-server"));
  }
};

TEST_P(ConformanceServer, ConnectsInTheEraAsked) {
  mcp::Client client(options());
  connect(client);
  EXPECT_TRUE(client.connected());
  EXPECT_EQ(client.server().implementation.name, "mcp-conformance-server");
  EXPECT_EQ(client.server().implementation.version, "0.1.0");
  EXPECT_EQ(client.server().instructions, "Fixture server for the MCP conformance suite.");
  EXPECT_TRUE(client.server_supports("tools"));
  EXPECT_TRUE(client.server_supports("resources"));
  EXPECT_TRUE(client.server_supports("prompts"));
  EXPECT_TRUE(client.server_supports("tasks"));
  if (legacy()) {
    EXPECT_EQ(client.era(), mcp::Era::kLegacy);
    EXPECT_EQ(client.protocol_version(), "2025-11-25");
    client.ping();
  } else {
    EXPECT_EQ(client.era(), mcp::Era::kModern);
    EXPECT_EQ(client.protocol_version(), "2026-07-28");
    EXPECT_FALSE(client.server().supported_versions.empty());
    try {
      client.ping();
      ADD_FAILURE() << "ping in the modern era";
    } catch (const ClientError& e) {
      EXPECT_EQ(e.kind(), ClientError::Kind::kUnsupported);
    }
  }
  client.close();
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.closed_reason(), "closed by the client");
  try {
    client.list_tools();
    ADD_FAILURE() << "a call after close()";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTransportClosed);
  }
}

TEST_P(ConformanceServer, ToolsTypedAndRaw) {
  mcp::Client client(options());
  connect(client);
  auto tools = client.list_tools();
  auto find = [&](const std::string& n) {
    for (const auto& t : tools)
      if (t.name == n) return &t;
    return static_cast<const mcp::ToolSpec*>(nullptr);
  };
  ASSERT_NE(find("add"), nullptr);
  EXPECT_EQ(find("add")->description, "Adds two numbers");
  EXPECT_EQ(find("add")->annotations.read_only_hint, true);
  EXPECT_TRUE(find("add")->output_schema.is_object());
  ASSERT_NE(find("slow_compute"), nullptr);
  EXPECT_EQ(find("slow_compute")->task_support, mcp::TaskSupport::kOptional);
  EXPECT_GT(tools.size(), 30u);

  EXPECT_EQ(client.call_tool<AddResult>("add", AddArgs{.a = 2, .b = 3.5}).sum, 5.5);
  mcp::CallToolResult raw = client.call_tool("echo", {{"text", "hi"}});
  EXPECT_FALSE(raw.is_error);
  EXPECT_EQ(first_text(raw), "hi");
  EXPECT_EQ(first_text(client.call_tool<mcp::CallToolResult>("echo", EchoArgs{"typed in"})),
            "typed in");
  // x-mcp-header arguments (mirrored into headers over modern HTTP) reach the tool.
  EXPECT_EQ(first_text(client.call_tool("test_custom_header", {{"region", "eu"}})), "region=eu");

  // A tool's failure is a result; typed, it is a ClientError naming the tool's text.
  mcp::CallToolResult failed = client.call_tool("test_error_handling");
  EXPECT_TRUE(failed.is_error);
  try {
    client.call_tool<AddResult>("test_error_handling", AddArgs{});
    ADD_FAILURE() << "typed call of a failing tool";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kToolError);
  }
  // A result that does not fit the type names the field.
  try {
    client.call_tool<WrongResult>("add", AddArgs{.a = 1, .b = 1});
    ADD_FAILURE() << "a result that does not fit";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kMalformedAnswer);
    EXPECT_NE(std::string(e.what()).find("result.sum: expected string, got number"),
              std::string::npos)
        << e.what();
  }
  // Invalid arguments are the tool's failure too (SEP-1303); an unknown tool is the server's
  // protocol error.
  EXPECT_TRUE(client.call_tool("add", {{"a", "x"}}).is_error);
  try {
    client.call_tool("no_such_tool");
    ADD_FAILURE() << "unknown tool";
  } catch (const ClientError& e) {
    ADD_FAILURE() << "a local error for the server's: " << e.what();
  } catch (const mcp::Error& e) {
    EXPECT_EQ(e.code(), mcp::error_code::kInvalidParams);
  }
}

TEST_P(ConformanceServer, ResourcesPromptsCompletion) {
  mcp::Client client(options());
  connect(client);
  auto resources = client.list_resources();
  bool found = false;
  for (const auto& r : resources) found = found || r.uri == "test://static-text";
  EXPECT_TRUE(found);
  auto templates = client.list_resource_templates();
  ASSERT_FALSE(templates.empty());
  EXPECT_EQ(templates[0].uri_template, "test://template/{id}/data");

  auto text = client.read_resource("test://static-text");
  ASSERT_EQ(text.contents.size(), 1u);
  EXPECT_EQ(text.contents[0].text.value_or(""), "This is the content of the static text resource.");
  auto blob = client.read_resource("test://static-binary");
  ASSERT_EQ(blob.contents.size(), 1u);
  EXPECT_TRUE(blob.contents[0].blob.has_value());
  EXPECT_EQ(blob.contents[0].mime_type, "image/png");
  auto templated = client.read_resource("test://template/42/data");
  ASSERT_EQ(templated.contents.size(), 1u);
  EXPECT_EQ(jsonio::parse_or_throw(*templated.contents[0].text).at("id"), "42");
  try {
    client.read_resource("test://nothing-here");
    ADD_FAILURE() << "reading a resource that does not exist";
  } catch (const mcp::Error& e) {
    EXPECT_EQ(e.code(),
              legacy() ? mcp::error_code::kResourceNotFound : mcp::error_code::kInvalidParams);
  }

  auto prompts = client.list_prompts();
  const mcp::PromptSpec* with_args = nullptr;
  for (const auto& p : prompts)
    if (p.name == "test_prompt_with_arguments") with_args = &p;
  ASSERT_NE(with_args, nullptr);
  ASSERT_EQ(with_args->arguments.size(), 2u);
  EXPECT_TRUE(with_args->arguments[0].required);
  auto got = client.get_prompt("test_prompt_with_arguments", {{"arg1", "a"}, {"arg2", "b"}});
  ASSERT_EQ(got.messages.size(), 1u);
  EXPECT_EQ(got.messages[0].role, "user");
  EXPECT_EQ(got.messages[0].content.at("text"), "Prompt with arguments: arg1='a', arg2='b'");

  auto completion =
      client.complete(mcp::Client::prompt_ref("test_prompt_with_arguments"), "arg1", "par");
  EXPECT_EQ(completion.values, (std::vector<std::string>{"paris", "park", "party"}));
  EXPECT_EQ(completion.total.value_or(-1), 3);
}

TEST_P(ConformanceServer, ProgressArrivesInOrder) {
  mcp::Client client(options());
  connect(client);
  std::vector<double> seen;  // on the notification thread; read after the call returned
  auto r =
      client.call_tool("test_tool_with_progress", {}, {.on_progress = [&](const mcp::Progress& p) {
                         seen.push_back(p.progress);
                         EXPECT_EQ(p.total.value_or(0), 100);
                       }});
  EXPECT_EQ(first_text(r), "Tool with progress executed successfully");
  // Progress travels on the notification thread and the answer on the transport's: what
  // arrived before the answer has been delivered once the call returns.
  EXPECT_EQ(seen, (std::vector<double>{0, 50, 100}));
}

TEST_P(ConformanceServer, CancellationEndsTheCallAndTellsTheServer) {
  mcp::Client client(options());
  connect(client);
  mcp::CancellationToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    token.cancel();
  });
  auto t0 = std::chrono::steady_clock::now();
  try {
    client.call_tool("slow", {}, {.cancellation = &token});
    ADD_FAILURE() << "a cancelled call returned";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kCancelled);
    EXPECT_NE(std::string(e.what()).find("slow"), std::string::npos) << e.what();
  }
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  // The connection serves on; a token cancelled already stops a call before it is sent.
  EXPECT_EQ(client.call_tool<AddResult>("add", AddArgs{.a = 1, .b = 1}).sum, 2);
  try {
    client.call_tool("echo", {{"text", "x"}}, {.cancellation = &token});
    ADD_FAILURE() << "a call with a cancelled token";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kCancelled);
  }
}

TEST_P(ConformanceServer, DeadlineFailsTheCall) {
  mcp::Client client(options());
  connect(client);
  auto t0 = std::chrono::steady_clock::now();
  try {
    client.call_tool("slow", {}, {.timeout = 300ms});
    ADD_FAILURE() << "a call past its deadline returned";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.kind(), ClientError::Kind::kTimeout);
    EXPECT_EQ(e.code(), -32001);
    EXPECT_NE(std::string(e.what()).find("0.3 s"), std::string::npos) << e.what();
  }
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(client.stats().pending_requests, 0u);
  EXPECT_EQ(client.call_tool<AddResult>("add", AddArgs{.a = 2, .b = 2}).sum, 4);
}

TEST_P(ConformanceServer, ListChangedAndLogNotifications) {
  mcp::Client client(options());
  Recorder events;
  client.on_tools_list_changed([&] { events.add("tools"); });
  client.on_prompts_list_changed([&] { events.add("prompts"); });
  client.on_log([&](const mcp::LogMessage& m) {
    events.add("log:" + std::string(mcp::to_string(m.level)) + ":" +
               (m.data.is_string() ? std::string(m.data.as_string()) : jsonio::to_string(m.data)));
  });
  connect(client);
  client.call_tool("test_trigger_tool_change");
  client.call_tool("test_trigger_prompt_change");
  auto r = client.call_tool("test_tool_with_logging");
  EXPECT_EQ(first_text(r), "Tool with logging executed successfully");
  auto seen = events.wait_for(5);
  auto has = [&](const std::string& s) {
    return std::find(seen.begin(), seen.end(), s) != seen.end();
  };
  EXPECT_TRUE(has("tools"));
  EXPECT_TRUE(has("prompts"));
  EXPECT_TRUE(has("log:info:Tool execution started"));
  EXPECT_TRUE(has("log:info:Tool execution completed"));
  bool dynamic = false;
  for (const auto& t : client.list_tools()) dynamic = dynamic || t.name == "test_dynamic_tool";
  EXPECT_TRUE(dynamic);
}

TEST_P(ConformanceServer, ServerQuestionsAnsweredByHandlers) {
  mcp::Client client(options());
  Recorder asked;
  client.on_elicitation([&](const mcp::ElicitationRequest& rq) {
    asked.add("elicit:" + rq.message);
    bj::object content;
    if (rq.requested_schema.is_object())
      for (const auto& [k, v] : rq.requested_schema.at("properties").as_object()) {
        std::string type(v.at("type").as_string());
        if (type == "boolean")
          content[k] = true;
        else
          content[k] = "Ada";
      }
    return mcp::ElicitationResult{.action = "accept", .content = content};
  });
  client.on_sampling([&](const mcp::SamplingRequest& rq) {
    asked.add("sample:" + std::to_string(rq.messages.size()));
    return mcp::SamplingResult{.content = mcp::text_content("Paris"), .model = "test-model"};
  });
  client.on_roots([&] {
    asked.add("roots");
    return std::vector<mcp::Root>{{.uri = "file:///work", .name = "work"}};
  });
  connect(client);
  if (legacy()) {
    // 2025-11-25: requests of the server's, on the client's handler threads.
    EXPECT_EQ(first_text(client.call_tool("test_sampling", {{"prompt", "Capital?"}})),
              "LLM response: Paris");
    auto r = client.call_tool("test_elicitation", {{"message", "Who are you?"}});
    EXPECT_NE(first_text(r).find("\"username\":\"Ada\""), std::string::npos) << first_text(r);
    EXPECT_EQ(first_text(client.call_tool("test_missing_capability")), "Client declared sampling");
  } else {
    // 2026-07-28: input_required results, answered and retried.
    EXPECT_EQ(first_text(client.call_tool("test_input_required_result_elicitation")),
              "Hello, Ada!");
    EXPECT_EQ(first_text(client.call_tool("test_input_required_result_sampling")),
              "Sampling result: Paris");
    EXPECT_EQ(first_text(client.call_tool("test_input_required_result_list_roots")),
              R"(Roots: [{"uri":"file:///work","name":"work"}])");
    EXPECT_EQ(first_text(client.call_tool("test_input_required_result_multi_round")),
              "Completed both rounds");
    EXPECT_EQ(first_text(client.call_tool("test_input_required_result_request_state")),
              "state-ok: confirmation received");
    EXPECT_EQ(first_text(client.call_tool("test_input_required_result_multiple_inputs")),
              "All inputs received");
    auto prompt = client.get_prompt("test_input_required_result_prompt");
    ASSERT_EQ(prompt.messages.size(), 1u);
    EXPECT_EQ(prompt.messages[0].content.at("text"), "Context: Ada");
    EXPECT_EQ(first_text(client.call_tool("test_missing_capability")), "Client declared sampling");
  }
  EXPECT_FALSE(asked.items().empty());
}

// A proxy's hooks: one handler for all the requests of a 2026-07-28 round, and the input
// capabilities of one call declared in place of the handlers'. A 2025-11-25 server's requests,
// which come one at a time, still go to the per-method handlers.
TEST_P(ConformanceServer, ARoundsRequestsAnsweredTogetherAndCapabilitiesPerCall) {
  mcp::Client client(options());
  std::atomic<int> per_method{0};
  client.on_elicitation([&](const mcp::ElicitationRequest&) {
    ++per_method;
    return mcp::ElicitationResult{.action = "accept", .content = bj::object{{"username", "Ada"}}};
  });
  client.on_sampling([&](const mcp::SamplingRequest&) {
    ++per_method;
    return mcp::SamplingResult{.content = mcp::text_content("Paris"), .model = "test-model"};
  });
  client.on_roots([&] {
    ++per_method;
    return std::vector<mcp::Root>{};
  });
  std::vector<std::vector<std::string>> rounds;  // the keys of each call of the handler
  client.on_input_requests([&](const bj::object& requests) {
    std::vector<std::string> keys;
    bj::object answers;
    for (const auto& [key, rq] : requests) {
      keys.emplace_back(key);
      const std::string method(rq.at("method").as_string());
      if (method == "elicitation/create")
        answers[key] = bj::object{{"action", "accept"}, {"content", bj::object{{"name", "Ada"}}}};
      else if (method == "sampling/createMessage")
        answers[key] = bj::object{{"role", "assistant"},
                                  {"content", bj::object{{"type", "text"}, {"text", "Hi"}}},
                                  {"model", "m"}};
      else
        answers[key] = bj::object{{"roots", bj::array{}}};
    }
    rounds.push_back(std::move(keys));
    return answers;
  });
  connect(client);
  if (legacy()) {
    EXPECT_EQ(first_text(client.call_tool("test_sampling", {{"prompt", "Capital?"}})),
              "LLM response: Paris");
    EXPECT_EQ(per_method.load(), 1);
    EXPECT_TRUE(rounds.empty());
    return;
  }
  EXPECT_EQ(first_text(client.call_tool("test_input_required_result_multiple_inputs")),
            "All inputs received");
  EXPECT_EQ(per_method.load(), 0);
  ASSERT_EQ(rounds.size(), 1u);
  EXPECT_EQ(rounds[0], (std::vector<std::string>{"user_name", "greeting", "client_roots"}));
  // Declaring only sampling for this call: the server asks only for it.
  mcp::CallOptions sampling_only;
  sampling_only.input_capabilities = bj::object{{"sampling", bj::object{}}};
  EXPECT_EQ(
      first_text(client.call_tool("test_input_required_result_capabilities", {}, sampling_only)),
      "Inputs received");
  ASSERT_EQ(rounds.size(), 2u);
  EXPECT_EQ(rounds[1], (std::vector<std::string>{"capital_question"}));
  // Declaring none: nothing is asked.
  mcp::CallOptions none;
  none.input_capabilities = bj::object{};
  EXPECT_EQ(first_text(client.call_tool("test_input_required_result_capabilities", {}, none)),
            "The client declared no capability to ask through");
  EXPECT_EQ(rounds.size(), 2u);
}

TEST_P(ConformanceServer, QuestionsWithoutHandlersFailClearly) {
  mcp::Client client(options());  // no handler: no capability declared
  connect(client);
  if (legacy()) {
    EXPECT_EQ(first_text(client.call_tool("test_sampling", {{"prompt", "x"}})),
              "Client does not support sampling");
  } else {
    try {
      client.call_tool("test_input_required_result_elicitation");
      ADD_FAILURE() << "an input request without a handler";
    } catch (const ClientError& e) {
      EXPECT_EQ(e.kind(), ClientError::Kind::kUnsupported);
      EXPECT_NE(std::string(e.what()).find("no elicitation handler"), std::string::npos)
          << e.what();
    }
  }
  // The server refuses a tool that needs sampling: its own error (-32021 in 2026-07-28).
  try {
    client.call_tool("test_missing_capability");
    ADD_FAILURE() << "a tool that needs sampling";
  } catch (const ClientError& e) {
    ADD_FAILURE() << "a local error for the server's: " << e.what();
  } catch (const mcp::Error& e) {
    EXPECT_NE(std::string(e.what()).find("sampling"), std::string::npos) << e.what();
    if (!legacy()) {
      EXPECT_EQ(e.code(), mcp::error_code::kMissingRequiredClientCapability);
    }
  }
}

TEST_P(ConformanceServer, Tasks) {
  mcp::Client client(options());
  client.on_elicitation([](const mcp::ElicitationRequest&) {
    return mcp::ElicitationResult{.action = "accept",
                                  .content = {{"confirm", true}, {"name", "Ada"}}};
  });
  connect(client);
  // A tool called as a task, polled and awaited.
  mcp::ToolTask started = client.call_tool_as_task("slow_compute", {{"seconds", 0.3}});
  ASSERT_TRUE(started.task.has_value());
  EXPECT_FALSE(started.task->task_id.empty());
  EXPECT_EQ(started.task->status, "working");
  mcp::TaskInfo info = client.get_task(started.task->task_id);
  EXPECT_EQ(info.task_id, started.task->task_id);
  auto done = client.task_result(started.task->task_id);
  EXPECT_EQ(first_text(done), "Computed result after 0.3s");
  if (legacy()) {
    bool listed = false;
    for (const auto& t : client.list_tasks()) listed = listed || t.task_id == info.task_id;
    EXPECT_TRUE(listed);
  }

  // Cancelled while it works.
  mcp::ToolTask long_one = client.call_tool_as_task("slow_compute", {{"seconds", 30}});
  ASSERT_TRUE(long_one.task.has_value());
  client.cancel_task(long_one.task->task_id);
  EXPECT_EQ(client.get_task(long_one.task->task_id).status, "cancelled");

  // A task whose tool fails: the result says so.
  mcp::ToolTask failing = client.call_tool_as_task("failing_job");
  ASSERT_TRUE(failing.task.has_value());
  EXPECT_TRUE(client.task_result(failing.task->task_id).is_error);

  if (!legacy()) {
    // 2026-07-28: the server decides; call_tool follows a task to its end, answering its
    // input requests (tasks/update) on the way.
    EXPECT_EQ(first_text(client.call_tool("slow_compute", {{"seconds", 0.2}, {"label", "x"}})),
              "Computed x after 0.2s");
    EXPECT_EQ(first_text(client.call_tool("confirm_delete", {{"filename", "a.txt"}})),
              "Deleted a.txt");
    EXPECT_EQ(first_text(client.call_tool("test_tool_with_task")), "Hello, Ada, from a task!");
    try {
      client.call_tool("protocol_error_job");
      ADD_FAILURE() << "a task that ends in a protocol error";
    } catch (const ClientError& e) {
      ADD_FAILURE() << e.what();
    } catch (const mcp::Error& e) {
      EXPECT_EQ(e.code(), mcp::error_code::kInternalError);
      EXPECT_EQ(std::string(e.what()), "protocol_error_job: internal failure");
    }
    // The deadline of a call that became a task cancels the task.
    try {
      client.call_tool("slow_compute", {{"seconds", 30}}, {.timeout = 500ms});
      ADD_FAILURE() << "a task past its deadline";
    } catch (const ClientError& e) {
      EXPECT_EQ(e.kind(), ClientError::Kind::kTimeout);
    }
  }
}

TEST_P(ConformanceServer, Subscriptions) {
  mcp::Client client(options());
  connect(client);
  client.subscribe("test://watched-resource");
  client.unsubscribe("test://watched-resource");
  if (!legacy()) {
    // The modern listen stream acknowledges what it accepted.
    client.subscribe("test://static-text");
    client.unsubscribe("test://static-text");
  }
  EXPECT_EQ(client.call_tool<AddResult>("add", AddArgs{.a = 1, .b = 2}).sum, 3);
}

TEST_P(ConformanceServer, ConcurrentCallsFromManyThreads) {
  mcp::Client client(options());
  connect(client);
  std::atomic<int> right{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        try {
          if (client.call_tool<AddResult>("add", AddArgs{.a = double(t), .b = double(i)}).sum ==
              t + i)
            ++right;
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(right.load(), 200);
  EXPECT_EQ(client.stats().pending_requests, 0u);
  EXPECT_EQ(client.stats().unexpected_responses, 0u);
}

INSTANTIATE_TEST_SUITE_P(BothEras, ConformanceServer,
                         ::testing::Values(mcp::VersionNegotiation::kLegacy,
                                           mcp::VersionNegotiation::kAuto),
                         [](const auto& p) { return std::string(era_name(p.param)); });

}  // namespace
