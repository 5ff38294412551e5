// The backend contract: one parametrized suite run over memory, SQLite (":memory:" and a
// file) and Redis (a real redis-server with a password, plain and TLS, and a real 3-primary,
// 3-replica Redis Cluster, all started by the fixture).
// GCC 12 reports a false -Wrestrict on "literal" + std::string (GCC bug 105329).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC bug 105329
#endif

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "integration/backend_fixture.hpp"
#include "jsonio/json_text.hpp"
#include "refcache/errors.hpp"

namespace refcache::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class BackendContract : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override { under_ = std::make_unique<BackendUnderTest>(GetParam()); }
  void TearDown() override { under_.reset(); }
  Backend& b() { return *under_->backend; }
  std::unique_ptr<BackendUnderTest> under_;
};

TEST_P(BackendContract, SetGetOverwrite) {
  EXPECT_EQ(b().get("c:0000000000000001"), nullptr);
  b().set("c:0000000000000001", make_entry(json::value(1)));
  auto e = b().get("c:0000000000000001");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, json::value(1));
  b().set("c:0000000000000001", make_entry(json::parse(R"({"v":2})")));
  e = b().get("c:0000000000000001");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, json::parse(R"({"v":2})"));
  EXPECT_TRUE(b().exists("c:0000000000000001"));
  EXPECT_FALSE(b().exists("c:0000000000000002"));
}

// Entries are immutable: set() stores what it is given and changes nothing in it, so a writer
// that keeps the entry (RefCache::store answers a cached call from it) still reads it whole.
TEST_P(BackendContract, SetLeavesTheEntryAsItWas) {
  auto e = make_entry(json::parse(R"({"v":[1,2,3],"s":"x"})"));
  e->metadata["note"] = "kept";
  e->standard.total_size = json::value(21);
  const CacheEntry before = *e;
  b().set("c:00000000000000aa", e);
  EXPECT_EQ(e->value, before.value);
  EXPECT_EQ(e->ns, before.ns);
  EXPECT_EQ(e->policy, before.policy);
  EXPECT_EQ(e->created_at, before.created_at);
  EXPECT_EQ(e->expires_at, before.expires_at);
  EXPECT_EQ(e->standard, before.standard);
  EXPECT_EQ(e->metadata, before.metadata);
  auto got = b().get("c:00000000000000aa");
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->value, before.value);
}

TEST_P(BackendContract, RemoveTrueThenFalse) {
  b().set("r1", make_entry(json::value("x")));
  EXPECT_TRUE(b().remove("r1"));
  EXPECT_FALSE(b().remove("r1"));
  EXPECT_EQ(b().get("r1"), nullptr);
  EXPECT_FALSE(b().exists("r1"));
}

TEST_P(BackendContract, RoundTripsNestedValuePolicyAndMetadata) {
  auto e = make_entry(json::parse(
      R"({"name":"Zoë","tags":["a","b"],"nested":{"x":1.5,"ok":true,"none":null,
          "deep":[[1,[2,[3]]],{"k":-7}]},"big":12345678901234,"text":"line\n\"q\" 中"})"));
  e->ns = "user:alice";
  e->policy.user_permissions = Permission::kFull;
  e->policy.agent_permissions = Permission::kExecute;
  e->policy.owner = "user:alice";
  e->policy.owner_permissions = Permission::kRead | Permission::kDelete;
  e->policy.allowed_actors = std::vector<std::string>{"agent:trusted-*", "user:bob"};
  e->policy.denied_actors = std::vector<std::string>{"agent:evil"};
  e->policy.bound_session = "sess-9";
  e->standard.tool_name = "tool_private";
  e->standard.total_items = 3;
  e->standard.total_size = 88;
  e->metadata["async_completed"] = true;
  e->metadata["labels"] = json::array{"a", json::object{{"b", nullptr}}};
  e->expires_at = e->created_at + 3600.25;
  b().set("rt:1", e);
  auto got = b().get("rt:1");
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->value, e->value);
  EXPECT_EQ(got->ns, "user:alice");
  EXPECT_EQ(got->policy, e->policy);
  EXPECT_EQ(got->standard, e->standard);
  EXPECT_EQ(got->metadata, e->metadata);
  EXPECT_EQ(jsonio::to_string(metadata_object(*got)),
            R"({"tool_name":"tool_private","total_items":3,"total_size":88,)"
            R"("async_completed":true,"labels":["a",{"b":null}]})");
  EXPECT_DOUBLE_EQ(got->created_at, e->created_at);
  ASSERT_TRUE(got->expires_at.has_value());
  EXPECT_DOUBLE_EQ(*got->expires_at, *e->expires_at);
}

