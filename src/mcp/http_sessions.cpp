#include "http_sessions.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>

#include "crypto.hpp"

namespace mcp::detail {

namespace asio = boost::asio;
using refcache_sync::Lock;
using Clock = std::chrono::steady_clock;

std::string owner_key(const std::optional<Principal>& principal, const std::string& peer) {
  if (principal) return "principal:" + principal->subject;
  boost::system::error_code ec;
  auto a = asio::ip::make_address(peer, ec);
  if (ec || !a.is_v6()) return "peer:" + peer;
  auto bytes = a.to_v6().to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return "peer:" + asio::ip::address_v6(bytes).to_string() + "/64";
}

namespace {

const char* owner_refusal(bool by_principal) {
  return by_principal ? "Too many sessions for this principal"
                      : "Too many sessions from this address";
}

}  // namespace

HttpSessions::HttpSessions(Server& server, const HttpOptions& options)
    : server_(server), opt_(options) {}

std::size_t HttpSessions::owner_cap(bool by_principal) const {
  return by_principal ? opt_.max_sessions_per_principal : opt_.max_sessions_per_peer;
}

std::shared_ptr<Session> HttpSessions::take_locked(Table::iterator it) {
  auto s = std::move(it->second.session);
  release_owner_locked(it->second.owner);
  sessions_.erase(it);
  return s;
}

void HttpSessions::release_owner_locked(const std::string& owner) {
  auto it = owners_.find(owner);
  if (it != owners_.end() && --it->second == 0) owners_.erase(it);
}

std::size_t HttpSessions::owned_locked(const std::string& owner) const {
  auto it = owners_.find(owner);
  return it == owners_.end() ? 0 : it->second;
}

void HttpSessions::retire(const std::shared_ptr<Session>& s, bool expired) {
  server_.detach(s);
  if (expired) server_.transport_metrics().count_session_expired();
  if (auto out = s->standalone()) static_cast<HttpStream*>(out.get())->peer_closed();
  s->set_standalone(nullptr);
}

std::vector<std::shared_ptr<Session>> HttpSessions::reap_locked(Clock::time_point now) {
  std::vector<std::shared_ptr<Session>> gone;
  const bool reap_unestablished = opt_.session_init_timeout.count() > 0;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const auto& e = it->second;
    if (now - e.last_used > opt_.session_ttl ||
        (reap_unestablished && !e.established && now - e.created > opt_.session_init_timeout))
      gone.push_back(take_locked(it++));
    else
      ++it;
  }
  return gone;
}

std::shared_ptr<Session> HttpSessions::find(const std::string& id,
                                            const std::optional<Principal>& principal,
                                            Lookup* why) {
  std::shared_ptr<Session> found, expired;
  Lookup result = Lookup::kMissing;
  {
    Lock lk(mu_);
    auto it = sessions_.find(id);
    if (it != sessions_.end()) {
      auto now = Clock::now();
      auto subject = it->second.session->principal_subject();
      if (now - it->second.last_used > opt_.session_ttl) {
        expired = take_locked(it);
      } else if (subject && (!principal || principal->subject != *subject)) {
        result = Lookup::kForeign;
      } else {
        it->second.last_used = now;
        it->second.established = true;
        found = it->second.session;
        result = Lookup::kFound;
      }
    }
  }
  if (expired) retire(expired, /*expired=*/true);
  if (why) *why = result;
  return found;
}

HttpSessions::Created HttpSessions::create(const std::optional<Principal>& principal,
                                           const std::string& peer) {
  const std::string owner = owner_key(principal, peer);
  const std::size_t cap = owner_cap(principal.has_value());
  Created out;
  std::vector<std::shared_ptr<Session>> gone;
  {
    Lock lk(mu_);
    auto now = Clock::now();
    if (sessions_.size() >= opt_.max_sessions || owned_locked(owner) >= cap)
      gone = reap_locked(now);
    if (sessions_.size() >= opt_.max_sessions) {
      out.refusal = "Too many sessions";
    } else if (owned_locked(owner) >= cap) {
      out.refusal = owner_refusal(principal.has_value());
    } else {
      out.session =
          std::make_shared<Session>(crypto::random_hex(16), TransportKind::kStreamableHttp);
      if (principal) out.session->set_principal_subject(principal->subject);
      sessions_.emplace(out.session->id(), Entry{.session = out.session,
                                                 .owner = owner,
                                                 .created = now,
                                                 .last_used = now,
                                                 .established = false,
                                                 .streams = {}});
      ++owners_[owner];
    }
  }
  for (auto& x : gone) retire(x, /*expired=*/true);
  if (out.session) server_.attach(out.session);
  return out;
}

