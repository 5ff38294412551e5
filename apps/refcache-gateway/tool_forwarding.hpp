// Tool forwarding: registers on the gateway's server one tool per upstream tool offered (names
// from aggregation.hpp, the upstream's hidden tools left out). A call resolves the refs in its
// arguments (ref_arguments.hpp), goes to its upstream with the caller's cancellation and
// progress passed on, and its result is intercepted (result_interception.hpp). Failures are
// tool errors an agent can act on: the opaque reference error, "upstream 'NAME': timeout: ...",
// "upstream 'NAME' is down"; an upstream's own JSON-RPC error stays that error.
//
// Thread-safety: register before serving; the handlers are thread-safe. `upstreams` and
// `cache` must outlive the server's use of the handlers.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gateway_config.hpp"
#include "mcp/server.hpp"
#include "refcache/ref_cache.hpp"
#include "upstream.hpp"

namespace gateway {

// Registers the tools and returns how many; each collision is logged (warning).
std::size_t register_tools(mcp::Server& server, refcache::RefCache& cache,
                           const GatewayConfig& config,
                           const std::vector<std::unique_ptr<Upstream>>& upstreams,
                           const std::set<std::string>& reserved);

}  // namespace gateway
