// MemoryBackend specifics: LRU bounds, events, concurrency, claims and tasks.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "jsonio/json_text.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache/ref_id.hpp"
#include "refcache/responses.hpp"
#include "test_util.hpp"

using namespace refcache;
using refcache_test::J;
namespace json = boost::json;

namespace {
EntryPtr entry(json::value v, std::string ns = "public", std::optional<double> expires = {}) {
  auto e = std::make_shared<CacheEntry>();
  e->value = std::move(v);
  e->ns = std::move(ns);
  e->created_at = refcache_test::fake_now();
  e->expires_at = expires;
  return e;
}
}  // namespace

TEST(MemoryBackend, EvictsLeastRecentlyUsedBeyondMaxEntries) {
  MemoryBackend b({.max_entries = 3, .clock = &refcache_test::fake_now});
  std::vector<ChangeEvent> events;
  b.subscribe([&](const ChangeEvent& e) { events.push_back(e); });
  b.set("a", entry(1));
  b.set("b", entry(2));
  b.set("c", entry(3));
  ASSERT_TRUE(b.get("a"));  // a is now the most recent
  b.set("d", entry(4));     // evicts b
  EXPECT_TRUE(b.get("a"));
  EXPECT_FALSE(b.get("b"));
  EXPECT_TRUE(b.get("c"));
  EXPECT_TRUE(b.get("d"));
  EXPECT_EQ(b.stats().evictions, 1u);
  EXPECT_EQ(b.stats().entries, 3);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().ref_id, "b");
}

TEST(MemoryBackend, EvictsBeyondMaxBytes) {
  MemoryBackend b({.max_bytes = 100, .clock = &refcache_test::fake_now});
  for (int i = 0; i < 10; ++i)
    b.set("k" + std::to_string(i), entry(json::string(std::string(28, 'x'))));
  EXPECT_LE(b.stats().bytes, 100);
  EXPECT_EQ(b.stats().entries, 3);  // 30 bytes each
  EXPECT_TRUE(b.get("k9"));
}

TEST(MemoryBackend, ListPagesInOrderAndSkipsExpired) {
  MemoryBackend b({.clock = &refcache_test::fake_now});
  for (int i = 0; i < 25; ++i)
    b.set("r" + std::to_string(100 + i),
          entry(i, "ns",
                i % 5 == 0 ? std::optional<double>(refcache_test::fake_now() + 1) : std::nullopt));
  b.set("other", entry(1, "elsewhere"));
  refcache_test::advance(2);
  std::vector<std::string> all;
  std::string cursor;
  int pages = 0;
  do {
    auto p = b.list("ns", cursor, 7);
    all.insert(all.end(), p.ref_ids.begin(), p.ref_ids.end());
    cursor = p.next_cursor;
    ++pages;
  } while (!cursor.empty() && pages < 10);
  EXPECT_EQ(all.size(), 20u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(b.keys().size(), 21u);
}

TEST(MemoryBackend, ListingStaysExactWhileMostEntriesAreRemoved) {
  // The listing index leaves holes where entries were removed and squeezes them out once
  // they are half of it; paging must neither lose nor repeat a live entry across that, even
  // when the squeeze happens between two pages.
  MemoryBackend b({.clock = &refcache_test::fake_now});
  std::vector<std::string> live;  // namespace "a", in insertion order
  for (int i = 0; i < 1000; ++i) {
    std::string id = "a" + std::to_string(i);
    b.set(id, entry(i, "a"));
    b.set("b" + std::to_string(i), entry(i, "b"));
    live.push_back(id);
  }
  auto remove_where = [&](auto pred) {
    std::vector<std::string> kept;
    for (const auto& id : live)
      if (pred(id))
        EXPECT_TRUE(b.remove(id));
      else
        kept.push_back(id);
    live = kept;
  };
  // Remove two of every three: past the half that triggers a squeeze.
  remove_where([](const std::string& id) { return std::stoi(id.substr(1)) % 3 != 0; });
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto p = b.list("a", cursor, 11);
    seen.insert(seen.end(), p.ref_ids.begin(), p.ref_ids.end());
    cursor = p.next_cursor;
    // Between pages, remove some of what is not yet listed and some of what was.
    if (++pages == 3) {
      remove_where([](const std::string& id) { return std::stoi(id.substr(1)) % 2 == 1; });
      std::vector<std::string> still;  // what was listed and is still there
      for (const auto& id : seen)
        if (std::find(live.begin(), live.end(), id) != live.end()) still.push_back(id);
      seen = still;
    }
  } while (!cursor.empty());
  EXPECT_EQ(seen, live);
  EXPECT_EQ(b.list("b", "", 5000).ref_ids.size(), 1000u);
  EXPECT_EQ(b.clear("a"), live.size());
  EXPECT_TRUE(b.list("a", "", 10).ref_ids.empty());
  EXPECT_EQ(b.list(std::nullopt, "", 5000).ref_ids.size(), 1000u);
}

