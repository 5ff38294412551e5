// The protocol engine, driven through Server::handle with an in-memory Outbound.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "jsonio/json_text.hpp"
#include "mcp/server.hpp"
#include "unit/recording_outbound.hpp"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;

using Capture = test_support::RecordingOutbound;

struct EchoArgs {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(EchoArgs, (), (text))
struct SumArgs {
  int a;
  int b;
};
BOOST_DESCRIBE_STRUCT(SumArgs, (), (a, b))
struct SumOut {
  int sum;
};
BOOST_DESCRIBE_STRUCT(SumOut, (), (sum))
struct None {};
BOOST_DESCRIBE_STRUCT(None, (), ())
// A described struct holding a vector of described structs, neither with an operator==.
struct Stop {
  std::string name;
  int minutes = 0;
};
BOOST_DESCRIBE_STRUCT(Stop, (), (name, minutes))
struct Route {
  std::string line;
  std::vector<Stop> stops;
};
BOOST_DESCRIBE_STRUCT(Route, (), (line, stops))

bj::value J(std::string_view s) {
  return jsonio::parse_or_throw(s);
}

const char* kModernMeta =
    R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}})";

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : server(make_options()) {
    server.tool<EchoArgs>({.name = "echo", .description = "Echo"},
                          [](const EchoArgs& a, mcp::ToolContext&) { return a.text; });
    server.tool<SumArgs>({.name = "sum", .description = "Sum"},
                         [](const SumArgs& a, mcp::ToolContext&) { return SumOut{a.a + a.b}; });
    server.tool<None>(
        {.name = "fail", .description = "Throws"},
        [](const None&, mcp::ToolContext&) -> std::string { throw std::runtime_error("boom"); });
    server.tool<None>({.name = "needs_sampling", .description = ""},
                      [](const None&, mcp::ToolContext& ctx) {
                        ctx.require_client_capability("sampling");
                        return std::string("ok");
                      });
    server.tool_raw(
        {.name = "raw",
         .description = "Raw",
         .input_schema =
             J(R"({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]})")},
        [](const bj::value& args, mcp::ToolContext&) {
          return mcp::CallToolResult::text(jsonio::to_string(args));
        });
    server.tool<None>({.name = "slow", .description = ""},
                      [this](const None&, mcp::ToolContext& ctx) {
                        slow_started = true;
                        for (int i = 0; i < 500 && !ctx.cancelled(); ++i)
                          std::this_thread::sleep_for(5ms);
                        slow_saw_cancel = ctx.cancelled();
                        return std::string("slow done");
                      });
    server.tool<None>({.name = "progress", .description = ""},
                      [](const None&, mcp::ToolContext& ctx) {
                        ctx.progress(1, 3);
                        ctx.progress(1, 3);  // not increasing: dropped
                        ctx.progress(2, 3, "half");
                        ctx.log(mcp::LogLevel::kDebug, "dbg");
                        ctx.log(mcp::LogLevel::kError, "err");
                        return std::string("done");
                      });
    server.tool<None>({.name = "ask", .description = ""}, [](const None&, mcp::ToolContext& ctx) {
      if (auto* r = ctx.input_response("q"))
        return "answer=" + jsonio::to_string(*r) + " state=" + ctx.request_state();
      ctx.require_input(
          bj::object{{"q", bj::object{{"method", "roots/list"}, {"params", bj::object{}}}}},
          "plain:s1");
    });
    server.tool<None>({.name = "elicit", .description = ""},
                      [](const None&, mcp::ToolContext& ctx) {
                        return jsonio::to_string(
                            ctx.request_client("elicitation/create", bj::object{{"message", "?"}}));
                      });
    server.tool<None>({.name = "ask2", .description = ""},
                      [](const None&, mcp::ToolContext& ctx) -> std::string {
                        ctx.require_input(bj::object{}, "other");
                      });
    server.resource({.uri = "mem://a", .name = "a", .mime_type = "text/plain"},
                    [](const std::string& u, mcp::RequestContext&) {
                      return mcp::ReadResourceResult{{{.uri = u, .text = "A"}}};
                    });
    server.resource_template(
        {.uri_template = "mem://item/{id}", .name = "item"},
        [](const std::string& u, const std::map<std::string, std::string>& v,
           mcp::RequestContext&) {
          if (v.at("id") == "missing") throw mcp::ResourceNotFound(u);
          return mcp::ReadResourceResult{{{.uri = u, .text = "item " + v.at("id")}}};
        });
    server.prompt({.name = "greet", .arguments = {{"who", "", true}}}, [](const std::map<
                                                                              std::string,
                                                                              std::string>& a,
                                                                          mcp::RequestContext&) {
      return mcp::GetPromptResult{.messages = {{"user", mcp::text_content("hi " + a.at("who"))}}};
    });
    session = std::make_shared<mcp::Session>("sess-1", mcp::TransportKind::kInMemory);
    standalone = std::make_shared<Capture>();
    session->set_standalone(standalone);
    server.attach(session);
  }
  static mcp::ServerOptions make_options() {
    mcp::ServerOptions o;
    o.info = {.name = "unit", .version = "9.9"};
    o.worker_threads = 4;
    o.cache_ttl_ms = 5000;
    return o;
  }

  std::shared_ptr<Capture> call(std::string_view text, mcp::MessageInfo info = {}) {
    auto out = std::make_shared<Capture>();
    server.handle(session, J(text), out, info);
    EXPECT_TRUE(out->wait()) << text;
    return out;
  }
  void initialize(const char* version = "2025-11-25") {
    auto r = call(
        std::string(
            R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":")") +
        version + R"(","capabilities":{"sampling":{}},"clientInfo":{"name":"t","version":"1"}}})");
    call(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  }

  std::atomic<bool> slow_started{false}, slow_saw_cancel{false};
  mcp::Server server;
  std::shared_ptr<mcp::Session> session;
  std::shared_ptr<Capture> standalone;
};

