// CachedCall keys of calls whose arguments name refs: a ref enters the key as its identity
// (the ref as written and the version of its stored value), so a rewritten ref misses, an
// unchanged one hits, on every backend and across caches sharing one, and a private value
// never enters a key.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "refcache/cached_call.hpp"
#include "refcache/memory_backend.hpp"
#if REFCACHE_WITH_SQLITE
#include "refcache/sqlite_backend.hpp"
#endif
#include "test_util.hpp"

using namespace refcache;
using refcache_test::J;
namespace json = boost::json;

namespace {

// The sum of the numbers in `data` (a list, or an object's members), counting its runs.
CallFn sum_fn(std::atomic<int>& runs) {
  return [&runs](const json::object& args, CallContext&) -> json::value {
    ++runs;
    const json::value& d = args.at("data");
    double total = 0;
    if (d.is_array())
      for (const auto& v : d.as_array()) total += v.to_number<double>();
    if (d.is_object())
      for (const auto& kv : d.as_object()) total += kv.value().to_number<double>();
    return total;
  };
}

RefCacheOptions options_on(std::shared_ptr<Backend> backend) {
  RefCacheOptions o;
  o.name = "keys";
  o.preview.size_mode = SizeMode::kCharacter;
  o.preview.max_size = 1000;
  o.backend = std::move(backend);
  return o;
}

// A list of 20,000 numbers of six digits but the first, `first` (about 137 KB of JSON: more
// than the 64 KiB up to which calls key by content). Sums to first + 1,999,900,000.
json::value big(std::int64_t first) {
  json::array a;
  a.reserve(20000);
  a.push_back(first);
  for (int i = 1; i < 20000; ++i) a.push_back(100000);
  return a;
}
double big_sum(std::int64_t first) {
  return static_cast<double>(first) + 19999.0 * 100000.0;
}

SetOptions public_set() {
  SetOptions so;
  so.policy = AccessPolicy::public_policy();
  return so;
}

// Stores `value` under the existing ref id `ref` (a rewrite of that ref).
void rewrite(RefCache& cache, const std::string& ref, const json::value& value) {
  SetOptions so = public_set();
  so.ref_id = ref;
  cache.set("", value, so);
}

#if REFCACHE_WITH_SQLITE
// A fresh SQLite file in the temporary folder, removed with its journal files at the end.
class TempDb {
 public:
  TempDb()
      : path_(
            (std::filesystem::temp_directory_path() /
             ("refcache-call-key-" + std::to_string(::getpid()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + ".db"))
                .string()) {}
  ~TempDb() {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code ec;
      std::filesystem::remove(path_ + suffix, ec);
    }
  }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;
  std::shared_ptr<Backend> backend() const {
    return std::make_shared<SQLiteBackend>(SQLiteOptions{.path = path_});
  }

 private:
  std::string path_;
};
#endif

// The two backends every keying property is checked on.
class CachedCallKey : public ::testing::TestWithParam<std::string> {
 protected:
  std::shared_ptr<Backend> make_backend() {
#if REFCACHE_WITH_SQLITE
    if (GetParam() == "sqlite") return db_.backend();
#endif
    return std::make_shared<MemoryBackend>();
  }

 private:
#if REFCACHE_WITH_SQLITE
  TempDb db_;
#endif
};

}  // namespace

TEST_P(CachedCallKey, AnUnchangedRefHitsAndARewrittenOneMisses) {
  RefCache cache(options_on(make_backend()));
  std::atomic<int> runs{0};
  CachedCall sum(cache, "sum", sum_fn(runs));
  const std::string ref = cache.set("", big(1), public_set()).ref_id;

  auto first = sum.call(json::object{{"data", ref}});
  EXPECT_EQ(first.at("value"), json::value(big_sum(1)));
  auto again = sum.call(json::object{{"data", ref}});
  EXPECT_EQ(runs.load(), 1) << "an unchanged ref must hit";
  EXPECT_EQ(again.at("ref_id"), first.at("ref_id"));

  // A rewrite with a value of the same size and items: only the write's time tells it apart.
  rewrite(cache, ref, big(2));
  auto same_size = sum.call(json::object{{"data", ref}});
  EXPECT_EQ(runs.load(), 2) << "a rewritten ref must miss";
  EXPECT_EQ(same_size.at("value"), json::value(big_sum(2)));
  EXPECT_NE(same_size.at("ref_id"), first.at("ref_id"));

  rewrite(cache, ref, big(1000));
  auto larger = sum.call(json::object{{"data", ref}});
  EXPECT_EQ(runs.load(), 3);
  EXPECT_EQ(larger.at("value"), json::value(big_sum(1000)));
  sum.call(json::object{{"data", ref}});
  EXPECT_EQ(runs.load(), 3) << "the rewritten ref, unchanged since, must hit";
}

