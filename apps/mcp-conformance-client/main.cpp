// mcp-conformance-client: the client the official MCP conformance suite
// (@modelcontextprotocol/conformance, `conformance client --command ...`) drives to judge
// mcp::Client. The suite starts it once per scenario as
//
//   mcp-conformance-client URL
//
// with MCP_CONFORMANCE_SCENARIO (the scenario's name), MCP_CONFORMANCE_PROTOCOL_VERSION (the
// protocol version of the era under test) and, for some scenarios, MCP_CONFORMANCE_CONTEXT (a
// JSON object of scenario-specific data) in the environment. It does what a well-behaved
// client does for the scenario over Streamable HTTP: connect in the era asked for, list the
// tools, call them, answer the server's questions. The suite judges what it saw on the wire.
// Exit status 0 when the flow completed, 1 with the reason on stderr when it did not.
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <string>

#include "auth_setup.hpp"
#include "mcp/client.hpp"
#include "mcp/client_http.hpp"

namespace bj = boost::json;

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: mcp-conformance-client URL (the conformance suite appends the URL)\n";
    return 2;
  }
  const std::string url = argv[argc - 1];
  const std::string scenario = env_or_empty("MCP_CONFORMANCE_SCENARIO");
  try {
    bj::object context;
    if (const std::string text = env_or_empty("MCP_CONFORMANCE_CONTEXT"); !text.empty())
      context = bj::parse(text).as_object();
    mcp::StreamableHttpClientOptions http{.url = url};
    conformance_client::configure_auth(scenario, context, http);
    mcp::Client client({.info = {.name = "mcp-conformance-client", .version = "1.0.0"}});
    client.connect(std::make_unique<mcp::StreamableHttpClientTransport>(std::move(http)));
    for (const auto& tool : client.list_tools()) client.call_tool(tool.name);
    client.close();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "mcp-conformance-client: scenario " << scenario << ": " << e.what() << "\n";
    return 1;
  }
}