TEST_F(ServerTest, InitializeNegotiatesVersions) {
  for (const char* v : {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}) {
    auto r =
        call(std::string(
                 R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":")") +
             v + R"(","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    EXPECT_EQ(r->response.at("result").at("protocolVersion").as_string(), v);
  }
  auto r = call(
      R"({"jsonrpc":"2.0","id":"x","method":"initialize","params":{"protocolVersion":"1999-01-01","capabilities":{}}})");
  const auto& res = r->response.at("result").as_object();
  EXPECT_EQ(res.at("protocolVersion").as_string(), "2025-11-25");
  EXPECT_EQ(res.at("serverInfo").at("name").as_string(), "unit");
  EXPECT_TRUE(res.at("capabilities").as_object().contains("tools"));
  EXPECT_TRUE(res.at("capabilities").at("resources").at("subscribe").as_bool());
  EXPECT_FALSE(res.contains("resultType"));  // legacy results carry no resultType
  EXPECT_EQ(r->response.at("id").as_string(), "x");
}

TEST_F(ServerTest, JsonRpcShapeErrors) {
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","id":1})")->response.at("error").at("code").as_int64(),
            -32600);
  EXPECT_EQ(call(R"({"jsonrpc":"1.0","id":1,"method":"ping"})")
                ->response.at("error")
                .at("code")
                .as_int64(),
            -32600);
  auto nullid = call(R"({"jsonrpc":"2.0","id":null,"method":"ping"})");
  EXPECT_EQ(nullid->response.at("error").at("code").as_int64(), -32600);
  EXPECT_TRUE(nullid->response.at("id").is_null());
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","id":{},"method":"ping"})")
                ->response.at("error")
                .at("code")
                .as_int64(),
            -32600);
  EXPECT_EQ(call(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])")
                ->response.at("error")
                .at("code")
                .as_int64(),
            -32600);
  EXPECT_EQ(call(R"("hello")")->response.at("error").at("code").as_int64(), -32600);
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","id":2,"method":"nope"})")
                ->response.at("error")
                .at("code")
                .as_int64(),
            -32601);
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":[1]})")
                ->response.at("error")
                .at("code")
                .as_int64(),
            -32602);
  auto ping = call(R"({"jsonrpc":"2.0","id":0,"method":"ping"})");
  EXPECT_EQ(jsonio::to_string(ping->response), R"({"jsonrpc":"2.0","id":0,"result":{}})");
}