void HttpSessions::end(const std::string& id) {
  std::shared_ptr<Session> s;
  {
    Lock lk(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    s = take_locked(it);
  }
  retire(s, /*expired=*/false);
}

void HttpSessions::add_stream(const std::string& sid, const std::shared_ptr<HttpStream>& hs) {
  const std::string stream_id = hs->stream_id();
  Lock lk(mu_);
  auto it = sessions_.find(sid);
  if (it == sessions_.end()) return;
  auto& m = it->second.streams;
  if (m.size() >= 64) m.erase(m.begin());  // bounds what an abandoned client can pin
  m[stream_id] = hs;
}

void HttpSessions::remove_stream(const std::string& sid, const std::shared_ptr<HttpStream>& hs) {
  const std::string stream_id = hs->stream_id();
  Lock lk(mu_);
  auto it = sessions_.find(sid);
  if (it == sessions_.end()) return;
  auto s = it->second.streams.find(stream_id);
  if (s != it->second.streams.end() && s->second == hs) it->second.streams.erase(s);
}

std::shared_ptr<HttpStream> HttpSessions::find_stream(const std::string& sid,
                                                      const std::string& stream_id) {
  Lock lk(mu_);
  auto it = sessions_.find(sid);
  if (it == sessions_.end()) return nullptr;
  auto s = it->second.streams.find(stream_id);
  return s == it->second.streams.end() ? nullptr : s->second;
}

HttpSessions::Created HttpSessions::open_sse(const std::optional<Principal>& principal,
                                             const std::string& peer,
                                             const std::shared_ptr<HttpStream>& stream) {
  Created out;
  auto session = std::make_shared<Session>(crypto::random_hex(16), TransportKind::kLegacySse);
  if (principal) session->set_principal_subject(principal->subject);
  session->set_standalone(stream);
  const std::string owner = owner_key(principal, peer);
  {
    Lock lk(mu_);
    if (sse_.size() >= opt_.max_sessions) {
      out.refusal = "Too many sessions";
    } else if (owned_locked(owner) >= owner_cap(principal.has_value())) {
      out.refusal = owner_refusal(principal.has_value());
    } else {
      sse_[session->id()] = SseEntry{session, owner};
      ++owners_[owner];
      out.session = session;
    }
  }
  if (out.session) server_.attach(out.session);
  return out;
}

void HttpSessions::close_sse(const std::shared_ptr<Session>& session) {
  {
    Lock lk(mu_);
    auto it = sse_.find(session->id());
    if (it != sse_.end()) {
      release_owner_locked(it->second.owner);
      sse_.erase(it);
    }
  }
  server_.detach(session);
}

std::shared_ptr<Session> HttpSessions::find_sse(const std::string& id) {
  Lock lk(mu_);
  auto it = sse_.find(id);
  return it == sse_.end() ? nullptr : it->second.session;
}

void HttpSessions::reap() {
  std::vector<std::shared_ptr<Session>> gone;
  {
    Lock lk(mu_);
    gone = reap_locked(Clock::now());
  }
  for (auto& x : gone) retire(x, /*expired=*/true);
}

std::chrono::milliseconds HttpSessions::reap_period() const {
  using std::chrono::milliseconds;
  milliseconds period = std::chrono::seconds(30);
  if (opt_.session_init_timeout.count() > 0)
    period = std::clamp<milliseconds>(opt_.session_init_timeout / 2, milliseconds(100), period);
  return period;
}

void HttpSessions::clear() {
  std::vector<std::shared_ptr<Session>> all;
  {
    Lock lk(mu_);
    for (auto& [k, e] : sessions_) all.push_back(e.session);
    for (auto& [k, e] : sse_) all.push_back(e.session);
    sessions_.clear();
    sse_.clear();
    owners_.clear();
  }
  for (auto& s : all) {
    server_.detach(s);
    s->set_standalone(nullptr);
  }
}

}  // namespace mcp::detail
