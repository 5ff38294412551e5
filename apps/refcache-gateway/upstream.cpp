#include "upstream.hpp"

#include <spdlog/spdlog.h>

#include "mcp/client_http.hpp"
#include "mcp/client_stdio.hpp"
#include "refcache/version.hpp"

namespace gateway {

namespace {

std::unique_ptr<mcp::ClientTransport> make_transport(const UpstreamConfig& c) {
  switch (c.kind) {
    case UpstreamKind::kStdio: {
      mcp::StdioClientOptions o;
      o.command = c.command;
      o.args = c.args;
      o.env = c.env;
      o.working_directory = c.cwd;
      o.log_name = c.name;
      return std::make_unique<mcp::StdioClientTransport>(std::move(o));
    }
    case UpstreamKind::kStreamableHttp: {
      mcp::StreamableHttpClientOptions o;
      o.url = c.url;
      o.headers = c.headers;
      return std::make_unique<mcp::StreamableHttpClientTransport>(std::move(o));
    }
    case UpstreamKind::kLegacySse: {
      mcp::LegacySseClientOptions o;
      o.url = c.url;
      o.headers = c.headers;
      return std::make_unique<mcp::LegacySseClientTransport>(std::move(o));
    }
  }
  return nullptr;
}

const char* transport_name(UpstreamKind k) {
  switch (k) {
    case UpstreamKind::kStdio:
      return "stdio";
    case UpstreamKind::kStreamableHttp:
      return "streamable-http";
    case UpstreamKind::kLegacySse:
      return "sse";
  }
  return "unknown";
}

}  // namespace

Upstream::Upstream(UpstreamConfig config, UpstreamOptions options)
    : config_(std::move(config)), options_(options) {}

Upstream::~Upstream() {
  if (client_) client_->close();
}

void Upstream::connect() {
  mcp::ClientOptions co;
  co.info = {.name = "refcache-gateway", .version = std::string(refcache::kVersion)};
  co.request_timeout = options_.call_timeout;
  client_ = std::make_unique<mcp::Client>(co);
  try {
    client_->connect(make_transport(config_));
    mcp::CallOptions lo;
    lo.timeout = options_.connect_timeout;
    if (client_->server_supports("tools")) tools_ = client_->list_tools(lo);
    // Resources and prompts are extras: a server that fails to list them still serves tools.
    try {
      if (client_->server_supports("resources")) {
        resources_ = client_->list_resources(lo);
        templates_ = client_->list_resource_templates(lo);
      }
      if (client_->server_supports("prompts")) prompts_ = client_->list_prompts(lo);
    } catch (const mcp::Error& e) {
      spdlog::warn("upstream '{}': cannot list its resources or prompts: {}", config_.name,
                   e.what());
    }
    connected_ = true;
    spdlog::info("upstream '{}': up ({} {}, {} tools, {} resources, {} templates, {} prompts)",
                 config_.name, client_->server().implementation.name, client_->protocol_version(),
                 tools_.size(), resources_.size(), templates_.size(), prompts_.size());
  } catch (const std::exception& e) {
    client_->close();
    tools_.clear();
    resources_.clear();
    templates_.clear();
    prompts_.clear();
    std::lock_guard lock(mu_);
    down_reason_ = e.what();
    // The reason names the program or URL, never the headers (credentials stay out of logs).
    spdlog::error("upstream '{}': down: {}", config_.name, down_reason_);
  }
}

bool Upstream::up() const {
  return connected_ && client_ && client_->connected();
}

mcp::CallToolResult Upstream::call_tool(const std::string& name,
                                        const boost::json::value& arguments,
                                        const mcp::CallOptions& options) {
  if (!connected_)
    throw mcp::ClientError(mcp::ClientError::Kind::kNotConnected,
                           "upstream '" + config_.name + "' is down");
  return client_->call_tool(name, arguments, options);
}

mcp::ReadResourceResult Upstream::read_resource(const std::string& uri,
                                                const mcp::CallOptions& options) {
  if (!connected_)
    throw mcp::ClientError(mcp::ClientError::Kind::kNotConnected,
                           "upstream '" + config_.name + "' is down");
  return client_->read_resource(uri, options);
}

mcp::GetPromptResult Upstream::get_prompt(const std::string& name,
                                          const std::map<std::string, std::string>& arguments,
                                          const mcp::CallOptions& options) {
  if (!connected_)
    throw mcp::ClientError(mcp::ClientError::Kind::kNotConnected,
                           "upstream '" + config_.name + "' is down");
  return client_->get_prompt(name, arguments, options);
}

mcp::Completion Upstream::complete(const boost::json::object& ref, const std::string& argument,
                                   const std::string& value,
                                   const std::map<std::string, std::string>& context,
                                   const mcp::CallOptions& options) {
  if (!connected_)
    throw mcp::ClientError(mcp::ClientError::Kind::kNotConnected,
                           "upstream '" + config_.name + "' is down");
  return client_->complete(ref, argument, value, context, options);
}

boost::json::object Upstream::status() const {
  boost::json::object o;
  o["name"] = config_.name;
  o["transport"] = transport_name(config_.kind);
  if (up()) {
    o["state"] = "up";
    o["protocol_version"] = client_->protocol_version();
    o["server"] = client_->server().implementation.name;
  } else {
    o["state"] = "down";
    std::lock_guard lock(mu_);
    std::string reason = down_reason_;
    if (reason.empty() && client_) reason = client_->closed_reason();
    o["reason"] = reason;
  }
  o["tools"] = tools_.size();
  o["resources"] = resources_.size();
  o["resource_templates"] = templates_.size();
  o["prompts"] = prompts_.size();
  return o;
}

}  // namespace gateway
