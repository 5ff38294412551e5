// Subscription forwarding: a client's subscription to a resource of an upstream becomes the
// gateway's subscription upstream, and the upstream's notifications/resources/updated reach
// the subscribed clients. The gateway's server keeps the clients' subscriptions (and decides
// who may subscribe); a thread of this object looks at them every `interval` and subscribes
// or unsubscribes each upstream to match (Upstream::sync_subscriptions), so an update may be
// missed in the first `interval` after a client subscribes.
//
// Thread-safety: construct after the upstreams have connected, before serving; stop() (or the
// destructor) before the upstreams or the server go away.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "catalog_forwarding.hpp"
#include "mcp/server.hpp"
#include "upstream.hpp"

namespace gateway {

class SubscriptionForwarding {
 public:
  SubscriptionForwarding(mcp::Server& server, CatalogForwarding& catalog,
                         const std::vector<std::unique_ptr<Upstream>>& upstreams,
                         std::chrono::milliseconds interval = std::chrono::milliseconds(200));
  ~SubscriptionForwarding();
  SubscriptionForwarding(const SubscriptionForwarding&) = delete;
  SubscriptionForwarding& operator=(const SubscriptionForwarding&) = delete;
  // Stops the thread; idempotent.
  void stop();

 private:
  void run();

  mcp::Server& server_;
  CatalogForwarding& catalog_;
  const std::vector<std::unique_ptr<Upstream>>& upstreams_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace gateway
