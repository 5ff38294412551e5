// mcp-conformance-client: the client the official MCP conformance suite
// (@modelcontextprotocol/conformance, `conformance client --command ...`) drives to judge
// mcp::Client. The suite starts it once per scenario as
//
//   mcp-conformance-client URL
//
// with MCP_CONFORMANCE_SCENARIO (the scenario's name), MCP_CONFORMANCE_PROTOCOL_VERSION (the
// protocol version of the era under test) and, for some scenarios, MCP_CONFORMANCE_CONTEXT (a
// JSON object of scenario-specific data) in the environment. It does what a well-behaved
// client does for the scenario over Streamable HTTP (scenario.hpp): connect in the era asked
// for, list the tools, call them, answer the server's questions. The suite judges what it saw
// on the wire. Exit status 0 when the flow completed; 1, with the reason on stderr, when it did
// not; 2 for a wrong command line or environment.
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>

#include "scenario.hpp"

namespace bj = boost::json;

namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before any thread
  return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: mcp-conformance-client URL (the conformance suite appends the URL and "
                 "sets MCP_CONFORMANCE_SCENARIO)\n";
    return 2;
  }
  conformance_client::Scenario scenario{
      .name = env_or_empty("MCP_CONFORMANCE_SCENARIO"),
      .protocol_version = env_or_empty("MCP_CONFORMANCE_PROTOCOL_VERSION"),
      .url = argv[argc - 1]};
  if (const std::string text = env_or_empty("MCP_CONFORMANCE_CONTEXT"); !text.empty()) {
    boost::system::error_code ec;
    bj::value context = bj::parse(text, ec);
    if (ec || !context.is_object()) {
      std::cerr << "mcp-conformance-client: MCP_CONFORMANCE_CONTEXT is not a JSON object\n";
      return 2;
    }
    scenario.context = std::move(context.get_object());
  }
  try {
    conformance_client::run_scenario(scenario);
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "mcp-conformance-client: scenario " << scenario.name << ": " << e.what() << "\n";
    return 1;
  }
}
