#include "subscription_forwarding.hpp"

#include <set>
#include <string>

namespace gateway {

SubscriptionForwarding::SubscriptionForwarding(
    mcp::Server& server, CatalogForwarding& catalog,
    const std::vector<std::unique_ptr<Upstream>>& upstreams, std::chrono::milliseconds interval)
    : server_(server), catalog_(catalog), upstreams_(upstreams), interval_(interval) {
  thread_ = std::thread([this] { run(); });
}

SubscriptionForwarding::~SubscriptionForwarding() {
  stop();
}

void SubscriptionForwarding::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SubscriptionForwarding::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    std::vector<std::set<std::string>> wanted(upstreams_.size());
    for (const auto& uri : server_.subscribed_uris())
      if (auto i = catalog_.owner(uri)) wanted[*i].insert(uri);
    for (std::size_t i = 0; i < upstreams_.size(); ++i)
      upstreams_[i]->sync_subscriptions(wanted[i]);
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace gateway
