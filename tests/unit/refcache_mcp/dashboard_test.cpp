// The dashboard without a browser: its routes on an in-process HttpServer (loopback) -- absent
// without administrators, the data endpoint's 401/403/200 gating, the page's headers, the
// Host check -- and the JSON of /dashboard/data: counters equal to the backend's, the refs
// seen with sizes and read counts but never values, tokens saved as the previews measure them,
// and the change events after a cursor. Plus the bookkeeping's bounds.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <string>
#include <variant>

#include "jsonio/json_text.hpp"
#include "mcp/http.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache_mcp/dashboard.hpp"
#include "refcache_mcp/dashboard_activity.hpp"

namespace {

namespace http = boost::beast::http;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;
using refcache::mcp::ServerConfig;

constexpr const char* kSecret = "do-not-show-this-value";

ServerConfig http_config(bool with_admin) {
  ServerConfig c;
  c.transport.kind = ::mcp::TransportConfig::Kind::kHttp;
  c.backend_url = "memory:";
  c.bearer_tokens = {{"t-admin", "alice"}, {"t-user", "bob"}};
  if (with_admin) c.admins = {"alice"};
  return c;
}

::mcp::AuthOptions auth_of(const ServerConfig& c) {
  return {
      .verify = [tokens = c.bearer_tokens](std::string_view t) -> std::optional<::mcp::Principal> {
        for (const auto& [token, user] : tokens)
          if (token == t) return ::mcp::Principal{.subject = user};
        return std::nullopt;
      }};
}

struct Reply {
  unsigned status = 0;
  std::string body;
  http::response<http::string_body> raw;
};

Reply get(std::uint16_t port, const std::string& target, const std::string& token = {},
          const std::string& host = {}, http::verb verb = http::verb::get) {
  boost::asio::io_context ioc;
  tcp::socket sock(ioc);
  sock.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host.empty() ? "127.0.0.1:" + std::to_string(port) : host);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  req.prepare_payload();
  http::write(sock, req);
  boost::beast::flat_buffer buf;
  Reply r;
  http::read(sock, buf, r.raw);
  r.status = r.raw.result_int();
  r.body = r.raw.body();
  return r;
}

// A server_cli-style cache (cache_options: the activity under the timing) and an HTTP server
// with the dashboard's routes.
struct Fixture {
  ServerConfig config;
  refcache::mcp::ServerDefaults defaults{.program = "dash-test", .cache_name = "dash"};
  std::unique_ptr<refcache::RefCache> cache;
  ::mcp::Server server{{.worker_threads = 1}};
  std::unique_ptr<::mcp::HttpServer> httpd;

  explicit Fixture(bool with_admin) : config(http_config(with_admin)) {
    cache = std::make_unique<refcache::RefCache>(refcache::mcp::cache_options(config, defaults));
    ::mcp::HttpOptions o;
    o.auth = auth_of(config);
    o.routes = refcache::mcp::dashboard_routes(*cache, config, defaults.program);
    httpd = std::make_unique<::mcp::HttpServer>(server, o);
    httpd->start();
  }
  ~Fixture() { httpd->stop(); }
  Fixture(const Fixture&) = delete;
  Fixture& operator=(const Fixture&) = delete;
  std::uint16_t port() const { return httpd->port(); }
};

TEST(Dashboard, AbsentWithoutAnAdministrator) {
  Fixture f(false);
  EXPECT_FALSE(refcache::mcp::dashboard_enabled(f.config));
  EXPECT_EQ(get(f.port(), "/dashboard").status, 404);
  EXPECT_EQ(get(f.port(), "/dashboard/data", "t-admin").status, 404);
  // Nor over stdio, where no bearer user exists.
  ServerConfig stdio = http_config(true);
  stdio.transport.kind = ::mcp::TransportConfig::Kind::kStdio;
  EXPECT_FALSE(refcache::mcp::dashboard_enabled(stdio));
  EXPECT_TRUE(refcache::mcp::dashboard_routes(*f.cache, stdio, "x").empty());
}

