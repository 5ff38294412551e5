#include "refcache/namespace.hpp"

namespace refcache {

NamespaceInfo parse_namespace(std::string_view ns) {
  NamespaceInfo info;
  info.raw = std::string(ns);
  if (ns == "public") {
    info.prefix = "public";
    info.is_public = true;
    return info;
  }
  auto colon = ns.find(':');
  if (colon == std::string_view::npos) {
    info.prefix = std::string(ns);
  } else {
    info.prefix = std::string(ns.substr(0, colon));
    info.identifier = std::string(ns.substr(colon + 1));
  }
  info.is_session_scoped = info.prefix == "session";
  info.is_user_scoped = info.prefix == "user";
  info.is_agent_scoped = info.prefix == "agent";
  if ((info.is_user_scoped || info.is_agent_scoped) && info.identifier &&
      !info.identifier->empty()) {
    info.implied_owner = info.prefix + ":" + *info.identifier;
  }
  return info;
}

namespace {

// Is `segment` a scope keyword, and does the actor satisfy "<segment>:<id>"?
// Returns -1 if not a keyword, 0 if denied, 1 if satisfied.
int check_pair(std::string_view keyword, const std::string_view* id, const Actor& actor) {
  if (keyword == "session") {
    if (!id) return 0;
    return actor.session_id && *actor.session_id == *id ? 1 : 0;
  }
  if (keyword == "user") {
    if (!id) return 0;
    return actor.type == ActorType::kUser && actor.id && *actor.id == *id ? 1 : 0;
  }
  if (keyword == "agent") {
    if (!id) return 0;
    return actor.type == ActorType::kAgent && actor.id && *actor.id == *id ? 1 : 0;
  }
  return -1;
}

}  // namespace

bool namespace_allows(std::string_view ns, const Actor& actor) {
  if (actor.type == ActorType::kSystem) return true;
  if (ns == "public") return true;
  // Walk the colon-separated segments; every scope keyword takes the next segment as its
  // identifier and must be satisfied. "org:acme:user:alice" therefore needs user alice.
  std::size_t pos = 0;
  while (pos <= ns.size()) {
    std::size_t end = ns.find(':', pos);
    std::string_view seg = ns.substr(pos, end == std::string_view::npos ? ns.npos : end - pos);
    bool is_keyword = seg == "session" || seg == "user" || seg == "agent";
    if (is_keyword) {
      if (end == std::string_view::npos) return check_pair(seg, nullptr, actor) == 1;
      std::size_t id_start = end + 1;
      std::size_t id_end = ns.find(':', id_start);
      std::string_view id =
          ns.substr(id_start, id_end == std::string_view::npos ? ns.npos : id_end - id_start);
      if (check_pair(seg, &id, actor) != 1) return false;
      if (id_end == std::string_view::npos) return true;
      pos = id_end + 1;
      continue;
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return true;  // public-like, shared:, and custom namespaces without scope pairs
}

std::optional<std::string> required_session(std::string_view ns) {
  auto info = parse_namespace(ns);
  if (info.is_session_scoped) return info.identifier;
  return std::nullopt;
}

bool is_scoped_namespace(std::string_view ns) {
  // Any session/user/agent pair makes a namespace restrictive.
  return !namespace_allows(ns, Actor::user("\x01probe")) ||
         !namespace_allows(ns, Actor::agent("\x01probe"));
}

}  // namespace refcache
