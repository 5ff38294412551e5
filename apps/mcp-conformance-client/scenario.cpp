#include "scenario.hpp"

#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "auth_setup.hpp"
#include "elicitation_defaults.hpp"
#include "mcp/client.hpp"
#include "mcp/client_http.hpp"
#include "sample_arguments.hpp"

namespace conformance_client {

namespace bj = boost::json;

namespace {

// The era the scenario is about: exactly that one when it names one, else both in turn.
mcp::VersionNegotiation versions_for(const std::string& protocol_version) {
  if (mcp::is_modern_version(protocol_version)) return mcp::VersionNegotiation::kModern;
  if (mcp::is_legacy_version(protocol_version)) return mcp::VersionNegotiation::kLegacy;
  return mcp::VersionNegotiation::kAuto;
}

// The context's toolCalls, by tool name: the arguments the scenario wants each tool called with.
std::map<std::string, bj::object> context_tool_calls(const bj::object& context) {
  std::map<std::string, bj::object> out;
  const auto* calls = context.if_contains("toolCalls");
  if (!calls || !calls->is_array()) return out;
  for (const auto& call : calls->get_array()) {
    if (!call.is_object()) continue;
    const auto* name = call.get_object().if_contains("name");
    const auto* args = call.get_object().if_contains("arguments");
    if (name && name->is_string() && args && args->is_object())
      out[std::string(name->get_string())] = args->get_object();
  }
  return out;
}

// Calls every tool listed. A tool's own failure (isError) is its answer, reported and not
// fatal; a protocol failure throws.
void call_tools(mcp::Client& client, const std::vector<mcp::ToolSpec>& tools,
                const bj::object& context) {
  const auto given = context_tool_calls(context);
  for (const auto& tool : tools) {
    auto it = given.find(tool.name);
    const bj::object args = it != given.end() ? it->second : sample_arguments(tool.input_schema);
    const mcp::CallToolResult r = client.call_tool(tool.name, args);
    if (r.is_error) std::cerr << "mcp-conformance-client: tool " << tool.name << " failed\n";
  }
}

// Reads every resource and gets every prompt the server declares.
void visit_resources_and_prompts(mcp::Client& client) {
  if (client.server_supports("resources"))
    for (const auto& resource : client.list_resources()) client.read_resource(resource.uri);
  if (client.server_supports("prompts"))
    for (const auto& prompt : client.list_prompts()) {
      std::map<std::string, std::string> args;
      for (const auto& a : prompt.arguments)
        if (a.required) args[a.name] = "example";
      client.get_prompt(prompt.name, args);
    }
}

// json-schema-2020-12-preservation: hands the focal tool's inputSchema, as the client kept it,
// to the echo tool, so that the suite can compare it with what its server sent.
void echo_focal_schema(mcp::Client& client, const std::vector<mcp::ToolSpec>& tools) {
  const mcp::ToolSpec* focal = nullptr;
  for (const auto& t : tools)
    if (t.name == "json_schema_2020_12_tool") focal = &t;
  if (!focal) throw std::runtime_error("the server lists no json_schema_2020_12_tool");
  client.call_tool("json_schema_echo", bj::object{{"schema", focal->input_schema}});
}

}  // namespace

void run_scenario(const Scenario& scenario) {
  mcp::StreamableHttpClientOptions http{.url = scenario.url};
  configure_auth(scenario.name, scenario.context, http);

  mcp::Client client({.info = {.name = "mcp-conformance-client", .version = "1.0.0"},
                      .versions = versions_for(scenario.protocol_version)});
  client.on_elicitation(accept_with_defaults);
  client.connect(std::make_unique<mcp::StreamableHttpClientTransport>(std::move(http)));

  const std::vector<mcp::ToolSpec> tools = client.list_tools();
  if (scenario.name == "json-schema-2020-12-preservation") {
    echo_focal_schema(client, tools);
  } else if (scenario.name != "json-schema-ref-no-deref") {
    call_tools(client, tools, scenario.context);
    visit_resources_and_prompts(client);
  }
  client.close();
}

}  // namespace conformance_client
