#include "refcache/access_policy.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <stdexcept>
#include <string>

#include "jsonio/json_text.hpp"

namespace refcache {
namespace json = boost::json;

AccessPolicy AccessPolicy::public_policy() {
  AccessPolicy p;
  p.agent_permissions = Permission::kFull;
  return p;
}
AccessPolicy AccessPolicy::user_only() {
  AccessPolicy p;
  p.agent_permissions = Permission::kNone;
  return p;
}
AccessPolicy AccessPolicy::execute_only() {
  AccessPolicy p;
  p.user_permissions = Permission::kExecute;
  p.agent_permissions = Permission::kExecute;
  return p;
}
AccessPolicy AccessPolicy::read_only() {
  AccessPolicy p;
  p.user_permissions = Permission::kRead;
  p.agent_permissions = Permission::kRead;
  return p;
}

namespace {

json::value optional_string(const std::optional<std::string>& s) {
  if (!s) return nullptr;
  return json::value(*s);
}

json::value optional_list(const std::optional<std::vector<std::string>>& l) {
  if (!l) return nullptr;
  json::array a;
  a.reserve(l->size());
  for (const auto& s : *l) a.emplace_back(s);
  return a;
}

Permission read_permission(const json::object& o, std::string_view field, Permission dflt) {
  auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return dflt;
  const auto& v = it->value();
  if (v.is_int64()) return permission_from_bits(v.get_int64());
  if (v.is_uint64()) return permission_from_bits(static_cast<std::int64_t>(v.get_uint64() & 31));
  throw std::invalid_argument("policy field '" + std::string(field) + "' must be an integer");
}

std::optional<std::string> read_string(const json::object& o, std::string_view field) {
  auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_string())
    throw std::invalid_argument("policy field '" + std::string(field) + "' must be a string");
  return std::string(it->value().get_string());
}

std::optional<std::vector<std::string>> read_list(const json::object& o, std::string_view field) {
  auto it = o.find(field);
  if (it == o.end() || it->value().is_null()) return std::nullopt;
  if (!it->value().is_array())
    throw std::invalid_argument("policy field '" + std::string(field) + "' must be a list");
  std::vector<std::string> out;
  for (const auto& e : it->value().get_array()) {
    if (!e.is_string())
      throw std::invalid_argument("policy field '" + std::string(field) + "' must hold strings");
    out.emplace_back(e.get_string());
  }
  return out;
}

}  // namespace

json::object to_json(const AccessPolicy& p) {
  json::object o;
  o.reserve(7);
  o.emplace("user_permissions", bits(p.user_permissions));
  o.emplace("agent_permissions", bits(p.agent_permissions));
  o.emplace("owner", optional_string(p.owner));
  o.emplace("owner_permissions", bits(p.owner_permissions));
  o.emplace("allowed_actors", optional_list(p.allowed_actors));
  o.emplace("denied_actors", optional_list(p.denied_actors));
  o.emplace("bound_session", optional_string(p.bound_session));
  return o;
}

void write_json(const AccessPolicy& p, std::string& out) {
  // The text of jsonio::to_string(to_json(p)), written without building the object (this
  // runs for every entry a text-storing backend writes).
  auto put_bits = [&](Permission perm) { out += std::to_string(static_cast<int>(bits(perm))); };
  auto put_string = [&](const std::optional<std::string>& s) {
    if (s)
      jsonio::write_string_literal(*s, out);
    else
      out += "null";
  };
  auto put_list = [&](const std::optional<std::vector<std::string>>& l) {
    if (!l) {
      out += "null";
      return;
    }
    out += '[';
    for (std::size_t i = 0; i < l->size(); ++i) {
      if (i) out += ',';
      jsonio::write_string_literal((*l)[i], out);
    }
    out += ']';
  };
  out += "{\"user_permissions\":";
  put_bits(p.user_permissions);
  out += ",\"agent_permissions\":";
  put_bits(p.agent_permissions);
  out += ",\"owner\":";
  put_string(p.owner);
  out += ",\"owner_permissions\":";
  put_bits(p.owner_permissions);
  out += ",\"allowed_actors\":";
  put_list(p.allowed_actors);
  out += ",\"denied_actors\":";
  put_list(p.denied_actors);
  out += ",\"bound_session\":";
  put_string(p.bound_session);
  out += '}';
}

AccessPolicy policy_from_json(const json::value& v) {
  if (!v.is_object()) throw std::invalid_argument("policy must be a JSON object");
  const auto& o = v.get_object();
  AccessPolicy p;
  p.user_permissions = read_permission(o, "user_permissions", p.user_permissions);
  p.agent_permissions = read_permission(o, "agent_permissions", p.agent_permissions);
  p.owner = read_string(o, "owner");
  p.owner_permissions = read_permission(o, "owner_permissions", p.owner_permissions);
  p.allowed_actors = read_list(o, "allowed_actors");
  p.denied_actors = read_list(o, "denied_actors");
  p.bound_session = read_string(o, "bound_session");
  return p;
}

AccessPolicy withheld_policy(AccessPolicy p) {
  const Permission no_read = Permission::kFull & ~Permission::kRead;
  p.user_permissions = p.user_permissions & no_read;
  p.agent_permissions = p.agent_permissions & no_read;
  p.owner_permissions = p.owner_permissions & no_read;
  p.allowed_actors.reset();
  return p;
}

AccessPolicy stricter_of(const AccessPolicy& a, const AccessPolicy& b) {
  AccessPolicy r;
  r.user_permissions = a.user_permissions & b.user_permissions;
  r.agent_permissions = a.agent_permissions & b.agent_permissions;
  r.owner_permissions = a.owner_permissions & b.owner_permissions;
  r.owner = a.owner ? a.owner : b.owner;
  r.bound_session = a.bound_session ? a.bound_session : b.bound_session;
  // Deny lists: union.
  if (a.denied_actors || b.denied_actors) {
    std::vector<std::string> d;
    if (a.denied_actors) d = *a.denied_actors;
    if (b.denied_actors)
      for (const auto& s : *b.denied_actors)
        if (std::find(d.begin(), d.end(), s) == d.end()) d.push_back(s);
    r.denied_actors = std::move(d);
  }
  // Allow lists grant everything, so the stricter policy keeps only patterns both allow.
  if (a.allowed_actors && b.allowed_actors) {
    std::vector<std::string> both;
    for (const auto& s : *a.allowed_actors)
      if (std::find(b.allowed_actors->begin(), b.allowed_actors->end(), s) !=
          b.allowed_actors->end())
        both.push_back(s);
    if (!both.empty()) r.allowed_actors = std::move(both);
  }
  return r;
}

}  // namespace refcache
