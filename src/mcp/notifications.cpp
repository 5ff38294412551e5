// Notifications: the sessions attached to the server and the 2026-07-28 subscriptions/listen
// streams, the notifications the host pushes to them (list_changed, resources/updated), and who
// is subscribed to what.
#include "jsonio/json_text.hpp"
#include "server_impl.hpp"
#include "session_state.hpp"

namespace mcp {

namespace bj = boost::json;
using detail::CallPtr;
using detail::Listener;
using refcache_sync::Lock;

namespace detail {

void Subscriptions::attach(const std::shared_ptr<Session>& s) {
  Lock lk(mu_);
  sessions_.push_back(s);
}

void Subscriptions::detach(const std::shared_ptr<Session>& s) {
  Lock lk(mu_);
  std::erase_if(sessions_, [&](const std::weak_ptr<Session>& w) {
    auto p = w.lock();
    return !p || p == s;
  });
  std::erase_if(listeners_, [&](const Listener& l) {
    auto p = l.session.lock();
    return !p || p == s;
  });
}

void Subscriptions::add_listener(Listener l) {
  Lock lk(mu_);
  listeners_.push_back(std::move(l));
}

void Subscriptions::drop_listener(const std::shared_ptr<Outbound>& out) {
  Lock lk(mu_);
  std::erase_if(listeners_, [&](const Listener& x) { return !out || x.out == out; });
}

void Subscriptions::broadcast(const std::string& method, const bj::object& params, Wants wants,
                              const std::string* uri, const SubscriberFilter* filter) {
  std::vector<std::shared_ptr<Session>> targets;
  struct ListenTarget {
    std::shared_ptr<Outbound> out;
    bj::value id;
    Subscriber who;
  };
  std::vector<ListenTarget> lt;
  {
    Lock lk(mu_);
    std::erase_if(sessions_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
    for (auto& w : sessions_)
      if (auto s = w.lock()) targets.push_back(std::move(s));
    std::erase_if(listeners_,
                  [](const Listener& l) { return !l.out->is_open() || l.session.expired(); });
    for (auto& l : listeners_)
      if (uri ? l.uris.count(*uri) > 0 : wants(l)) {
        Subscriber who;
        if (auto sp = l.session.lock()) {
          who.session_id = sp->stateless() ? std::string() : sp->id();
          who.transport = sp->kind();
        }
        who.principal = l.principal;
        who.era = Era::kModern;
        lt.push_back({l.out, l.id, std::move(who)});
      }
  }
  const std::string legacy_text =
      jsonio::to_string(bj::object{{"jsonrpc", "2.0"}, {"method", method}, {"params", params}});
  for (auto& s : targets) {
    if (!s->initialized()) continue;
    if (uri && !s->subscribed(*uri)) continue;
    auto out = s->standalone();
    if (!out) continue;
    if (filter) {
      Subscriber who;
      who.session_id = s->id();
      who.transport = s->kind();
      who.era = Era::kLegacy;
      {
        auto& st = s->state();
        Lock lk(st.mu);
        who.principal = st.subscriber_principal;
      }
      if (!(*filter)(who)) continue;
    }
    out->send(legacy_text);
  }
  for (auto& [out, id, who] : lt) {
    if (filter && !(*filter)(who)) continue;
    bj::object p = params;
    p["_meta"] = bj::object{{kMetaSubscriptionId, id}};
    out->send(jsonio::to_string(
        bj::object{{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(p)}}));
  }
}

std::vector<std::string> Subscriptions::subscribed_uris() const {
  std::set<std::string> all;
  std::vector<std::shared_ptr<Session>> live;
  {
    Lock lk(mu_);
    for (auto& w : sessions_)
      if (auto s = w.lock()) live.push_back(std::move(s));
    for (auto& l : listeners_)
      if (l.out->is_open()) all.insert(l.uris.begin(), l.uris.end());
  }
  for (auto& s : live) {
    auto& st = s->state();
    Lock lk(st.mu);
    all.insert(st.subscriptions.begin(), st.subscriptions.end());
  }
  return {all.begin(), all.end()};
}

std::array<std::int64_t, 4> Subscriptions::active_by_kind() const {
  std::array<std::int64_t, 4> active{};
  Lock lk(mu_);
  for (auto& w : sessions_)
    if (auto s = w.lock()) ++active[static_cast<std::size_t>(s->kind())];
  return active;
}

}  // namespace detail

void Server::attach(const std::shared_ptr<Session>& s) {
  impl_->metrics->sessions_created[static_cast<std::size_t>(s->kind())].inc();
  impl_->subscriptions.attach(s);
}

void Server::detach(const std::shared_ptr<Session>& s) {
  s->cancel_all();
  if (!s->stateless()) impl_->tasks->session_ended(*s);
  impl_->subscriptions.detach(s);
}

void Server::notify_tools_list_changed() {
  impl_->subscriptions.broadcast(
      "notifications/tools/list_changed", {}, [](const Listener& l) { return l.tools; }, nullptr,
      nullptr);
}

void Server::notify_resources_list_changed() {
  impl_->subscriptions.broadcast(
      "notifications/resources/list_changed", {}, [](const Listener& l) { return l.resources; },
      nullptr, nullptr);
}

void Server::notify_prompts_list_changed() {
  impl_->subscriptions.broadcast(
      "notifications/prompts/list_changed", {}, [](const Listener& l) { return l.prompts; },
      nullptr, nullptr);
}

void Server::notify_resource_updated(const std::string& uri) {
  impl_->subscriptions.broadcast("notifications/resources/updated", bj::object{{"uri", uri}},
                                 nullptr, &uri, nullptr);
}

void Server::notify_resource_updated(const std::string& uri, const SubscriberFilter& filter) {
  impl_->subscriptions.broadcast("notifications/resources/updated", bj::object{{"uri", uri}},
                                 nullptr, &uri, filter ? &filter : nullptr);
}

std::vector<std::string> Server::subscribed_uris() const {
  return impl_->subscriptions.subscribed_uris();
}

bj::value Server::Impl::m_listen(const CallPtr& c) {
  const bj::object* n = detail::member_object(c->params, "notifications");
  Listener l;
  l.session = c->session;
  l.out = c->out;
  l.id = c->id;
  l.principal = c->principal;
  bj::object accepted;
  auto flag = [&](const char* k) {
    if (!n) return false;
    auto it = n->find(k);
    return it != n->end() && it->value().is_bool() && it->value().get_bool();
  };
  if (opt.list_changed && flag("toolsListChanged")) accepted["toolsListChanged"] = l.tools = true;
  if (opt.list_changed && flag("promptsListChanged"))
    accepted["promptsListChanged"] = l.prompts = true;
  if (opt.list_changed && flag("resourcesListChanged"))
    accepted["resourcesListChanged"] = l.resources = true;
  if (opt.resource_subscriptions && n)
    if (auto it = n->find("resourceSubscriptions"); it != n->end() && it->value().is_array()) {
      bj::array uris;
      for (const auto& u : it->value().get_array())
        if (u.is_string() && may_subscribe(c, std::string(u.get_string()))) {
          l.uris.insert(std::string(u.get_string()));
          uris.push_back(u);
        }
      accepted["resourceSubscriptions"] = std::move(uris);
    }
  // Registered before the acknowledgement, so that a client that saw it misses nothing.
  subscriptions.add_listener(std::move(l));
  bj::object params{{"notifications", accepted},
                    {"_meta", bj::object{{detail::kMetaSubscriptionId, c->id}}}};
  c->out->send(jsonio::to_string(bj::object{{"jsonrpc", "2.0"},
                                            {"method", "notifications/subscriptions/acknowledged"},
                                            {"params", std::move(params)}}));
  // When the client cancels the listen request, the stream ends.
  std::weak_ptr<Outbound> wout = c->out;
  c->token.on_cancel([this, wout] { subscriptions.drop_listener(wout.lock()); });
  return nullptr;
}

}  // namespace mcp