TEST(MemoryBackend, KeyBindingsAndReplacement) {
  MemoryBackend b;
  KeyBinding k{"public", "key"};
  EXPECT_FALSE(b.set("r1", entry(1), &k));
  EXPECT_EQ(b.find_by_key("public", "key"), "r1");
  EXPECT_EQ(b.set("r2", entry(2), &k), "r1");
  EXPECT_EQ(b.find_by_key("public", "key"), "r2");
  EXPECT_FALSE(b.get("r1"));
  EXPECT_FALSE(b.find_by_key("other", "key"));
  EXPECT_TRUE(b.remove("r2"));
  EXPECT_FALSE(b.find_by_key("public", "key"));
}

TEST(MemoryBackend, ABindingFollowsItsRefThroughRebindingOverwriteAndRemoval) {
  // Bindings point at the entries' own keys, and entries back at their binding: every way a
  // binding or its entry goes away must leave no binding naming a ref that is gone.
  MemoryBackend b;
  KeyBinding k1{"public", "k1"}, k2{"public", "k2"}, k3{"user:bob", "k3"};
  EXPECT_FALSE(b.set("r1", entry(1), &k1));
  // The same ref bound to another key lets go of the first.
  EXPECT_FALSE(b.set("r1", entry(2), &k2));
  EXPECT_FALSE(b.find_by_key("public", "k1"));
  EXPECT_EQ(b.find_by_key("public", "k2"), "r1");
  // A plain overwrite keeps the binding.
  EXPECT_FALSE(b.set("r1", entry(3)));
  EXPECT_EQ(b.find_by_key("public", "k2"), "r1");
  // The key taken by another ref removes r1; the key stays with r2 after that removal.
  EXPECT_EQ(b.set("r2", entry(4), &k2), "r1");
  EXPECT_FALSE(b.get("r1"));
  EXPECT_EQ(b.find_by_key("public", "k2"), "r2");
  // r1 again, bound to k1: independent of r2's binding.
  EXPECT_FALSE(b.set("r1", entry(5), &k1));
  EXPECT_TRUE(b.remove("r2"));
  EXPECT_FALSE(b.find_by_key("public", "k2"));
  EXPECT_EQ(b.find_by_key("public", "k1"), "r1");
  // Clearing a namespace takes the bindings of its entries; bindings elsewhere stay.
  EXPECT_FALSE(b.set("r3", entry(6, "user:bob"), &k3));
  EXPECT_EQ(b.clear("user:bob"), 1u);
  EXPECT_FALSE(b.find_by_key("user:bob", "k3"));
  EXPECT_EQ(b.find_by_key("public", "k1"), "r1");
  // The key freed by the clear can be bound again, and a bound ref can expire.
  EXPECT_FALSE(b.set("r4", entry(7, "user:bob", refcache_test::fake_now() - 1), &k3));
  EXPECT_FALSE(b.find_by_key("user:bob", "k3"));
  EXPECT_FALSE(b.set("r4", entry(8, "user:bob"), &k3));
  EXPECT_EQ(b.find_by_key("user:bob", "k3"), "r4");
  b.clear(std::nullopt);
  EXPECT_FALSE(b.find_by_key("public", "k1"));
  EXPECT_FALSE(b.set("r1", entry(9), &k1));
  EXPECT_EQ(b.find_by_key("public", "k1"), "r1");
}

