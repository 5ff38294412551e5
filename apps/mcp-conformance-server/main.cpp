// mcp-conformance-server: the fixture of @modelcontextprotocol/conformance (tools, resources and
// prompts with the exact payloads the scenarios expect), served over Streamable HTTP (+ legacy
// SSE), or over stdio with --stdio. It is also a worked example of the mcp SDK: typed tools,
// raw tools, MRTR, progress, logging, server->client requests, templates and prompts.
//
//   mcp-conformance-server [SDK transport flags] [--session-ttl S] [--bearer TOKEN
//                          [--require-scope SCOPE]]
// The transport flags are the SDK's (mcp/transport_flags.hpp; --help lists them); here HTTP on
// a free port is the default. Prints "listening on http://HOST:PORT/mcp" to stderr once bound.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/describe.hpp>
#include <csignal>
#include <cstring>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include "jsonio/json_text.hpp"
#include "mcp/http.hpp"
#include "mcp/serve.hpp"
#include "mcp/server.hpp"
#include "mcp/stdio.hpp"
#include "mcp/transport_flags.hpp"

namespace bj = boost::json;
using namespace std::chrono_literals;

namespace {

const char* kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg"
    "==";
const char* kWav = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA=";

struct NoArgs {};
BOOST_DESCRIBE_STRUCT(NoArgs, (), ())

struct SamplingArgs {
  std::string prompt;
  static std::map<std::string, std::string> mcp_field_docs() {
    return {{"prompt", "The prompt to send to the LLM"}};
  }
};
BOOST_DESCRIBE_STRUCT(SamplingArgs, (), (prompt))

struct ElicitArgs {
  std::string message;
  static std::map<std::string, std::string> mcp_field_docs() {
    return {{"message", "The message to show the user"}};
  }
};
BOOST_DESCRIBE_STRUCT(ElicitArgs, (), (message))

struct EchoArgs {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(EchoArgs, (), (text))

struct AddArgs {
  double a = 0;
  double b = 0;
};
BOOST_DESCRIBE_STRUCT(AddArgs, (), (a, b))
struct AddResult {
  double sum = 0;
};
BOOST_DESCRIBE_STRUCT(AddResult, (), (sum))

bj::object elicit_request(const char* message, bj::object properties, bj::array required) {
  return bj::object{
      {"method", "elicitation/create"},
      {"params", bj::object{{"message", message},
                            {"requestedSchema", bj::object{{"type", "object"},
                                                           {"properties", std::move(properties)},
                                                           {"required", std::move(required)}}}}}};
}

bj::object sampling_request(const char* text, int max_tokens) {
  return bj::object{
      {"method", "sampling/createMessage"},
      {"params",
       bj::object{{"messages", bj::array{bj::object{
                                   {"role", "user"},
                                   {"content", bj::object{{"type", "text"}, {"text", text}}}}}},
                  {"maxTokens", max_tokens}}}};
}

// True when the input response under `key` looks like an accepted elicitation carrying `field`.
const bj::value* elicited(mcp::ToolContext& ctx, const char* key, const char* field) {
  const bj::value* r = ctx.input_response(key);
  if (!r || !r->is_object()) return nullptr;
  auto* content = r->as_object().if_contains("content");
  if (!content || !content->is_object()) return nullptr;
  return content->as_object().if_contains(field);
}

std::string text_of(const bj::value& v) {
  return v.is_string() ? std::string(v.get_string()) : jsonio::to_string(v);
}

struct GreetArgs {
  std::string name;
};
BOOST_DESCRIBE_STRUCT(GreetArgs, (), (name))

struct SlowComputeArgs {
  std::optional<double> seconds;
  std::optional<std::string> label;
  static std::map<std::string, std::string> mcp_field_docs() {
    return {{"seconds", "How long to work (0 = at once)"}, {"label", "Echoed in the result"}};
  }
};
BOOST_DESCRIBE_STRUCT(SlowComputeArgs, (), (seconds, label))

struct FilenameArgs {
  std::string filename;
};
BOOST_DESCRIBE_STRUCT(FilenameArgs, (), (filename))

// Sleeps up to `seconds` in small steps; false when the call was cancelled meanwhile.
bool work_for(mcp::ToolContext& ctx, double seconds) {
  auto end = std::chrono::steady_clock::now() +
             std::chrono::milliseconds(static_cast<long>(std::clamp(seconds, 0.0, 3600.0) * 1000));
  while (std::chrono::steady_clock::now() < end) {
    if (ctx.cancelled()) return false;
    std::this_thread::sleep_for(20ms);
  }
  return !ctx.cancelled();
}

// The tasks extension (io.modelcontextprotocol/tasks, SEP-2663) fixtures of the tasks-*
// scenarios; under 2025-11-25 the same tools serve task-augmented calls.
void register_task_fixtures(mcp::Server& s) {
  using mcp::CallToolResult;
  using mcp::TaskSupport;
  using mcp::ToolContext;
  s.tool<GreetArgs>({.name = "greet", .description = "Greets synchronously (no task)"},
                    [](const GreetArgs& a, ToolContext&) { return "Hello, " + a.name + "!"; });
  s.tool<SlowComputeArgs>({.name = "slow_compute",
                           .description = "Works for `seconds` seconds as a task, then answers",
                           .task_support = TaskSupport::kOptional},
                          [](const SlowComputeArgs& a, ToolContext& ctx) {
                            double secs = a.seconds.value_or(1);
                            if (!work_for(ctx, secs)) return CallToolResult::error("Cancelled");
                            return CallToolResult::text("Computed " + a.label.value_or("result") +
                                                        " after " +
                                                        jsonio::to_string(bj::value(secs)) + "s");
                          });
  s.tool<NoArgs>({.name = "failing_job",
                  .description = "A task whose tool reports an error after about a second",
                  .task_support = TaskSupport::kRequired},
                 [](const NoArgs&, ToolContext& ctx) {
                   work_for(ctx, 1);
                   return CallToolResult::error("failing_job failed, as it always does");
                 });
  s.tool<NoArgs>({.name = "protocol_error_job",
                  .description = "A task that ends in a protocol error",
                  .task_support = TaskSupport::kOptional},
                 [](const NoArgs&, ToolContext& ctx) -> CallToolResult {
                   work_for(ctx, 0.2);
                   throw mcp::Error(mcp::error_code::kInternalError,
                                    "protocol_error_job: internal failure");
                 });
  s.tool<FilenameArgs>(
      {.name = "confirm_delete",
       .description = "Asks for confirmation (input_required), then deletes (pretends to)",
       .task_support = TaskSupport::kOptional},
      [](const FilenameArgs& a, ToolContext& ctx) {
        if (const bj::value* r = ctx.input_response("confirm"); r && r->is_object()) {
          const auto& o = r->as_object();
          bool yes = o.contains("action") && text_of(o.at("action")) == "accept";
          return CallToolResult::text(yes ? "Deleted " + a.filename
                                          : "Kept " + a.filename + " (not confirmed)");
        }
        ctx.require_input(bj::object{
            {"confirm", elicit_request(("Delete " + a.filename + "?").c_str(),
                                       bj::object{{"confirm", bj::object{{"type", "boolean"}}}},
                                       bj::array{"confirm"})}});
      });
  s.tool<NoArgs>(
      {.name = "multi_input",
       .description = "Asks for two inputs at once, then answers",
       .task_support = TaskSupport::kOptional},
      [](const NoArgs&, ToolContext& ctx) {
        if (ctx.input_response("first") && ctx.input_response("second"))
          return CallToolResult::text("Got both inputs");
        auto props = bj::object{{"name", bj::object{{"type", "string"}}}};
        ctx.require_input(bj::object{{"first", elicit_request("First input", props, {"name"})},
                                     {"second", elicit_request("Second input", props, {"name"})}});
      });
  // MRTR first, then a task: the handler asks for the user's name synchronously and only
  // starts the task once it has it (task_deferred + ctx.start_task()).
  s.tool<NoArgs>(
      {.name = "test_tool_with_task",
       .description = "Asks for a name (MRTR), then greets as a task",
       .task_support = TaskSupport::kRequired,
       .task_deferred = true},
      [](const NoArgs&, ToolContext& ctx) {
        const bj::value* n = elicited(ctx, "user_name", "name");
        if (!n)
          ctx.require_input(bj::object{
              {"user_name", elicit_request("What is your name?",
                                           bj::object{{"name", bj::object{{"type", "string"}}}},
                                           bj::array{"name"})}});
        std::string name = text_of(*n);
        ctx.start_task();
        work_for(ctx, 0.3);
        return CallToolResult::text("Hello, " + name + ", from a task!");
      });
}

void register_fixture(mcp::Server& s) {
  using mcp::CallToolResult;
  using mcp::ToolContext;
  auto simple = [&s](const char* name, const char* desc,
                     std::function<CallToolResult(ToolContext&)> fn) {
    s.tool<NoArgs>({.name = name, .description = desc},
                   [fn = std::move(fn)](const NoArgs&, ToolContext& ctx) { return fn(ctx); });
  };

  simple("test_simple_text", "Returns simple text", [](ToolContext&) {
    return CallToolResult::text("This is a simple text response for testing.");
  });
  simple("test_image_content", "Returns an image", [](ToolContext&) {
    CallToolResult r;
    r.content.push_back(mcp::image_content(kPng, "image/png"));
    return r;
  });
  simple("test_audio_content", "Returns audio", [](ToolContext&) {
    CallToolResult r;
    r.content.push_back(mcp::audio_content(kWav, "audio/wav"));
    return r;
  });
  simple("test_embedded_resource", "Returns an embedded resource", [](ToolContext&) {
    CallToolResult r;
    r.content.push_back(mcp::embedded_text_resource("test://embedded-resource", "text/plain",
                                                    "This is an embedded resource content."));
    return r;
  });
  simple("test_multiple_content_types", "Returns text, image and resource", [](ToolContext&) {
    CallToolResult r;
    r.content.push_back(mcp::text_content("Multiple content types test:"));
    r.content.push_back(mcp::image_content(kPng, "image/png"));
    r.content.push_back(mcp::embedded_text_resource(
        "test://mixed-content-resource", "application/json", "{\"test\":\"data\",\"value\":123}"));
    return r;
  });
  simple("test_tool_with_logging", "Logs three messages", [](ToolContext& ctx) {
    ctx.log(mcp::LogLevel::kInfo, "Tool execution started");
    std::this_thread::sleep_for(50ms);
    ctx.log(mcp::LogLevel::kInfo, "Tool processing data");
    std::this_thread::sleep_for(50ms);
    ctx.log(mcp::LogLevel::kInfo, "Tool execution completed");
    return CallToolResult::text("Tool with logging executed successfully");
  });
  simple("test_logging_tool", "Logs a message", [](ToolContext& ctx) {
    ctx.log(mcp::LogLevel::kInfo, "Logging tool message");
    return CallToolResult::text("Logging tool executed");
  });
  simple("test_error_handling", "Always fails", [](ToolContext&) -> CallToolResult {
    throw std::runtime_error("This tool intentionally returns an error for testing");
  });
  simple("test_tool_with_progress", "Reports progress", [](ToolContext& ctx) {
    ctx.progress(0, 100);
    std::this_thread::sleep_for(50ms);
    ctx.progress(50, 100);
    std::this_thread::sleep_for(50ms);
    ctx.progress(100, 100);
    return CallToolResult::text("Tool with progress executed successfully");
  });
  s.tool<SamplingArgs>(
      {.name = "test_sampling", .description = "Asks the client's LLM"},
      [](const SamplingArgs& a, ToolContext& ctx) {
        if (!ctx.client_supports("sampling"))
          return CallToolResult::error("Client does not support sampling");
        bj::value r = ctx.request_client(
            "sampling/createMessage",
            bj::object{
                {"messages", bj::array{bj::object{
                                 {"role", "user"},
                                 {"content", bj::object{{"type", "text"}, {"text", a.prompt}}}}}},
                {"maxTokens", 100}});
        std::string text;
        if (auto* c = r.as_object().if_contains("content"); c && c->is_object())
          if (auto* t = c->as_object().if_contains("text")) text = text_of(*t);
        return CallToolResult::text("LLM response: " + text);
      });
  s.tool<ElicitArgs>(
      {.name = "test_elicitation", .description = "Asks the user"},
      [](const ElicitArgs& a, ToolContext& ctx) {
        if (!ctx.client_supports("elicitation"))
          return CallToolResult::error("Client does not support elicitation");
        bj::value r = ctx.request_client(
            "elicitation/create",
            bj::object{
                {"message", a.message},
                {"requestedSchema",
                 bj::object{
                     {"type", "object"},
                     {"properties",
                      bj::object{{"username", bj::object{{"type", "string"},
                                                         {"description", "User's response"}}},
                                 {"email", bj::object{{"type", "string"},
                                                      {"description", "User's email address"}}}}},
                     {"required", bj::array{"username", "email"}}}}});
        return CallToolResult::text("User response: " + jsonio::to_string(r));
      });
  simple("test_elicitation_sep1034_defaults", "Elicitation with defaults", [](ToolContext& ctx) {
    if (!ctx.client_supports("elicitation"))
      return CallToolResult::error("Client does not support elicitation");
    bj::object props{{"name", bj::object{{"type", "string"}, {"default", "John Doe"}}},
                     {"age", bj::object{{"type", "integer"}, {"default", 30}}},
                     {"score", bj::object{{"type", "number"}, {"default", 95.5}}},
                     {"status", bj::object{{"type", "string"},
                                           {"enum", bj::array{"active", "inactive", "pending"}},
                                           {"default", "active"}}},
                     {"verified", bj::object{{"type", "boolean"}, {"default", true}}}};
    bj::value r = ctx.request_client(
        "elicitation/create",
        bj::object{{"message", "Please review and update the form fields with defaults"},
                   {"requestedSchema", bj::object{{"type", "object"}, {"properties", props}}}});
    const auto& o = r.as_object();
    std::string action = o.contains("action") ? text_of(o.at("action")) : "";
    std::string content = o.contains("content") ? jsonio::to_string(o.at("content")) : "{}";
    return CallToolResult::text("Elicitation completed: action=" + action + ", content=" + content);
  });
  simple("test_elicitation_sep1330_enums", "Elicitation with enum variants", [](ToolContext& ctx) {
    if (!ctx.client_supports("elicitation"))
      return CallToolResult::error("Client does not support elicitation");
    bj::object props{
        {"untitledSingle",
         bj::object{{"type", "string"}, {"enum", bj::array{"option1", "option2", "option3"}}}},
        {"titledSingle",
         bj::object{
             {"type", "string"},
             {"oneOf", bj::array{bj::object{{"const", "value1"}, {"title", "First Option"}},
                                 bj::object{{"const", "value2"}, {"title", "Second Option"}},
                                 bj::object{{"const", "value3"}, {"title", "Third Option"}}}}}},
        {"legacyEnum",
         bj::object{{"type", "string"},
                    {"enum", bj::array{"opt1", "opt2", "opt3"}},
                    {"enumNames", bj::array{"Option One", "Option Two", "Option Three"}}}},
        {"untitledMulti",
         bj::object{{"type", "array"},
                    {"items", bj::object{{"type", "string"},
                                         {"enum", bj::array{"option1", "option2", "option3"}}}}}},
        {"titledMulti",
         bj::object{
             {"type", "array"},
             {"items",
              bj::object{
                  {"anyOf",
                   bj::array{bj::object{{"const", "value1"}, {"title", "First Choice"}},
                             bj::object{{"const", "value2"}, {"title", "Second Choice"}},
                             bj::object{{"const", "value3"}, {"title", "Third Choice"}}}}}}}}};
    bj::value r = ctx.request_client(
        "elicitation/create",
        bj::object{{"message", "Please select options from the enum fields"},
                   {"requestedSchema", bj::object{{"type", "object"}, {"properties", props}}}});
    const auto& o = r.as_object();
    std::string action = o.contains("action") ? text_of(o.at("action")) : "";
    std::string content = o.contains("content") ? jsonio::to_string(o.at("content")) : "{}";
    return CallToolResult::text("Elicitation completed: action=" + action + ", content=" + content);
  });

  // JSON Schema 2020-12 keywords preserved verbatim (raw-schema tool).
  bj::value schema2020 = jsonio::parse_or_throw(
      R"({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
    "$defs":{"address":{"$anchor":"addressDef","type":"object","properties":{"street":{"type":"string"},"city":{"type":"string"}}}},
    "properties":{"name":{"type":"string"},"address":{"$ref":"#/$defs/address"},"contactMethod":{"type":"string","enum":["phone","email"]},
    "phone":{"type":"string"},"email":{"type":"string"}},
    "allOf":[{"anyOf":[{"required":["phone"]},{"required":["email"]}]}],
    "if":{"properties":{"contactMethod":{"const":"phone"}},"required":["contactMethod"]},"then":{"required":["phone"]},
    "else":{"required":["email"]},"additionalProperties":false})");
  s.tool_raw({.name = "json_schema_2020_12_tool",
              .description = "Tool with JSON Schema 2020-12 features",
              .input_schema = schema2020},
             [](const bj::value& args, ToolContext&) {
               return CallToolResult::text("Received: " + jsonio::to_string(args));
             });

