// The client of docs/mcp-sdk.md ("Writing a client") as a consumer of the SDK compiles it: with
// -Wall -Wextra -Werror and without -Wno-missing-field-initializers (tests/unit/mcp/client/
// CMakeLists.txt), so that a field of a public option struct without a default member
// initializer breaks the build. Between the clang-format markers the example stands exactly as
// in the docs (the test mcp_client_example_matches_docs compares them); the test
// mcp_client_example runs it against the conformance fixture server over stdio.
// clang-format off
#include <boost/describe.hpp>
#include <iostream>
#include "mcp/client.hpp"
#include "mcp/client_stdio.hpp"

struct AddArgs { double a = 0; double b = 0; };    // the tool's arguments, as the server
BOOST_DESCRIBE_STRUCT(AddArgs, (), (a, b))         // declares them
struct AddResult { double sum = 0; };              // its structuredContent
BOOST_DESCRIBE_STRUCT(AddResult, (), (sum))

int main(int argc, char** argv) {
  if (argc < 2) { std::cerr << "usage: client SERVER-COMMAND [ARGS...]\n"; return 2; }
  mcp::Client client({.info = {.name = "example-client", .version = "1.0.0"},
                      .request_timeout = std::chrono::seconds(30)});

  // Handlers declare the client's capabilities: set them before connect(). The server's
  // questions reach them as requests (2025-11-25) or as input rounds of a call (2026-07-28).
  client.on_elicitation([](const mcp::ElicitationRequest& request) {
    std::cout << "the server asks: " << request.message << "\n";
    return mcp::ElicitationResult{.action = "accept", .content = {{"name", "Ada"}}};
  });
  client.on_tools_list_changed([] { std::cout << "the tool list changed\n"; });

  // Spawns the server and agrees on a version: 2026-07-28 if it speaks it, else 2025-11-25.
  const mcp::ServerInfo& server = client.connect(std::make_unique<mcp::StdioClientTransport>(
      mcp::StdioClientOptions{.command = argv[1], .args = {argv + 2, argv + argc}}));
  std::cout << "connected to " << server.implementation.name << ", protocol "
            << server.protocol_version << "\n";

  for (const mcp::ToolSpec& tool : client.list_tools())   // every page
    if (tool.name == "add") std::cout << "tool add: " << tool.description << "\n";

  AddResult r = client.call_tool<AddResult>("add", AddArgs{.a = 2, .b = 3});   // typed
  std::cout << "2 + 3 = " << r.sum << "\n";

  mcp::CallToolResult echo = client.call_tool("echo", {{"text", "hello"}});    // raw
  std::cout << "echo: " << echo.content[0].at("text").as_string().c_str() << "\n";

  // Progress, a deadline of its own, and cancellation from any thread.
  mcp::CancellationToken cancel;
  client.call_tool("test_tool_with_progress", {},
                   {.timeout = std::chrono::seconds(10),
                    .on_progress = [](const mcp::Progress& p) {
                      std::cout << "progress " << p.progress << "/" << p.total.value_or(0) << "\n";
                    },
                    .cancellation = &cancel});
  try {
    client.call_tool("slow", {}, {.timeout = std::chrono::milliseconds(200)});
  } catch (const mcp::ClientError& e) {   // the server's own errors are mcp::Error
    std::cout << "slow: " << mcp::to_string(e.kind()) << "\n";   // "timeout"
  }

  if (client.era() == mcp::Era::kModern) {   // a question of the server's, then the answer
    mcp::CallToolResult hello = client.call_tool("test_input_required_result_elicitation");
    std::cout << hello.content[0].at("text").as_string().c_str() << "\n";   // "Hello, Ada!"
  }

  mcp::ReadResourceResult text = client.read_resource("test://static-text");
  std::cout << "resource: " << text.contents[0].text.value_or("") << "\n";
  mcp::GetPromptResult prompt = client.get_prompt("test_prompt_with_arguments",
                                                  {{"arg1", "x"}, {"arg2", "y"}});
  std::cout << "prompt: " << prompt.messages[0].content.at("text").as_string().c_str() << "\n";
  client.close();   // ends the server: EOF on its stdin, then SIGTERM, then SIGKILL
}
// clang-format on
