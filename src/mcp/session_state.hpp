// Internal: the protocol state of one Session that the SDK keeps behind its public interface --
// what initialize agreed, the log level, resource subscriptions, the requests in flight (for
// notifications/cancelled and cancel_all()) and the server->client requests awaiting an answer.
//
// Thread-safety: the fields are guarded by `mu` as annotated; the atomics need no lock.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "mcp/session.hpp"
#include "thread_annotations.hpp"

namespace mcp::detail {

struct CallState;

struct SessionState {
  mutable refcache_sync::Mutex mu;
  std::shared_ptr<Outbound> standalone GUARDED_BY(mu);
  // initialize: the agreed version, what the client declared and who it is.
  std::string protocol_version GUARDED_BY(mu);
  boost::json::object client_capabilities GUARDED_BY(mu);
  boost::json::object client_info GUARDED_BY(mu);
  std::set<std::string> subscriptions GUARDED_BY(mu);            // resources/subscribe
  std::optional<Principal> subscriber_principal GUARDED_BY(mu);  // who subscribed
  std::optional<std::string> principal_subject GUARDED_BY(mu);   // who may use it
  // Requests being served, by the compact JSON of their id.
  std::unordered_map<std::string, std::weak_ptr<CallState>> in_flight GUARDED_BY(mu);
  // Server->client requests awaiting the client's answer, by the compact JSON of their id.
  std::unordered_map<std::string, std::shared_ptr<std::promise<boost::json::value>>> pending
      GUARDED_BY(mu);

  std::atomic<bool> initialized{false};  // notifications/initialized seen
  std::atomic<int> log_level{-1};        // logging/setLevel; -1 = none
  std::atomic<std::uint64_t> next_request_id{0};
};

}  // namespace mcp::detail
