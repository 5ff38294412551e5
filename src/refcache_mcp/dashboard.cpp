// The dashboard routes: the embedded page, and the data it polls (see dashboard.hpp).
#include "refcache_mcp/dashboard.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <map>

#include "jsonio/json_text.hpp"
#include "refcache/instrumented_backend.hpp"
#include "refcache_mcp/dashboard_activity.hpp"
#include "stats_json.hpp"
#if REFCACHE_WITH_SQLITE
#include "refcache/sqlite_backend.hpp"
#endif

namespace refcache::mcp {

namespace json = boost::json;

namespace {

constexpr std::size_t kTopN = 10;

// The backends under the decorators: the activity (if any) and the store itself.
struct Layers {
  DashboardActivity* activity = nullptr;
  Backend* store = nullptr;
};

Layers layers_of(Backend& top) {
  Layers l;
  Backend* b = &top;
  if (auto* ib = dynamic_cast<InstrumentedBackend*>(b)) b = &ib->inner();
  if (auto* a = dynamic_cast<DashboardActivity*>(b)) {
    l.activity = a;
    b = &a->inner();
  }
  l.store = b;
  return l;
}

json::value circuit_name(int state) {
  switch (state) {
    case 0:
      return "closed";
    case 1:
      return "open";
    case 2:
      return "half-open";
    default:
      return nullptr;  // the backend has no breaker
  }
}

// Bytes of the SQLite store's write-ahead log, or null for other stores.
json::value wal_bytes(Backend& store) {
#if REFCACHE_WITH_SQLITE
  if (auto* s = dynamic_cast<SQLiteBackend*>(&store); s != nullptr && s->path() != ":memory:") {
    struct stat st {};
    if (::stat((s->path() + "-wal").c_str(), &st) == 0)
      return static_cast<std::int64_t>(st.st_size);
    return 0;
  }
#else
  (void)store;
#endif
  return nullptr;
}

json::object ref_json(const TrackedRef& r) {
  return json::object{{"ref_id", r.ref_id},
                      {"namespace", r.ns},
                      {"bytes", r.bytes < 0 ? json::value(nullptr) : json::value(r.bytes)},
                      {"reads", r.reads},
                      {"expires_at", r.expires_at ? json::value(*r.expires_at) : nullptr}};
}

json::object activity_json(const DashboardActivity& a, std::uint64_t since, double now) {
  DashboardActivity::Snapshot s = a.snapshot(now);
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_ns;  // entries, bytes
  std::int64_t minute = 0, hour = 0, day = 0;
  for (const auto& r : s.refs) {
    auto& n = by_ns[r.ns];
    ++n.first;
    if (r.bytes > 0) n.second += r.bytes;
    if (r.expires_at) {
      const double left = *r.expires_at - now;
      if (left <= 60) ++minute;
      if (left <= 3600) ++hour;
      if (left <= 86400) ++day;
    }
  }
  json::array namespaces;
  for (const auto& [ns, n] : by_ns)
    namespaces.push_back(
        json::object{{"namespace", ns}, {"entries", n.first}, {"bytes", n.second}});

  auto top = [&](auto key) {
    std::vector<const TrackedRef*> v;
    for (const auto& r : s.refs)
      if (key(r) > 0) v.push_back(&r);
    const std::size_t n = std::min(kTopN, v.size());
    std::partial_sort(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n), v.end(),
                      [&](const TrackedRef* x, const TrackedRef* y) {
                        return key(*x) != key(*y) ? key(*x) > key(*y) : x->ref_id < y->ref_id;
                      });
    json::array out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(ref_json(*v[i]));
    return out;
  };