TEST(Dashboard, DataIsForAdministratorsOnly) {
  Fixture f(true);
  EXPECT_EQ(get(f.port(), "/dashboard/data").status, 401);
  EXPECT_EQ(get(f.port(), "/dashboard/data", "wrong").status, 401);
  Reply bob = get(f.port(), "/dashboard/data", "t-user");
  EXPECT_EQ(bob.status, 403);
  EXPECT_EQ(bob.body.find("stats"), std::string::npos);
  Reply alice = get(f.port(), "/dashboard/data", "t-admin");
  EXPECT_EQ(alice.status, 200);
  EXPECT_EQ(alice.raw[http::field::cache_control], "no-store");
  EXPECT_EQ(get(f.port(), "/dashboard/data", "t-admin", "", http::verb::post).status, 405);
  // DNS rebinding: a foreign Host is refused before anything else.
  EXPECT_EQ(get(f.port(), "/dashboard/data", "t-admin", "evil.example").status, 403);
  EXPECT_EQ(get(f.port(), "/dashboard", "", "evil.example").status, 403);
}

TEST(Dashboard, PageHoldsNoDataAndLoadsNothingElse) {
  Fixture f(true);
  Reply page = get(f.port(), "/dashboard");  // no token: the page asks for one itself
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.raw[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(page.body, std::string(refcache::mcp::dashboard_page()));
  const std::string csp(page.raw["Content-Security-Policy"]);
  EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos);
  EXPECT_EQ(page.raw["X-Content-Type-Options"], "nosniff");
  // Nothing from elsewhere: no absolute URL in a src or href, no CDN.
  for (const char* s : {"src=\"http", "href=\"http", "src='http", "//cdn", "@import"})
    EXPECT_EQ(page.body.find(s), std::string::npos) << s;
  EXPECT_NE(page.body.find("/dashboard/data"), std::string::npos);
  EXPECT_NE(page.body.find("sessionStorage"), std::string::npos);
}

