// B3: keys(ns) and clear(ns) of 1,000 entries beside 100 and beside 100,000 unrelated keys,
// for Redis (a redis-server started here), a SQLite file and memory. The two times of each
// backend should be close: the cost follows the namespace, not the store.
// Prints one JSON line. Not a test.
#include <sqlite3.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>

#include "../tests/integration/redis_server.hpp"
#include "jsonio/json_text.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache/redis_backend.hpp"
#include "refcache/sqlite_backend.hpp"

using namespace refcache;
namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

EntryPtr entry_in(const std::string& ns) {
  auto e = std::make_shared<CacheEntry>();
  e->value = std::string(100, 'v');
  e->ns = ns;
  e->created_at = unix_now();
  e->expires_at = e->created_at + 3600;
  return e;
}

void fill(Backend& b, const std::string& ns, int n, const std::string& prefix) {
  auto e = entry_in(ns);
  for (int i = 0; i < n; ++i) b.set(prefix + std::to_string(1000000 + i), e);
}

struct Times {
  double keys_ms = 0, clear_ms = 0;
};

// Median over kRounds of keys("target") then clear("target") (refilled between rounds).
// REQUIRES: "target" holds 1,000 entries.
Times time_keys_and_clear(Backend& b) {
  constexpr int kRounds = 7;
  b.keys("warm-up");
  b.clear("warm-up");
  std::vector<double> keys_ms, clear_ms;
  for (int round = 0; round < kRounds; ++round) {
    if (round > 0) fill(b, "target", 1000, "t:");
    auto t0 = SteadyClock::now();
    auto k = b.keys("target");
    auto t1 = SteadyClock::now();
    auto n = b.clear("target");
    auto t2 = SteadyClock::now();
    if (k.size() != 1000 || n != 1000) std::cerr << "unexpected: " << k.size() << " " << n << "\n";
    keys_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    clear_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
  }
  std::sort(keys_ms.begin(), keys_ms.end());
  std::sort(clear_ms.begin(), clear_ms.end());
  return {keys_ms[kRounds / 2], clear_ms[kRounds / 2]};
}

void redis_bulk(testing::RawRedis& r, int n) {
  const std::string script = R"lua(
local blob = '{"value":1,"namespace":"unrelated","policy":{"user_permissions":31,' ..
  '"agent_permissions":17,"owner":null,"owner_permissions":31,"allowed_actors":null,' ..
  '"denied_actors":null,"bound_session":null},"created_at":1.0,"expires_at":null,"metadata":{}}'
for i = 1, tonumber(ARGV[1]) do
  redis.call('SET', 'mcp-refcache:entry:bulk:' .. i, blob)
  redis.call('ZADD', 'mcp-refcache:idx:unrelated', '+inf', 'bulk:' .. i)
end
redis.call('SADD', 'mcp-refcache:namespaces', 'unrelated')
return 0
)lua";
  r.cmd({"EVAL", script, "0", std::to_string(n)});
}

void sqlite_bulk(const std::string& path, int n) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_busy_timeout(db, 10000);
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO cache_entries VALUES (?1, '1', 'unrelated', '{}', 1.0, NULL, "
                     "'{}')",
                     -1, &st, nullptr);
  for (int i = 0; i < n; ++i) {
    std::string k = "bulk:" + std::to_string(i);
    sqlite3_bind_text(st, 1, k.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_close(db);
}

double r3(double v) {
  return std::round(v * 1000) / 1000;
}

json::object pair(const Times& small, const Times& big) {
  json::object o;
  o["keys_ms_beside_100"] = r3(small.keys_ms);
  o["keys_ms_beside_100000"] = r3(big.keys_ms);
  o["clear_ms_beside_100"] = r3(small.clear_ms);
  o["clear_ms_beside_100000"] = r3(big.clear_ms);
  return o;
}

}  // namespace

int main() {
  json::object out;
  out["bench"] = "B3_namespace_keys_clear_1000";
  out["statistic"] = "median of 7 rounds, ms";
  {
    testing::RedisServer server;
    testing::RawRedis raw(server.port(), server.password());
    RedisBackend b(server.options());
    fill(b, "target", 1000, "t:");
    fill(b, "other", 100, "o:");
    Times small = time_keys_and_clear(b);
    raw.cmd({"FLUSHALL"});
    fill(b, "target", 1000, "t:");
    redis_bulk(raw, 100000);
    Times big = time_keys_and_clear(b);
    out["redis"] = pair(small, big);
  }
  {
    auto dir = testing::make_temp_dir("bench-ns");
    Times small, big;
    {
      std::string path = (dir / "small.db").string();
      SQLiteBackend b(SQLiteOptions{.path = path});
      fill(b, "target", 1000, "t:");
      fill(b, "other", 100, "o:");
      small = time_keys_and_clear(b);
    }
    {
      std::string path = (dir / "big.db").string();
      SQLiteBackend b(SQLiteOptions{.path = path});
      sqlite_bulk(path, 100000);
      fill(b, "target", 1000, "t:");
      big = time_keys_and_clear(b);
    }
    out["sqlite_file"] = pair(small, big);
    std::filesystem::remove_all(dir);
  }
  {
    MemoryBackend a, c;
    fill(a, "target", 1000, "t:");
    fill(a, "other", 100, "o:");
    fill(c, "target", 1000, "t:");
    fill(c, "other", 100000, "o:");
    out["memory"] = pair(time_keys_and_clear(a), time_keys_and_clear(c));
  }
  std::cout << jsonio::to_string(out) << std::endl;
  return 0;
}
