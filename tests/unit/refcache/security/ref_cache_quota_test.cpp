// RefCache with per-principal quotas (RefCacheOptions::quota, SetOptions::principal), over the
// memory backend: what is evicted, what is refused, and bounds under concurrent sets.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "refcache/memory_backend.hpp"
#include "refcache/ref_cache.hpp"
#include "unit/refcache/test_util.hpp"

using namespace refcache;
namespace json = boost::json;

namespace {

RefCacheOptions quota_opts(std::size_t max_entries, std::size_t max_bytes,
                           QuotaOverflow mode = QuotaOverflow::kEvictOldest) {
  RefCacheOptions o;
  o.name = "quota";
  o.clock = &refcache_test::fake_now;
  o.backend =
      std::make_shared<MemoryBackend>(MemoryBackendOptions{.clock = &refcache_test::fake_now});
  o.quota.max_entries = max_entries;
  o.quota.max_bytes = max_bytes;
  o.quota.on_exceed = mode;
  return o;
}

SetOptions as(std::string principal, std::string ns = "public") {
  SetOptions so;
  so.principal = std::move(principal);
  so.ns = std::move(ns);
  return so;
}

bool stored(RefCache& cache, const std::string& ref) {
  return cache.backend().exists(ref);
}

}  // namespace

TEST(RefCacheQuota, DefaultsBoundEveryPrincipal) {
  RefCacheOptions o;
  EXPECT_EQ(o.quota.max_entries, 1000u);
  EXPECT_EQ(o.quota.max_bytes, std::size_t{64} << 20);
  EXPECT_EQ(o.quota.on_exceed, QuotaOverflow::kEvictOldest);
  EXPECT_TRUE(SetOptions{}.principal.empty());
  // With no quota configured, one principal still cannot keep more than 1000 entries.
  RefCache cache;
  const std::string first = cache.set("", 0, as("peer:127.0.0.1")).ref_id;
  for (int i = 1; i <= 1000; ++i) cache.set("", i, as("peer:127.0.0.1"));
  EXPECT_EQ(cache.backend().keys().size(), 1000u);
  EXPECT_FALSE(stored(cache, first));
}

TEST(RefCacheQuota, EvictsOnlyThePrincipalsOwnOldestEntries) {
  RefCache cache(quota_opts(3, 0));
  std::vector<std::string> bob, alice;
  for (int i = 0; i < 3; ++i) bob.push_back(cache.set("", i, as("user:bob")).ref_id);
  const std::string anonymous = cache.set("", 99).ref_id;  // no principal: not counted
  for (int i = 0; i < 10; ++i) alice.push_back(cache.set("", i, as("user:alice")).ref_id);
  // Alice keeps her newest three, in order; her seven oldest are gone.
  for (int i = 0; i < 7; ++i) EXPECT_FALSE(stored(cache, alice[i])) << i;
  for (int i = 7; i < 10; ++i) {
    EXPECT_TRUE(stored(cache, alice[i])) << i;
    EXPECT_EQ(*cache.resolve(alice[i], Actor::user()), json::value(i));
  }
  // Nobody else lost anything.
  for (const auto& r : bob) EXPECT_TRUE(stored(cache, r));
  EXPECT_TRUE(stored(cache, anonymous));
  EXPECT_EQ(cache.backend().keys().size(), 3u + 1u + 3u);
}

TEST(RefCacheQuota, EvictionsAreOrdinaryDeletesWithEvents) {
  RefCache cache(quota_opts(1, 0));
  std::vector<ChangeEvent> events;
  cache.backend().subscribe([&](const ChangeEvent& e) { events.push_back(e); });
  auto first = cache.set("", 1, as("p"));
  auto second = cache.set("", 2, as("p"));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, ChangeKind::kDeleted);
  EXPECT_EQ(events[0].ref_id, first.ref_id);
  EXPECT_TRUE(stored(cache, second.ref_id));
}

TEST(RefCacheQuota, ByteQuotaEvictsUntilTheNewValueFits) {
  RefCache cache(quota_opts(0, 100));
  const json::value forty = json::string(38, 'x');  // "xxx...": 40 bytes of JSON
  auto r1 = cache.set("", forty, as("p"));
  auto r2 = cache.set("", forty, as("p"));
  ASSERT_EQ(r1.total_size, 40u);
  auto r3 = cache.set("", forty, as("p"));
  EXPECT_FALSE(stored(cache, r1.ref_id));
  EXPECT_TRUE(stored(cache, r2.ref_id));
  EXPECT_TRUE(stored(cache, r3.ref_id));
}

TEST(RefCacheQuota, AValueLargerThanTheQuotaIsRefusedWithAClearError) {
  RefCache cache(quota_opts(10, 100));
  auto kept = cache.set("", 1, as("p"));
  try {
    cache.set("k", json::value(json::string(200, 'x')), as("p"));
    FAIL() << "stored a value larger than max_bytes";
  } catch (const QuotaExceeded& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("202 bytes"), std::string::npos) << what;
    EXPECT_NE(what.find("quota of 100 bytes per principal (quota.max_bytes)"), std::string::npos)
        << what;
  }
  // An InvalidArgument, so tool layers answer it as a tool error.
  EXPECT_THROW(cache.set("", json::value(json::string(200, 'x')), as("p")), InvalidArgument);
  // Nothing stored, nothing evicted, and no binding made.
  EXPECT_EQ(cache.backend().keys().size(), 1u);
  EXPECT_TRUE(stored(cache, kept.ref_id));
  EXPECT_FALSE(cache.backend().find_by_key("public", "k"));
  // Without a principal the same value is not counted.
  EXPECT_NO_THROW(cache.set("", json::value(json::string(200, 'x'))));
}

