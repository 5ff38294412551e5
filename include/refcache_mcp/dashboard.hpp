// The dashboard: an HTML page at /dashboard and the JSON it polls at /dashboard/data, served
// over HTTP beside /mcp by every refcache server (server_cli) and the gateway.
//
// Gated like the admin tools: the routes exist only when administrators (--admin) and bearer
// users (--bearer-token) are configured; /dashboard/data answers 401 without a valid bearer
// token and 403 to a user who is not an administrator. The page itself holds no data: it asks
// for the token (kept in the tab's sessionStorage, or given as #token=... in the URL fragment,
// which browsers never send) and sends it with each request. Host/Origin validation applies as
// for /mcp. The page is compiled in and loads nothing from the network.
//
// /dashboard/data?since=N answers: the backend's counters (as get_cache_stats), its health
// (state, circuit breaker, reconnects, SQLite WAL size), the refs this server has seen by
// namespace, the largest and the most read (ids, namespaces, sizes, read counts; never values),
// tokens saved, expiries ahead, and the change events numbered above N.
//
// Thread-safety: the handlers run on the HTTP server's route thread; they read the cache's
// backend, which is thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mcp/http.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache_mcp/server_cli.hpp"

namespace refcache::mcp {

// The page's HTML (embedded from src/refcache_mcp/dashboard/dashboard.html at build time).
std::string_view dashboard_page();

// True when `config` enables the dashboard: HTTP, administrators and bearer users configured.
bool dashboard_enabled(const ServerConfig& config);

// The /dashboard routes for `cache` (none unless dashboard_enabled(config)). `program` names
// the server on the page. `cache` must outlive the HTTP server the routes are given to. The
// per-ref figures, tokens saved and the event feed need the cache's backend to contain a
// DashboardActivity (cache_options() puts one there when dashboard_enabled); without one the
// data carries the backend's counters and health only.
std::vector<::mcp::HttpRoute> dashboard_routes(RefCache& cache, const ServerConfig& config,
                                               std::string program);

// The JSON of /dashboard/data for `cache`, with the events numbered above `since`.
std::string dashboard_data(RefCache& cache, std::string_view program, std::uint64_t since);

}  // namespace refcache::mcp