TEST_F(ServerTest, NotificationsAreNeverAnswered) {
  auto r = call(R"({"jsonrpc":"2.0","method":"nope/unknown"})");
  EXPECT_TRUE(r->was_accepted);
  EXPECT_TRUE(r->response.is_null());
  r = call(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":12345}})");
  EXPECT_TRUE(r->was_accepted);
}

TEST_F(ServerTest, ToolsListAndTypedCalls) {
  initialize();
  auto l = call(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  const auto& tools = l->response.at("result").at("tools").as_array();
  ASSERT_GE(tools.size(), 5u);
  EXPECT_EQ(tools[0].at("name").as_string(), "echo");  // registration order
  EXPECT_EQ(tools[1].at("outputSchema").at("properties").at("sum").at("type").as_string(),
            "integer");

  auto r = call(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"sum","arguments":{"a":2,"b":3}}})");
  EXPECT_EQ(r->response.at("result").at("structuredContent").at("sum").as_int64(), 5);
  EXPECT_EQ(r->response.at("result").at("content").at(0).at("text").as_string(), R"({"sum":5})");

  r = call(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"sum","arguments":{"a":"2","b":3}}})");
  EXPECT_TRUE(r->response.at("result").at("isError").as_bool());
  EXPECT_EQ(r->response.at("result").at("content").at(0).at("text").as_string(),
            "Invalid arguments: arguments.a: expected integer, got string");

  r = call(
      R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"raw","arguments":{}}})");
  EXPECT_TRUE(r->response.at("result").at("isError").as_bool());
  r = call(
      R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"raw","arguments":{"n":1}}})");
  EXPECT_EQ(r->response.at("result").at("content").at(0).at("text").as_string(), R"({"n":1})");

  r = call(R"({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"fail"}})");
  EXPECT_TRUE(r->response.at("result").at("isError").as_bool());
  // An unexpected exception's text stays in the server's log.
  EXPECT_EQ(r->response.at("result").at("content").at(0).at("text").as_string(), "Internal error");

  r = call(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"missing"}})");
  EXPECT_EQ(r->response.at("error").at("code").as_int64(), -32602);
  r = call(
      R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo","arguments":[1]}})");
  EXPECT_EQ(r->response.at("error").at("code").as_int64(), -32602);
}

TEST_F(ServerTest, VectorsOfDescribedStructsAsArgumentsAndResult) {
  server.tool<Route>({.name = "reverse", .description = "The route backwards"},
                     [](const Route& r, mcp::ToolContext&) {
                       return Route{.line = r.line,
                                    .stops = std::vector<Stop>(r.stops.rbegin(), r.stops.rend())};
                     });
  initialize();
  auto l = call(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  bool listed = false;
  for (const auto& t : l->response.at("result").at("tools").as_array()) {
    if (t.at("name") != "reverse") continue;
    listed = true;
    for (const char* schema : {"inputSchema", "outputSchema"}) {
      const auto& stops = t.at(schema).at("properties").at("stops");
      EXPECT_EQ(stops.at("type").as_string(), "array");
      EXPECT_EQ(stops.at("items").at("properties").at("minutes").at("type").as_string(), "integer");
    }
  }
  EXPECT_TRUE(listed);
  auto r = call(
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"reverse","arguments":)"
      R"({"line":"7","stops":[{"name":"a","minutes":0},{"name":"b","minutes":4}]}}})");
  EXPECT_EQ(jsonio::to_string(r->response.at("result").at("structuredContent")),
            R"({"line":"7","stops":[{"name":"b","minutes":4},{"name":"a","minutes":0}]})");
  r = call(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"reverse","arguments":)"
      R"({"line":"7","stops":[{"minutes":1}]}}})");
  EXPECT_EQ(r->response.at("result").at("content").at(0).at("text").as_string(),
            "Invalid arguments: arguments.stops[0]: missing required property \"name\"");
}