  simple("test_reconnection", "Triggers SSE stream closure to test client reconnection",
         [](ToolContext& ctx) {
           ctx.close_sse_stream();  // the client resumes with GET + Last-Event-ID
           std::this_thread::sleep_for(100ms);
           return CallToolResult::text("Reconnection test completed");
         });
  simple("test_trigger_tool_change", "Changes the tool list", [&s](ToolContext&) {
    s.tool<NoArgs>({.name = "test_dynamic_tool", .description = "Added at run time"},
                   [](const NoArgs&, ToolContext&) { return std::string("dynamic"); });
    s.notify_tools_list_changed();
    return CallToolResult::text("Tool list changed");
  });
  simple("test_trigger_prompt_change", "Changes the prompt list", [&s](ToolContext&) {
    s.prompt({.name = "test_dynamic_prompt", .description = "Added at run time"},
             [](const std::map<std::string, std::string>&, mcp::RequestContext&) {
               return mcp::GetPromptResult{.messages = {{"user", mcp::text_content("dynamic")}}};
             });
    s.notify_prompts_list_changed();
    return CallToolResult::text("Prompt list changed");
  });
  simple("test_missing_capability", "Needs the client's sampling capability", [](ToolContext& ctx) {
    ctx.require_client_capability("sampling");
    return CallToolResult::text("Client declared sampling");
  });
  simple("test_streaming_elicitation", "Asks for input (MRTR in 2026-07-28)", [](ToolContext& ctx) {
    if (ctx.era() == mcp::Era::kModern) {
      if (const bj::value* n = elicited(ctx, "user_input", "value"))
        return CallToolResult::text("Got: " + text_of(*n));
      ctx.require_input(bj::object{
          {"user_input", elicit_request("Please provide a value",
                                        bj::object{{"value", bj::object{{"type", "string"}}}},
                                        bj::array{"value"})}});
    }
    return CallToolResult::text("Streaming elicitation needs the 2026-07-28 era");
  });

