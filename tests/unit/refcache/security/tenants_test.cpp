// Tenants (RefCacheOptions::tenants, RefCache::tenant): each tenant's refs in a store of its
// own, shared registries, and the limits on who may name a tenant. The same with a real Redis,
// two tenants on one server: tests/integration/tenants_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "refcache/cached_call.hpp"
#include "refcache/memory_backend.hpp"
#include "unit/refcache/test_util.hpp"

using namespace refcache;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// A cache whose tenants' stores are memory backends the test can look into.
struct TenantFixture {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<MemoryBackend>> stores;
  std::atomic<int> opened{0};
  std::shared_ptr<MemoryBackend> own = std::make_shared<MemoryBackend>();

  RefCacheOptions options(std::size_t max_tenants = 256) {
    RefCacheOptions o;
    o.name = "calc";
    o.backend = own;
    o.tenants.max_tenants = max_tenants;
    o.tenants.open_backend = [this](const std::string& id) -> std::shared_ptr<Backend> {
      ++opened;
      if (id == "broken") throw BackendUnavailable("the store of 'broken' is down");
      std::lock_guard lock(mu);
      auto& b = stores[id];
      if (!b) b = std::make_shared<MemoryBackend>();
      return b;
    };
    return o;
  }
  MemoryBackend& store(const std::string& id) {
    std::lock_guard lock(mu);
    return *stores.at(id);
  }
};

CallIdentity as(const std::string& user, const std::string& tenant) {
  CallIdentity who;
  who.values["user_id"] = user;
  who.tenant = tenant;
  return who;
}

TEST(Tenants, ARefOfOneTenantIsNotFoundThroughAnotherOrTheOwnStore) {
  TenantFixture f;
  RefCache cache(f.options());
  RefCache& acme = cache.tenant("acme");
  RefCache& globex = cache.tenant("globex");
  EXPECT_EQ(acme.tenant_id(), "acme");
  EXPECT_EQ(&cache.tenant("acme"), &acme);     // opened once, kept
  EXPECT_EQ(&acme.tenant("globex"), &globex);  // a tenant's cache names the others' too
  EXPECT_EQ(&acme.tenant(""), &cache);
  EXPECT_EQ(f.opened.load(), 2);

  const std::string ref = acme.set("", json::value("acme's secret")).ref_id;
  EXPECT_NO_THROW(acme.resolve(ref, Actor::user("alice")));
  EXPECT_THROW(globex.resolve(ref, Actor::user("alice")), NotFound);
  EXPECT_THROW(cache.resolve(ref, Actor::user("alice")), NotFound);
  EXPECT_FALSE(globex.exists(ref, Actor::system()));
  EXPECT_FALSE(globex.remove(ref, Actor::system()));
  // Where it is: the tenant's store, and nowhere else.
  EXPECT_NE(f.store("acme").get(ref), nullptr);
  EXPECT_EQ(f.store("globex").get(ref), nullptr);
  EXPECT_EQ(f.own->get(ref), nullptr);

  // Clearing one tenant's store leaves the other's whole.
  const std::string other = globex.set("", json::value(1)).ref_id;
  acme.clear();
  EXPECT_EQ(f.store("acme").get(ref), nullptr);
  EXPECT_NE(f.store("globex").get(other), nullptr);
}

TEST(Tenants, ACachedCallRunsOverItsCallersTenantsStore) {
  TenantFixture f;
  RefCache cache(f.options());
  std::atomic<int> runs{0};
  CachedCall call(cache, "double", [&](const json::object& a, CallContext&) -> json::value {
    ++runs;
    return a.at("x").as_int64() * 2;
  });
  const json::object args{{"x", 21}};
  const std::string a1 = call.call(args, as("alice", "acme")).at("ref_id").as_string().c_str();
  const std::string a2 = call.call(args, as("dave", "acme")).at("ref_id").as_string().c_str();
  EXPECT_EQ(a1, a2);  // a hit within the tenant
  EXPECT_EQ(runs.load(), 1);
  const std::string b = call.call(args, as("bob", "globex")).at("ref_id").as_string().c_str();
  EXPECT_NE(b, a1);  // never another tenant's result
  EXPECT_EQ(runs.load(), 2);
  EXPECT_NE(f.store("acme").get(a1), nullptr);
  EXPECT_NE(f.store("globex").get(b), nullptr);
  EXPECT_EQ(f.store("globex").get(a1), nullptr);
  EXPECT_EQ(f.own->get(a1), nullptr);

  // A ref of another tenant given as an input is not found (the same error as a forged one).
  EXPECT_THROW(call.call(json::object{{"x", a1}}, as("bob", "globex")), InvalidReference);
  // A caller without a tenant uses the cache's own store.
  const std::string own = call.call(args, as("carol", "")).at("ref_id").as_string().c_str();
  EXPECT_NE(f.own->get(own), nullptr);
  EXPECT_EQ(runs.load(), 3);
}

