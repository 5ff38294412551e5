// The server of docs/mcp-sdk.md ("Writing a server") as a consumer of the SDK compiles it: with
// -Wall -Wextra -Werror and without -Wno-missing-field-initializers (tests/unit/mcp/
// CMakeLists.txt), so that a field of a public option or spec struct without a default member
// initializer -- which makes designated initializers that omit it warn -- breaks the build.
// Between the clang-format markers the example stands exactly as in the docs (the test
// mcp_consumer_example_matches_docs compares them); below it, more of the public structs as
// consumers initialize them. The test mcp_consumer_example runs the server over stdio.
// clang-format off
#include <boost/describe.hpp>
#include "jsonio/json_text.hpp"
#include "mcp/server.hpp"
#include "mcp/transport_flags.hpp"

struct AddArgs {                    // the input schema comes from the type
  double a;                         // no default: required
  double b = 1;                     // a visible default: optional, "default": 1
  std::optional<std::string> note;  // optional
  static std::map<std::string, std::string> mcp_field_docs() { return {{"a", "First addend"}}; }
};
BOOST_DESCRIBE_STRUCT(AddArgs, (), (a, b, note))

struct AddResult { double sum = 0; };            // a described return type becomes the
BOOST_DESCRIBE_STRUCT(AddResult, (), (sum))       // outputSchema + structuredContent

int main(int argc, char** argv) {
  mcp::Server server({.info = {.name = "calc", .version = "1.0.0"},
                      .instructions = "Arithmetic tools."});

  server.tool<AddArgs>({.name = "add", .description = "Adds two numbers",
                        .annotations = {.read_only_hint = true}},
      [](const AddArgs& x, mcp::ToolContext& ctx) {
        ctx.progress(1, 1);                         // only sent if the client asked
        return AddResult{x.a + x.b};                // -> structuredContent {"sum":..} + text mirror
      });

  // Raw schema escape hatch: arguments are validated against the schema you give.
  server.tool_raw({.name = "echo", .description = "Echo",
                   .input_schema = jsonio::parse_or_throw(
                       R"({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]})")},
      [](const boost::json::value& args, mcp::ToolContext&) {
        mcp::CallToolResult r;                      // full control: content blocks, isError, ...
        r.content.push_back(mcp::text_content(std::string(args.at("text").as_string())));
        r.content.push_back(mcp::resource_link("memo://1", "memo 1"));
        return r;
      });

  // Resource template: the handler gets the URI, the matched variables and the context.
  server.resource_template({.uri_template = "memo://{id}", .name = "memo", .mime_type = "text/plain"},
      [](const std::string& uri, const std::map<std::string, std::string>& vars, mcp::RequestContext& ctx) {
        if (vars.at("id") != "1") throw mcp::ResourceNotFound(uri);   // -32002 / -32602 by era
        return mcp::ReadResourceResult{{{.uri = uri, .mime_type = "text/plain",
                                         .text = "memo for " + ctx.session_id()}}};
      });

  // The SDK's transport flags (--transport stdio|http, --host, --port, --allowed-host, ...)
  // beside the program's own, then serve until EOF on stdin or SIGINT/SIGTERM. By hand instead:
  //   mcp::serve_stdio(server);                                  // until EOF on stdin
  //   mcp::HttpServer http(server, {.port = 8080}); http.start(); http.wait();
  CLI::App app{"Arithmetic tools", "calc"};
  mcp::TransportConfig transport;
  mcp::add_transport_flags(app, transport);
  CLI11_PARSE(app, argc, argv);
  return mcp::serve(server, transport);
}
// clang-format on

// Not called: every public option and spec struct, designated-initialized with fields omitted.
[[maybe_unused]] static void more_designated_initializers(mcp::Server& server) {
  mcp::HttpOptions http{.host = "0.0.0.0", .port = 8080, .allowed_hosts = {"mcp.example.com"}};
  http.auth = mcp::AuthOptions{.verify = [](std::string_view) -> std::optional<mcp::Principal> {
                                 return mcp::Principal{.subject = "alice"};
                               },
                               .required_scopes = {"mcp"}};
  mcp::TransportConfig transport{.kind = mcp::TransportConfig::Kind::kHttp, .http = http};
  mcp::StdioOptions stdio{.drain_timeout = std::chrono::seconds(1)};
  mcp::ServerOptions options{.info = {.name = "x", .title = "X"},
                             .call_timeout = std::chrono::seconds(5),
                             .tasks = {.max_tasks = 10}};
  server.resource({.uri = "memo://index", .name = "index", .icons = {{.src = "data:,"}}},
                  [](const std::string& uri, mcp::RequestContext&) {
                    return mcp::ReadResourceResult{{{.uri = uri, .text = "index"}}};
                  });
  server.prompt({.name = "greet", .arguments = {{.name = "who", .required = true}}},
                [](const std::map<std::string, std::string>& args, mcp::RequestContext&) {
                  return mcp::GetPromptResult{
                      .messages = {{.content = mcp::text_content("hi " + args.at("who"))}}};
                });
  server.completion([](const boost::json::object&, const std::string&, const std::string&,
                       const std::map<std::string, std::string>&,
                       mcp::RequestContext&) { return mcp::Completion{.values = {"paris"}}; });
  server.tool_raw({.name = "task", .task_support = mcp::TaskSupport::kOptional},
                  [](const boost::json::value&, mcp::ToolContext&) {
                    return mcp::CallToolResult{.is_error = false};
                  });
  mcp::Subscriber who{.session_id = "s"};
  mcp::MessageInfo info{.peer_address = "127.0.0.1"};
  (void)transport;
  (void)stdio;
  (void)options;
  (void)who;
  (void)info;
}