TEST_F(ServerTest, ModernEraPerMessage) {
  initialize();
  // Same session, modern message: served statelessly, with resultType and caching hints.
  auto r = call(std::string(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{)") +
                kModernMeta + "}}");
  const auto& res = r->response.at("result").as_object();
  EXPECT_EQ(res.at("resultType").as_string(), "complete");
  EXPECT_EQ(res.at("ttlMs").as_int64(), 5000);
  EXPECT_EQ(res.at("cacheScope").as_string(), "public");
  EXPECT_EQ(res.at("_meta").at("io.modelcontextprotocol/serverInfo").at("name").as_string(),
            "unit");

  r = call(
      std::string(
          R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},)") +
      kModernMeta + "}}");
  EXPECT_EQ(r->response.at("result").at("resultType").as_string(), "complete");
  EXPECT_FALSE(r->response.at("result").as_object().contains("ttlMs"));

  r = call(std::string(R"({"jsonrpc":"2.0","id":3,"method":"server/discover","params":{)") +
           kModernMeta + "}}");
  EXPECT_EQ(r->response.at("result").at("supportedVersions").at(0).as_string(), "2026-07-28");
  EXPECT_TRUE(r->response.at("result").as_object().contains("ttlMs"));

  // Legacy-only methods do not exist in the modern era (404 on HTTP).
  r = call(std::string(R"({"jsonrpc":"2.0","id":4,"method":"ping","params":{)") + kModernMeta +
           "}}");
  EXPECT_EQ(r->response.at("error").at("code").as_int64(), -32601);
  EXPECT_EQ(r->http_status, 404);

  // Unsupported version and missing capabilities.
  r = call(
      R"({"jsonrpc":"2.0","id":5,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01","io.modelcontextprotocol/clientCapabilities":{}}}})");
  EXPECT_EQ(r->response.at("error").at("code").as_int64(), -32022);
  EXPECT_EQ(r->response.at("error").at("data").at("requested").as_string(), "2099-01-01");
  EXPECT_EQ(r->http_status, 400);
  r = call(
      R"({"jsonrpc":"2.0","id":6,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})");
  EXPECT_EQ(r->response.at("error").at("code").as_int64(), -32602);
  r = call(
      std::string(
          R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"needs_sampling",)") +
      kModernMeta + "}}");
  EXPECT_EQ(r->response.at("error").at("code").as_int64(), -32021);
  EXPECT_TRUE(
      r->response.at("error").at("data").at("requiredCapabilities").at("sampling").is_object());

  // Header mismatch (HTTP passes the header through MessageInfo).
  mcp::MessageInfo info;
  info.protocol_version_header = "2025-11-25";
  r = call(std::string(R"({"jsonrpc":"2.0","id":8,"method":"tools/list","params":{)") +
               kModernMeta + "}}",
           info);
  EXPECT_EQ(r->response.at("error").at("code").as_int64(), -32020);
}

TEST_F(ServerTest, InputRequiredWithTamperProofState) {
  auto first =
      call(std::string(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask",)") +
           kModernMeta + "}}");
  const auto& res = first->response.at("result").as_object();
  ASSERT_EQ(res.at("resultType").as_string(), "input_required");
  EXPECT_EQ(res.at("inputRequests").at("q").at("method").as_string(), "roots/list");
  std::string state(res.at("requestState").as_string());
  // Opaque: the plain state is not visible. (':' is outside base64url's alphabet, so the
  // check cannot be defeated by chance; a plain "s1" turned up in the MAC about one run in 40.)
  EXPECT_EQ(state.find("plain:s1"), std::string::npos);

  auto retry = [&](const std::string& tool, const std::string& st) {
    return call(std::string(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":")") +
                tool + R"(","inputResponses":{"q":{"roots":[]}},"requestState":")" + st + R"(",)" +
                kModernMeta + "}}");
  };
  auto ok = retry("ask", state);
  EXPECT_EQ(ok->response.at("result").at("content").at(0).at("text").as_string(),
            R"(answer={"roots":[]} state=plain:s1)");

  std::string tampered = state;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(retry("ask", tampered)->response.at("error").at("code").as_int64(), -32602);
  EXPECT_EQ(retry("ask", "garbage")->response.at("error").at("code").as_int64(), -32602);
  // A state minted for one tool is not accepted by another.
  EXPECT_EQ(retry("ask2", state)->response.at("error").at("code").as_int64(), -32602);

  // Legacy era: handlers cannot ask for input this way.
  initialize();
  auto legacy = call(R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ask"}})");
  EXPECT_EQ(legacy->response.at("error").at("code").as_int64(), -32603);
}