TEST(MemoryBackend, ClaimsAndTasks) {
  MemoryBackend b({.clock = &refcache_test::fake_now});
  EXPECT_TRUE(b.try_claim("c", "p1", std::chrono::seconds(5)));
  EXPECT_FALSE(b.try_claim("c", "p2", std::chrono::seconds(5)));
  EXPECT_EQ(b.claim_holder("c"), "p1");
  refcache_test::advance(6);
  EXPECT_FALSE(b.claim_holder("c"));
  EXPECT_TRUE(b.try_claim("c", "p2", std::chrono::seconds(5)));
  b.release_claim("c", "p1");  // not the holder: no effect
  EXPECT_EQ(b.claim_holder("c"), "p2");
  b.release_claim("c", "p2");
  EXPECT_FALSE(b.claim_holder("c"));

  TaskRecord t;
  t.ref_id = "x:0123456789abcdef";
  t.status = TaskStatus::kProcessing;
  t.expires_at = refcache_test::fake_now() + 10;
  b.put_task(t);
  EXPECT_EQ(b.get_task(t.ref_id), t);
  refcache_test::advance(11);
  EXPECT_FALSE(b.get_task(t.ref_id));
}

TEST(MemoryBackend, ConcurrentWritersAndReaders) {
  MemoryBackend b({.max_entries = 500});
  std::vector<std::thread> threads;
  std::atomic<int> found{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string id = "t" + std::to_string(t) + "-" + std::to_string(i);
        KeyBinding k{"ns" + std::to_string(t % 2), std::to_string(i % 50)};
        b.set(id, entry(i, k.ns), &k);
        if (b.get(id)) ++found;
        b.list(k.ns, "", 10);
        if (i % 7 == 0) b.remove(id);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_GT(found.load(), 0);
  EXPECT_LE(b.stats().entries, 500);
}

TEST(TaskRecord, JsonRoundTrip) {
  TaskRecord t;
  t.ref_id = "a:0123456789abcdef";
  t.status = TaskStatus::kFailed;
  t.progress = TaskProgress{15, 50, std::string("m")};
  t.started_at = 1.5;
  t.completed_at = 2.5;
  t.error = "boom";
  t.attempt = 2;
  t.max_attempts = 3;
  t.worker = "h:1";
  t.ns = "session:s";
  t.policy = AccessPolicy::execute_only();
  t.leased = true;
  EXPECT_EQ(task_from_json(to_json(t)), t);
  // Records written before "leased" existed read as not leased.
  auto old = to_json(t);
  old.erase("leased");
  EXPECT_FALSE(task_from_json(old).leased);
  EXPECT_DOUBLE_EQ(*t.progress->percentage(), 30.0);
  EXPECT_FALSE((TaskProgress{1, 0, {}}.percentage()));
  EXPECT_THROW(task_from_json(J(R"({"ref_id":"a","status":"weird"})")), std::invalid_argument);
}

TEST(AsyncTaskResponse, MessagesAndFormats) {
  TaskRecord t;
  t.ref_id = "a:0123456789abcdef";
  t.started_at = 1764090457.018198;
  t.status = TaskStatus::kPending;
  EXPECT_EQ(AsyncTaskResponse::from_task(t, 0).message, "Task is queued and will start shortly");
  t.status = TaskStatus::kProcessing;
  EXPECT_EQ(AsyncTaskResponse::from_task(t, 0).message,
            "Task is processing (ref_id=a:0123456789abcdef)");
  t.status = TaskStatus::kComplete;
  EXPECT_EQ(AsyncTaskResponse::from_task(t, 0).message, "Task completed successfully");
  auto r = AsyncTaskResponse::from_task(t, 0);
  auto minimal = r.to_json(AsyncResponseFormat::kMinimal);
  EXPECT_EQ(minimal.size(), 4u);
  EXPECT_FALSE(minimal.contains("eta_seconds"));
  auto standard = r.to_json(AsyncResponseFormat::kStandard);
  EXPECT_EQ(standard.at("started_at"), "2025-11-25T17:07:37.018198+00:00");
  EXPECT_TRUE(standard.contains("message"));
  EXPECT_FALSE(standard.contains("can_retry"));
  auto full = r.to_json(AsyncResponseFormat::kFull);
  EXPECT_TRUE(full.contains("can_retry"));
  EXPECT_TRUE(full.contains("retry_count"));
  EXPECT_EQ(iso8601(0), "1970-01-01T00:00:00+00:00");
}

TEST(AsyncTaskResponse, EtaFromProgress) {
  TaskRecord t;
  t.ref_id = "a:0123456789abcdef";
  t.status = TaskStatus::kProcessing;
  t.started_at = 100;
  EXPECT_FALSE(AsyncTaskResponse::from_task(t, 110).eta_seconds);
  t.progress = TaskProgress{0, 10, {}};
  EXPECT_FALSE(AsyncTaskResponse::from_task(t, 110).eta_seconds);
  t.progress = TaskProgress{5, 10, {}};
  EXPECT_DOUBLE_EQ(*AsyncTaskResponse::from_task(t, 110).eta_seconds, 10.0);
}

TEST(MemoryBackend, FrozenValuesThawExactlyAndHotSetIsBounded) {
  MemoryBackend b({.hot_entries = 2});
  std::string deep = std::string(200, '[') + "1.25" + std::string(200, ']');
  b.set("deep", entry(jsonio::parse_or_throw(deep, {.max_depth = 1000})));
  b.set("doc", entry(J(R"({"z":[1,2.5,"\u00e9",null,true],"a":{"b":-3}})")));
  b.set("c", entry(3));
  b.set("d", entry(4));  // "deep" and "doc" are cold now
  auto doc = b.get("doc");
  ASSERT_TRUE(doc);
  EXPECT_EQ(jsonio::to_string(doc->value), R"({"z":[1,2.5,"é",null,true],"a":{"b":-3}})");
  EXPECT_EQ(jsonio::to_string(b.get("deep")->value), deep);
  // A hot entry is shared, not re-parsed.
  EXPECT_EQ(b.get("doc").get(), b.get("doc").get());
}

TEST(MemoryBackend, FrozenEntriesKeepEveryFieldAcrossOverwrites) {
  // A frozen node keeps the namespace, policy and times itself (no second CacheEntry); a
  // cold read must give them back exactly, and an overwrite must replace all of them and
  // move the entry between namespace listings.
  MemoryBackend b({.clock = &refcache_test::fake_now, .hot_entries = 1});
  auto e = std::make_shared<CacheEntry>();
  e->value = J(R"({"rows":[1,2,3]})");
  e->ns = "user:alice";
  e->policy.owner = "user:alice";
  e->policy.agent_permissions = Permission::kExecute;
  e->policy.allowed_actors = std::vector<std::string>{"user:alice-*"};
  e->policy.denied_actors = std::vector<std::string>{"agent:evil"};
  e->policy.bound_session = "s-1";
  e->created_at = refcache_test::fake_now() - 5;
  e->expires_at = refcache_test::fake_now() + 60;
  e->metadata["tool_name"] = "gen";
  b.set("r", e);
  b.set("other", entry(0));  // pushes "r" out of the one-entry hot set: cold
  auto back = b.get("r");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->value, e->value);
  EXPECT_EQ(back->ns, e->ns);
  EXPECT_EQ(back->policy, e->policy);
  EXPECT_EQ(back->created_at, e->created_at);
  EXPECT_EQ(back->expires_at, e->expires_at);
  EXPECT_EQ(back->metadata, e->metadata);

  auto replacement = std::make_shared<CacheEntry>();
  replacement->value = 7;
  replacement->ns = "public";
  replacement->created_at = refcache_test::fake_now();
  b.set("r", replacement);
  b.set("other", entry(1));
  back = b.get("r");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->value, json::value(7));
  EXPECT_EQ(back->ns, "public");
  EXPECT_EQ(back->policy, AccessPolicy{});
  EXPECT_FALSE(back->expires_at);
  EXPECT_TRUE(b.list("user:alice", "", 10).ref_ids.empty());
  EXPECT_EQ(b.list("public", "", 10).ref_ids.size(), 2u);  // "r" and "other"
}

