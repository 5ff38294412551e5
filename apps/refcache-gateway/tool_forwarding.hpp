// Tool forwarding: registers on the gateway's server one tool per upstream tool offered (names
// from aggregation.hpp, the upstream's hidden tools left out), and registers them again when an
// upstream's tools change (sync(): tools gone are removed, new ones added, clients told with
// notifications/tools/list_changed). A tool keeps the name it was offered under while it stays
// offered, even when a server that comes up later offers the same name (the newcomer's is then
// the one renamed). A call resolves the refs in its arguments (ref_arguments.hpp); is answered
// from the response cache when the tool has a TTL and the same caller made the same call within
// it (response_cache.hpp); else goes to its upstream with the caller's cancellation, progress
// and budget hint (params._meta) passed on. Its result is intercepted (result_interception.hpp,
// under that budget hint). Failures are
// tool errors an agent can act on: the opaque reference error, "upstream 'NAME': timeout: ...",
// "upstream 'NAME' is down"; an upstream's own JSON-RPC error stays that error.
// The upstream's input requests (elicitation, sampling, roots) go to the caller: a 2025-11-25
// caller as requests of the gateway's, a 2026-07-28 caller as input_required rounds, the
// call parked between them (parked_calls.hpp). A call on values the caller may only EXECUTE
// refuses them in both eras.
//
// Thread-safety: sync() may be called from any thread (calls are serialized); the handlers are
// thread-safe. `upstreams` and
// `cache` must outlive the server's use of the handlers.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "gateway_config.hpp"
#include "mcp/server.hpp"
#include "parked_calls.hpp"
#include "refcache/ref_cache.hpp"
#include "upstream.hpp"

namespace gateway {

class ToolForwarding {
 public:
  // `reserved`: the gateway's own tool names; `parked`: where the calls of 2026-07-28 callers
  // wait for their input (shared with CatalogForwarding). All arguments must outlive this
  // object.
  ToolForwarding(mcp::Server& server, refcache::RefCache& cache, const GatewayConfig& config,
                 const std::vector<std::unique_ptr<Upstream>>& upstreams,
                 std::set<std::string> reserved, ParkedCalls& parked);
  // Registers the tools the upstreams offer now, removes those no longer offered, and returns
  // how many are offered; each collision is logged (warning). `notify`: send
  // notifications/tools/list_changed when the offered tools changed, or with `always` in any
  // case (an upstream that has just started may offer tools that differ in what the gateway
  // does not compare, such as their behaviour).
  std::size_t sync(bool notify, bool always = false);

 private:
  mcp::Server& server_;
  refcache::RefCache& cache_;
  const GatewayConfig& config_;
  const std::vector<std::unique_ptr<Upstream>>& upstreams_;
  std::set<std::string> reserved_;
  ParkedCalls& parked_;
  std::mutex mu_;
  // Offered name -> (upstream index, the upstream's tool as listed).
  std::map<std::string, std::pair<std::size_t, boost::json::value>> offered_;
};

}  // namespace gateway
