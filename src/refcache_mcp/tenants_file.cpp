#include "refcache_mcp/tenants_file.hpp"

#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache_mcp/config_file.hpp"

namespace refcache::mcp {

namespace json = boost::json;

namespace {

// Far larger than any list of tenants and users; a bigger file is a mistake.
constexpr std::size_t kMaxFileBytes = 16 << 20;
constexpr std::string_view kPlaceholder = "{tenant}";

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw InvalidArgument("tenants file " + path + ": " + what);
}

// The string members of `v` (an object), checked by `check_key`.
std::map<std::string, std::string> string_map(const json::value& v, const std::string& path,
                                              const std::string& what) {
  if (!v.is_object()) bad(path, "\"" + what + "\" must be an object of strings");
  std::map<std::string, std::string> out;
  for (const auto& m : v.get_object()) {
    if (!m.value().is_string() || m.value().get_string().empty())
      bad(path, "\"" + what + "\"." + std::string(m.key()) + " must be a non-empty string");
    out.emplace(std::string(m.key()), std::string(m.value().get_string()));
  }
  return out;
}

std::string quoted(const std::string& s) {
  return "'" + s + "'";
}

}  // namespace

std::optional<std::string> TenantsFile::backend_url(const std::string& id) const {
  if (auto it = tenants.find(id); it != tenants.end()) return it->second;
  if (backend.empty()) return std::nullopt;
  std::string url = backend;
  for (auto at = url.find(kPlaceholder); at != std::string::npos;
       at = url.find(kPlaceholder, at + id.size()))
    url.replace(at, kPlaceholder.size(), id);
  return url;
}

std::string TenantsFile::tenant_of_user(const std::string& user) const {
  auto it = users.find(user);
  return it == users.end() ? std::string() : it->second;
}

TenantsFile parse_tenants_file(const std::string& text, const std::string& path) {
  json::value doc;
  try {
    doc = jsonio::parse_or_throw(text);
  } catch (const std::exception& e) {
    bad(path, std::string("not valid JSON (") + e.what() + ")");
  }
  if (!doc.is_object()) bad(path, "must be a JSON object");
  TenantsFile f;
  for (const auto& m : doc.get_object()) {
    if (m.key() == "backend") {
      if (!m.value().is_string()) bad(path, "\"backend\" must be a URL template");
      f.backend = std::string(m.value().get_string());
      // Without the placeholder every tenant would share one store: no separation at all.
      if (f.backend.find(kPlaceholder) == std::string::npos)
        bad(path, "\"backend\" must hold {tenant}, else every tenant shares one store");
    } else if (m.key() == "tenants") {
      f.tenants = string_map(m.value(), path, "tenants");
    } else if (m.key() == "users") {
      f.users = string_map(m.value(), path, "users");
    } else {
      bad(path, "unknown member \"" + std::string(m.key()) + "\" (known: backend, tenants, users)");
    }
  }
  for (const auto& [id, url] : f.tenants)
    if (!is_tenant_id(id))
      bad(path, "tenant '" + id + "' is not a tenant id (1 to 64 of [A-Za-z0-9_.-])");
  for (const auto& [user, id] : f.users) {
    if (!is_tenant_id(id))
      bad(path, "user '" + user + "': tenant " + quoted(id) + " is not a tenant id");
    if (!f.backend_url(id))
      bad(path, "user '" + user + "': tenant " + quoted(id) + " has no store");
  }
  if (f.backend.empty() && f.tenants.empty())
    bad(path, "gives no tenant a store: set \"backend\" or \"tenants\"");
  return f;
}

TenantsFile read_tenants_file(const std::string& path) {
  return parse_tenants_file(read_config_file("tenants file", path, kMaxFileBytes), path);
}

}  // namespace refcache::mcp
