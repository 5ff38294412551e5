// AccessPolicy: who may do what with one cached value.
//
// Fields, defaults and JSON form are those of mcp-refcache 0.2.1, so the policy_json column
// (SQLite) and the "policy" field (Redis) written by Python servers read back unchanged:
//   {"user_permissions":31,"agent_permissions":17,"owner":null,"owner_permissions":31,
//    "allowed_actors":null,"denied_actors":null,"bound_session":null}
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <vector>

#include "refcache/permission.hpp"

namespace refcache {

struct AccessPolicy {
  Permission user_permissions = Permission::kFull;
  Permission agent_permissions = Permission::kRead | Permission::kExecute;
  std::optional<std::string> owner{};  // "user:alice", "agent:claude-1"
  Permission owner_permissions = Permission::kFull;
  std::optional<std::vector<std::string>> allowed_actors{};  // patterns, e.g. "user:alice-*"
  std::optional<std::vector<std::string>> denied_actors{};
  std::optional<std::string> bound_session{};

  bool operator==(const AccessPolicy&) const = default;

  // Presets. public_policy, user_only and read_only are the reference's. execute_only is
  // stricter than the reference's (which leaves users FULL): nobody but the owner reads the
  // value, everyone the namespace admits may use it (EXECUTE). An "EXECUTE-only" value must
  // be so for every kind of actor, or a user-typed caller would read what an agent may not.
  static AccessPolicy public_policy();  // user FULL, agent FULL
  static AccessPolicy user_only();      // user FULL, agent NONE
  static AccessPolicy execute_only();   // user EXECUTE, agent EXECUTE (owner FULL)
  static AccessPolicy read_only();      // user READ, agent READ
};

// JSON form of the reference (permissions as integers, actor sets as lists or null).
boost::json::object to_json(const AccessPolicy& p);
// Appends the compact text of to_json(p) to `out`.
void write_json(const AccessPolicy& p, std::string& out);

// Parses the JSON form. Missing fields take their defaults; a field of the wrong type throws
// std::invalid_argument naming the field.
AccessPolicy policy_from_json(const boost::json::value& v);

// The stricter of two policies: every permission mask intersected, deny lists united, allow
// lists intersected (absent = no allow list), owner and bound session kept when they agree
// (a conflict keeps `a`'s, and a bound session is never dropped). Used so that a result
// computed from a private input is stored at least as strictly as that input.
AccessPolicy stricter_of(const AccessPolicy& a, const AccessPolicy& b);

// The policy of a private derived result (a value computed from values its caller may only
// EXECUTE): `p` with READ taken from every mask and the allow list dropped, so that nobody
// reads it; it can still be used (EXECUTE) and deleted as `p` allows.
AccessPolicy withheld_policy(AccessPolicy p);

}  // namespace refcache
