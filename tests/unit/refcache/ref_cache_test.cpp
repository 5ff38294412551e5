// RefCache: set/get/resolve/remove/exists/clear/list, TTLs, keys and access control.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "refcache/memory_backend.hpp"
#include "refcache/ref_cache.hpp"
#include "test_util.hpp"

using namespace refcache;
using namespace std::chrono_literals;
using refcache_test::J;
using refcache_test::range;
namespace json = boost::json;

namespace {
RefCacheOptions opts(std::string name = "demo") {
  RefCacheOptions o;
  o.name = std::move(name);
  o.clock = &refcache_test::fake_now;
  o.backend =
      std::make_shared<MemoryBackend>(MemoryBackendOptions{.clock = &refcache_test::fake_now});
  o.preview.size_mode = SizeMode::kCharacter;
  o.preview.max_size = 50;
  return o;
}
CacheResponse preview_of(GetResult r) {
  return std::get<CacheResponse>(std::move(r));
}
}  // namespace

TEST(RefCache, Defaults) {
  RefCache cache;
  EXPECT_EQ(cache.name(), "default");
  EXPECT_EQ(cache.options().default_ttl, 1h);
  EXPECT_EQ(cache.options().task_record_ttl, 24h);
  EXPECT_EQ(cache.backend().kind(), "memory");
  EXPECT_EQ(cache.options().preview.max_size, 1000u);
  EXPECT_EQ(cache.options().preview.size_mode, SizeMode::kToken);
}

TEST(RefCache, RejectsNamesWhoseRefsWouldNotResolve) {
  RefCacheOptions o;
  o.name = "my.cache";
  EXPECT_THROW(RefCache{o}, InvalidArgument);
  o.name = "1cache";
  EXPECT_THROW(RefCache{o}, InvalidArgument);
}

TEST(RefCache, RefIdsAreRandomAndWellFormed) {
  RefCache cache(opts());
  std::set<std::string> seen;
  std::regex shape("^demo:[0-9a-f]{16}$");
  for (int i = 0; i < 2000; ++i) {
    auto ref = cache.set("k" + std::to_string(i), i);
    EXPECT_TRUE(std::regex_match(ref.ref_id, shape)) << ref.ref_id;
    EXPECT_TRUE(seen.insert(ref.ref_id).second);
  }
}

TEST(RefCache, SetReturnsAReference) {
  RefCache cache(opts());
  SetOptions so;
  so.tool_name = "gen";
  auto ref = cache.set("k", range(5), so);
  EXPECT_EQ(ref.cache_name, "demo");
  EXPECT_EQ(ref.ns, "public");
  EXPECT_EQ(ref.tool_name, "gen");
  EXPECT_EQ(ref.total_items, 5u);
  EXPECT_EQ(ref.total_size, 11u);  // [0,1,2,3,4]
  ASSERT_TRUE(ref.expires_at);
  EXPECT_DOUBLE_EQ(*ref.expires_at, ref.created_at + 3600);
  EXPECT_FALSE(cache.set("s", "text").total_items);  // strings have no items
}

// set(key, const value&) stores a copy: the caller's value is untouched, and every read path
// gives the value back, from a memory backend that keeps text or one that keeps entries.
TEST(RefCache, SetByReferenceLeavesTheCallersValueAndStoresACopy) {
  for (bool freeze : {true, false}) {
    SCOPED_TRACE(freeze ? "frozen values" : "parsed values");
    RefCacheOptions o = opts();
    o.backend = std::make_shared<MemoryBackend>(
        MemoryBackendOptions{.clock = &refcache_test::fake_now, .freeze_values = freeze});
    RefCache cache(o);
    const json::value v = J(R"({"a":[1,2.5,"x"],"b":{"c":null}})");
    const json::value copy = v;
    auto ref = cache.set("k", v);
    EXPECT_EQ(v, copy);
    EXPECT_EQ(ref.total_size, 32u);
    EXPECT_EQ(ref.total_items, 2u);
    ValuePtr r = cache.resolve(ref.ref_id, Actor::agent());
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, copy);
    EXPECT_EQ(preview_of(cache.get("k", Actor::agent())).preview, copy);
    // A large list by reference: previews sample it like a moved one.
    const json::value big = range(1000);
    auto big_ref = cache.set("big", big);
    auto p = preview_of(cache.get(big_ref.ref_id, Actor::agent()));
    EXPECT_EQ(p.total_items, 1000u);
    EXPECT_LE(p.preview_size, 50u);
    EXPECT_EQ(*cache.resolve(big_ref.ref_id, Actor::agent()), big);
  }
}

