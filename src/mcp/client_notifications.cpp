// Notifications from the server: queued (bounded) and handed to the program's handlers one at a
// time, in order; progress to the call that asked for it; the server's cancellation of its own
// requests. In the 2026-07-28 era list changes and resource updates come on a
// subscriptions/listen stream, which the client opens with what its handlers and subscriptions
// want, and reopens when that changes.
#include "client_impl.hpp"
#include "jsonio/json_text.hpp"

namespace mcp {

namespace bj = boost::json;
using refcache_sync::Lock;

void Client::Impl::on_notification(std::string method, bj::object params) {
  // Handled here, on the transport thread: they settle waits, never run the program's code.
  if (method == "notifications/cancelled") {
    if (auto r = params.find("requestId"); r != params.end()) {
      Lock lk(mu);
      if (auto it = serving.find(detail::client_id_key(r->value())); it != serving.end())
        it->second->store(true);
    }
    return;
  }
  if (method == "notifications/subscriptions/acknowledged") {
    std::shared_ptr<detail::PendingCall> ack;
    std::string sub;
    if (auto m = params.find("_meta"); m != params.end() && m->value().is_object())
      if (auto s = m->value().get_object().find(detail::kClientMetaSubscriptionId);
          s != m->value().get_object().end())
        sub = detail::client_id_key(s->value());
    {
      Lock lk(mu);
      if (listen_id && (sub.empty() || sub == *listen_id)) ack = listen_ack;
    }
    if (ack) ack->settle_response(bj::object{{"result", params}});
    return;
  }
  // 2026-07-28: a notification of a subscriptions/listen stream the client has ended (or
  // replaced) is dropped, whether or not the server has noticed the end yet.
  if (auto m = params.find("_meta"); m != params.end() && m->value().is_object()) {
    const auto& meta = m->value().get_object();
    if (auto s = meta.find(detail::kClientMetaSubscriptionId); s != meta.end()) {
      const std::string sub = detail::client_id_key(s->value());
      Lock lk(mu);
      if (!listen_id || *listen_id != sub) return;
    }
  }
  if (!notify_pool ||
      !notify_pool->submit([this, method = std::move(method), params = std::move(params)] {
        dispatch_notification(method, params);
      })) {
    std::uint64_t n = notifications_dropped.fetch_add(1, std::memory_order_relaxed) + 1;
    if (dropped_log.allow())
      detail::client_log().warn(
          "mcp client: dropped a notification: {} are waiting for the handlers already ({} "
          "dropped so far)",
          opt.max_queued_notifications, n);
  }
}

void Client::Impl::dispatch_notification(const std::string& method, const bj::object& params) {
  auto str = [&](std::string_view key) {
    auto it = params.find(key);
    return it != params.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                         : std::string();
  };
  try {
    if (method == "notifications/progress") {
      auto t = params.find("progressToken");
      if (t == params.end()) return;
      std::shared_ptr<detail::ProgressSink> sink;
      {
        Lock lk(mu);
        if (auto it = progress.find(detail::client_id_key(t->value())); it != progress.end())
          sink = it->second;
      }
      if (!sink) return;  // the call has ended
      Progress p;
      if (auto v = params.find("progress"); v != params.end() && v->value().is_number())
        p.progress = v->value().to_number<double>();
      if (auto v = params.find("total"); v != params.end() && v->value().is_number())
        p.total = v->value().to_number<double>();
      p.message = str("message");
      sink->deliver(p);
      return;
    }
    const detail::ClientHandlers h = handlers_copy();
    if (method == "notifications/message") {
      if (!h.log) return;
      LogMessage m;
      m.level = parse_log_level(str("level")).value_or(LogLevel::kInfo);
      m.logger = str("logger");
      if (auto d = params.find("data"); d != params.end()) m.data = d->value();
      h.log(m);
    } else if (method == "notifications/tools/list_changed") {
      if (h.tools_changed) h.tools_changed();
    } else if (method == "notifications/prompts/list_changed") {
      if (h.prompts_changed) h.prompts_changed();
    } else if (method == "notifications/resources/list_changed") {
      if (h.resources_changed) h.resources_changed();
    } else if (method == "notifications/resources/updated") {
      if (h.resource_updated) h.resource_updated(str("uri"));
    } else if (h.other) {
      h.other(method, params);
    }
  } catch (const std::exception& e) {
    detail::client_log().error("mcp client: the handler of {} failed: {}", method, e.what());
  } catch (...) {
    detail::client_log().error("mcp client: the handler of {} failed", method);
  }
}

bj::object Client::Impl::listen_wants() const {
  const detail::ClientHandlers h = handlers_copy();
  bj::object n;
  if (h.tools_changed) n["toolsListChanged"] = true;
  if (h.prompts_changed) n["promptsListChanged"] = true;
  if (h.resources_changed) n["resourcesListChanged"] = true;
  Lock lk(mu);
  if (!listen_uris.empty()) {
    bj::array uris;
    for (const auto& u : listen_uris) uris.emplace_back(u);
    n["resourceSubscriptions"] = std::move(uris);
  }
  return n;
}

bj::object Client::Impl::refresh_listen(const detail::CallControl& c) {
  refcache_sync::Lock turn(listen_turn);
  check_open();
  const bj::object wants = listen_wants();
  // The stream open now ends first: on a shared stdio pipe the server may end every stream of
  // the connection when one is cancelled, and the new one must come after.
  std::optional<bj::value> old_id;
  {
    Lock lk(mu);
    if (listen_id) old_id = listen_id_value;
    listen_id.reset();
    listen_ack.reset();
  }
  if (old_id) cancel_request(*old_id, "The client replaces its subscriptions");
  if (wants.empty()) return {};

  const bj::value id(next_id.fetch_add(1));
  auto ack = std::make_shared<detail::PendingCall>();
  {
    Lock lk(mu);
    listen_id = detail::client_id_key(id);
    listen_id_value = id;
    listen_ack = ack;
  }
  bj::object params{{"notifications", wants}};
  add_envelope(params, c, true);
  OutgoingMessage out;
  out.text = jsonio::to_string(bj::object{
      {"jsonrpc", "2.0"}, {"id", id}, {"method", "subscriptions/listen"}, {"params", params}});
  out.kind = OutgoingMessage::Kind::kRequest;
  out.id = id;
  out.method = "subscriptions/listen";
  wire(out);
  transport->send(std::move(out));

  if (!ack->wait_until(c.deadline)) {
    cancel_request(id, "No acknowledgement within the deadline");
    Lock lk(mu);
    listen_id.reset();
    listen_ack.reset();
    throw ClientError(ClientError::Kind::kTimeout,
                      "subscriptions/listen: no acknowledgement within the deadline of " +
                          detail::duration_text(c.timeout));
  }
  auto o = ack->take();
  if (o.error) std::rethrow_exception(o.error);
  bj::object& msg = o.response.as_object();
  if (auto e = msg.find("error"); e != msg.end())  // the server answered the request instead
    std::rethrow_exception(detail::error_from(e->value(), "subscriptions/listen"));
  bj::object accepted;
  if (auto r = msg.find("result"); r != msg.end() && r->value().is_object()) {
    const auto& ro = r->value().get_object();
    if (auto n = ro.find("notifications"); n != ro.end() && n->value().is_object())
      accepted = n->value().get_object();
  }
  return accepted;
}

void Client::Impl::handlers_changed() {
  {
    Lock lk(mu);
    if (state != State::kConnected || !link_open || wire_era != Era::kModern) return;
  }
  try {
    refresh_listen(control({}));
  } catch (const std::exception& e) {
    detail::client_log().warn("mcp client: cannot open the subscriptions/listen stream: {}",
                              e.what());
  }
}

}  // namespace mcp