TEST(MemoryBackend, FrozenMetadataComesBackExactly) {
  // A frozen node holds the standard members as they are and the others as text; a cold
  // read must give back both parts exactly: kinds, and the other members' order included.
  MemoryBackend b({.clock = &refcache_test::fake_now, .hot_entries = 1});
  auto cold = [&](const EntryPtr& e) {
    b.set("r", e);
    b.set("other", entry(0));  // pushes "r" out of the one-entry hot set: cold
    auto back = b.get("r");
    EXPECT_TRUE(back);
    return back;
  };
  // What RefCache writes: all four standard members (unsigned counts), nothing else.
  auto e = std::make_shared<CacheEntry>();
  e->value = J("[1,2,3]");
  e->standard.tool_name = nullptr;
  e->standard.total_items = std::size_t{3};
  e->standard.total_size = std::size_t{7};
  e->standard.total_chars = std::size_t{7};
  auto back = cold(e);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->standard, e->standard);
  EXPECT_TRUE(back->standard.total_size->is_uint64());
  EXPECT_TRUE(back->metadata.empty());
  // Standard members and others together.
  e = std::make_shared<CacheEntry>();
  e->standard.tool_name = "gen";
  e->standard.total_size = 2;
  e->metadata = J(R"({"z":1,"a":{"nested":[true,null]},"async_completed":true})").as_object();
  back = cold(e);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->standard, e->standard);
  EXPECT_EQ(jsonio::to_string(back->metadata), jsonio::to_string(e->metadata));
  EXPECT_EQ(jsonio::to_string(metadata_object(*back)),
            R"({"tool_name":"gen","total_size":2,"z":1,"a":{"nested":[true,null]},)"
            R"("async_completed":true})");
  // Everything in `metadata`, standard names included, in any shape: back as set.
  const char* shapes[] = {
      R"({"tool_name":"gen","total_items":3,"total_size":7,"total_chars":7})",
      R"({"total_items":3,"tool_name":"gen","total_size":7.5,"extra":true})",
      R"({"tool_name":5,"total_items":"3","total_size":-7})",
      R"({})",
  };
  for (const char* shape : shapes) {
    e = std::make_shared<CacheEntry>();
    e->metadata = J(shape).as_object();
    back = cold(e);
    ASSERT_TRUE(back);
    EXPECT_EQ(jsonio::to_string(metadata_object(*back)), shape);
  }
}