TEST(RefCache, LookupByRefOrKey) {
  RefCache cache(opts());
  auto ref = cache.set("mykey", J("[1,2,3]"));
  EXPECT_EQ(*cache.resolve(ref.ref_id, Actor::agent()), J("[1,2,3]"));
  EXPECT_EQ(*cache.resolve("mykey", Actor::agent()), J("[1,2,3]"));
  EXPECT_TRUE(cache.exists("mykey", Actor::agent()));
  EXPECT_EQ(preview_of(cache.get("mykey", Actor::agent())).ref_id, ref.ref_id);
  // Keys are looked up in a namespace, exactly (no suffix matching across namespaces).
  SetOptions so;
  so.ns = "shared:team";
  cache.set("teamkey", 1, so);
  EXPECT_THROW(cache.resolve("teamkey", Actor::agent()), NotFound);
  EXPECT_EQ(*cache.resolve("teamkey", Actor::agent(), "shared:team"), json::value(1));
}

TEST(RefCache, UnknownRefs) {
  RefCache cache(opts());
  try {
    cache.resolve("nope", Actor::agent());
    FAIL();
  } catch (const NotFound& e) {
    EXPECT_STREQ(e.what(), "Reference 'nope' not found");
  }
  EXPECT_THROW(cache.get("demo:0123456789abcdef", Actor::agent()), NotFound);
  EXPECT_FALSE(cache.remove("nope", Actor::user()));
  EXPECT_FALSE(cache.exists("nope", Actor::user()));
}

TEST(RefCache, ResettingAKeyReplacesAndDeletesTheOldEntry) {
  RefCache cache(opts());
  auto r1 = cache.set("k", 1);
  auto r2 = cache.set("k", 2);
  EXPECT_NE(r1.ref_id, r2.ref_id);
  EXPECT_EQ(*cache.resolve("k", Actor::agent()), json::value(2));
  // No orphan: the superseded entry is gone rather than lingering until expiry.
  EXPECT_THROW(cache.resolve(r1.ref_id, Actor::agent()), NotFound);
  EXPECT_EQ(cache.backend().keys().size(), 1u);
}

TEST(RefCache, ExpiryHonouredOnEveryPath) {
  RefCache cache(opts());
  SetOptions so;
  so.ttl = 1s;
  auto ref = cache.set("k", 1, so);
  EXPECT_TRUE(cache.exists(ref.ref_id, Actor::agent()));
  refcache_test::advance(2);
  EXPECT_FALSE(cache.exists(ref.ref_id, Actor::agent()));
  EXPECT_THROW(cache.resolve(ref.ref_id, Actor::agent()), NotFound);
  EXPECT_THROW(cache.resolve("k", Actor::agent()), NotFound);
  EXPECT_TRUE(cache.backend().keys().empty());
}

TEST(RefCache, TtlZeroExpiresAtOnceAndNoExpiryLasts) {
  RefCache cache(opts());
  SetOptions zero;
  zero.ttl = 0ms;
  auto z = cache.set("", 1, zero);
  EXPECT_FALSE(cache.exists(z.ref_id, Actor::agent()));
  SetOptions never;
  never.ttl = kNoExpiry;
  auto n = cache.set("", 1, never);
  EXPECT_FALSE(n.expires_at);
  refcache_test::advance(1e9);
  EXPECT_TRUE(cache.exists(n.ref_id, Actor::agent()));
  EXPECT_THROW(
      [&] {
        SetOptions bad;
        bad.ttl = -5s;
        cache.set("", 1, bad);
      }(),
      InvalidArgument);
}

