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
    tools_ =
        client_->server_supports("tools") ? client_->list_tools(lo) : std::vector<mcp::ToolSpec>{};
    connected_ = true;
    spdlog::info("upstream '{}': up ({} {}, {} tools)", config_.name,
                 client_->server().implementation.name, client_->protocol_version(), tools_.size());
  } catch (const std::exception& e) {
    client_->close();
    tools_.clear();
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
  return o;
}

}  // namespace gateway
