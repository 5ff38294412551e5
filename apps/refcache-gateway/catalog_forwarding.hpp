// Catalog forwarding: the resources, resource templates and prompts of the upstreams, offered
// by the gateway and answered by the upstream they came from. Resources keep their URIs (a
// URI offered by two upstreams goes to the first in the file, and the collision is logged;
// refcache:// URIs are the gateway's own and are not offered). Prompts are named like tools
// (aggregation.hpp). Resource contents pass through unchanged (they do not become refs). A
// template the SDK's URI-template matcher cannot take (RFC 6570 beyond levels 1 and 2, e.g.
// {?query}) is left out, with a warning. sync() registers what the upstreams list now:
// resources and prompts no longer listed are removed, new ones added (a prompt keeps its name
// while it stays offered, as tools do), and clients are told with
// notifications/{resources,prompts}/list_changed. Resource templates are only ever added (the
// server SDK cannot remove one). completion/complete of a prompt or resource template goes to
// its upstream (a prompt under the upstream's own name); for anything else it offers no values.
// What an upstream sends while it answers a prompts/get or resources/read (progress, log
// messages, elicitation/sampling/roots requests) reaches the caller as a tool call's does:
// directly, or across input_required rounds for a 2026-07-28 caller (caller_relay.hpp).
//
// Thread-safety: sync() may be called from any thread (calls are serialized); the handlers are
// thread-safe. `server` and `upstreams` must outlive this object, and this object the server's
// use of the handlers (the completion handler, registered on construction, reads its routes).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mcp/server.hpp"
#include "parked_calls.hpp"
#include "upstream.hpp"

namespace gateway {

struct CatalogCounts {
  std::size_t resources = 0;
  std::size_t resource_templates = 0;
  std::size_t prompts = 0;
};

class CatalogForwarding {
 public:
  // `reserved_prompts`: names prompts never take.
  // `parked`: where the requests of 2026-07-28 callers wait for their input (caller_relay.hpp).
  CatalogForwarding(mcp::Server& server, const std::vector<std::unique_ptr<Upstream>>& upstreams,
                    std::set<std::string> reserved_prompts, ParkedCalls& parked);
  // Registers what the upstreams list now and returns what is offered; `notify`: tell the
  // clients of what changed.
  CatalogCounts sync(bool notify);
  // Which upstream (index) serves resource `uri`, if one of the offered resources.
  std::optional<std::size_t> owner(const std::string& uri);

 private:
  mcp::Server& server_;
  const std::vector<std::unique_ptr<Upstream>>& upstreams_;
  std::set<std::string> reserved_prompts_;
  ParkedCalls& parked_;
  std::mutex mu_;
  // Offered resource URI / prompt name -> (upstream index, the item as listed).
  std::map<std::string, std::pair<std::size_t, boost::json::value>> resources_;
  std::map<std::string, std::pair<std::size_t, boost::json::value>> prompts_;
  std::set<std::string> templates_;                     // every template seen (offered or not)
  std::map<std::string, std::size_t> template_routes_;  // offered template -> upstream index
  std::size_t offered_templates_ = 0;
  std::size_t templates_before_ = 0;
};

}  // namespace gateway