TEST(Dashboard, DataMatchesTheBackendAndNeverShowsValues) {
  Fixture f(true);
  refcache::RefCache& cache = *f.cache;
  json::array big;
  for (int i = 0; i < 2000; ++i) big.emplace_back(std::string(kSecret) + std::to_string(i));
  auto ref = cache.set("big", big, {.ns = "public"});
  auto small = cache.set("small", json::value(42), {.ns = "other"});
  std::size_t full = 0, preview = 0;
  for (int i = 0; i < 3; ++i) {
    auto r = cache.get(ref.ref_id, refcache::Actor::agent());
    const auto& resp = std::get<refcache::CacheResponse>(r);
    full = resp.original_size;
    preview = resp.preview_size;
  }
  EXPECT_THROW(cache.get("dash:0000000000000000", refcache::Actor::agent()), std::exception);
  ASSERT_GT(full, preview);

  Reply r = get(f.port(), "/dashboard/data", "t-admin");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body.find(kSecret), std::string::npos);  // values never appear
  json::value d = jsonio::parse_or_throw(r.body);
  const refcache::BackendStats st = cache.backend().stats();
  const auto& s = d.at("stats");
  EXPECT_EQ(s.at("hits").to_number<std::uint64_t>(), st.hits);
  EXPECT_EQ(s.at("misses").to_number<std::uint64_t>(), st.misses);
  EXPECT_EQ(s.at("sets").to_number<std::uint64_t>(), st.sets);
  EXPECT_EQ(s.at("entries").to_number<std::int64_t>(), st.entries);
  EXPECT_EQ(st.sets, 2u);
  EXPECT_EQ(st.hits, 3u);
  EXPECT_EQ(d.at("backend").as_string(), "memory");
  EXPECT_TRUE(d.at("health").at("ok").as_bool());
  EXPECT_TRUE(d.at("health").at("wal_bytes").is_null());  // not SQLite

  const auto& a = d.at("activity");
  EXPECT_EQ(a.at("tracked_refs").to_number<int>(), 2);
  const auto& largest = a.at("largest").as_array();
  ASSERT_EQ(largest.size(), 2u);
  EXPECT_EQ(largest[0].at("ref_id").as_string(), ref.ref_id);
  EXPECT_EQ(largest[0].at("bytes").to_number<std::size_t>(), ref.total_size);
  EXPECT_EQ(largest[1].at("ref_id").as_string(), small.ref_id);
  const auto& most_read = a.at("most_read").as_array();
  ASSERT_EQ(most_read.size(), 1u);  // only the read ref
  EXPECT_EQ(most_read[0].at("reads").to_number<int>(), 3);
  // The big value's preview saves full - preview; the small value's preview is itself.
  EXPECT_EQ(a.at("tokens_saved").at("total").to_number<std::size_t>(), full - preview);
  EXPECT_EQ(a.at("tokens_saved").at("stores_measured").to_number<int>(), 2);
  // Both expire with the default TTL of an hour: within the hour and the day, not the minute.
  EXPECT_EQ(a.at("expiring").at("minute").to_number<int>(), 0);
  EXPECT_EQ(a.at("expiring").at("hour").to_number<int>(), 2);
  EXPECT_EQ(a.at("expiring").at("day").to_number<int>(), 2);
  const auto& ns = a.at("namespaces").as_array();
  ASSERT_EQ(ns.size(), 2u);
  EXPECT_EQ(ns[0].at("namespace").as_string(), "other");
  EXPECT_EQ(ns[1].at("namespace").as_string(), "public");
  EXPECT_EQ(ns[1].at("entries").to_number<int>(), 1);

  // Events: a deletion and a clear, then nothing after the cursor.
  EXPECT_TRUE(cache.backend().remove(ref.ref_id));
  cache.clear("other");
  json::value d2 = jsonio::parse_or_throw(get(f.port(), "/dashboard/data", "t-admin").body);
  const auto& ev = d2.at("activity").at("events");
  const auto& items = ev.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].at("kind").as_string(), "deleted");
  EXPECT_EQ(items[0].at("ref_id").as_string(), ref.ref_id);
  EXPECT_EQ(items[1].at("kind").as_string(), "cleared");
  EXPECT_EQ(items[1].at("namespace").as_string(), "other");
  const auto last = ev.at("last_seq").to_number<std::uint64_t>();
  EXPECT_EQ(last, items[1].at("seq").to_number<std::uint64_t>());
  EXPECT_EQ(d2.at("activity").at("tracked_refs").to_number<int>(), 0);
  json::value d3 = jsonio::parse_or_throw(
      get(f.port(), "/dashboard/data?since=" + std::to_string(last), "t-admin").body);
  EXPECT_TRUE(d3.at("activity").at("events").at("items").as_array().empty());
  json::value d4 = jsonio::parse_or_throw(
      get(f.port(), "/dashboard/data?since=" + std::to_string(last - 1), "t-admin").body);
  EXPECT_EQ(d4.at("activity").at("events").at("items").as_array().size(), 1u);
}

TEST(DashboardActivity, MemoryIsBounded) {
  auto inner = std::make_shared<refcache::MemoryBackend>();
  refcache::mcp::DashboardActivity act(inner, {.max_refs = 8, .max_events = 5});
  for (int i = 0; i < 50; ++i) {
    auto e = std::make_shared<refcache::CacheEntry>();
    e->value = i;
    const std::string id = "t:" + std::to_string(1000000000000000 + i);
    act.set(id, e);
    act.get(id);
    act.set(id, e);  // an overwrite: an "updated" event
  }
  EXPECT_LE(act.snapshot(refcache::unix_now()).refs.size(), 8u);
  std::uint64_t last = 0;
  auto events = act.events_since(0, last);
  EXPECT_EQ(events.size(), 5u);
  EXPECT_EQ(last, 50u);
  EXPECT_EQ(events.back().seq, 50u);
}

}  // namespace
