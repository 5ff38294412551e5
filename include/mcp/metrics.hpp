// mcp::TransportMetrics and the SDK's metric families. The SDK measures what it knows --
// requests by method, tool calls by tool and outcome, sessions, HTTP responses by status --
// and knows nothing else: an application adds its own families through
// Server::add_metrics_source() (refcache adds the cache's), and Server::metrics_text()
// renders everything in the Prometheus text format 0.0.4. HttpServer serves that text at
// HttpOptions::metrics_path (default /metrics), behind the same Host/Origin checks and bearer
// authentication as /mcp.
//
// Families written by the SDK:
//   mcp_requests_total{method}                      counter  JSON-RPC requests received
//   mcp_tool_calls_total{tool,outcome}              counter  outcome: ok | tool_error |
//                                                            protocol_error | input_required
//   mcp_tool_call_duration_seconds{tool}            histogram
//   mcp_sessions_active{transport}                  gauge    stdio | streamable_http | sse
//   mcp_sessions_created_total{transport}           counter
//   mcp_sessions_expired_total                      counter  idle HTTP sessions dropped
//   mcp_http_responses_total{code}                  counter  HTTP status codes sent
//
// Thread-safety: every member may be used from any thread.
#pragma once

#include <array>
#include <cstdint>

#include "metrics/metrics.hpp"

namespace mcp {

// Counters a transport fills; the Server renders them.
class TransportMetrics {
 public:
  // One HTTP response (any status, including SSE streams as 200) was sent.
  void count_http_response(int status) noexcept {
    if (status >= 100 && status < 600) http_[static_cast<std::size_t>(status - 100)].inc();
  }
  // A legacy HTTP session was dropped because it was idle longer than its TTL.
  void count_session_expired() noexcept { expired_.inc(); }

  std::uint64_t http_responses(int status) const noexcept {
    return status >= 100 && status < 600 ? http_[static_cast<std::size_t>(status - 100)].value()
                                         : 0;
  }
  std::uint64_t sessions_expired() const noexcept { return expired_.value(); }

 private:
  std::array<metrics::Counter, 500> http_;
  metrics::Counter expired_;
};

}  // namespace mcp