TEST(RefCache, PerNamespaceTtl) {
  auto o = opts();
  o.namespace_ttls = {{"session:*", 1min}, {"archive", kNoExpiry}};
  RefCache cache(o);
  EXPECT_EQ(cache.ttl_for("session:abc"), 60s);
  EXPECT_EQ(cache.ttl_for("archive"), kNoExpiry);
  EXPECT_EQ(cache.ttl_for("public"), 1h);
  SetOptions so;
  so.ns = "session:abc";
  auto ref = cache.set("", 1, so);
  EXPECT_DOUBLE_EQ(*ref.expires_at - ref.created_at, 60);
  so.ns = "archive";
  EXPECT_FALSE(cache.set("", 1, so).expires_at);
}

TEST(RefCache, SubSecondTtlIsKeptToTheMillisecond) {
  RefCache cache(opts());
  SetOptions so;
  so.ttl = 1500ms;
  auto ref = cache.set("", 1, so);
  EXPECT_DOUBLE_EQ(*ref.expires_at - ref.created_at, 1.5);
  refcache_test::advance(1.25);  // binary fractions: the fake clock stays exact
  EXPECT_TRUE(cache.exists(ref.ref_id, Actor::agent()));
  refcache_test::advance(0.5);
  EXPECT_FALSE(cache.exists(ref.ref_id, Actor::agent()));
}

TEST(RefCache, NegativeTtlOptionsAreRefused) {
  auto negative_default = opts();
  negative_default.default_ttl = -1s;
  EXPECT_THROW(RefCache{negative_default}, InvalidArgument);
  auto negative_ns = opts();
  negative_ns.namespace_ttls = {{"session:*", -1ms}};
  EXPECT_THROW(RefCache{negative_ns}, InvalidArgument);
  auto negative_tasks = opts();
  negative_tasks.task_record_ttl = -1h;
  EXPECT_THROW(RefCache{negative_tasks}, InvalidArgument);
}

TEST(RefCache, ExpiryAfterIsNoneForNoExpiry) {
  EXPECT_FALSE(expiry_after(100.0, kNoExpiry));
  EXPECT_DOUBLE_EQ(*expiry_after(100.0, 250ms), 100.25);
  EXPECT_DOUBLE_EQ(*expiry_after(100.0, 0ms), 100.0);
}

TEST(RefCache, ClearIsExactPerNamespace) {
  RefCache cache(opts());
  SetOptions a, b;
  a.ns = "user";
  b.ns = "user:alice";
  cache.set("1", 1, a);
  cache.set("2", 2, a);
  cache.set("3", 3, b);
  EXPECT_EQ(cache.clear("user"), 2u);
  EXPECT_EQ(cache.backend().keys("user:alice").size(), 1u);
  EXPECT_EQ(cache.clear(), 1u);
}

TEST(RefCache, GetSamplesLargeValuesAndReturnsSmallOnesWhole) {
  RefCache cache(opts());
  auto small = cache.set("s", J("[1,2,3]"));
  EXPECT_EQ(preview_of(cache.get(small.ref_id, Actor::agent())).preview, J("[1,2,3]"));
  auto big = cache.set("b", range(100));
  const auto r = preview_of(cache.get(big.ref_id, Actor::agent()));
  EXPECT_EQ(jsonio::to_string(r.preview), "[0,6,12,19,25,31,37,43,50,56,62,68,74,80,87,93,99]");
  EXPECT_EQ(r.original_size, 291u);
  EXPECT_LE(r.preview_size, 50u);
  EXPECT_EQ(r.cache_name, "demo");
  EXPECT_FALSE(r.page);
  // The JSON form carries what an agent needs.
  auto j = r.to_json();
  EXPECT_EQ(j.at("preview_strategy"), "sample");
  EXPECT_EQ(j.at("namespace"), "public");
}

