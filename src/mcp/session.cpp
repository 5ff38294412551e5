#include "session_state.hpp"

#include <vector>

#include "call_state.hpp"

namespace mcp {

using detail::SessionState;
using refcache_sync::Lock;

Session::Session(std::string id, TransportKind kind, bool stateless)
    : id_(std::move(id)),
      kind_(kind),
      stateless_(stateless),
      state_(std::make_unique<SessionState>()) {}

Session::~Session() = default;

void Session::set_standalone(std::shared_ptr<Outbound> out) {
  Lock lk(state_->mu);
  state_->standalone = std::move(out);
}

std::shared_ptr<Outbound> Session::standalone() const {
  Lock lk(state_->mu);
  return state_->standalone;
}

bool Session::initialized() const {
  return state_->initialized.load();
}

std::string Session::protocol_version() const {
  Lock lk(state_->mu);
  return state_->protocol_version;
}

boost::json::object Session::client_capabilities() const {
  Lock lk(state_->mu);
  return state_->client_capabilities;
}

int Session::log_level() const {
  return state_->log_level.load();
}

bool Session::subscribed(const std::string& uri) const {
  Lock lk(state_->mu);
  return state_->subscriptions.count(uri) > 0;
}

std::optional<std::string> Session::principal_subject() const {
  Lock lk(state_->mu);
  return state_->principal_subject;
}

void Session::set_principal_subject(std::string s) {
  Lock lk(state_->mu);
  state_->principal_subject = std::move(s);
}

void Session::cancel_all() {
  std::vector<std::shared_ptr<detail::CallState>> calls;
  std::vector<std::shared_ptr<std::promise<boost::json::value>>> pending;
  {
    Lock lk(state_->mu);
    for (auto& [k, w] : state_->in_flight)
      if (auto c = w.lock()) calls.push_back(std::move(c));
    for (auto& [k, p] : state_->pending) pending.push_back(p);
    state_->pending.clear();
  }
  for (auto& c : calls) c->token.cancel();
  for (auto& p : pending) {
    try {
      p->set_value(boost::json::object{
          {"error", boost::json::object{{"code", -32000}, {"message", "Connection closed"}}}});
    } catch (const std::future_error&) {
      // Answered meanwhile.
    }
  }
}

std::size_t Session::in_flight() const {
  Lock lk(state_->mu);
  std::size_t n = 0;
  for (auto& [k, w] : state_->in_flight)
    if (!w.expired()) ++n;
  return n;
}

}  // namespace mcp
