// Two tenants on one real redis-server, each in its own key prefix (the URL's key_prefix, as a
// tenants file gives it) or its own database: every key a tenant's operations write is under
// its prefix, a ref of one tenant is not found by the other, and clearing one leaves the other.
// And two tenants in SQLite files of their own.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <set>
#include <sstream>

#include "integration/backend_fixture.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/errors.hpp"
#include "refcache/ref_cache.hpp"

namespace refcache::testing {
namespace {

namespace json = boost::json;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) out.push_back(l);
  return out;
}

// Every key of database `db`.
std::vector<std::string> all_keys(RedisServer& server, int db = 0) {
  RawRedis r(server.port(), server.password(), db);
  return lines(r.cmd({"KEYS", "*"}));
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// A URL for the shared test server, as an operator writes one in a tenants file.
std::string url_of(RedisServer& server, const std::string& path_and_query) {
  return "redis://:" + server.password() + "@127.0.0.1:" + std::to_string(server.port()) +
         path_and_query;
}

CallIdentity as(const std::string& user, const std::string& tenant) {
  CallIdentity who;
  who.values["user_id"] = user;
  who.tenant = tenant;
  return who;
}

std::string ref_of(const json::object& answer) {
  return std::string(answer.at("ref_id").as_string());
}

class TenantsOnRedis : public ::testing::Test {
 protected:
  void SetUp() override { RawRedis(server().port(), server().password()).cmd({"FLUSHALL"}); }
  RedisServer& server() { return shared_redis(); }
};

TEST_F(TenantsOnRedis, TwoTenantsByKeyPrefixTouchOnlyTheirOwnKeys) {
  RefCacheOptions o;
  o.name = "calc";
  o.backend = open_backend(url_of(server(), "/0?key_prefix=own:"));
  o.tenants.open_backend = [this](const std::string& id) {
    return open_backend(url_of(server(), "/0?key_prefix=tenant:" + id + ":"));
  };
  RefCache cache(o);
  int runs = 0;
  CachedCall call(cache, "square", [&](const json::object& a, CallContext&) -> json::value {
    ++runs;
    json::array out;
    for (std::int64_t i = 0; i < a.at("n").as_int64(); ++i) out.emplace_back(i * i);
    return out;
  });
  const json::object args{{"n", 50}};
  const std::string a = ref_of(call.call(args, as("alice", "acme")));
  const std::string b = ref_of(call.call(args, as("bob", "globex")));
  const std::string own = ref_of(call.call(args, as("carol", "")));
  EXPECT_EQ(runs, 3);  // no tenant's result answers another's call
  EXPECT_EQ(ref_of(call.call(args, as("dave", "acme"))), a);
  EXPECT_EQ(runs, 3);

  // Every key is under the prefix of the store that wrote it; each ref only in its own.
  const auto keys = all_keys(server());
  ASSERT_FALSE(keys.empty());
  std::set<std::string> prefixes;
  for (const auto& k : keys) {
    const bool known = starts_with(k, "tenant:acme:") || starts_with(k, "tenant:globex:") ||
                       starts_with(k, "own:");
    EXPECT_TRUE(known) << k;
    if (k.find(a) != std::string::npos) {
      EXPECT_TRUE(starts_with(k, "tenant:acme:")) << k;
    }
    if (k.find(b) != std::string::npos) {
      EXPECT_TRUE(starts_with(k, "tenant:globex:")) << k;
    }
    if (k.find(own) != std::string::npos) {
      EXPECT_TRUE(starts_with(k, "own:")) << k;
    }
    prefixes.insert(k.substr(0, k.find(':', k.find(':') + 1) + 1));
  }
  EXPECT_TRUE(prefixes.count("tenant:acme:") && prefixes.count("tenant:globex:"));

  // Reading across tenants finds nothing, whatever the entry's policy would allow.
  EXPECT_THROW(cache.tenant("globex").resolve(a, Actor::user("alice")), NotFound);
  EXPECT_THROW(cache.resolve(a, Actor::user("alice")), NotFound);
  EXPECT_NO_THROW(cache.tenant("acme").resolve(a, Actor::user("bob")));
  EXPECT_THROW(call.call(json::object{{"n", a}}, as("bob", "globex")), InvalidReference);

  // Clearing one tenant's store removes its entries only.
  cache.tenant("acme").clear();
  EXPECT_THROW(cache.tenant("acme").resolve(a, Actor::system()), NotFound);
  EXPECT_NO_THROW(cache.tenant("globex").resolve(b, Actor::system()));
  EXPECT_NO_THROW(cache.resolve(own, Actor::system()));
  for (const auto& k : all_keys(server()))
    EXPECT_EQ(k.find(a), std::string::npos) << "acme's ref survives in " << k;
}

TEST_F(TenantsOnRedis, TwoTenantsByDatabaseNumber) {
  RefCacheOptions o;
  o.name = "calc";
  o.backend = open_backend(url_of(server(), "/0"));
  const std::map<std::string, int> dbs{{"acme", 1}, {"globex", 2}};
  o.tenants.open_backend = [&](const std::string& id) {
    return open_backend(url_of(server(), "/" + std::to_string(dbs.at(id))));
  };
  RefCache cache(o);
  const std::string a = cache.tenant("acme").set("", json::value("a")).ref_id;
  const std::string b = cache.tenant("globex").set("", json::value("b")).ref_id;
  auto holds = [&](int db, const std::string& ref) {
    for (const auto& k : all_keys(server(), db))
      if (k.find(ref) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(holds(1, a));
  EXPECT_FALSE(holds(2, a));
  EXPECT_FALSE(holds(0, a));
  EXPECT_TRUE(holds(2, b));
  EXPECT_FALSE(holds(1, b));
  EXPECT_THROW(cache.tenant("acme").resolve(b, Actor::system()), NotFound);
  RawRedis(server().port(), server().password(), 1).cmd({"FLUSHDB"});
  RawRedis(server().port(), server().password(), 2).cmd({"FLUSHDB"});
}

TEST(TenantsOnSQLite, EachTenantInAFileOfItsOwn) {
  const auto dir = make_temp_dir("tenants");
  {
    RefCacheOptions o;
    o.name = "calc";
    o.backend = open_backend("sqlite:" + (dir / "own.db").string());
    o.tenants.open_backend = [&](const std::string& id) {
      return open_backend("sqlite:" + (dir / (id + ".db")).string());
    };
    RefCache cache(o);
    const std::string a = cache.tenant("acme").set("", json::value("a")).ref_id;
    const std::string b = cache.tenant("globex").set("", json::value("b")).ref_id;
    EXPECT_TRUE(std::filesystem::exists(dir / "acme.db"));
    EXPECT_TRUE(std::filesystem::exists(dir / "globex.db"));
    EXPECT_THROW(cache.tenant("globex").resolve(a, Actor::system()), NotFound);
    EXPECT_THROW(cache.resolve(b, Actor::system()), NotFound);
    // Another process's view of acme's file holds acme's ref and nothing of globex.
    auto acme_file = open_backend("sqlite:" + (dir / "acme.db").string());
    EXPECT_NE(acme_file->get(a), nullptr);
    EXPECT_EQ(acme_file->get(b), nullptr);
  }
  std::filesystem::remove_all(dir);
}

TEST_F(TenantsOnRedis, AKeyPrefixWithBracesOrSpacesIsRefused) {
  EXPECT_THROW(open_backend(url_of(server(), "/0?key_prefix={slot}")), InvalidArgument);
  EXPECT_THROW(open_backend(url_of(server(), "/0?key_prefix=a%20b")), InvalidArgument);
  EXPECT_THROW(open_backend(url_of(server(), "/0?key_prefix=")), InvalidArgument);
}

}  // namespace
}  // namespace refcache::testing
