// Upstream: one configured MCP server behind the gateway, with its own connected mcp::Client.
// connect() starts it (a stdio child, or an HTTP connection) and lists its tools, resources,
// resource templates and prompts; a server
// that cannot be reached is kept as "down" with the reason, so that the others still serve.
// The status (state, reason, era, tool count) is what the gateway_status tool reports.
//
// Thread-safety: connect() is called once, before serving; afterwards every method may be
// called concurrently (mcp::Client's calls are thread-safe).
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway_config.hpp"
#include "mcp/client.hpp"

namespace gateway {

struct UpstreamOptions {
  // How long connect() may take (start, handshake, tools/list) before the server is down.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  // Deadline of each call forwarded to it (ClientOptions::request_timeout).
  std::chrono::milliseconds call_timeout{std::chrono::seconds(60)};
};

class Upstream {
 public:
  Upstream(UpstreamConfig config, UpstreamOptions options = {});
  ~Upstream();
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  const UpstreamConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }

  // Starts the server and lists its tools; never throws: a failure leaves it down, with the
  // reason logged and kept for status().
  void connect();
  // True once connected and while the connection lasts.
  bool up() const;
  // What it listed at connect() (empty when down, or when it does not offer the kind).
  const std::vector<mcp::ToolSpec>& tools() const { return tools_; }
  const std::vector<mcp::Resource>& resources() const { return resources_; }
  const std::vector<mcp::ResourceTemplate>& resource_templates() const { return templates_; }
  const std::vector<mcp::PromptSpec>& prompts() const { return prompts_; }
  // Forwards tools/call. Throws mcp::Error: the server's JSON-RPC errors, and ClientError
  // (kTransportClosed, kNotConnected, kTimeout...) for a server that is down or hung.
  mcp::CallToolResult call_tool(const std::string& name, const boost::json::value& arguments,
                                const mcp::CallOptions& options);
  // Forwards resources/read and prompts/get; throws as call_tool().
  mcp::ReadResourceResult read_resource(const std::string& uri, const mcp::CallOptions& options);
  mcp::GetPromptResult get_prompt(const std::string& name,
                                  const std::map<std::string, std::string>& arguments,
                                  const mcp::CallOptions& options);
  // Forwards completion/complete (`ref` as the upstream names it); throws as call_tool().
  mcp::Completion complete(const boost::json::object& ref, const std::string& argument,
                           const std::string& value,
                           const std::map<std::string, std::string>& context,
                           const mcp::CallOptions& options);
  // {"name","transport","state":"up"|"down","reason"?,"protocol_version"?,"server"?,"tools"}.
  boost::json::object status() const;

 private:
  UpstreamConfig config_;
  UpstreamOptions options_;
  std::unique_ptr<mcp::Client> client_;
  std::vector<mcp::ToolSpec> tools_;
  std::vector<mcp::Resource> resources_;
  std::vector<mcp::ResourceTemplate> templates_;
  std::vector<mcp::PromptSpec> prompts_;
  mutable std::mutex mu_;
  std::string down_reason_;  // guarded by mu_
  bool connected_ = false;   // set once by connect()
};

}  // namespace gateway
