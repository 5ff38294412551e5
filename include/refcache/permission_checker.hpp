// PermissionChecker: decides whether an actor may do something with one entry.
//
// The six steps of the reference, in its order:
//   1. actor matches a denied_actors pattern          -> explicit_deny
//   2. bound_session set and actor's session differs  -> session_mismatch
//   3. the namespace rules deny the actor             -> namespace_ownership
//   4. actor matches an allowed_actors pattern        -> allowed (any permission)
//   5. actor is the owner: owner_permissions decide   -> owner_insufficient
//   6. role mask (system FULL, user, agent)           -> role_insufficient
// Messages are the reference's, e.g. "Agent lacks READ permission".
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <string_view>

#include "refcache/access_policy.hpp"
#include "refcache/actor.hpp"
#include "refcache/errors.hpp"

namespace refcache {

class PermissionChecker {
 public:
  // Throws PermissionDenied when `actor` lacks `required` on an entry with `policy` in `ns`.
  void check(const AccessPolicy& policy, Permission required, const Actor& actor,
             std::string_view ns) const;

  // check() as a bool.
  bool allows(const AccessPolicy& policy, Permission required, const Actor& actor,
              std::string_view ns) const;

  // Effective mask: NONE if steps 1-3 deny; FULL if allow-listed (unlike the reference,
  // which ignores the allow list here and so disagrees with check()); owner mask for the
  // owner; otherwise the role mask.
  Permission effective(const AccessPolicy& policy, const Actor& actor, std::string_view ns) const;
};

}  // namespace refcache