TEST(Tenants, TenantsShareTheRootsStrategiesAndCalls) {
  TenantFixture f;
  RefCache cache(f.options());
  RefCache& acme = cache.tenant("acme");
  auto first = [](const json::value& v, const PreviewBudget&) {
    return CustomPreview{v.is_array() ? v.get_array()[0] : v, {}};
  };
  cache.register_preview_strategy("first", first);
  const auto names = acme.preview_strategy_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "first"), names.end());
  const std::string ref = acme.set("", json::array{7, 8, 9}).ref_id;
  GetOptions go;
  go.strategy_name = "first";
  EXPECT_NO_THROW(acme.get(ref, Actor::system(), go));
  // Registering through a tenant's cache registers for every tenant.
  EXPECT_THROW(acme.register_preview_strategy("first", first), InvalidArgument);

  auto call = std::make_shared<CachedCall>(
      cache, "noop", [](const json::object&, CallContext&) { return json::value(1); });
  cache.remember_call(call);
  EXPECT_EQ(acme.find_call("noop"), call);
}

TEST(Tenants, NamesOutsideTheAlphabetAndTenantsBeyondTheLimitAreRefused) {
  TenantFixture f;
  RefCache cache(f.options(2));
  for (const char* bad : {"../etc", "a/b", ".hidden", "a b", "a{b}", "x:y"})
    EXPECT_THROW(cache.tenant(bad), InvalidArgument) << bad;
  EXPECT_THROW(cache.tenant(std::string(65, 'a')), InvalidArgument);
  EXPECT_NO_THROW(cache.tenant(std::string(64, 'a')));
  EXPECT_NO_THROW(cache.tenant("t-1.b_2"));
  EXPECT_THROW(cache.tenant("third"), InvalidArgument);  // max_tenants = 2
  EXPECT_EQ(f.opened.load(), 2);
  EXPECT_NO_THROW(cache.tenant("t-1.b_2"));  // an open one is still served
}

TEST(Tenants, AStoreThatFailsToOpenFailsThatUseAndIsTriedAgain) {
  TenantFixture f;
  RefCache cache(f.options());
  EXPECT_THROW(cache.tenant("broken"), BackendUnavailable);
  EXPECT_THROW(cache.tenant("broken"), BackendUnavailable);
  EXPECT_EQ(f.opened.load(), 2);
}

TEST(Tenants, WithoutTenantsConfiguredEveryCallerUsesTheOneStore) {
  RefCache cache(RefCacheOptions{.name = "calc"});
  EXPECT_FALSE(cache.has_tenants());
  EXPECT_EQ(&cache.tenant("acme"), &cache);
  EXPECT_EQ(&cache.tenant(""), &cache);
  TenantFixture f;
  RefCache with(f.options());
  EXPECT_EQ(&with.tenant(""), &with);
}

TEST(Tenants, ConcurrentFirstUsesOpenOneStore) {
  TenantFixture f;
  RefCache cache(f.options());
  std::vector<std::thread> ts;
  std::vector<RefCache*> seen(8);
  for (int i = 0; i < 8; ++i) ts.emplace_back([&, i] { seen[i] = &cache.tenant("acme"); });
  for (auto& t : ts) t.join();
  for (RefCache* s : seen) EXPECT_EQ(s, seen[0]);
  EXPECT_EQ(f.opened.load(), 1);
}

TEST(Tenants, IdsAreCheckedByIsTenantId) {
  EXPECT_TRUE(is_tenant_id("acme"));
  EXPECT_TRUE(is_tenant_id("Org_7.eu-west"));
  EXPECT_FALSE(is_tenant_id(""));
  EXPECT_FALSE(is_tenant_id(".."));
  EXPECT_FALSE(is_tenant_id("a\nb"));
  EXPECT_FALSE(is_tenant_id("a%2fb"));
}

}  // namespace
