// The SDK's metric families (mcp/metrics.hpp) and the application's metric sources.
#include "server_impl.hpp"

namespace mcp {

using refcache_sync::Lock;

namespace detail {

namespace {

const char* transport_label(TransportKind k) {
  switch (k) {
    case TransportKind::kStdio:
      return "stdio";
    case TransportKind::kStreamableHttp:
      return "streamable_http";
    case TransportKind::kLegacySse:
      return "sse";
    case TransportKind::kInMemory:
      return "in_memory";
  }
  return "other";
}

}  // namespace

ServerMetrics::ServerMetrics(const std::vector<std::string>& methods) {
  for (const auto& m : methods) method_counts_.try_emplace(m, std::make_unique<metrics::Counter>());
  method_counts_.try_emplace("other", std::make_unique<metrics::Counter>());
}

void ServerMetrics::count_request(const std::string& method) {
  auto it = method_counts_.find(method);
  if (it == method_counts_.end()) it = method_counts_.find("other");
  it->second->inc();
}

void ServerMetrics::add_source(std::function<void(metrics::TextWriter&)> source) {
  Lock lk(sources_mu_);
  sources_.push_back(std::move(source));
}

std::vector<std::function<void(metrics::TextWriter&)>> ServerMetrics::sources() const {
  Lock lk(sources_mu_);
  return sources_;
}

void ServerMetrics::write(
    metrics::TextWriter& w,
    const std::vector<std::pair<std::string, std::shared_ptr<ToolCounters>>>& tools,
    const std::array<std::int64_t, 4>& active_sessions) const {
  w.family("mcp_requests_total", "counter", "JSON-RPC requests received, by method.");
  {
    std::map<std::string_view, std::uint64_t> sorted;
    for (const auto& [m, c] : method_counts_) sorted[m] = c->value();
    for (const auto& [m, v] : sorted) w.sample("mcp_requests_total", {{"method", m}}, v);
  }
  w.family("mcp_tool_calls_total", "counter",
           "tools/call requests by tool and outcome (ok, tool_error = isError result, "
           "protocol_error = JSON-RPC error, input_required = MRTR round).");
  for (const auto& [name, c] : tools) {
    w.sample("mcp_tool_calls_total", {{"tool", name}, {"outcome", "ok"}}, c->ok.value());
    w.sample("mcp_tool_calls_total", {{"tool", name}, {"outcome", "tool_error"}},
             c->tool_error.value());
    w.sample("mcp_tool_calls_total", {{"tool", name}, {"outcome", "protocol_error"}},
             c->protocol_error.value());
    w.sample("mcp_tool_calls_total", {{"tool", name}, {"outcome", "input_required"}},
             c->input_required.value());
  }
  w.family("mcp_tool_call_duration_seconds", "histogram",
           "Time spent in tool handlers (including argument checks), by tool.");
  for (const auto& [name, c] : tools)
    w.histogram("mcp_tool_call_duration_seconds", {{"tool", name}}, c->duration);

  static constexpr TransportKind kKinds[] = {TransportKind::kStdio, TransportKind::kStreamableHttp,
                                             TransportKind::kLegacySse};
  w.family("mcp_sessions_active", "gauge", "Sessions currently open, by transport.");
  for (auto k : kKinds)
    w.sample("mcp_sessions_active", {{"transport", transport_label(k)}},
             active_sessions[static_cast<std::size_t>(k)]);
  w.family("mcp_sessions_created_total", "counter", "Sessions opened, by transport.");
  for (auto k : kKinds)
    w.sample("mcp_sessions_created_total", {{"transport", transport_label(k)}},
             sessions_created[static_cast<std::size_t>(k)].value());
  w.family("mcp_calls_deadline_exceeded_total", "counter",
           "Calls answered by their deadline (ServerOptions::call_timeout) and cancelled.");
  w.sample("mcp_calls_deadline_exceeded_total", {}, deadlines_exceeded.value());
  w.family("mcp_calls_busy_total", "counter",
           "Calls refused with \"Server busy\", by the queue that was full (server = all "
           "callers' queue, caller = the caller's own).");
  w.sample("mcp_calls_busy_total", {{"queue", "server"}}, busy_pool.value());
  w.sample("mcp_calls_busy_total", {{"queue", "caller"}}, busy_caller.value());
  w.family("mcp_sessions_expired_total", "counter",
           "Legacy HTTP sessions dropped after being idle longer than their TTL, or not "
           "initialised in time.");
  w.sample("mcp_sessions_expired_total", {}, transport.sessions_expired());
  w.family("mcp_http_responses_total", "counter",
           "HTTP responses sent, by status code (an SSE stream counts once, as 200).");
  for (int code = 100; code < 600; ++code)
    if (auto v = transport.http_responses(code))
      w.sample("mcp_http_responses_total", {{"code", std::to_string(code)}}, v);
}

}  // namespace detail

std::string Server::metrics_text() const {
  metrics::TextWriter w;
  impl_->metrics->write(w, impl_->tools.counters(), impl_->subscriptions.active_by_kind());
  for (auto& source : impl_->metrics->sources()) source(w);
  return w.take();
}

void Server::add_metrics_source(std::function<void(metrics::TextWriter&)> source) {
  impl_->metrics->add_source(std::move(source));
}

TransportMetrics& Server::transport_metrics() {
  return impl_->metrics->transport;
}

}  // namespace mcp
