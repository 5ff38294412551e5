// Catalog forwarding: the resources, resource templates and prompts of the upstreams, offered
// by the gateway and answered by the upstream they came from. Resources keep their URIs (a
// URI offered by two upstreams goes to the first in the file, and the collision is logged;
// refcache:// URIs are the gateway's own and are not offered). Prompts are named like tools
// (aggregation.hpp). Resource contents pass through unchanged (they do not become refs). A
// template the SDK's URI-template matcher cannot take (RFC 6570 beyond levels 1 and 2, e.g.
// {?query}) is left out, with a warning. completion/complete of a prompt or resource template
// goes to its upstream (a prompt under the upstream's own name); for anything else it offers
// no values.
//
// Thread-safety: register before serving; the handlers are thread-safe. `upstreams` must
// outlive the server's use of the handlers.
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "mcp/server.hpp"
#include "upstream.hpp"

namespace gateway {

struct CatalogCounts {
  std::size_t resources = 0;
  std::size_t resource_templates = 0;
  std::size_t prompts = 0;
};

// Registers them; `reserved_prompts` are names prompts never take.
CatalogCounts register_catalog(mcp::Server& server,
                               const std::vector<std::unique_ptr<Upstream>>& upstreams,
                               const std::set<std::string>& reserved_prompts);

}  // namespace gateway
