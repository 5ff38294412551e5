// mcp::Client: construction, the handlers, connect() and close(), and the small public methods
// (the rest of Client::Impl is in the files client_impl.hpp lists).
#include "client_impl.hpp"

namespace mcp {

namespace bj = boost::json;
using refcache_sync::Lock;
using Kind = ClientError::Kind;

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Client::~Client() {
  close();
}

const ClientOptions& Client::options() const {
  return impl_->opt;
}

void Client::on_elicitation(ElicitationHandler handler) {
  Lock lk(impl_->handlers_mu);
  impl_->handlers.elicitation = std::move(handler);
}

void Client::on_sampling(SamplingHandler handler) {
  Lock lk(impl_->handlers_mu);
  impl_->handlers.sampling = std::move(handler);
}

void Client::on_roots(RootsHandler handler) {
  Lock lk(impl_->handlers_mu);
  impl_->handlers.roots = std::move(handler);
}

void Client::on_input_requests(InputRequestsHandler handler) {
  Lock lk(impl_->handlers_mu);
  impl_->handlers.input_requests = std::move(handler);
}

void Client::on_tools_list_changed(std::function<void()> handler) {
  {
    Lock lk(impl_->handlers_mu);
    impl_->handlers.tools_changed = std::move(handler);
  }
  impl_->handlers_changed();
}

void Client::on_prompts_list_changed(std::function<void()> handler) {
  {
    Lock lk(impl_->handlers_mu);
    impl_->handlers.prompts_changed = std::move(handler);
  }
  impl_->handlers_changed();
}

void Client::on_resources_list_changed(std::function<void()> handler) {
  {
    Lock lk(impl_->handlers_mu);
    impl_->handlers.resources_changed = std::move(handler);
  }
  impl_->handlers_changed();
}

void Client::on_resource_updated(std::function<void(const std::string&)> handler) {
  Lock lk(impl_->handlers_mu);
  impl_->handlers.resource_updated = std::move(handler);
}

void Client::on_log(std::function<void(const LogMessage&)> handler) {
  Lock lk(impl_->handlers_mu);
  impl_->handlers.log = std::move(handler);
}

void Client::on_notification(
    std::function<void(const std::string&, const boost::json::object&)> handler) {
  Lock lk(impl_->handlers_mu);
  impl_->handlers.other = std::move(handler);
}

const ServerInfo& Client::connect(std::unique_ptr<ClientTransport> transport) {
  if (!transport) throw ClientError(Kind::kNotConnected, "connect(): no transport given");
  {
    Lock lk(impl_->mu);
    if (impl_->state != Impl::State::kIdle)
      throw ClientError(Kind::kNotConnected, "connect(): a client connects once");
    impl_->state = Impl::State::kConnecting;
    impl_->link_open = true;
    impl_->log_level = impl_->opt.log_level;
  }
  impl_->transport = std::move(transport);
  impl_->notify_pool = std::make_unique<WorkerPool>(
      1, std::max<std::size_t>(1, impl_->opt.max_queued_notifications));
  impl_->request_pool =
      std::make_unique<WorkerPool>(std::max<std::size_t>(1, impl_->opt.handler_threads),
                                   std::max<std::size_t>(1, impl_->opt.max_queued_server_requests));
  try {
    impl_->transport->start(impl_->callbacks());
    impl_->negotiate();
  } catch (...) {
    {
      Lock lk(impl_->mu);
      if (impl_->closed_reason.empty()) impl_->closed_reason = "connect() failed";
    }
    close();
    throw;
  }
  {
    Lock lk(impl_->mu);
    if (!impl_->link_open) {
      // Closed during the handshake (the server exited right after answering).
    } else {
      impl_->state = Impl::State::kConnected;
    }
  }
  if (!connected()) {
    ClientError e = impl_->closed_error();
    close();
    throw ClientError(std::move(e));
  }
  detail::client_log().debug("mcp client: connected to {} {} ({}, {})",
                             impl_->server.implementation.name,
                             impl_->server.implementation.version, impl_->transport->describe(),
                             impl_->server.protocol_version);
  impl_->handlers_changed();  // 2026-07-28: the listen stream the handlers want
  return impl_->server;
}

void Client::close() {
  {
    Lock lk(impl_->mu);
    if (impl_->state == Impl::State::kIdle || impl_->state == Impl::State::kClosed) {
      impl_->state = Impl::State::kClosed;
      return;
    }
    impl_->state = Impl::State::kClosed;
  }
  // The transport delivers closed() ("closed by the client"), which fails the calls in flight.
  if (impl_->transport) impl_->transport->close();
  if (impl_->notify_pool) impl_->notify_pool->stop();
  if (impl_->request_pool) impl_->request_pool->stop();
}

bool Client::connected() const {
  Lock lk(impl_->mu);
  return impl_->state == Impl::State::kConnected && impl_->link_open;
}

std::string Client::closed_reason() const {
  Lock lk(impl_->mu);
  return impl_->link_open ? std::string() : impl_->closed_reason;
}

const ServerInfo& Client::server() const {
  return impl_->server;
}

Era Client::era() const {
  return impl_->server.era;
}

const std::string& Client::protocol_version() const {
  return impl_->server.protocol_version;
}

bool Client::server_supports(std::string_view capability) const {
  const auto& caps = impl_->server.capabilities;
  if (capability == "tasks" && impl_->server.era == Era::kModern) {
    auto ext = caps.find("extensions");
    return ext != caps.end() && ext->value().is_object() &&
           ext->value().get_object().contains(detail::kClientTasksExtension);
  }
  return caps.contains(capability);
}

void Client::ping(const CallOptions& options) {
  if (impl_->modern())
    throw ClientError(Kind::kUnsupported, "ping does not exist in the 2026-07-28 era");
  impl_->call("ping", {}, impl_->control(options));
}

void Client::set_log_level(LogLevel level) {
  {
    Lock lk(impl_->mu);
    impl_->log_level = level;
  }
  if (!impl_->modern())
    impl_->call("logging/setLevel", bj::object{{"level", to_string(level)}}, impl_->control({}));
}

void Client::notify_roots_list_changed() {
  if (impl_->modern()) return;  // 2026-07-28 has no such notification: roots are asked anew
  impl_->check_open();
  impl_->send_notification("notifications/roots/list_changed", {});
}

json Client::request(const std::string& method, bj::object params, const CallOptions& options) {
  detail::CallControl c = impl_->control(options);
  // The Mcp-Name a modern HTTP server checks against the body, as the typed calls send it.
  const char* named = method == "tools/call" || method == "prompts/get" ? "name"
                      : method == "resources/read" || method == "resources/subscribe" ||
                              method == "resources/unsubscribe"
                          ? "uri"
                          : nullptr;
  if (named)
    if (const auto* v = params.if_contains(named); v && v->is_string())
      c.name = std::string(v->get_string());
  return impl_->call(method, std::move(params), c);
}

void Client::notify(const std::string& method, bj::object params) {
  impl_->check_open();
  impl_->send_notification(method, std::move(params));
}

ClientStats Client::stats() const {
  ClientStats s;
  s.notifications_dropped = impl_->notifications_dropped.load();
  s.unexpected_responses = impl_->unexpected_responses.load();
  s.malformed_messages = impl_->malformed_messages.load();
  s.server_requests_refused = impl_->server_requests_refused.load();
  Lock lk(impl_->mu);
  s.pending_requests = impl_->pending.size();
  return s;
}

}  // namespace mcp