TEST_F(ServerTest, ServerToClientRequestsNeedTheCapability) {
  initialize();  // declares sampling only
  auto r = call(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"elicit"}})");
  EXPECT_EQ(r->response.at("error").at("code").as_int64(), -32600);
  EXPECT_TRUE(r->response.at("error")
                  .at("data")
                  .at("requiredCapabilities")
                  .as_object()
                  .contains("elicitation"));
  EXPECT_TRUE(r->sent.empty());  // nothing was sent to the client
}

TEST_F(ServerTest, ResourcesPromptsAndNotFound) {
  initialize();
  auto r =
      call(R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"mem://item/7"}})");
  EXPECT_EQ(r->response.at("result").at("contents").at(0).at("text").as_string(), "item 7");
  r = call(
      R"({"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"mem://item/missing"}})");
  EXPECT_EQ(r->response.at("error").at("code").as_int64(), -32002);
  r = call(
      std::string(
          R"({"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"mem://nothing",)") +
      kModernMeta + "}}");
  EXPECT_EQ(r->response.at("error").at("code").as_int64(), -32602);
  EXPECT_EQ(r->response.at("error").at("data").at("uri").as_string(), "mem://nothing");
  r = call(R"({"jsonrpc":"2.0","id":4,"method":"resources/templates/list"})");
  EXPECT_EQ(r->response.at("result").at("resourceTemplates").at(0).at("uriTemplate").as_string(),
            "mem://item/{id}");
  r = call(
      R"({"jsonrpc":"2.0","id":5,"method":"prompts/get","params":{"name":"greet","arguments":{"who":"bob"}}})");
  EXPECT_EQ(r->response.at("result").at("messages").at(0).at("content").at("text").as_string(),
            "hi bob");
  r = call(R"({"jsonrpc":"2.0","id":6,"method":"prompts/get","params":{"name":"greet"}})");
  EXPECT_EQ(r->response.at("error").at("code").as_int64(), -32602);
  // No completion handler registered: the capability is absent and the method unknown.
  r = call(
      R"({"jsonrpc":"2.0","id":7,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"greet"},"argument":{"name":"who","value":"b"}}})");
  EXPECT_EQ(r->response.at("error").at("code").as_int64(), -32601);
}

TEST_F(ServerTest, ProgressOnlyWithTokenAndLogFiltering) {
  initialize();
  auto r = call(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"progress"}})");
  // No token: no progress; no setLevel yet: both logs.
  ASSERT_EQ(r->sent.size(), 2u);
  EXPECT_EQ(r->sent[0].at("method").as_string(), "notifications/message");

  call(R"({"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"warning"}})");
  r = call(
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"progress","_meta":{"progressToken":"tok"}}})");
  ASSERT_EQ(r->sent.size(), 3u);
  EXPECT_EQ(r->sent[0].at("params").at("progressToken").as_string(), "tok");
  EXPECT_EQ(r->sent[0].at("params").at("progress").as_double(), 1.0);
  EXPECT_EQ(r->sent[1].at("params").at("progress").as_double(), 2.0);
  EXPECT_EQ(r->sent[1].at("params").at("message").as_string(), "half");
  EXPECT_EQ(r->sent[2].at("params").at("level").as_string(), "error");
  EXPECT_EQ(
      call(R"({"jsonrpc":"2.0","id":4,"method":"logging/setLevel","params":{"level":"loud"}})")
          ->response.at("error")
          .at("code")
          .as_int64(),
      -32602);

  // Modern: no logLevel in _meta -> no log messages at all.
  r = call(
      std::string(R"({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"progress",)") +
      kModernMeta + "}}");
  EXPECT_TRUE(r->sent.empty());
  r = call(
      R"({"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"progress","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"debug"}}})");
  EXPECT_EQ(r->sent.size(), 2u);
}

TEST_F(ServerTest, CancellationReachesTheHandlerAndSuppressesTheResponse) {
  initialize();
  auto out = std::make_shared<Capture>();
  server.handle(session,
                J(R"({"jsonrpc":"2.0","id":"c1","method":"tools/call","params":{"name":"slow"}})"),
                out);
  for (int i = 0; i < 200 && !slow_started; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(slow_started);
  call(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"c1","reason":"user"}})");
  ASSERT_TRUE(out->wait(3s));
  EXPECT_TRUE(out->abandoned);
  EXPECT_TRUE(out->response.is_null());
  EXPECT_TRUE(slow_saw_cancel);
}

