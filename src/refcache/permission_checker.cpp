#include "refcache/permission_checker.hpp"

#include "refcache/namespace.hpp"

namespace refcache {

namespace {

bool in_list(const std::optional<std::vector<std::string>>& list, const Actor& actor) {
  if (!list || list->empty()) return false;
  std::string as_string;  // built lazily: most lists match by pattern
  for (const auto& pattern : *list) {
    if (actor.matches(pattern)) return true;
    if (as_string.empty()) as_string = actor.to_string();
    if (as_string == pattern) return true;
  }
  return false;
}

bool is_owner(const AccessPolicy& policy, const Actor& actor) {
  if (!policy.owner) return false;
  // Compare "type:id" without building the string.
  std::string_view owner = *policy.owner;
  std::string_view type = to_string(actor.type);
  if (owner.size() < type.size() + 1 || owner.substr(0, type.size()) != type ||
      owner[type.size()] != ':')
    return false;
  std::string_view id = owner.substr(type.size() + 1);
  return actor.id ? id == *actor.id : id == "*";
}

Permission role_mask(const AccessPolicy& policy, const Actor& actor) {
  switch (actor.type) {
    case ActorType::kSystem:
      return Permission::kFull;
    case ActorType::kUser:
      return policy.user_permissions;
    case ActorType::kAgent:
      return policy.agent_permissions;
  }
  return Permission::kNone;
}

std::string capitalized(std::string_view s) {
  std::string out(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 32);
  return out;
}

}  // namespace

std::string_view to_string(DenialReason r) {
  switch (r) {
    case DenialReason::kExplicitDeny:
      return "explicit_deny";
    case DenialReason::kSessionMismatch:
      return "session_mismatch";
    case DenialReason::kNamespaceOwnership:
      return "namespace_ownership";
    case DenialReason::kOwnerInsufficient:
      return "owner_insufficient";
    case DenialReason::kRoleInsufficient:
      return "role_insufficient";
  }
  return "unknown";
}

void PermissionChecker::check(const AccessPolicy& policy, Permission required, const Actor& actor,
                              std::string_view ns) const {
  // 1. explicit deny
  if (in_list(policy.denied_actors, actor))
    throw PermissionDenied("Actor " + actor.to_string() + " is explicitly denied", actor, required,
                           DenialReason::kExplicitDeny, std::string(ns));
  // 2. session binding (applies to every actor type, as in the reference)
  if (policy.bound_session && actor.session_id != policy.bound_session)
    throw PermissionDenied("Actor " + actor.to_string() + " session does not match bound session",
                           actor, required, DenialReason::kSessionMismatch, std::string(ns));
  // 3. namespace rules
  if (!namespace_allows(ns, actor))
    throw PermissionDenied(
        "Actor " + actor.to_string() + " cannot access namespace " + std::string(ns), actor,
        required, DenialReason::kNamespaceOwnership, std::string(ns));
  // 4. explicit allow grants any permission
  if (in_list(policy.allowed_actors, actor)) return;
  // 5. the owner's mask decides for the owner, without falling back to the role
  if (is_owner(policy, actor)) {
    if (has_all(policy.owner_permissions, required)) return;
    throw PermissionDenied(
        "Owner " + actor.to_string() + " lacks " + permission_name(required) + " permission", actor,
        required, DenialReason::kOwnerInsufficient, std::string(ns));
  }
  // 6. role mask
  if (has_all(role_mask(policy, actor), required)) return;
  throw PermissionDenied(
      capitalized(to_string(actor.type)) + " lacks " + permission_name(required) + " permission",
      actor, required, DenialReason::kRoleInsufficient, std::string(ns));
}

bool PermissionChecker::allows(const AccessPolicy& policy, Permission required, const Actor& actor,
                               std::string_view ns) const {
  if (in_list(policy.denied_actors, actor)) return false;
  if (policy.bound_session && actor.session_id != policy.bound_session) return false;
  if (!namespace_allows(ns, actor)) return false;
  if (in_list(policy.allowed_actors, actor)) return true;
  if (is_owner(policy, actor)) return has_all(policy.owner_permissions, required);
  return has_all(role_mask(policy, actor), required);
}

Permission PermissionChecker::effective(const AccessPolicy& policy, const Actor& actor,
                                        std::string_view ns) const {
  if (in_list(policy.denied_actors, actor)) return Permission::kNone;
  if (policy.bound_session && actor.session_id != policy.bound_session) return Permission::kNone;
  if (!namespace_allows(ns, actor)) return Permission::kNone;
  if (in_list(policy.allowed_actors, actor)) return Permission::kFull;
  if (is_owner(policy, actor)) return policy.owner_permissions;
  return role_mask(policy, actor);
}

}  // namespace refcache