TEST_P(BackendContract, ExpiredEntriesAreInvisibleToEveryRead) {
  KeyBinding bind{"public", "soon"};
  b().set("exp:1", make_entry(json::value(1), "public", 0.3), &bind);
  b().set("exp:2", make_entry(json::value(2), "public", 3600));
  ASSERT_NE(b().get("exp:1"), nullptr);
  ASSERT_EQ(b().find_by_key("public", "soon"), std::optional<std::string>("exp:1"));
  std::this_thread::sleep_for(450ms);
  EXPECT_EQ(b().get("exp:1"), nullptr);
  EXPECT_FALSE(b().exists("exp:1"));
  EXPECT_EQ(b().find_by_key("public", "soon"), std::nullopt);
  EXPECT_EQ(b().keys("public"), std::vector<std::string>{"exp:2"});
  EXPECT_EQ(b().keys(), std::vector<std::string>{"exp:2"});
  auto page = b().list("public", "", 10);
  EXPECT_EQ(page.ref_ids, std::vector<std::string>{"exp:2"});
}

TEST_P(BackendContract, AlreadyExpiredEntryIsNeverVisible) {
  b().set("past:1", make_entry(json::value(1), "public", -5));
  EXPECT_EQ(b().get("past:1"), nullptr);
  EXPECT_FALSE(b().exists("past:1"));
  EXPECT_TRUE(b().keys("public").empty());
}

TEST_P(BackendContract, ClearRemovesExactlyOneNamespace) {
  b().set("a1", make_entry(json::value(1), "proj"));
  b().set("a2", make_entry(json::value(2), "proj"));
  b().set("b1", make_entry(json::value(3), "proj:sub"));
  b().set("c1", make_entry(json::value(4), "projx"));
  b().set("d1", make_entry(json::value(5), "public"));
  EXPECT_EQ(b().clear("proj"), 2u);
  EXPECT_EQ(b().get("a1"), nullptr);
  EXPECT_EQ(b().get("a2"), nullptr);
  EXPECT_NE(b().get("b1"), nullptr);
  EXPECT_NE(b().get("c1"), nullptr);
  EXPECT_NE(b().get("d1"), nullptr);
  EXPECT_TRUE(b().keys("proj").empty());
  EXPECT_EQ(b().clear("nothing-here"), 0u);
  EXPECT_EQ(b().clear(std::nullopt), 3u);
  EXPECT_TRUE(b().keys().empty());
}

TEST_P(BackendContract, ListPagesThroughANamespace) {
  std::set<std::string> want;
  for (int i = 0; i < 25; ++i) {
    std::string id = "pg:" + std::to_string(1000 + i);
    b().set(id, make_entry(json::value(i), "paged"));
    want.insert(id);
  }
  b().set("other:1", make_entry(json::value(0), "other"));
  std::set<std::string> got;
  std::string cursor;
  int pages = 0;
  for (; pages < 50; ++pages) {
    ListPage p = b().list("paged", cursor, 7);
    EXPECT_LE(p.ref_ids.size(), 7u);
    for (auto& id : p.ref_ids) EXPECT_TRUE(got.insert(id).second) << "duplicate " << id;
    if (p.next_cursor.empty()) break;
    EXPECT_FALSE(p.ref_ids.empty());
    cursor = p.next_cursor;
  }
  EXPECT_EQ(got, want);
  EXPECT_GE(pages, 3);
  auto all = b().keys();
  EXPECT_EQ(all.size(), 26u);
}

TEST_P(BackendContract, ListingPagesExactlyWhileEntriesGo) {
  // Entries with and without expiry, several sharing one: every page continues exactly after
  // the previous one even when the entry the cursor names is removed between pages, and an
  // entry removed before its page comes is not listed.
  std::set<std::string> want;
  for (int i = 0; i < 30; ++i) {
    std::string id = "mx:" + std::to_string(1000 + i);
    std::optional<double> ttl;
    if (i % 3 == 1) ttl = 3600;
    if (i % 3 == 2) ttl = 7200;
    b().set(id, make_entry(json::value(i), "mixed", ttl));
    want.insert(id);
  }
  std::set<std::string> got;
  std::string cursor;
  bool removed_ahead = false;
  for (int pages = 0; pages < 50; ++pages) {
    ListPage p = b().list("mixed", cursor, 4);
    EXPECT_LE(p.ref_ids.size(), 4u);
    for (auto& id : p.ref_ids) EXPECT_TRUE(got.insert(id).second) << "duplicate " << id;
    if (p.next_cursor.empty()) break;
    ASSERT_FALSE(p.ref_ids.empty());
    EXPECT_TRUE(b().remove(p.ref_ids.back()));  // the entry the cursor names
    if (!removed_ahead) {
      for (const auto& id : want)
        if (!got.count(id)) {
          EXPECT_TRUE(b().remove(id));  // one not listed yet
          want.erase(id);
          break;
        }
      removed_ahead = true;
    }
    cursor = p.next_cursor;
  }
  EXPECT_EQ(got, want);
}