TEST(RefCache, PreviewOfAHeldEntryIsGetsAnswerUnderTheSameChecks) {
  RefCache cache(opts());
  auto [ref, entry] = cache.store("", range(100));
  GetOptions go;
  go.page = 3;
  go.page_size = 7;
  const auto held = cache.preview(ref.ref_id, entry, Actor::agent(), go);
  const auto read = preview_of(cache.get(ref.ref_id, Actor::agent(), go));
  EXPECT_EQ(held.to_json(), read.to_json());
  EXPECT_EQ(jsonio::to_string(held.preview), "[14,15,16,17,18,19,20]");

  SetOptions so;
  so.policy = AccessPolicy::execute_only();
  auto [secret, secret_entry] = cache.store("", J(R"({"pin": 1234})"), so);
  const auto shape = cache.preview(secret.ref_id, secret_entry, Actor::agent());
  EXPECT_TRUE(shape.values_withheld);
  EXPECT_EQ(jsonio::to_string(shape.preview).find("1234"), std::string::npos);
  GetOptions sample;
  sample.strategy = PreviewStrategy::kSample;
  EXPECT_THROW(cache.preview(secret.ref_id, secret_entry, Actor::agent(), sample),
               PermissionDenied);
  SetOptions users;
  users.policy = AccessPolicy::user_only();
  auto [hidden, hidden_entry] = cache.store("", 1, users);
  EXPECT_THROW(cache.preview(hidden.ref_id, hidden_entry, Actor::agent()), PermissionDenied);
  EXPECT_THROW(cache.preview(ref.ref_id, nullptr, Actor::agent()), InvalidArgument);
}

TEST(RefCache, PageSwitchesSampleToPaginate) {
  RefCache cache(opts());
  auto ref = cache.set("b", range(100));
  GetOptions go;
  go.page = 2;
  go.page_size = 10;
  go.max_size = 1000;
  const auto r = preview_of(cache.get(ref.ref_id, Actor::agent(), go));
  EXPECT_EQ(jsonio::to_string(r.preview), "[10,11,12,13,14,15,16,17,18,19]");
  EXPECT_EQ(r.total_pages, 10);
  auto j = r.to_json();
  EXPECT_EQ(j.at("has_next"), true);
  EXPECT_EQ(j.at("has_previous"), true);
  go.page = 0;
  EXPECT_THROW(cache.get(ref.ref_id, Actor::agent(), go), InvalidArgument);
}

TEST(RefCache, MaxSizePrecedenceCallOverCache) {
  RefCache cache(opts());
  auto ref = cache.set("b", range(1000));
  GetOptions go;
  go.max_size = 100;
  EXPECT_LE(preview_of(cache.get(ref.ref_id, Actor::agent(), go)).preview_size, 100u);
  EXPECT_GT(preview_of(cache.get(ref.ref_id, Actor::agent(), go)).preview_size, 50u);
  EXPECT_LE(preview_of(cache.get(ref.ref_id, Actor::agent())).preview_size, 50u);
}

TEST(RefCache, ResolveSharesTheStoredValue) {
  RefCache cache(opts());
  auto ref = cache.set("b", range(1000));
  ValuePtr a = cache.resolve(ref.ref_id, Actor::agent());
  ValuePtr b = cache.resolve(ref.ref_id, Actor::agent());
  EXPECT_EQ(a.get(), b.get());  // no copy per resolve
}

TEST(RefCache, DefaultPolicyLetsAgentsReadButNotDelete) {
  RefCache cache(opts());
  auto ref = cache.set("k", 1);
  try {
    cache.remove(ref.ref_id, Actor::agent());
    FAIL();
  } catch (const PermissionDenied& e) {
    EXPECT_STREQ(e.what(), "Agent lacks DELETE permission");
  }
  EXPECT_TRUE(cache.remove(ref.ref_id, Actor::user()));
  EXPECT_FALSE(cache.remove(ref.ref_id, Actor::user()));
}

