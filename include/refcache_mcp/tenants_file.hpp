// The tenants file of `--tenants FILE`: where each tenant's refs live, and which tenant a user
// belongs to when the token does not say. JSON:
//
//   {
//     "backend": "redis://127.0.0.1:6379/0?key_prefix=refcache:{tenant}:",
//                                   // optional: the store of any tenant, {tenant} replaced by
//                                   // its id (a key prefix or a SQLite file of its own)
//     "tenants": {"acme": "redis://127.0.0.1:6379/1",      // optional: the store of a tenant,
//                 "globex": "sqlite:/srv/globex.db"},     // before "backend"
//     "users": {"alice": "acme", "bob": "globex"}          // optional: a user's tenant
//   }
//
// A caller's tenant is its token's tenant_id claim, else its org_id claim (tenant_of), else
// the tenant "users" names for its user, else none: the server's own store (--backend). A
// tenant that neither "tenants" nor "backend" gives a store is refused, so that a claim cannot
// open stores the operator did not provide for.
//
// Thread-safety: pure functions; TenantsFile is a plain value.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "refcache/backend.hpp"

namespace refcache::mcp {

struct TenantsFile {
  std::string backend{};                         // template with {tenant}; empty = none
  std::map<std::string, std::string> tenants{};  // tenant id -> backend URL
  std::map<std::string, std::string> users{};    // user id -> tenant id

  // The backend URL of tenant `id`; nullopt when none is configured.
  std::optional<std::string> backend_url(const std::string& id) const;
  // The tenant "users" gives `user`; empty when it names none.
  std::string tenant_of_user(const std::string& user) const;
};

// Reads and checks the file. Throws InvalidArgument naming the file and what is wrong (not
// found, not JSON, an unknown member, a tenant id that is not is_tenant_id(), a template
// without {tenant}, a user whose tenant has no store).
TenantsFile read_tenants_file(const std::string& path);

// The same from the file's text; `path` names it in messages.
TenantsFile parse_tenants_file(const std::string& text, const std::string& path);

}  // namespace refcache::mcp
