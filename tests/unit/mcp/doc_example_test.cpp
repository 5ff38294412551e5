// The server of docs/mcp-sdk.md, compiled and exercised (keep the two in sync).
#include <gtest/gtest.h>

#include <boost/describe.hpp>

#include "jsonio/json_text.hpp"
#include "mcp/serve.hpp"
#include "mcp/server.hpp"

namespace {

struct AddArgs {                    // the input schema comes from the type
  double a;                         // no default: required
  double b = 1;                     // a visible default: optional, "default": 1
  std::optional<std::string> note;  // optional
  static std::map<std::string, std::string> mcp_field_docs() { return {{"a", "First addend"}}; }
};
BOOST_DESCRIBE_STRUCT(AddArgs, (), (a, b, note))

struct AddResult {
  double sum = 0;
};
BOOST_DESCRIBE_STRUCT(AddResult, (), (sum))

void build(mcp::Server& server) {
  server.tool<AddArgs>(
      {.name = "add", .description = "Adds two numbers", .annotations = {.read_only_hint = true}},
      [](const AddArgs& x, mcp::ToolContext& ctx) {
        ctx.progress(1, 1);
        return AddResult{x.a + x.b};
      });
  server.tool_raw(
      {.name = "echo",
       .description = "Echo",
       .input_schema = jsonio::parse_or_throw(
           R"({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]})")},
      [](const boost::json::value& args, mcp::ToolContext&) {
        mcp::CallToolResult r;
        r.content.push_back(mcp::text_content(std::string(args.at("text").as_string())));
        r.content.push_back(mcp::resource_link("memo://1", "memo 1"));
        return r;
      });
  server.resource_template(
      {.uri_template = "memo://{id}", .name = "memo", .mime_type = "text/plain"},
      [](const std::string& uri, const std::map<std::string, std::string>& vars,
         mcp::RequestContext& ctx) {
        if (vars.at("id") != "1") throw mcp::ResourceNotFound(uri);
        return mcp::ReadResourceResult{
            {{.uri = uri, .mime_type = "text/plain", .text = "memo for " + ctx.session_id()}}};
      });
}

class Sink : public mcp::Outbound {
 public:
  bool send(std::string) override { return true; }
  void respond(std::string text, int) override {
    std::lock_guard lk(mu);
    response = jsonio::parse_or_throw(text);
    cv.notify_all();
  }
  boost::json::value wait() {
    std::unique_lock lk(mu);
    cv.wait_for(lk, std::chrono::seconds(5), [&] { return !response.is_null(); });
    return response;
  }
  std::mutex mu;
  std::condition_variable cv;
  boost::json::value response;
};

boost::json::value call(mcp::Server& s, const std::shared_ptr<mcp::Session>& sess,
                        std::string_view msg) {
  auto out = std::make_shared<Sink>();
  s.handle(sess, jsonio::parse_or_throw(msg), out);
  return out->wait();
}

TEST(DocExample, ToolsAndTemplateBehaveAsDocumented) {
  mcp::Server server(
      {.info = {.name = "calc", .version = "1.0.0"}, .instructions = "Arithmetic tools."});
  build(server);
  auto sess = std::make_shared<mcp::Session>("doc-session", mcp::TransportKind::kInMemory);
  auto list = call(server, sess, R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  const auto& add = list.at("result").at("tools").at(0);
  EXPECT_EQ(
      jsonio::to_canonical_string(add.at("inputSchema")),
      jsonio::to_canonical_string(jsonio::parse_or_throw(
          R"({"type":"object","properties":{"a":{"type":"number","description":"First addend"},
                    "b":{"type":"number","default":1.0},"note":{"type":"string"}},"required":["a"]})")));
  EXPECT_TRUE(add.at("annotations").at("readOnlyHint").as_bool());
  auto r = call(
      server, sess,
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2}}})");
  EXPECT_EQ(r.at("result").at("structuredContent").at("sum").as_double(), 3.0);
  r = call(
      server, sess,
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"t"}}})");
  EXPECT_EQ(r.at("result").at("content").at(1).at("type").as_string(), "resource_link");
  r = call(server, sess,
           R"({"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"memo://1"}})");
  EXPECT_EQ(r.at("result").at("contents").at(0).at("text").as_string(), "memo for doc-session");
  r = call(server, sess,
           R"({"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"memo://2"}})");
  EXPECT_EQ(r.at("error").at("code").as_int64(), -32002);
}

}  // namespace
