#include "upstream.hpp"

#include <spdlog/spdlog.h>

#include <boost/algorithm/string/predicate.hpp>
#include <fstream>
#include <iterator>

#include "caller_principal.hpp"
#include "mcp/client_http.hpp"
#include "mcp/client_oauth.hpp"
#include "mcp/client_stdio.hpp"
#include "oauth_browser_step.hpp"
#include "refcache/version.hpp"

namespace gateway {

namespace json = boost::json;

namespace {

// The call this thread makes, while a CallScope is alive on it: the mcp::Client answers an
// input_required result on the thread of the call, so a request met there is that call's.
struct CurrentCall {
  const Upstream* upstream = nullptr;
  std::uint64_t id = 0;
};
thread_local CurrentCall
    current_call;  // NOLINT(cppcoreguidelines-avoid-non-const-global-variables)

// The authorizer of an HTTP upstream (gateway_config.hpp, OAuthSettings), made once so that
// its tokens outlive reconnections; none for stdio, for `"oauth": false`, and when the
// configured headers carry an Authorization of their own.
std::shared_ptr<mcp::ClientAuthorizer> make_authorizer(const UpstreamConfig& c) {
  if (c.kind == UpstreamKind::kStdio || !c.oauth.enabled) return nullptr;
  for (const auto& [name, value] : c.headers)
    if (boost::algorithm::iequals(name, "authorization")) return nullptr;
  const OAuthSettings& s = c.oauth;
  mcp::OAuthClientOptions o;
  o.access_token = s.access_token;
  o.client_id = s.client_id;
  o.client_secret = s.client_secret;
  o.client_credentials = s.client_credentials;
  o.token_endpoint_auth_method = s.token_endpoint_auth_method;
  o.private_key_alg = s.private_key_alg;
  if (!s.private_key_file.empty()) {
    std::ifstream in(s.private_key_file, std::ios::binary);
    if (!in)
      throw std::runtime_error("upstream '" + c.name + "': cannot read the private key file " +
                               s.private_key_file);
    o.private_key_pem.assign(std::istreambuf_iterator<char>(in), {});
  }
  o.client_id_metadata_url = s.client_id_metadata_url;
  o.scope = s.scope;
  o.ca_file = s.ca_file;
  o.client_name = "refcache-gateway";
  o.redirect_uri = s.redirect_uri.empty() ? free_loopback_redirect_uri() : s.redirect_uri;
  o.open_authorization_url = browser_step(c.name, o.redirect_uri, s.authorization_timeout);
  return std::make_shared<mcp::OAuthClientAuthorizer>(std::move(o));
}

std::unique_ptr<mcp::ClientTransport> make_transport(
    const UpstreamConfig& c, const std::shared_ptr<mcp::ClientAuthorizer>& authorizer,
    std::size_t max_message_bytes) {
  switch (c.kind) {
    case UpstreamKind::kStdio: {
      mcp::StdioClientOptions o;
      o.command = c.command;
      o.args = c.args;
      o.env = c.env;
      o.working_directory = c.cwd;
      o.log_name = c.name;
      o.max_line_bytes = max_message_bytes;
      return std::make_unique<mcp::StdioClientTransport>(std::move(o));
    }
    case UpstreamKind::kStreamableHttp: {
      mcp::StreamableHttpClientOptions o;
      o.url = c.url;
      o.headers = c.headers;
      o.authorizer = authorizer;
      o.max_message_bytes = max_message_bytes;
      return std::make_unique<mcp::StreamableHttpClientTransport>(std::move(o));
    }
    case UpstreamKind::kLegacySse: {
      mcp::LegacySseClientOptions o;
      o.url = c.url;
      o.headers = c.headers;
      o.authorizer = authorizer;
      o.max_message_bytes = max_message_bytes;
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

std::string string_member(const json::object& o, const char* key) {
  if (const auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return {};
}

// Everything one connection offers.
struct Lists {
  std::vector<mcp::ToolSpec> tools;
  std::vector<mcp::Resource> resources;
  std::vector<mcp::ResourceTemplate> templates;
  std::vector<mcp::PromptSpec> prompts;
};

Lists list_all(mcp::Client& client, const std::string& name, std::chrono::milliseconds timeout) {
  Lists l;
  mcp::CallOptions lo;
  lo.timeout = timeout;
  if (client.server_supports("tools")) l.tools = client.list_tools(lo);
  // Resources and prompts are extras: a server that fails to list them still serves tools.
  try {
    if (client.server_supports("resources")) {
      l.resources = client.list_resources(lo);
      l.templates = client.list_resource_templates(lo);
    }
    if (client.server_supports("prompts")) l.prompts = client.list_prompts(lo);
  } catch (const mcp::Error& e) {
    spdlog::warn("upstream '{}': cannot list its resources or prompts: {}", name, e.what());
  }
  return l;
}

}  // namespace

Upstream::Upstream(UpstreamConfig config, UpstreamOptions options)
    : config_(std::move(config)), options_(options), authorizer_(make_authorizer(config_)) {}

Upstream::~Upstream() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  std::shared_ptr<mcp::Client> c;
  {
    std::lock_guard lock(mu_);
    c = std::move(client_);
  }
  if (c) c->close();
}

bool Upstream::attempt() {
  mcp::ClientOptions co;
  co.info = {.name = "refcache-gateway", .version = std::string(refcache::kVersion)};
  co.request_timeout = options_.call_timeout;
  co.max_message_bytes = options_.max_message_bytes;
  // Every message the upstream logs is wanted: the calls' clients filter by their own level.
  co.log_level = mcp::LogLevel::kDebug;
  auto client = std::make_shared<mcp::Client>(co);
  auto relist = [this] {
    {
      std::lock_guard lock(mu_);
      relist_ = true;
    }
    cv_.notify_all();
  };
  client->on_tools_list_changed(relist);
  client->on_resources_list_changed(relist);
  client->on_prompts_list_changed(relist);
  client->on_resource_updated([this](const std::string& uri) {
    if (on_updated_) on_updated_(uri);
  });
  client->on_log([this](const mcp::LogMessage& m) { deliver_log(m); });
  client->on_elicitation([this](const mcp::ElicitationRequest& r) {
    const json::value v = ask_client("elicitation/create", r.params);
    mcp::ElicitationResult out;
    if (const auto* o = v.if_object()) {
      out.action = string_member(*o, "action");
      if (const auto* c = o->if_contains("content"); c && c->is_object())
        out.content = c->get_object();
    }
    return out;
  });
  client->on_sampling([this](const mcp::SamplingRequest& r) {
    const json::value v = ask_client("sampling/createMessage", r.params);
    mcp::SamplingResult out;
    if (const auto* o = v.if_object()) {
      out.role = string_member(*o, "role");
      if (const auto* c = o->if_contains("content")) out.content = *c;
      out.model = string_member(*o, "model");
      out.stop_reason = string_member(*o, "stopReason");
    }
    return out;
  });
  client->on_input_requests(
      [this](const json::object& requests) { return ask_client_all(requests); });
  client->on_roots([this] {
    const json::value v = ask_client("roots/list", json::object{});
    std::vector<mcp::Root> out;
    if (const auto* o = v.if_object())
      if (const auto* a = o->if_contains("roots"); a && a->is_array())
        for (const auto& r : a->get_array())
          if (const auto* ro = r.if_object())
            out.push_back({.uri = string_member(*ro, "uri"), .name = string_member(*ro, "name")});
    return out;
  });
  {
    std::lock_guard lock(mu_);
    ++attempts_;
  }
  try {
    client->connect(make_transport(config_, authorizer_, options_.max_message_bytes));
    Lists l = list_all(*client, config_.name, options_.connect_timeout);
    spdlog::info("upstream '{}': up ({} {}, {} tools, {} resources, {} templates, {} prompts)",
                 config_.name, client->server().implementation.name, client->protocol_version(),
                 l.tools.size(), l.resources.size(), l.templates.size(), l.prompts.size());
    std::lock_guard lock(mu_);
    client_ = std::move(client);
    tools_ = std::move(l.tools);
    resources_ = std::move(l.resources);
    templates_ = std::move(l.templates);
    prompts_ = std::move(l.prompts);
    subscribed_.clear();
    return true;
  } catch (const std::exception& e) {
    client->close();
    std::lock_guard lock(mu_);
    last_error_ = e.what();
    // The reason names the program or URL, never the headers (credentials stay out of logs).
    spdlog::error("upstream '{}': down: {}", config_.name, last_error_);
    return false;
  }
}

void Upstream::connect() {
  attempt();
}

void Upstream::supervise(std::function<void(bool)> on_change) {
  on_change_ = std::move(on_change);
  supervisor_ = std::thread([this] { supervise_loop(); });
}

void Upstream::supervise_loop() {
  Backoff backoff(options_.backoff);
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!client_ || !client_->connected()) {
      if (client_) {
        std::shared_ptr<mcp::Client> ended = std::move(client_);
        last_error_ = ended->closed_reason();
        spdlog::warn("upstream '{}': connection ended: {}", config_.name, last_error_);
        lock.unlock();
        ended->close();
        lock.lock();
      }
      const auto delay = backoff.next();
      spdlog::info("upstream '{}': next attempt in {} ms", config_.name, delay.count());
      if (cv_.wait_for(lock, delay, [this] { return stopping_; })) break;
      lock.unlock();
      const bool ok = attempt();
      if (ok) {
        backoff.reset();
        {
          std::lock_guard again(mu_);
          ++restarts_;
        }
        if (on_change_) on_change_(true);
      }
      lock.lock();
      continue;
    }
    if (relist_) {
      relist_ = false;
      std::shared_ptr<mcp::Client> c = client_;
      lock.unlock();
      try {
        Lists l = list_all(*c, config_.name, options_.connect_timeout);
        {
          std::lock_guard again(mu_);
          tools_ = std::move(l.tools);
          resources_ = std::move(l.resources);
          templates_ = std::move(l.templates);
          prompts_ = std::move(l.prompts);
        }
        spdlog::info("upstream '{}': lists changed", config_.name);
        if (on_change_) on_change_(false);
      } catch (const std::exception& e) {
        spdlog::warn("upstream '{}': cannot list again after list_changed: {}", config_.name,
                     e.what());
      }
      lock.lock();
      continue;
    }
    // The client has no callback for the end of its connection: it is looked at this often.
    cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_ || relist_; });
  }
}