  // --- MRTR (2026-07-28) ---------------------------------------------------------------------
  simple("test_input_required_result_elicitation", "MRTR: one elicitation", [](ToolContext& ctx) {
    if (const bj::value* n = elicited(ctx, "user_name", "name"))
      return CallToolResult::text("Hello, " + text_of(*n) + "!");
    ctx.require_input(bj::object{
        {"user_name",
         elicit_request("What is your name?", bj::object{{"name", bj::object{{"type", "string"}}}},
                        bj::array{"name"})}});
  });
  simple("test_input_required_result_sampling", "MRTR: one sampling", [](ToolContext& ctx) {
    if (const bj::value* r = ctx.input_response("capital_question"); r && r->is_object()) {
      std::string text;
      if (auto* c = r->as_object().if_contains("content"); c && c->is_object())
        if (auto* t = c->as_object().if_contains("text")) text = text_of(*t);
      return CallToolResult::text("Sampling result: " + text);
    }
    ctx.require_input(
        bj::object{{"capital_question", sampling_request("What is the capital of France?", 100)}});
  });
  simple("test_input_required_result_list_roots", "MRTR: roots/list", [](ToolContext& ctx) {
    if (const bj::value* r = ctx.input_response("client_roots");
        r && r->is_object() && r->as_object().contains("roots"))
      return CallToolResult::text("Roots: " + jsonio::to_string(r->as_object().at("roots")));
    ctx.require_input(bj::object{
        {"client_roots", bj::object{{"method", "roots/list"}, {"params", bj::object{}}}}});
  });
  simple("test_input_required_result_request_state", "MRTR: request state", [](ToolContext& ctx) {
    if (ctx.input_response("confirm") && ctx.request_state() == "awaiting-confirm")
      return CallToolResult::text("state-ok: confirmation received");
    ctx.require_input(
        bj::object{{"confirm", elicit_request("Please confirm",
                                              bj::object{{"ok", bj::object{{"type", "boolean"}}}},
                                              bj::array{"ok"})}},
        "awaiting-confirm");
  });
  simple("test_input_required_result_multiple_inputs", "MRTR: three inputs", [](ToolContext& ctx) {
    if (ctx.input_response("user_name") && ctx.input_response("greeting") &&
        ctx.input_response("client_roots"))
      return CallToolResult::text("All inputs received");
    ctx.require_input(
        bj::object{
            {"user_name", elicit_request("What is your name?",
                                         bj::object{{"name", bj::object{{"type", "string"}}}},
                                         bj::array{"name"})},
            {"greeting", sampling_request("Generate a greeting", 50)},
            {"client_roots", bj::object{{"method", "roots/list"}, {"params", bj::object{}}}}},
        "multi");
  });
  simple("test_input_required_result_multi_round", "MRTR: two rounds", [](ToolContext& ctx) {
    if (ctx.request_state() == "round-2" && ctx.input_response("step2"))
      return CallToolResult::text("Completed both rounds");
    if (ctx.request_state() == "round-1" && ctx.input_response("step1"))
      ctx.require_input(
          bj::object{{"step2", elicit_request("Step 2: What is your favorite color?",
                                              bj::object{{"color", bj::object{{"type", "string"}}}},
                                              bj::array{"color"})}},
          "round-2");
    ctx.require_input(
        bj::object{{"step1", elicit_request("Step 1: What is your name?",
                                            bj::object{{"name", bj::object{{"type", "string"}}}},
                                            bj::array{"name"})}},
        "round-1");
  });
  simple("test_input_required_result_tampered_state", "MRTR: integrity-protected state",
         [](ToolContext& ctx) {
           if (ctx.input_response("confirm") && ctx.request_state() == "trusted")
             return CallToolResult::text("state verified");
           ctx.require_input(
               bj::object{
                   {"confirm", elicit_request("Please confirm",
                                              bj::object{{"ok", bj::object{{"type", "boolean"}}}},
                                              bj::array{"ok"})}},
               "trusted");
         });