TEST_F(ServerTest, SlowToolDoesNotBlockOthers) {
  initialize();
  auto slow = std::make_shared<Capture>();
  server.handle(session,
                J(R"({"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"slow"}})"),
                slow);
  auto t0 = std::chrono::steady_clock::now();
  auto fast = call(
      R"({"jsonrpc":"2.0","id":"f","method":"tools/call","params":{"name":"echo","arguments":{"text":"quick"}}})");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_FALSE(slow->done);  // still running
  EXPECT_EQ(fast->response.at("result").at("content").at(0).at("text").as_string(), "quick");
  session->cancel_all();
  EXPECT_TRUE(slow->wait(3s));
}

TEST_F(ServerTest, ListChangedAndResourceUpdates) {
  initialize();
  server.notify_tools_list_changed();
  ASSERT_EQ(standalone->sent_count(), 1u);
  EXPECT_EQ(standalone->sent[0].at("method").as_string(), "notifications/tools/list_changed");
  server.notify_resource_updated("mem://a");  // not subscribed
  EXPECT_EQ(standalone->sent_count(), 1u);
  call(R"({"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"mem://a"}})");
  server.notify_resource_updated("mem://a");
  ASSERT_EQ(standalone->sent_count(), 2u);
  EXPECT_EQ(standalone->sent[1].at("params").at("uri").as_string(), "mem://a");
  call(R"({"jsonrpc":"2.0","id":2,"method":"resources/unsubscribe","params":{"uri":"mem://a"}})");
  server.notify_resource_updated("mem://a");
  EXPECT_EQ(standalone->sent_count(), 2u);
}

TEST_F(ServerTest, SubscriptionsListenFiltersAndTags) {
  auto listen = std::make_shared<Capture>();
  server.handle(
      session,
      J(std::string(
            R"({"jsonrpc":"2.0","id":"L","method":"subscriptions/listen","params":{"notifications":{"promptsListChanged":true,"resourceSubscriptions":["mem://a"]},)") +
        kModernMeta + "}}"),
      listen);
  ASSERT_EQ(listen->sent_count(), 1u);
  EXPECT_EQ(listen->sent[0].at("method").as_string(), "notifications/subscriptions/acknowledged");
  EXPECT_FALSE(
      listen->sent[0].at("params").at("notifications").as_object().contains("toolsListChanged"));
  server.notify_tools_list_changed();  // not asked for
  server.notify_prompts_list_changed();
  server.notify_resource_updated("mem://a");
  ASSERT_EQ(listen->sent_count(), 3u);
  EXPECT_EQ(listen->sent[1].at("method").as_string(), "notifications/prompts/list_changed");
  EXPECT_EQ(listen->sent[2].at("params").at("uri").as_string(), "mem://a");
  EXPECT_EQ(listen->sent[2]
                .at("params")
                .at("_meta")
                .at("io.modelcontextprotocol/subscriptionId")
                .as_string(),
            "L");
  EXPECT_FALSE(listen->done);  // the listen request stays open
}

TEST(ServerPaging, CursorsWalkAllTools) {
  mcp::ServerOptions o;
  o.page_size = 2;
  mcp::Server s(o);
  for (int i = 0; i < 5; ++i)
    s.tool<None>({.name = "t" + std::to_string(i), .description = ""},
                 [](const None&, mcp::ToolContext&) { return std::string(); });
  auto sess = std::make_shared<mcp::Session>("x", mcp::TransportKind::kInMemory);
  std::vector<std::string> names;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto out = std::make_shared<Capture>();
    std::string params = cursor.empty() ? "{}" : R"({"cursor":")" + cursor + R"("})";
    s.handle(sess, J(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":)" + params + "}"),
             out);
    ASSERT_TRUE(out->wait());
    const auto& r = out->response.at("result").as_object();
    for (const auto& t : r.at("tools").as_array()) names.emplace_back(t.at("name").as_string());
    if (!r.contains("nextCursor")) break;
    cursor = std::string(r.at("nextCursor").as_string());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"t0", "t1", "t2", "t3", "t4"}));
  auto bad = std::make_shared<Capture>();
  s.handle(sess, J(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":"zz"}})"),
           bad);
  ASSERT_TRUE(bad->wait());
  EXPECT_EQ(bad->response.at("error").at("code").as_int64(), -32602);
}

}  // namespace
