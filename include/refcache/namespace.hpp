// Namespaces: where an entry lives, and who may reach it because of where it lives.
//
// "public" is open to all. "session:<id>" needs the actor's session to be <id>;
// "user:<id>" needs user <id>; "agent:<id>" needs agent <id>; "shared:<group>" and custom
// namespaces are open. Unlike the reference, nested pairs are enforced: every
// "session:<id>", "user:<id>" or "agent:<id>" pair anywhere in the colon-separated
// namespace (e.g. "org:acme:user:alice") must be satisfied. A SYSTEM actor passes always.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "refcache/actor.hpp"

namespace refcache {

struct NamespaceInfo {
  std::string raw{};
  std::string prefix{};
  std::optional<std::string> identifier{};  // text after the first ':' (may be empty)
  bool is_public = false;
  bool is_session_scoped = false;
  bool is_user_scoped = false;
  bool is_agent_scoped = false;
  std::optional<std::string> implied_owner{};  // "user:<id>" / "agent:<id>" when id non-empty

  bool operator==(const NamespaceInfo& o) const { return raw == o.raw; }
};

NamespaceInfo parse_namespace(std::string_view ns);

// True when `actor` may reach entries in `ns` (rules above). Allocation-free.
bool namespace_allows(std::string_view ns, const Actor& actor);

// True when `ns` restricts who may reach it: it holds a session, user or agent pair. A result
// computed from an input in such a namespace is kept in it (information flows one way).
bool is_scoped_namespace(std::string_view ns);

// The session a namespace requires, if it is session-scoped ("session:abc" -> "abc").
std::optional<std::string> required_session(std::string_view ns);

}  // namespace refcache
