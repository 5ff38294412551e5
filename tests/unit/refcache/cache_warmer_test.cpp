// CacheWarmer: declared calls computed at start and refreshed ahead of expiry (callers then
// hit the new result, the old ref stays readable until it expires); processes warming the
// same calls on one store compute each refresh once; failures retried; bad options refused.
#include "refcache/cache_warmer.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "refcache/memory_backend.hpp"
#if REFCACHE_WITH_SQLITE
#include "refcache/sqlite_backend.hpp"
#endif

namespace {

namespace json = boost::json;
using namespace refcache;
using namespace std::chrono_literals;

bool within(const std::function<bool()>& ok, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return ok();
}

RefCacheOptions cache_options(std::shared_ptr<Backend> backend) {
  RefCacheOptions o;
  o.name = "warm";
  o.backend = std::move(backend);
  return o;
}

// A computation that counts its runs and answers its run number.
struct Counted {
  std::atomic<int> runs{0};
  std::mutex mu;
  std::vector<std::chrono::steady_clock::time_point> starts;
  std::chrono::milliseconds takes{0};

  CallFn fn() {
    return [this](const json::object&, CallContext&) -> json::value {
      {
        std::lock_guard lock(mu);
        starts.push_back(std::chrono::steady_clock::now());
      }
      std::this_thread::sleep_for(takes);
      return json::object{{"run", ++runs}};
    };
  }
};

CachedCallOptions ttl_of(std::chrono::milliseconds ttl) {
  CachedCallOptions o;
  o.ttl = ttl;
  return o;
}

TEST(CacheWarmer, ComputesAtStartAndRefreshesAheadOfExpiry) {
  RefCache cache(cache_options(std::make_shared<MemoryBackend>()));
  Counted counted;
  auto call = std::make_shared<CachedCall>(cache, "report", counted.fn(), ttl_of(2000ms));
  cache.remember_call(call);
  CacheWarmerOptions wo;
  wo.calls.push_back(WarmCall{.tool = "report", .arguments = {{"day", "monday"}}});
  wo.refresh_at = 0.5;
  CacheWarmer warmer(cache, wo);

  ASSERT_TRUE(within([&] { return warmer.status().at(0).runs >= 1; }, 5s));
  EXPECT_EQ(counted.runs, 1);
  const std::string first = warmer.status().at(0).ref_id;
  // A caller hits the warmed result: nothing computed.
  json::object got = call->call({{"day", "monday"}});
  EXPECT_EQ(got.at("ref_id").as_string(), first);
  EXPECT_EQ(got.at("value").at("run"), 1);
  EXPECT_EQ(counted.runs, 1);

  const double first_expiry = *cache.backend().get(first)->expires_at;
  // Half-way through its life the result is computed again, under the same ref id, with a
  // new lifetime: callers and holders of the ref read the new value.
  ASSERT_TRUE(within([&] { return warmer.status().at(0).runs >= 2; }, 5s));
  EXPECT_EQ(counted.runs, 2);
  EXPECT_EQ(warmer.status().at(0).ref_id, first);
  EntryPtr now = cache.backend().get(first);
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now->value.at("run"), 2);
  EXPECT_GT(*now->expires_at, first_expiry);
  got = call->call({{"day", "monday"}});
  EXPECT_EQ(got.at("ref_id").as_string(), first);
  EXPECT_EQ(got.at("value").at("run"), 2);
  EXPECT_EQ(counted.runs, 2);
  EXPECT_EQ(warmer.status().at(0).failures, 0);
  ASSERT_TRUE(warmer.status().at(0).next_run.has_value());
}