bool Upstream::up() const {
  std::lock_guard lock(mu_);
  return client_ && client_->connected();
}

std::vector<mcp::ToolSpec> Upstream::tools() const {
  std::lock_guard lock(mu_);
  return tools_;
}
std::vector<mcp::Resource> Upstream::resources() const {
  std::lock_guard lock(mu_);
  return resources_;
}
std::vector<mcp::ResourceTemplate> Upstream::resource_templates() const {
  std::lock_guard lock(mu_);
  return templates_;
}
std::vector<mcp::PromptSpec> Upstream::prompts() const {
  std::lock_guard lock(mu_);
  return prompts_;
}

std::shared_ptr<mcp::Client> Upstream::client() const {
  std::lock_guard lock(mu_);
  if (client_ && client_->connected()) return client_;
  return nullptr;
}

void Upstream::throw_down() const {
  std::string message = "upstream '" + config_.name + "' is down";
  {
    std::lock_guard lock(mu_);
    if (!last_error_.empty()) message += " (" + last_error_ + "); it is being restarted";
  }
  throw mcp::ClientError(mcp::ClientError::Kind::kNotConnected, message);
}

mcp::CallToolResult Upstream::call_tool(const std::string& name,
                                        const boost::json::value& arguments,
                                        const mcp::CallOptions& options) {
  auto c = client();
  if (!c) throw_down();
  return c->call_tool(name, arguments, options);
}