TEST(MemoryBackend, NodesSharingAPolicyKeepTheirOwn) {
  // Runs of sets with equal policies share one stored policy; any difference must start a
  // new one, or an entry would be read back (and checked) with its neighbour's policy.
  MemoryBackend b({.clock = &refcache_test::fake_now, .hot_entries = 1});
  std::vector<AccessPolicy> policies(6);
  policies[1].owner = "user:alice";
  policies[2] = policies[1];
  policies[3] = policies[1];
  policies[3].bound_session = "s-1";
  policies[4].denied_actors = std::vector<std::string>{"agent:evil"};
  policies[5].agent_permissions = Permission::kExecute;
  for (std::size_t i = 0; i < policies.size(); ++i) {
    auto e = std::make_shared<CacheEntry>();
    e->value = static_cast<int>(i);
    e->policy = policies[i];
    b.set("r" + std::to_string(i), e);
  }
  b.set("other", entry(0));  // the last one out of the one-entry hot set: all cold
  for (std::size_t i = 0; i < policies.size(); ++i) {
    auto back = b.get("r" + std::to_string(i));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->policy, policies[i]) << "r" << i;
    b.set("other", entry(0));
  }
}

TEST(MemoryBackend, UnfrozenModeKeepsTheSameObject) {
  MemoryBackend b({.freeze_values = false});
  auto e = entry(J("[1,2,3]"));
  b.set("r", e);
  EXPECT_EQ(b.get("r").get(), e.get());
}