TEST(RefCache, ExecuteOnlyValuesCannotBeReadByAgents) {
  RefCache cache(opts());
  SetOptions so;
  so.policy = AccessPolicy::execute_only();
  auto ref = cache.set("secret", 42, so);
  EXPECT_THROW(cache.resolve(ref.ref_id, Actor::agent()), PermissionDenied);
  // A preview of it is its structure only (docs/previews.md, "What the shape reveals"); any
  // other preview is refused.
  const auto shape = std::get<CacheResponse>(cache.get(ref.ref_id, Actor::agent()));
  EXPECT_TRUE(shape.values_withheld);
  EXPECT_EQ(shape.preview, J(R"({"type":"integer"})"));
  EXPECT_TRUE(shape.to_json().at("original_size").is_null());
  EXPECT_FALSE(shape.total_items);
  GetOptions sample;
  sample.strategy = PreviewStrategy::kSample;
  EXPECT_THROW(cache.get(ref.ref_id, Actor::agent(), sample), PermissionDenied);
  EXPECT_THROW(cache.resolve(ref.ref_id, Actor::user()), PermissionDenied);  // users neither
  EXPECT_NO_THROW(cache.entry_for(ref.ref_id, Actor::agent(), Permission::kExecute));
  // The agent knows it exists (it may use it) ...
  EXPECT_TRUE(cache.exists(ref.ref_id, Actor::agent()));
  // ... and its actions say so.
  SetOptions none;
  none.policy = AccessPolicy::user_only();
  auto hidden = cache.set("hidden", 1, none);
  EXPECT_FALSE(cache.exists(hidden.ref_id, Actor::agent()));
}

TEST(RefCache, ScopedNamespacesAndSessions) {
  RefCache cache(opts());
  SetOptions u;
  u.ns = "user:alice";
  auto ref = cache.set("k", 1, u);
  EXPECT_NO_THROW(cache.resolve(ref.ref_id, Actor::user("alice")));
  EXPECT_THROW(cache.resolve(ref.ref_id, Actor::user("bob")), PermissionDenied);
  EXPECT_THROW(cache.resolve(ref.ref_id, Actor::agent("alice")), PermissionDenied);
  EXPECT_NO_THROW(cache.resolve(ref.ref_id, Actor::system()));
  SetOptions s;
  s.ns = "session:sess-123";
  auto sref = cache.set("k2", 1, s);
  EXPECT_NO_THROW(cache.resolve(sref.ref_id, Actor::agent(std::nullopt, "sess-123")));
  EXPECT_THROW(cache.resolve(sref.ref_id, Actor::agent(std::nullopt, "other")), PermissionDenied);
  SetOptions bound;
  bound.policy = AccessPolicy{};
  bound.policy->bound_session = "s1";
  auto bref = cache.set("k3", 1, bound);
  EXPECT_THROW(cache.resolve(bref.ref_id, Actor::user("x", "s2")), PermissionDenied);
  EXPECT_NO_THROW(cache.resolve(bref.ref_id, Actor::user("x", "s1")));
}

TEST(RefCache, ListShowsOnlyWhatTheActorMayTouch) {
  RefCache cache(opts());
  SetOptions pub, priv;
  priv.policy = AccessPolicy::user_only();
  cache.set("a", 1, pub);
  cache.set("b", 2, priv);
  EXPECT_EQ(cache.list("public", Actor::agent()).ref_ids.size(), 1u);
  EXPECT_EQ(cache.list("public", Actor::user()).ref_ids.size(), 2u);
}

TEST(RefCache, AvailableActionsFollowPermissions) {
  RefCache cache(opts());
  auto ref = cache.set("k", 1);
  auto agent = preview_of(cache.get(ref.ref_id, Actor::agent())).available_actions;
  EXPECT_EQ(agent, (std::vector<std::string>{"get_page", "resolve_full", "pass_to_tool"}));
  auto user = preview_of(cache.get(ref.ref_id, Actor::user())).available_actions;
  EXPECT_EQ(user.back(), "delete");
}
