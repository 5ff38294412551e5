#include "caller_principal.hpp"

#include <algorithm>

namespace gateway {

std::string caller_principal(const refcache::CallIdentity& who) {
  const refcache::Actor actor = refcache::derive_actor(who);
  if (actor.is_anonymous() && !actor.session_id) {
    // Over stdio there is one client and no peer address; over HTTP anonymous callers without
    // a session are indistinguishable.
    if (who.values.contains("peer_address")) return {};
    return "stdio:" + actor.to_string();
  }
  std::string key = actor.to_string();
  if (actor.session_id) key += "#session:" + *actor.session_id;
  return key;
}

bool single_principal(const std::vector<std::string>& principals) {
  if (principals.empty() || principals.front().empty()) return false;
  return std::ranges::all_of(principals,
                             [&](const std::string& p) { return p == principals.front(); });
}

}  // namespace gateway