TEST_P(CachedCallKey, APointerKeysByItsRefAndItsPart) {
  RefCache cache(options_on(make_backend()));
  std::atomic<int> runs{0};
  CachedCall sum(cache, "sum", sum_fn(runs));
  const std::string ref =
      cache.set("", json::object{{"a", big(1)}, {"b", big(3)}}, public_set()).ref_id;

  EXPECT_EQ(sum.call(json::object{{"data", ref + "#/a"}}).at("value"), json::value(big_sum(1)));
  EXPECT_EQ(sum.call(json::object{{"data", ref + "#/b"}}).at("value"), json::value(big_sum(3)));
  EXPECT_EQ(runs.load(), 2) << "two parts of one ref are two calls";
  sum.call(json::object{{"data", ref + "#/a"}});
  EXPECT_EQ(runs.load(), 2) << "an unchanged part must hit";

  rewrite(cache, ref, json::object{{"a", big(5)}, {"b", big(3)}});
  EXPECT_EQ(sum.call(json::object{{"data", ref + "#/a"}}).at("value"), json::value(big_sum(5)));
  EXPECT_EQ(runs.load(), 3) << "a part of a rewritten ref must miss";
}

TEST_P(CachedCallKey, ARewrittenNestedRefMisses) {
  RefCache cache(options_on(make_backend()));
  std::atomic<int> runs{0};
  CachedCall total(cache, "total", [&runs](const json::object& args, CallContext&) {
    ++runs;
    // [n, [numbers...]] -> n + their sum
    const json::array& d = args.at("data").as_array();
    double s = d.at(0).to_number<double>();
    for (const auto& v : d.at(1).as_array()) s += v.to_number<double>();
    return json::value(s);
  });
  const std::string inner = cache.set("", big(5), public_set()).ref_id;
  const std::string outer = cache.set("", json::array{1, json::value(inner)}, public_set()).ref_id;

  EXPECT_EQ(total.call(json::object{{"data", outer}}).at("value"), json::value(1 + big_sum(5)));
  total.call(json::object{{"data", outer}});
  EXPECT_EQ(runs.load(), 1);
  // The outer ref is unchanged; the value the function receives is not.
  rewrite(cache, inner, big(9));
  EXPECT_EQ(total.call(json::object{{"data", outer}}).at("value"), json::value(1 + big_sum(9)));
  EXPECT_EQ(runs.load(), 2) << "a rewritten ref inside an unchanged one must miss";
}

TEST_P(CachedCallKey, RefsWithEqualValuesAnswerCorrectly) {
  RefCache cache(options_on(make_backend()));
  std::atomic<int> runs{0};
  CachedCall sum(cache, "sum", sum_fn(runs));
  const std::string a = cache.set("", big(1), public_set()).ref_id;
  const std::string b = cache.set("", big(1), public_set()).ref_id;
  EXPECT_EQ(sum.call(json::object{{"data", a}}).at("value"), json::value(big_sum(1)));
  EXPECT_EQ(sum.call(json::object{{"data", b}}).at("value"), json::value(big_sum(1)));
  rewrite(cache, b, big(4));
  EXPECT_EQ(sum.call(json::object{{"data", a}}).at("value"), json::value(big_sum(1)));
  EXPECT_EQ(sum.call(json::object{{"data", b}}).at("value"), json::value(big_sum(4)));
}

// Small readable values key by content: a rewrite misses, and a ref shares its result with
// the same value written literally.
TEST_P(CachedCallKey, SmallReadableValuesKeyByContent) {
  RefCache cache(options_on(make_backend()));
  std::atomic<int> runs{0};
  CachedCall sum(cache, "sum", sum_fn(runs));
  const std::string ref = cache.set("", J("[1,2,3]"), public_set()).ref_id;
  EXPECT_EQ(sum.call(json::object{{"data", ref}}).at("value"), json::value(6.0));
  sum.call(json::object{{"data", ref}});
  EXPECT_EQ(runs.load(), 1);
  rewrite(cache, ref, J("[1,2,4]"));
  EXPECT_EQ(sum.call(json::object{{"data", ref}}).at("value"), json::value(7.0));
  EXPECT_EQ(runs.load(), 2) << "a rewritten small ref must miss";
  EXPECT_EQ(sum.call(json::object{{"data", J("[1,2,4]")}}).at("value"), json::value(7.0));
  EXPECT_EQ(runs.load(), 2) << "its literal value must hit the same result";
}

