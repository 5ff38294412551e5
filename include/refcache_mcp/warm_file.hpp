// The cache-warming file of `--warm FILE`: which calls a server keeps computed ahead of need
// (CacheWarmer, refcache/cache_warmer.hpp). JSON:
//
//   {
//     "refresh_at": 0.8,                       // optional: when in a result's TTL it is
//                                              // refreshed, 0 < refresh_at < 1 (default 0.8)
//     "calls": [
//       {"tool": "generate_primes", "arguments": {"count": 1000}},
//       {"tool": "analyze_data", "arguments": {"data": [1, 2, 3]},
//        "as": {"user_id": "alice"}}           // optional: the identity the call is made as
//     ]                                        // (user_id, agent_id, session_id, org_id...)
//   }
//
// A call "as" a tenant_id (or org_id) runs over that tenant's store (tenant_of), like the
// calls of the tenant's users. A call without "as" is made as the system, whose results land where
// any anonymous caller's would (a tool's shared namespace), so that everyone's identical calls hit
// them.
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "refcache/cache_warmer.hpp"

namespace refcache::mcp {

// Reads and checks the file. Throws InvalidArgument naming the file and what is wrong (not
// found, not JSON, a member of the wrong type, refresh_at out of range, no calls). Tool names
// are checked by the caller, against the tools it registered (RefCache::find_call).
CacheWarmerOptions read_warm_file(const std::string& path);

// The same from the file's text; `path` names it in messages.
CacheWarmerOptions parse_warm_file(const std::string& text, const std::string& path);

}  // namespace refcache::mcp