TEST(MemoryBackend, ClearingEverythingEmptiesTheHotSetToo) {
  // Regression (fuzz_memory_backend): clear() left the hot list pointing at freed keys, and
  // the next set() that trimmed the hot set read freed memory.
  MemoryBackend b({.hot_entries = 1});
  b.set("a", entry(1));
  b.set("b", entry(2));
  ASSERT_TRUE(b.get("a"));  // reads make entries hot; "b" pushes "a" out
  ASSERT_TRUE(b.get("b"));
  EXPECT_EQ(b.clear(std::nullopt), 2u);
  b.set("c", entry(3));
  b.set("d", entry(4));
  EXPECT_EQ(b.get("c")->value, json::value(3));
  EXPECT_EQ(b.get("d")->value, json::value(4));
  EXPECT_EQ(b.stats().entries, 2);
}

TEST(MemoryBackend, AWriteLeavesTheWritersEntryToTheWriter) {
  // set() keeps text only; the writer's parsed entry is not retained, and the first get()
  // thaws a copy that later gets then share.
  MemoryBackend b;
  auto e = entry(J("[1,2,3]"));
  b.set("r", e);
  EXPECT_EQ(e.use_count(), 1);
  auto first = b.get("r");
  ASSERT_TRUE(first);
  EXPECT_NE(first.get(), e.get());
  EXPECT_EQ(first->value, e->value);
  EXPECT_EQ(b.get("r").get(), first.get());
}

TEST(MemoryBackend, FindsEntriesUnderAnyKey) {
  // Ref ids from the CSPRNG, given ids that are not ref-shaped or nearly so: all must be
  // found, survive the erasure of their neighbours, and never be confused with an id that
  // was not set.
  MemoryBackend b;
  std::vector<std::string> ids;
  for (int i = 0; i < 20000; ++i) ids.push_back(make_ref_id("c"));
  for (int i = 0; i < 300; ++i) {
    ids.push_back("k" + std::to_string(i));
    ids.push_back("c:" + std::to_string(i));
    std::string upper = make_ref_id("d");
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    ids.push_back(upper);
  }
  std::shuffle(ids.begin(), ids.end(), std::mt19937(7));
  for (std::size_t i = 0; i < ids.size(); ++i)
    b.set(ids[i], entry(json::value(static_cast<std::int64_t>(i))));
  auto check = [&](std::size_t erased_every) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      auto e = b.get(ids[i]);
      if (erased_every && i % erased_every == 0) {
        ASSERT_FALSE(e) << ids[i];
      } else {
        ASSERT_TRUE(e) << ids[i];
        ASSERT_EQ(e->value, json::value(static_cast<std::int64_t>(i))) << ids[i];
      }
    }
  };
  check(0);
  for (std::size_t i = 0; i < ids.size(); i += 3) ASSERT_TRUE(b.remove(ids[i]));
  check(3);
  for (int i = 0; i < 5000; ++i) EXPECT_FALSE(b.get(make_ref_id("c")));
}