mcp::ReadResourceResult Upstream::read_resource(const std::string& uri,
                                                const mcp::CallOptions& options) {
  auto c = client();
  if (!c) throw_down();
  return c->read_resource(uri, options);
}

mcp::GetPromptResult Upstream::get_prompt(const std::string& name,
                                          const std::map<std::string, std::string>& arguments,
                                          const mcp::CallOptions& options) {
  auto c = client();
  if (!c) throw_down();
  return c->get_prompt(name, arguments, options);
}

void Upstream::on_resource_updated(std::function<void(const std::string& uri)> handler) {
  on_updated_ = std::move(handler);
}

void Upstream::sync_subscriptions(const std::set<std::string>& uris) {
  std::shared_ptr<mcp::Client> c;
  std::vector<std::string> add;
  std::vector<std::string> drop;
  {
    std::lock_guard lock(mu_);
    if (!client_ || !client_->connected()) return;
    c = client_;
    for (const auto& u : uris)
      if (!subscribed_.contains(u)) add.push_back(u);
    for (const auto& u : subscribed_)
      if (!uris.contains(u)) drop.push_back(u);
  }
  mcp::CallOptions co;
  co.timeout = options_.connect_timeout;
  for (const auto& u : add) {
    // A refusal counts as done (logged once): it is asked again only after a restart.
    try {
      c->subscribe(u, co);
    } catch (const std::exception& e) {
      spdlog::warn("upstream '{}': cannot subscribe to '{}': {}", config_.name, u, e.what());
    }
    std::lock_guard lock(mu_);
    if (client_ == c) subscribed_.insert(u);
  }
  for (const auto& u : drop) {
    try {
      c->unsubscribe(u, co);
    } catch (const std::exception& e) {
      spdlog::warn("upstream '{}': cannot unsubscribe from '{}': {}", config_.name, u, e.what());
    }
    std::lock_guard lock(mu_);
    if (client_ == c) subscribed_.erase(u);
  }
}

mcp::Completion Upstream::complete(const boost::json::object& ref, const std::string& argument,
                                   const std::string& value,
                                   const std::map<std::string, std::string>& context,
                                   const mcp::CallOptions& options) {
  auto c = client();
  if (!c) throw_down();
  return c->complete(ref, argument, value, context, options);
}

