#include "response_cache.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <array>

#include "caller_principal.hpp"
#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"

namespace gateway {
namespace json = boost::json;

namespace {

// SHA-256 of `data` as lowercase hex: the arguments can be megabytes, and a key must be short
// and must not collide (a collision would answer one call with another's result).
std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::size_t{len} * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

// Only the system actor reads kept results back: users and agents are granted nothing.
refcache::AccessPolicy system_only() {
  refcache::AccessPolicy p;
  p.user_permissions = refcache::Permission::kNone;
  p.agent_permissions = refcache::Permission::kNone;
  p.owner_permissions = refcache::Permission::kNone;
  return p;
}

}  // namespace

std::chrono::seconds response_ttl(const EffectiveSettings& s, const mcp::ToolAnnotations& a) {
  if (s.cache_ttl) return *s.cache_ttl;
  if (a.read_only_hint.value_or(false)) return s.cache_read_only_ttl;
  return std::chrono::seconds{0};
}

std::string response_key(const refcache::RefCache& cache, const std::string& upstream,
                         const std::string& tool, const json::value& args,
                         const refcache::CallIdentity& who) {
  const std::string principal = caller_principal(who);
  if (principal.empty()) return {};
  // The namespace the caller's results are stored in: its template may name an org or a
  // tenant that the principal does not.
  const refcache::CallDefaults& d = cache.options().call_defaults;
  const std::string ns =
      d.namespace_template ? refcache::expand_template(*d.namespace_template, who.values) : "";
  std::string material = "refcache-gateway response\n";
  for (const std::string* part : {&upstream, &tool, &principal, &ns}) {
    material += std::to_string(part->size());
    material.push_back(':');
    material += *part;
  }
  material += jsonio::to_canonical_string(args);
  return sha256_hex(material);
}

std::optional<mcp::CallToolResult> cached_response(refcache::RefCache& cache,
                                                   const std::string& key) {
  if (key.empty()) return std::nullopt;
  refcache::ValuePtr kept;
  try {
    kept = cache.resolve(key, refcache::Actor::system(), kResponseNamespace);
  } catch (const refcache::NotFound&) {
    return std::nullopt;
  }
  const json::object* o = kept->if_object();
  if (o == nullptr) return std::nullopt;
  mcp::CallToolResult r;
  if (const auto* c = o->if_contains("content"); c != nullptr && c->is_array())
    r.content = c->get_array();
  if (const auto* s = o->if_contains("structuredContent")) r.structured_content = *s;
  if (const auto* m = o->if_contains("_meta"); m != nullptr && m->is_object())
    r.meta = m->get_object();
  return r;
}

void keep_response(refcache::RefCache& cache, const std::string& key,
                   const mcp::CallToolResult& result, std::chrono::seconds ttl,
                   const refcache::CallIdentity& who) {
  if (key.empty() || ttl.count() <= 0 || result.is_error) return;
  refcache::SetOptions so;
  so.ns = kResponseNamespace;
  so.policy = system_only();
  so.ttl = ttl;
  so.principal = refcache::quota_principal(who);
  so.metadata = json::object{{"source", "response_cache"}};
  try {
    cache.set(key, result.to_json(), so);
  } catch (const refcache::QuotaExceeded& e) {
    spdlog::debug("response cache: result not kept: {}", e.what());
  } catch (const refcache::BackendError& e) {
    spdlog::warn("response cache: result not kept: {}", e.what());
  }
}

}  // namespace gateway
