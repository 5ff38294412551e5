// One scenario of the conformance suite's client mode, and what this client does for it.
//
// Every scenario runs the same flow, that of a client with no user to ask: connect in the era
// the scenario is about, list the tools and call each one (with the arguments the scenario's
// context gives for it, else sample_arguments()), read every resource and get every prompt the
// server declares, accept every elicitation form with its defaults, close. Two scenarios ask
// for less or for something else: json-schema-ref-no-deref only lists the tools (its server
// serves no call; the suite judges whether the client fetched the schema's remote $ref), and
// json-schema-2020-12-preservation calls its echo tool with the inputSchema the client kept.
//
// Thread-safety: run_scenario() is called once, from main().
#pragma once

#include <boost/json/object.hpp>
#include <string>

namespace conformance_client {

struct Scenario {
  // MCP_CONFORMANCE_SCENARIO: "tools_call", "auth/metadata-default", ...
  std::string name{};
  // MCP_CONFORMANCE_PROTOCOL_VERSION: the protocol version under test ("2025-11-25",
  // "2026-07-28"); empty = let the client negotiate (2026-07-28 first, then 2025-11-25).
  std::string protocol_version{};
  // The server's MCP endpoint, the last command-line argument.
  std::string url{};
  // MCP_CONFORMANCE_CONTEXT: scenario-specific data (toolCalls: [{name, arguments}], the
  // credentials of an auth/* scenario, ...); empty when the suite gives none.
  boost::json::object context{};
};

// Runs the flow for `scenario`; throws (mcp::Error, std::exception) with the reason when the
// client could not complete it.
void run_scenario(const Scenario& scenario);

}  // namespace conformance_client