boost::json::object Upstream::status() const {
  boost::json::object o;
  o["name"] = config_.name;
  o["transport"] = transport_name(config_.kind);
  std::lock_guard lock(mu_);
  if (client_ && client_->connected()) {
    o["state"] = "up";
    o["protocol_version"] = client_->protocol_version();
    o["server"] = client_->server().implementation.name;
  } else {
    o["state"] = "down";
  }
  // A connection that has just ended, before the supervisor has seen it, gives its own reason.
  std::string last = last_error_;
  if (client_ && !client_->connected() && !client_->closed_reason().empty())
    last = client_->closed_reason();
  if (o["state"] == "down") o["reason"] = last;
  o["attempts"] = attempts_;
  o["restarts"] = restarts_;
  if (!last.empty()) o["last_error"] = last;
  o["tools"] = tools_.size();
  o["resources"] = resources_.size();
  o["resource_templates"] = templates_.size();
  o["prompts"] = prompts_.size();
  return o;
}

Upstream::CallScope::CallScope(Upstream& upstream, CallSink sink)
    : upstream_(upstream),
      previous_upstream_(current_call.upstream),
      previous_id_(current_call.id) {
  std::lock_guard lock(upstream_.calls_mu_);
  id_ = upstream_.next_call_++;
  upstream_.calls_.emplace(id_, std::move(sink));
  current_call = {.upstream = &upstream_, .id = id_};
}

Upstream::CallScope::~CallScope() {
  current_call = {.upstream = previous_upstream_, .id = previous_id_};
  std::lock_guard lock(upstream_.calls_mu_);
  upstream_.calls_.erase(id_);
}

void Upstream::deliver_log(const mcp::LogMessage& m) {
  std::vector<std::function<void(const mcp::LogMessage&)>> sinks;
  {
    std::lock_guard lock(calls_mu_);
    std::vector<std::string> principals;
    principals.reserve(calls_.size());
    for (const auto& [id, s] : calls_) principals.push_back(s.principal);
    if (single_principal(principals))
      for (const auto& [id, s] : calls_)
        if (s.log) sinks.push_back(s.log);
  }
  if (sinks.empty()) {
    // No caller it surely belongs to: the gateway's log only, at the upstream's level.
    spdlog::level::level_enum level = spdlog::level::info;
    switch (m.level) {
      case mcp::LogLevel::kDebug:
        level = spdlog::level::debug;
        break;
      case mcp::LogLevel::kInfo:
      case mcp::LogLevel::kNotice:
        level = spdlog::level::info;
        break;
      case mcp::LogLevel::kWarning:
        level = spdlog::level::warn;
        break;
      default:
        level = spdlog::level::err;
        break;
    }
    spdlog::log(level, "upstream '{}' logs{}{}: {}", config_.name, m.logger.empty() ? "" : " ",
                m.logger, json::serialize(m.data));
    return;
  }
  for (const auto& s : sinks) s(m);
}

json::value Upstream::ask_client(const std::string& method, const json::value& params) {
  std::function<json::value(const std::string&, const json::value&)> ask;
  bool ambiguous = false;
  {
    std::lock_guard lock(calls_mu_);
    if (current_call.upstream == this) {
      // Asked on the thread of a call (input_required): that call's own.
      if (auto it = calls_.find(current_call.id); it != calls_.end()) ask = it->second.ask;
    } else {
      std::vector<std::string> principals;
      principals.reserve(calls_.size());
      for (const auto& [id, s] : calls_) principals.push_back(s.principal);
      if (single_principal(principals)) {
        for (const auto& [id, s] : calls_)
          if (s.ask) {
            ask = s.ask;
            break;
          }
      } else {
        ambiguous = !calls_.empty();
      }
    }
  }
  if (ambiguous) {
    spdlog::warn("upstream '{}': {} refused: calls of several callers are in flight", config_.name,
                 method);
    throw mcp::Error(mcp::error_code::kInternalError,
                     "refcache-gateway: cannot tell which caller this " + method +
                         " request is for (calls of several callers are in flight)");
  }
  if (!ask)
    throw mcp::Error(mcp::error_code::kInternalError,
                     "refcache-gateway: no client call in flight to ask (" + method + ")");
  return ask(method, params);
}

json::object Upstream::ask_client_all(const json::object& requests) {
  CallSink sink;
  {
    std::lock_guard lock(calls_mu_);
    // An input_required result is answered on the thread of the call it belongs to.
    if (current_call.upstream == this)
      if (auto it = calls_.find(current_call.id); it != calls_.end()) sink = it->second;
  }
  if (sink.ask_all) return sink.ask_all(requests);
  json::object answers;
  for (const auto& [key, request] : requests) {
    const json::object& r = request.as_object();  // the client checked each has a method
    const json::value* params = r.if_contains("params");
    answers[key] = ask_client(std::string(r.at("method").as_string()),
                              params ? *params : json::value(json::object{}));
  }
  return answers;
}

}  // namespace gateway