TEST_P(BackendContract, ForgedListingCursorsAreRefused) {
  b().set("fc:1", make_entry(json::value(1), "forged"));
  for (const char* cursor : {"garbage", "nan fc:1", "-", " fc:1"})
    EXPECT_THROW(b().list("forged", cursor, 5), InvalidArgument) << cursor;
  EXPECT_EQ(b().list("forged", "", 5).ref_ids, std::vector<std::string>{"fc:1"});
}

TEST_P(BackendContract, ListPagesAcrossAllNamespaces) {
  std::set<std::string> want;
  for (const char* ns : {"n1", "n2", "n2:sub", "zz"})
    for (int i = 0; i < 5; ++i) {
      std::string id = std::string(ns) + "/" + std::to_string(i);
      b().set(id, make_entry(json::value(i), ns));
      want.insert(id);
    }
  for (std::size_t limit : {1u, 3u, 5u, 7u}) {
    std::set<std::string> got;
    std::string cursor;
    for (int pages = 0; pages < 100; ++pages) {
      ListPage p = b().list(std::nullopt, cursor, limit);
      EXPECT_LE(p.ref_ids.size(), limit);
      for (auto& id : p.ref_ids) EXPECT_TRUE(got.insert(id).second) << "duplicate " << id;
      if (p.next_cursor.empty()) break;
      cursor = p.next_cursor;
    }
    EXPECT_EQ(got, want) << "limit " << limit;
  }
}