  simple("test_input_required_result_capabilities", "MRTR: only what the client supports",
         [](ToolContext& ctx) {
           if (ctx.input_responses()) return CallToolResult::text("Inputs received");
           bj::object reqs;
           if (ctx.client_supports("sampling"))
             reqs["capital_question"] = sampling_request("What is the capital of France?", 100);
           if (ctx.client_supports("elicitation"))
             reqs["user_name"] = elicit_request(
                 "What is your name?", bj::object{{"name", bj::object{{"type", "string"}}}},
                 bj::array{"name"});
           if (ctx.client_supports("roots"))
             reqs["client_roots"] = bj::object{{"method", "roots/list"}, {"params", bj::object{}}};
           if (reqs.empty())
             return CallToolResult::text("The client declared no capability to ask through");
           ctx.require_input(std::move(reqs));
         });
  // A parameter mirrored into an HTTP header (x-mcp-header, 2026-07-28 SEP-2243).
  s.tool_raw(
      {.name = "test_custom_header",
       .description = "Echoes a region routed by header",
       .input_schema = jsonio::parse_or_throw(
           R"({"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}},"required":["region"]})")},
      [](const bj::value& args, ToolContext&) {
        return CallToolResult::text("region=" + text_of(args.as_object().at("region")));
      });

  simple("whoami", "Reports the caller's identity as the SDK sees it", [](ToolContext& ctx) {
    bj::object o{
        {"session", ctx.session_id()},
        {"principal", ctx.principal() ? bj::value(ctx.principal()->subject) : bj::value(nullptr)},
        {"era", ctx.era() == mcp::Era::kModern ? "modern" : "legacy"},
        {"version", ctx.protocol_version()}};
    return CallToolResult::structured(std::move(o));
  });
  simple("slow", "Sleeps up to 10 s, stopping early when cancelled", [](ToolContext& ctx) {
    for (int i = 0; i < 1000 && !ctx.cancelled(); ++i) std::this_thread::sleep_for(10ms);
    return CallToolResult::text(ctx.cancelled() ? "cancelled" : "done");
  });

  // --- a typed tool with structured output (SDK example) ------------------------------------
  s.tool<EchoArgs>({.name = "echo", .description = "Echoes text"},
                   [](const EchoArgs& a, ToolContext&) { return a.text; });
  s.tool<AddArgs>({.name = "add",
                   .description = "Adds two numbers",
                   .annotations = {.read_only_hint = true, .idempotent_hint = true}},
                  [](const AddArgs& a, ToolContext&) { return AddResult{a.a + a.b}; });

  // --- resources -----------------------------------------------------------------------------
  auto text_resource = [&s](const char* uri, const char* name, const char* desc, const char* mime,
                            const char* text) {
    std::string t = text, m = mime;
    s.resource({.uri = uri, .name = name, .description = desc, .mime_type = mime},
               [t, m](const std::string& u, mcp::RequestContext&) {
                 return mcp::ReadResourceResult{{{.uri = u, .mime_type = m, .text = t}}};
               });
  };
  text_resource("test://static-text", "Static Text Resource", "A static text resource for testing",
                "text/plain", "This is the content of the static text resource.");
  s.resource({.uri = "test://static-binary",
              .name = "Static Binary Resource",
              .description = "A static binary resource",
              .mime_type = "image/png"},
             [](const std::string& u, mcp::RequestContext&) {
               return mcp::ReadResourceResult{{{.uri = u, .mime_type = "image/png", .blob = kPng}}};
             });
  text_resource("test://watched-resource", "Watched Resource",
                "A resource that can be subscribed to", "text/plain", "Watched resource content");
  text_resource("test://stateless-static-text", "Stateless Static Text", "A static text resource",
                "text/plain", "This is the content of the stateless static text resource.");
  // Asks for input before it answers (2026-07-28 MRTR), as test_input_required_result_prompt.
  s.resource(
      {.uri = "test://input-required-resource",
       .name = "Input-required Resource",
       .description = "A resource that asks for context before it answers (MRTR)",
       .mime_type = "text/plain"},
      [](const std::string& u, mcp::RequestContext& ctx) {
        if (const bj::value* c = elicited(ctx, "user_context", "context"))
          return mcp::ReadResourceResult{
              {{.uri = u, .mime_type = "text/plain", .text = "Context: " + text_of(*c)}}};
        ctx.require_input(bj::object{
            {"user_context", elicit_request("What context should the resource use?",
                                            bj::object{{"context", bj::object{{"type", "string"}}}},
                                            bj::array{"context"})}});
      });
  s.resource_template(
      {.uri_template = "test://template/{id}/data",
       .name = "Template Resource",
       .description = "A resource template with a parameter",
       .mime_type = "application/json"},
      [](const std::string& u, const std::map<std::string, std::string>& vars,
         mcp::RequestContext&) {
        const std::string& id = vars.at("id");
        bj::object o{{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
        return mcp::ReadResourceResult{
            {{.uri = u, .mime_type = "application/json", .text = jsonio::to_string(o)}}};
      });

  // --- prompts -------------------------------------------------------------------------------
  s.prompt({.name = "test_simple_prompt", .description = "A simple prompt without arguments"},
           [](const std::map<std::string, std::string>&, mcp::RequestContext&) {
             return mcp::GetPromptResult{
                 .messages = {{"user", mcp::text_content("This is a simple prompt for testing.")}}};
           });
  s.prompt(
      {.name = "test_prompt_with_arguments",
       .description = "A prompt with arguments",
       .arguments = {{"arg1", "First test argument", true},
                     {"arg2", "Second test argument", true}}},
      [](const std::map<std::string, std::string>& a, mcp::RequestContext&) {
        return mcp::GetPromptResult{
            .messages = {{"user", mcp::text_content("Prompt with arguments: arg1='" + a.at("arg1") +
                                                    "', arg2='" + a.at("arg2") + "'")}}};
      });
  s.prompt(
      {.name = "test_prompt_with_embedded_resource",
       .description = "A prompt with an embedded resource",
       .arguments = {{"resourceUri", "URI of the resource to embed", true}}},
      [](const std::map<std::string, std::string>& a, mcp::RequestContext&) {
        return mcp::GetPromptResult{
            .messages = {
                {"user", mcp::embedded_text_resource(a.at("resourceUri"), "text/plain",
                                                     "Embedded resource content for testing.")},
                {"user", mcp::text_content("Please process the embedded resource above.")}}};
      });
  s.prompt({.name = "test_prompt_with_image", .description = "A prompt with an image"},
           [](const std::map<std::string, std::string>&, mcp::RequestContext&) {
             return mcp::GetPromptResult{
                 .messages = {{"user", mcp::image_content(kPng, "image/png")},
                              {"user", mcp::text_content("Please analyze the image above.")}}};
           });
  s.prompt(
      {.name = "test_input_required_result_prompt",
       .description = "A prompt that asks for context (MRTR)"},
      [](const std::map<std::string, std::string>&, mcp::RequestContext& ctx) {
        if (const bj::value* c = elicited(ctx, "user_context", "context"))
          return mcp::GetPromptResult{
              .messages = {{"user", mcp::text_content("Context: " + text_of(*c))}}};
        ctx.require_input(bj::object{
            {"user_context", elicit_request("What context should the prompt use?",
                                            bj::object{{"context", bj::object{{"type", "string"}}}},
                                            bj::array{"context"})}});
      });
  s.completion([](const bj::object&, const std::string&, const std::string& value,
                  const std::map<std::string, std::string>&, mcp::RequestContext&) {
    mcp::Completion c;
    for (const char* v : {"paris", "park", "party"})
      if (std::string_view(v).substr(0, value.size()) == value) c.values.emplace_back(v);
    c.total = static_cast<std::int64_t>(c.values.size());
    return c;
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Fixture server of the MCP conformance suite and the SDK's e2e tests",
               "mcp-conformance-server"};
  // The suite is HTTP-only: HTTP on a free port unless the flags (or MCP_*) say otherwise.
  mcp::TransportConfig cfg;
  cfg.kind = mcp::TransportConfig::Kind::kHttp;
  cfg.http.port = 0;
  mcp::add_transport_flags(app, cfg);
  int session_ttl = 1800;
  std::string bearer, require_scope;
  app.add_option("--session-ttl", session_ttl, "seconds an idle legacy session lives")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  auto* bearer_opt =
      app.add_option("--bearer", bearer, "require this bearer token (subject tester, scope mcp)");
  app.add_option("--require-scope", require_scope, "a scope every token must carry")
      ->needs(bearer_opt);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  cfg.http.session_ttl = std::chrono::seconds(session_ttl);
  if (!bearer.empty()) {
    // Test-only verifier: one static token whose subject is "tester" with scope "mcp".
    cfg.http.auth = mcp::AuthOptions{
        .verify = [bearer](std::string_view token) -> std::optional<mcp::Principal> {
          if (token != bearer) return std::nullopt;
          return mcp::Principal{.subject = "tester", .scopes = {"mcp"}};
        },
        .authorization_servers = {"https://auth.example.com"},
        .scopes_supported = {"mcp"}};
    if (!require_scope.empty()) cfg.http.auth->required_scopes = {require_scope};
  }
  mcp::Server server({.info = {.name = "mcp-conformance-server", .version = "0.1.0"},
                      .instructions = "Fixture server for the MCP conformance suite."});
  register_fixture(server);
  register_task_fixtures(server);
  int rc = mcp::serve(server, cfg);
  server.shutdown();
  return rc;
}