TEST_P(CachedCallKey, ExecuteOnlyRefsKeyAsRefsAndApartFromReaders) {
  for (const bool large : {false, true}) {
    SCOPED_TRACE(large ? "large value" : "small value");
    RefCache cache(options_on(make_backend()));
    std::atomic<int> runs{0};
    CachedCall sum(cache, "sum", sum_fn(runs));
    const json::value value = large ? big(10) : J("[10,20,30]");
    const json::value expected = large ? json::value(big_sum(10)) : json::value(60.0);
    // Users may read the value; agents may only use it.
    AccessPolicy mixed;
    mixed.user_permissions = Permission::kRead | Permission::kExecute;
    mixed.agent_permissions = Permission::kExecute;
    SetOptions so;
    so.policy = mixed;
    const std::string ref = cache.set("", value, so).ref_id;
    const CallIdentity agent{.values = {{"agent_id", "a1"}}};
    const CallIdentity user{.values = {{"user_id", "u1"}}};

    auto withheld = sum.call(json::object{{"data", ref}}, agent);
    EXPECT_EQ(withheld.at("value_withheld"), true);
    sum.call(json::object{{"data", ref}}, agent);
    EXPECT_EQ(runs.load(), 1) << "a private call on an unchanged ref must hit";

    // A literal guess of the private value does not reach the private result.
    auto guess = sum.call(json::object{{"data", value}}, agent);
    EXPECT_EQ(runs.load(), 2);
    EXPECT_NE(guess.at("ref_id"), withheld.at("ref_id"));
    EXPECT_EQ(guess.at("value"), expected);

    // A reader's call on the same ref does not get the private result: it sees the value.
    auto read = sum.call(json::object{{"data", ref}}, user);
    EXPECT_EQ(read.at("value"), expected);
    EXPECT_NE(read.at("ref_id"), withheld.at("ref_id"));

    // A rewritten private value misses too.
    const int before = runs.load();
    SetOptions again = so;
    again.ref_id = ref;
    cache.set("", large ? big(11) : J("[10,20,31]"), again);
    auto rewritten = sum.call(json::object{{"data", ref}}, agent);
    EXPECT_EQ(runs.load(), before + 1);
    EXPECT_NE(rewritten.at("ref_id"), withheld.at("ref_id"));
  }
}

TEST(CachedCallKeyVersion, NamesNoValueAndChangesWithTheEntry) {
  CacheEntry e;
  e.value = J(R"(["secret words"])");
  e.created_at = 1'700'000'000.25;
  e.standard.total_size = json::value(16);
  e.standard.total_chars = json::value(16);
  e.standard.total_items = json::value(1);
  const std::string r = ref_version(e, e.value, false);
  EXPECT_EQ(r, "r 1700000000.25 16 16 1");
  EXPECT_EQ(ref_version(e, e.value, true), "x 1700000000.25 16 16 1");
  CacheEntry later = e;
  later.created_at = 1'700'000'000.250001;
  EXPECT_NE(ref_version(later, later.value, false), r);
  // An entry another program wrote without sizes: by content when readable, by nothing
  // when private.
  CacheEntry foreign = e;
  foreign.standard = {};
  const std::string by_content = ref_version(foreign, foreign.value, false);
  EXPECT_EQ(by_content.rfind("r h ", 0), 0U) << by_content;
  EXPECT_EQ(by_content.find("secret"), std::string::npos);
  EXPECT_EQ(ref_version(foreign, foreign.value, true), "x -");
}

#if REFCACHE_WITH_SQLITE
// Two caches on one SQLite file, as two servers: the second hits the first's result while
// the ref is unchanged, and misses once the first rewrites it.
TEST(CachedCallKeyShared, ASecondCacheOnOneSQLiteFileHitsTheFirstsResult) {
  TempDb db;
  RefCache first(options_on(db.backend()));
  RefCache second(options_on(db.backend()));
  std::atomic<int> runs_first{0};
  std::atomic<int> runs_second{0};
  CachedCall sum_first(first, "sum", sum_fn(runs_first));
  CachedCall sum_second(second, "sum", sum_fn(runs_second));
  const std::string ref = first.set("", big(1), public_set()).ref_id;

  auto computed = sum_first.call(json::object{{"data", ref}});
  auto hit = sum_second.call(json::object{{"data", ref}});
  EXPECT_EQ(runs_first.load(), 1);
  EXPECT_EQ(runs_second.load(), 0) << "the second server must hit the first's result";
  EXPECT_EQ(hit.at("ref_id"), computed.at("ref_id"));
  EXPECT_EQ(hit.at("value"), json::value(big_sum(1)));

  rewrite(first, ref, big(2));
  auto fresh = sum_second.call(json::object{{"data", ref}});
  EXPECT_EQ(runs_second.load(), 1) << "a ref rewritten by the other server must miss";
  EXPECT_EQ(fresh.at("value"), json::value(big_sum(2)));
  sum_first.call(json::object{{"data", ref}});
  EXPECT_EQ(runs_first.load(), 1) << "and the first server hits the second's new result";
}

INSTANTIATE_TEST_SUITE_P(Backends, CachedCallKey, ::testing::Values("memory", "sqlite"));
#else
INSTANTIATE_TEST_SUITE_P(Backends, CachedCallKey, ::testing::Values("memory"));
#endif
