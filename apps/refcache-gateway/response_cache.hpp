// Response cache: an upstream tool's result kept for a while, so that an identical call made
// again within that time is answered without calling the upstream. Off unless configured: most
// tools have side effects, so a tool is cached only when the configuration gives it a TTL
// (`cache_ttl`) or the upstream marks it read-only (annotations.readOnlyHint) and the server
// or the file opts read-only tools in (`cache_read_only_ttl`); see response_ttl().
//
// What "identical" means: the same upstream, the same upstream tool, the same arguments as
// forwarded (refs already resolved, so equal values are equal calls; compared as canonical
// JSON), for the same caller. The caller is part of the key -- its principal (user or agent,
// with its session when it has one) and the namespace its results are stored in -- because
// an upstream may answer each caller differently (it sees who asks through the gateway's
// credentials, the caller's headers or its elicitation answers), and one caller's answer
// must never reach another. Anonymous HTTP callers without a session cannot be told apart,
// so their calls are never cached. Errors (isError) are not kept.
//
// What is kept is the upstream's raw result, not the gateway's answer: a hit goes through
// result interception again for the caller who asks, so a large result becomes a ref scoped
// to that caller, never one issued to somebody else.
//
// Storage: entries of the gateway's RefCache, bound to the key in the namespace
// kResponseNamespace, with a policy that grants users and agents nothing (only the system
// actor reads them back), charged to the caller's quota, expiring with their TTL. Stored in
// Redis or SQLite, they serve every gateway sharing the store.
//
// Thread-safety: pure functions over a thread-safe RefCache.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "gateway_config.hpp"
#include "mcp/types.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/ref_cache.hpp"

namespace gateway {

// The namespace of the kept results (no tool lists it: nobody but the system may use them).
inline constexpr const char* kResponseNamespace = "gateway:responses";

// How long results of a tool with settings `s` and annotations `a` are kept; zero: not kept.
// The tool's own cache_ttl wins; otherwise a tool marked readOnlyHint gets the read-only TTL.
std::chrono::seconds response_ttl(const EffectiveSettings& s, const mcp::ToolAnnotations& a);

// The key of a call of `tool` (the upstream's own name) on upstream `upstream` with the
// forwarded `args`, by `who` (scoped by `cache`'s call defaults); empty when the caller cannot be
// told apart from other callers (then nothing is cached).
std::string response_key(const refcache::RefCache& cache, const std::string& upstream,
                         const std::string& tool, const boost::json::value& args,
                         const refcache::CallIdentity& who);

// The result kept under `key`, if any and not expired.
std::optional<mcp::CallToolResult> cached_response(refcache::RefCache& cache,
                                                   const std::string& key);

// Keeps `result` under `key` for `ttl`, charged to `who`'s quota. Errors are not kept; a
// failure to store is logged and otherwise ignored (the call has its answer already).
void keep_response(refcache::RefCache& cache, const std::string& key,
                   const mcp::CallToolResult& result, std::chrono::seconds ttl,
                   const refcache::CallIdentity& who);

}  // namespace gateway