// Two warmers on one store, as two servers on one SQLite file would be.
void expect_one_computation_per_refresh(const std::shared_ptr<Backend>& store_a,
                                        const std::shared_ptr<Backend>& store_b) {
  RefCache a(cache_options(store_a));
  RefCache b(cache_options(store_b));
  Counted counted;
  counted.takes = 300ms;  // long enough for the other warmer to arrive while it runs
  auto call_a = std::make_shared<CachedCall>(a, "report", counted.fn(), ttl_of(2000ms));
  auto call_b = std::make_shared<CachedCall>(b, "report", counted.fn(), ttl_of(2000ms));
  a.remember_call(call_a);
  b.remember_call(call_b);
  CacheWarmerOptions wo;
  wo.calls.push_back(WarmCall{.tool = "report"});
  wo.refresh_at = 0.5;
  {
    CacheWarmer wa(a, wo);
    CacheWarmer wb(b, wo);
    // The start and two refreshes.
    ASSERT_TRUE(within([&] { return counted.runs >= 3; }, 10s));
    // Both warmers follow the same result.
    ASSERT_TRUE(within([&] { return wa.status().at(0).ref_id == wb.status().at(0).ref_id; }, 3s));
  }
  // Refreshes are a second apart (half the TTL); two runs closer than that would be both
  // warmers computing the same refresh.
  std::lock_guard lock(counted.mu);
  for (std::size_t i = 1; i < counted.starts.size(); ++i)
    EXPECT_GT(counted.starts[i] - counted.starts[i - 1], 600ms) << "run " << i;
}

TEST(CacheWarmer, TwoWarmersOnOneMemoryStoreComputeEachRefreshOnce) {
  auto store = std::make_shared<MemoryBackend>();
  expect_one_computation_per_refresh(store, store);
}

#if REFCACHE_WITH_SQLITE
TEST(CacheWarmer, TwoWarmersOnOneSQLiteFileComputeEachRefreshOnce) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("refcache-warmer-" + std::to_string(::getpid()) + ".db"))
                               .string();
  expect_one_computation_per_refresh(std::make_shared<SQLiteBackend>(SQLiteOptions{.path = path}),
                                     std::make_shared<SQLiteBackend>(SQLiteOptions{.path = path}));
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::error_code ec;
    std::filesystem::remove(path + suffix, ec);
  }
}
#endif

TEST(CacheWarmer, AFailingCallIsRetriedAndAMissingToolReported) {
  RefCache cache(cache_options(std::make_shared<MemoryBackend>()));
  std::atomic<int> attempts{0};
  auto call = std::make_shared<CachedCall>(
      cache, "flaky",
      [&](const json::object&, CallContext&) -> json::value {
        if (++attempts < 3) throw InvalidArgument("upstream not ready");
        return 42;
      },
      ttl_of(60000ms));
  cache.remember_call(call);
  CacheWarmerOptions wo;
  wo.calls.push_back(WarmCall{.tool = "flaky"});
  wo.calls.push_back(WarmCall{.tool = "nowhere"});
  wo.retry_delay = 50ms;
  wo.retry_max = 100ms;
  CacheWarmer warmer(cache, wo);
  ASSERT_TRUE(within([&] { return warmer.status().at(0).runs == 1; }, 5s));
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(warmer.status().at(0).failures, 0);
  ASSERT_TRUE(within([&] { return warmer.status().at(1).failures >= 2; }, 5s));
  EXPECT_NE(warmer.status().at(1).last_error.find("no cached tool named 'nowhere'"),
            std::string::npos);
  EXPECT_EQ(warmer.status().at(1).runs, 0);
}

TEST(CacheWarmer, BadOptionsAreRefused) {
  RefCache cache(cache_options(std::make_shared<MemoryBackend>()));
  for (double at : {0.0, 1.0, -0.5, 1.5}) {
    CacheWarmerOptions wo;
    wo.refresh_at = at;
    EXPECT_THROW(CacheWarmer(cache, wo), InvalidArgument) << at;
  }
  CacheWarmerOptions unnamed;
  unnamed.calls.push_back(WarmCall{});
  EXPECT_THROW(CacheWarmer(cache, unnamed), InvalidArgument);
}

}  // namespace