  std::uint64_t last = 0;
  json::array events;
  for (const auto& e : a.events_since(since, last))
    events.push_back(json::object{{"seq", e.seq},
                                  {"time", e.time},
                                  {"kind", to_string(e.kind)},
                                  {"ref_id", e.ref_id},
                                  {"namespace", e.ns}});
  return json::object{
      {"tracked_refs", s.refs.size()},
      {"namespaces", std::move(namespaces)},
      {"largest", top([](const TrackedRef& r) { return r.bytes; })},
      {"most_read", top([](const TrackedRef& r) { return static_cast<std::int64_t>(r.reads); })},
      {"tokens_saved",
       json::object{{"total", s.tokens_saved}, {"stores_measured", s.stores_measured}}},
      {"expiring", json::object{{"minute", minute}, {"hour", hour}, {"day", day}}},
      {"events", json::object{{"last_seq", last}, {"items", std::move(events)}}}};
}

// `since` from the query string (since=N); 0 when absent or malformed.
std::uint64_t since_of(std::string_view query) {
  std::uint64_t since = 0;
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    if (kv.substr(0, 6) == "since=") {
      auto v = kv.substr(6);
      if (std::from_chars(v.data(), v.data() + v.size(), since).ec != std::errc()) since = 0;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return since;
}

::mcp::HttpRouteResponse refusal(unsigned status, std::string_view message) {
  return {
      .status = status, .body = jsonio::to_string(json::object{{"error", message}}), .headers = {}};
}

}  // namespace

bool dashboard_enabled(const ServerConfig& c) {
  return c.transport.kind == ::mcp::TransportConfig::Kind::kHttp && !c.admins.empty() &&
         !c.bearer_tokens.empty();
}

std::string dashboard_data(RefCache& cache, std::string_view program, std::uint64_t since) {
  const double now = unix_now();
  Backend& b = cache.backend();
  Layers l = layers_of(b);
  // The counters first: the figures of the same moment as a get_cache_stats taken alongside.
  const BackendStats st = b.stats();
  const Health h = b.health();
  json::object out{{"server", program},
                   {"cache_name", cache.options().name},
                   {"backend", b.kind()},
                   {"time", now},
                   {"stats", backend_counters(st)},
                   {"health", json::object{{"ok", h.ok},
                                           {"detail", h.detail},
                                           {"circuit", circuit_name(st.circuit_state)},
                                           {"reconnects", st.reconnects},
                                           {"wal_bytes", wal_bytes(*l.store)}}}};
  if (l.activity != nullptr)
    out["activity"] = activity_json(*l.activity, since, now);
  else
    out["activity"] = nullptr;
  return jsonio::to_string(out);
}

std::vector<::mcp::HttpRoute> dashboard_routes(RefCache& cache, const ServerConfig& config,
                                               std::string program) {
  if (!dashboard_enabled(config)) return {};
  std::vector<::mcp::HttpRoute> routes;
  routes.push_back(::mcp::HttpRoute{
      .path = "/dashboard",
      .authenticate = false,
      .handler = [](const ::mcp::HttpRouteRequest& r) -> ::mcp::HttpRouteResponse {
        if (r.method != "GET") return refusal(405, "method not allowed");
        return {.status = 200,
                .content_type = "text/html; charset=utf-8",
                .body = std::string(dashboard_page()),
                // Nothing but this page's own script and style, and requests to this server.
                .headers = {{"Content-Security-Policy",
                             "default-src 'none'; script-src 'unsafe-inline'; style-src "
                             "'unsafe-inline'; img-src data:; connect-src 'self'; base-uri "
                             "'none'; form-action 'none'; frame-ancestors 'none'"},
                            {"Referrer-Policy", "no-referrer"},
                            {"X-Frame-Options", "DENY"}}};
      }});
  routes.push_back(::mcp::HttpRoute{
      .path = "/dashboard/data",
      .authenticate = true,
      .handler = [&cache, admins = config.admins, program = std::move(program)](
                     const ::mcp::HttpRouteRequest& r) -> ::mcp::HttpRouteResponse {
        // The HTTP server has checked the token (401 without a valid one).
        if (!r.principal) return refusal(401, "a bearer token is required");
        if (std::find(admins.begin(), admins.end(), r.principal->subject) == admins.end())
          return refusal(403, "the dashboard is for administrators");
        if (r.method != "GET") return refusal(405, "method not allowed");
        return {.status = 200,
                .content_type = "application/json",
                .body = dashboard_data(cache, program, since_of(r.query)),
                .headers = {}};
      }});
  return routes;
}

}  // namespace refcache::mcp
