// Per-principal quotas (RefCacheOptions::quota) on every backend: the same scenario on the
// memory backend, a SQLite file and a real redis-server. One principal storing 300 values
// keeps at most its quota in the store; another principal's entries are untouched.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "integration/backend_fixture.hpp"
#include "refcache/ref_cache.hpp"

namespace refcache::testing {
namespace {

namespace json = boost::json;

class QuotaOnBackend : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override { under_ = std::make_unique<BackendUnderTest>(GetParam()); }
  void TearDown() override { under_.reset(); }

  std::unique_ptr<RefCache> cache(std::size_t max_entries, std::size_t max_bytes) {
    RefCacheOptions o;
    o.name = "quota";
    o.backend = under_->backend;
    o.quota.max_entries = max_entries;
    o.quota.max_bytes = max_bytes;
    return std::make_unique<RefCache>(std::move(o));
  }
  static SetOptions as(const std::string& principal) {
    SetOptions so;
    so.principal = principal;
    return so;
  }
  // About `bytes` bytes of JSON: a tool's large result.
  static json::value payload(int i, std::size_t bytes) {
    json::array a;
    a.emplace_back(i);
    a.emplace_back(json::string(bytes, static_cast<char>('a' + i % 26)));
    return a;
  }

  std::unique_ptr<BackendUnderTest> under_;
};

TEST_P(QuotaOnBackend, ThreeHundredSetsFromOnePrincipalKeepOnlyItsQuota) {
  constexpr std::size_t kQuota = 20;
  auto c = cache(kQuota, 0);
  std::vector<std::string> bob;
  for (int i = 0; i < 5; ++i) bob.push_back(c->set("", payload(i, 100), as("user:bob")).ref_id);
  std::vector<std::string> alice;
  for (int i = 0; i < 300; ++i)
    alice.push_back(c->set("", payload(i, 2000), as("user:alice")).ref_id);

  Backend& store = *under_->backend;
  std::size_t alice_stored = 0;
  for (const auto& r : alice) alice_stored += store.exists(r) ? 1 : 0;
  EXPECT_EQ(alice_stored, kQuota);
  // Her newest are the ones kept.
  for (std::size_t i = alice.size() - kQuota; i < alice.size(); ++i)
    EXPECT_TRUE(store.exists(alice[i])) << i;
  // Bob's entries are all there, unchanged.
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(*c->resolve(bob[static_cast<std::size_t>(i)], Actor::user()), payload(i, 100));
  // Nothing else is left in the store.
  EXPECT_EQ(store.keys("public").size(), kQuota + bob.size());
}

TEST_P(QuotaOnBackend, ThreeHundredLargeValuesKeepOnlyItsBytes) {
  constexpr std::size_t kBytes = 64 * 1024;
  auto c = cache(0, kBytes);
  std::vector<std::string> bob;
  for (int i = 0; i < 5; ++i) bob.push_back(c->set("", payload(i, 100), as("user:bob")).ref_id);
  std::vector<CacheReference> alice;
  for (int i = 0; i < 300; ++i) alice.push_back(c->set("", payload(i, 4000), as("user:alice")));

  Backend& store = *under_->backend;
  std::size_t held = 0, entries = 0;
  for (const auto& r : alice)
    if (store.exists(r.ref_id)) {
      held += r.total_size;
      ++entries;
    }
  EXPECT_LE(held, kBytes);
  EXPECT_EQ(entries, kBytes / alice.back().total_size);  // as many as fit, no fewer
  for (const auto& r : bob) EXPECT_TRUE(store.exists(r));
  // A single value over the quota is refused and stores nothing.
  EXPECT_THROW(c->set("", payload(0, kBytes), as("user:alice")), QuotaExceeded);
  EXPECT_EQ(store.keys("public").size(), entries + bob.size());
}

INSTANTIATE_TEST_SUITE_P(AllBackends, QuotaOnBackend,
                         ::testing::Values(BackendKind::kMemory, BackendKind::kSqliteFile,
                                           BackendKind::kRedis),
                         [](const auto& param_info) { return kind_name(param_info.param); });

}  // namespace
}  // namespace refcache::testing