// binding_of is the reverse of find_by_key: the (namespace, key) naming a ref, none once the
// ref is rebound under another key or removed, and keys containing ':' come back whole.
TEST_P(BackendContract, BindingOfNamesTheKeyOfARef) {
  EXPECT_EQ(b().binding_of("bo:missing"), std::nullopt);
  b().set("bo:unbound", make_entry(json::value(0), "calc"));
  EXPECT_EQ(b().binding_of("bo:unbound"), std::nullopt);
  KeyBinding bind{"ns:with:colons", "f(a:1, b:2)"};
  b().set("bo:1", make_entry(json::value(1), "ns:with:colons"), &bind);
  auto got = b().binding_of("bo:1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->ns, "ns:with:colons");
  EXPECT_EQ(got->key, "f(a:1, b:2)");
  // The same key bound to another ref: the old ref (deleted with it) has no binding.
  b().set("bo:2", make_entry(json::value(2), "ns:with:colons"), &bind);
  EXPECT_EQ(b().binding_of("bo:1"), std::nullopt);
  ASSERT_TRUE(b().binding_of("bo:2").has_value());
  EXPECT_EQ(b().binding_of("bo:2")->key, "f(a:1, b:2)");
  EXPECT_TRUE(b().remove("bo:2"));
  EXPECT_EQ(b().binding_of("bo:2"), std::nullopt);
}

TEST_P(BackendContract, RebindingAKeyDeletesTheOldEntry) {
  KeyBinding bind{"calc", "primes(10)"};
  EXPECT_EQ(b().set("k:old", make_entry(json::value(1), "calc"), &bind), std::nullopt);
  EXPECT_EQ(b().find_by_key("calc", "primes(10)"), std::optional<std::string>("k:old"));
  auto displaced = b().set("k:new", make_entry(json::value(2), "calc"), &bind);
  EXPECT_EQ(displaced, std::optional<std::string>("k:old"));
  EXPECT_EQ(b().get("k:old"), nullptr);
  EXPECT_EQ(b().find_by_key("calc", "primes(10)"), std::optional<std::string>("k:new"));
  EXPECT_EQ(b().keys("calc"), std::vector<std::string>{"k:new"});
  // Re-setting the same ref under the same key displaces nothing.
  EXPECT_EQ(b().set("k:new", make_entry(json::value(3), "calc"), &bind), std::nullopt);
  // Removing the entry removes its binding.
  EXPECT_TRUE(b().remove("k:new"));
  EXPECT_EQ(b().find_by_key("calc", "primes(10)"), std::nullopt);
  // The key is per namespace.
  KeyBinding other{"calc2", "primes(10)"};
  b().set("k:a", make_entry(json::value(1), "calc"), &bind);
  b().set("k:b", make_entry(json::value(1), "calc2"), &other);
  EXPECT_EQ(b().find_by_key("calc", "primes(10)"), std::optional<std::string>("k:a"));
  EXPECT_EQ(b().find_by_key("calc2", "primes(10)"), std::optional<std::string>("k:b"));
  EXPECT_EQ(b().clear("calc"), 1u);
  EXPECT_EQ(b().find_by_key("calc", "primes(10)"), std::nullopt);
  EXPECT_EQ(b().find_by_key("calc2", "primes(10)"), std::optional<std::string>("k:b"));
}

TEST_P(BackendContract, ClaimsAreExclusiveAndExpire) {
  EXPECT_EQ(b().claim_holder("job"), std::nullopt);
  EXPECT_TRUE(b().try_claim("job", "A", 10s));
  EXPECT_EQ(b().claim_holder("job"), std::optional<std::string>("A"));
  EXPECT_FALSE(b().try_claim("job", "B", 10s));
  EXPECT_TRUE(b().try_claim("job", "A", 10s));  // re-claim extends
  b().release_claim("job", "B");                // not the holder: no effect
  EXPECT_FALSE(b().try_claim("job", "B", 10s));
  b().release_claim("job", "A");
  EXPECT_EQ(b().claim_holder("job"), std::nullopt);
  EXPECT_TRUE(b().try_claim("job", "B", 200ms));
  EXPECT_FALSE(b().try_claim("job", "A", 10s));
  EXPECT_EQ(b().claim_holder("job"), std::optional<std::string>("B"));
  std::this_thread::sleep_for(350ms);
  EXPECT_EQ(b().claim_holder("job"), std::nullopt);  // expired
  EXPECT_TRUE(b().try_claim("job", "A", 10s));
  EXPECT_TRUE(b().try_claim("other-job", "B", 10s));
}

TEST_P(BackendContract, ClaimIsWonByExactlyOneOfManyThreads) {
  std::atomic<int> winners{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 8; ++i)
    ts.emplace_back([&, i] {
      if (b().try_claim("race", "owner-" + std::to_string(i), 10s)) ++winners;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(winners.load(), 1);
}

TaskRecord sample_task(const std::string& id) {
  TaskRecord t;
  t.ref_id = id;
  t.status = TaskStatus::kProcessing;
  t.progress = TaskProgress{3, 10, "working"};
  t.started_at = unix_now();
  t.updated_at = t.started_at + 0.5;
  t.attempt = 2;
  t.max_attempts = 3;
  t.worker = "host:123";
  t.expires_at = t.started_at + 3600;
  return t;
}

TEST_P(BackendContract, TaskRecordsRoundTripUpdateAndExpire) {
  EXPECT_EQ(b().get_task("t:1"), std::nullopt);
  TaskRecord t = sample_task("t:1");
  b().put_task(t);
  auto got = b().get_task("t:1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->ref_id, t.ref_id);
  EXPECT_EQ(got->status, TaskStatus::kProcessing);
  EXPECT_EQ(got->progress, t.progress);
  EXPECT_EQ(got->attempt, 2);
  EXPECT_EQ(got->worker, "host:123");
  t.status = TaskStatus::kFailed;
  t.error = "boom";
  t.completed_at = unix_now();
  b().put_task(t);
  got = b().get_task("t:1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status, TaskStatus::kFailed);
  EXPECT_EQ(got->error, std::optional<std::string>("boom"));
  EXPECT_TRUE(b().remove_task("t:1"));
  EXPECT_FALSE(b().remove_task("t:1"));
  EXPECT_EQ(b().get_task("t:1"), std::nullopt);

  TaskRecord soon = sample_task("t:2");
  soon.expires_at = unix_now() + 0.2;
  b().put_task(soon);
  EXPECT_TRUE(b().get_task("t:2").has_value());
  std::this_thread::sleep_for(350ms);
  EXPECT_EQ(b().get_task("t:2"), std::nullopt);
}

TEST_P(BackendContract, ChangeEventsReachListeners) {
  std::mutex mu;
  std::vector<ChangeEvent> seen;
  auto id = b().subscribe([&](const ChangeEvent& e) {
    std::lock_guard lock(mu);
    seen.push_back(e);
  });
  b().set("ev:1", make_entry(json::value(1), "evns"));
  b().set("ev:1", make_entry(json::value(2), "evns"));  // overwrite -> updated
  EXPECT_TRUE(b().remove("ev:1"));                      // deleted
  b().set("ev:2", make_entry(json::value(1), "evns"));
  b().clear("evns");  // cleared
  b().unsubscribe(id);
  b().set("ev:3", make_entry(json::value(1), "evns"));
  b().set("ev:3", make_entry(json::value(1), "evns"));
  std::lock_guard lock(mu);
  auto has = [&](ChangeKind k, const std::string& ref, const std::string& ns) {
    for (auto& e : seen)
      if (e.kind == k && e.ref_id == ref && e.ns == ns) return true;
    return false;
  };
  EXPECT_TRUE(has(ChangeKind::kUpdated, "ev:1", "evns"));
  EXPECT_TRUE(has(ChangeKind::kDeleted, "ev:1", "evns"));
  EXPECT_TRUE(has(ChangeKind::kCleared, "", "evns"));
  for (auto& e : seen) EXPECT_NE(e.ref_id, "ev:3") << "event after unsubscribe";
}

TEST_P(BackendContract, ConcurrentThreadsLoseNothing) {
  constexpr int kThreads = 8, kPerThread = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      try {
        for (int i = 0; i < kPerThread; ++i) {
          std::string id = "cc:" + std::to_string(t) + ":" + std::to_string(i);
          json::object v;
          v["t"] = t;
          v["i"] = i;
          KeyBinding bind{"conc", "k" + std::to_string(t) + "-" + std::to_string(i)};
          b().set(id, make_entry(v, "conc"), &bind);
          auto e = b().get(id);
          if (!e || e->value.at("i").as_int64() != i) ++failures;
          if (i % 3 == 0 && !b().remove(id)) ++failures;
          // Everybody also overwrites one shared entry.
          b().set("cc:shared", make_entry(json::value(t), "conc"));
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++failures;
      }
    });
  for (auto& th : ts) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto keys = b().keys("conc");
  EXPECT_EQ(keys.size(), static_cast<size_t>(kThreads * (kPerThread - kPerThread / 3) + 1));
  EXPECT_EQ(b().find_by_key("conc", "k3-1"), std::optional<std::string>("cc:3:1"));
  EXPECT_EQ(b().find_by_key("conc", "k3-0"), std::nullopt);
}

TEST_P(BackendContract, HealthAndStats) {
  EXPECT_TRUE(b().health().ok) << b().health().detail;
  b().set("st:1", make_entry(json::value(1)));
  b().get("st:1");
  b().get("st:missing");
  auto s = b().stats();
  EXPECT_GE(s.sets, 1u);
  EXPECT_GE(s.gets, 2u);
  EXPECT_GE(s.hits, 1u);
  EXPECT_GE(s.misses, 1u);
}

TEST_P(BackendContract, SecondHandleSeesTheSameStore) {
  auto other = under_->reopen();
  if (!other) {
    // memory and ":memory:" are private to their object: a new one starts empty.
    b().set("sh:1", make_entry(json::value(1)));
    BackendUnderTest fresh(GetParam());
    EXPECT_EQ(fresh.backend->get("sh:1"), nullptr);
    return;
  }
  KeyBinding bind{"shared", "key"};
  b().set("sh:1", make_entry(json::value(1), "shared"), &bind);
  b().put_task(sample_task("sh:1"));
  ASSERT_NE(other->get("sh:1"), nullptr);
  EXPECT_EQ(other->find_by_key("shared", "key"), std::optional<std::string>("sh:1"));
  EXPECT_TRUE(other->get_task("sh:1").has_value());
  EXPECT_EQ(other->keys("shared"), std::vector<std::string>{"sh:1"});
  EXPECT_FALSE(b().try_claim("c", "x", 10s) && other->try_claim("c", "y", 10s));
}

TEST_P(BackendContract, CloseMakesFurtherCallsFail) {
  b().set("cl:1", make_entry(json::value(1)));
  b().close();
  b().close();  // idempotent
  if (GetParam() == BackendKind::kMemory) {
    EXPECT_NO_THROW(b().get("cl:1"));  // nothing to release
  } else {
    EXPECT_THROW(b().get("cl:1"), BackendUnavailable);
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendContract,
                         ::testing::Values(BackendKind::kMemory, BackendKind::kSqliteMemory,
                                           BackendKind::kSqliteFile, BackendKind::kRedis,
                                           BackendKind::kRedisTls, BackendKind::kRedisCluster),
                         [](const auto& param_info) { return kind_name(param_info.param); });

}  // namespace
}  // namespace refcache::testing