TEST(RefCacheQuota, RefuseModeThrowsWhenFull) {
  RefCache cache(quota_opts(2, 0, QuotaOverflow::kRefuse));
  auto r1 = cache.set("", 1, as("p"));
  cache.set("", 2, as("p"));
  EXPECT_THROW(cache.set("", 3, as("p")), QuotaExceeded);
  EXPECT_EQ(cache.backend().keys().size(), 2u);
  EXPECT_NO_THROW(cache.set("", 3, as("q")));  // another principal has its own room
  EXPECT_TRUE(cache.remove(r1.ref_id, Actor::user()));
  EXPECT_NO_THROW(cache.set("", 3, as("p")));  // room again after a delete
}

TEST(RefCacheQuota, EntriesDeletedOrClearedElsewhereStopCounting) {
  RefCache cache(quota_opts(3, 0));
  std::vector<std::string> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(cache.set("", i, as("p", "work")).ref_id);
  // Deleted straight through the backend (as an admin tool or another cache object would).
  ASSERT_TRUE(cache.backend().remove(refs[1]));
  auto r3 = cache.set("", 3, as("p", "work"));
  EXPECT_TRUE(stored(cache, refs[0]));  // room was made by the delete: nothing evicted
  EXPECT_TRUE(stored(cache, refs[2]));
  // The quota still holds: one more set evicts the oldest.
  auto r4 = cache.set("", 4, as("p", "work"));
  EXPECT_FALSE(stored(cache, refs[0]));
  EXPECT_TRUE(stored(cache, r4.ref_id));
  // A cleared namespace frees the room of everything in it.
  cache.clear("work");
  std::vector<std::string> fresh;
  for (int i = 0; i < 3; ++i) fresh.push_back(cache.set("", i, as("p", "other")).ref_id);
  for (const auto& r : fresh) EXPECT_TRUE(stored(cache, r));
  cache.set("", 3, as("p", "other"));
  EXPECT_FALSE(stored(cache, fresh[0]));
}

TEST(RefCacheQuota, ReSettingAKeyReplacesWithoutEvictingAnother) {
  RefCache cache(quota_opts(3, 0));
  auto a = cache.set("a", 1, as("p"));
  auto b = cache.set("b", 2, as("p"));
  cache.set("c", 3, as("p"));
  auto c2 = cache.set("c", 4, as("p"));  // replaces c's entry: still three entries
  EXPECT_TRUE(stored(cache, a.ref_id));
  EXPECT_TRUE(stored(cache, b.ref_id));
  EXPECT_TRUE(stored(cache, c2.ref_id));
  EXPECT_EQ(cache.backend().keys().size(), 3u);
  auto d = cache.set("d", 5, as("p"));  // a fourth key: the oldest goes
  EXPECT_FALSE(stored(cache, a.ref_id));
  EXPECT_TRUE(stored(cache, d.ref_id));
  EXPECT_EQ(cache.backend().keys().size(), 3u);
}

TEST(RefCacheQuota, ExpiredEntriesFreeTheirRoom) {
  RefCache cache(quota_opts(2, 0));
  SetOptions brief = as("p");
  brief.ttl = std::chrono::seconds(10);
  cache.set("", 1, brief);
  cache.set("", 2, brief);
  refcache_test::advance(11);
  auto lasting1 = cache.set("", 3, as("p"));
  auto lasting2 = cache.set("", 4, as("p"));
  EXPECT_TRUE(stored(cache, lasting1.ref_id));
  EXPECT_TRUE(stored(cache, lasting2.ref_id));
  auto lasting3 = cache.set("", 5, as("p"));
  EXPECT_FALSE(stored(cache, lasting1.ref_id));
  EXPECT_TRUE(stored(cache, lasting3.ref_id));
}

TEST(RefCacheQuota, ConcurrentSetsStayWithinQuotaPlusThreads) {
  constexpr std::size_t kMax = 8;
  constexpr int kThreads = 4;
  constexpr int kSetsPerThread = 300;
  RefCache cache(quota_opts(kMax, 0));
  for (int i = 0; i < 3; ++i) cache.set("", i, as("user:bob", "bob"));
  std::atomic<bool> done{false};
  std::atomic<std::size_t> worst{0};
  std::thread watcher([&] {
    while (!done.load()) {
      const std::size_t n = cache.backend().keys("alice").size();
      std::size_t w = worst.load();
      while (n > w && !worst.compare_exchange_weak(w, n)) {
      }
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < kSetsPerThread; ++i)
        cache.set("", json::array{t, i}, as("user:alice", "alice"));
    });
  for (auto& w : writers) w.join();
  done = true;
  watcher.join();
  EXPECT_LE(worst.load(), kMax + kThreads);
  // Once the sets have ended the principal is back within its quota.
  EXPECT_EQ(cache.backend().keys("alice").size(), kMax);
  EXPECT_EQ(cache.backend().keys("bob").size(), 3u);
}
