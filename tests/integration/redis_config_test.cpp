// Redis options from URLs, flags and the environment; open_backend URL forms.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC bug 105329
#endif

#include <gtest/gtest.h>

#include <map>

#include "integration/backend_fixture.hpp"
#include "refcache/errors.hpp"

namespace refcache::testing {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(RedisConfig, ParsesUrls) {
  auto o = parse_redis_url("redis://alice:s%40cret@cache.example:6380/4");
  EXPECT_EQ(o.host, "cache.example");
  EXPECT_EQ(o.port, 6380);
  EXPECT_EQ(o.db, 4);
  EXPECT_EQ(o.user, "alice");
  EXPECT_EQ(o.password, "s@cret");
  EXPECT_FALSE(o.tls);
  o = parse_redis_url("redis://:pw@localhost");
  EXPECT_EQ(o.user, "");
  EXPECT_EQ(o.password, "pw");
  EXPECT_EQ(o.port, 6379);
  EXPECT_EQ(o.db, 0);
  EXPECT_TRUE(parse_redis_url("rediss://h:1/0").tls);
  EXPECT_EQ(parse_redis_url("redis://h?db=7").db, 7);
  auto q =
      parse_redis_url("redis://h/1?socket_timeout=0.25&socket_connect_timeout=3&max_connections=4");
  EXPECT_EQ(q.socket_timeout.count(), 250);
  EXPECT_EQ(q.connect_timeout.count(), 3000);
  EXPECT_EQ(q.pool_size, 4u);
  EXPECT_EQ(q.db, 1);
  EXPECT_THROW(parse_redis_url("redis://h?socket_timeout=-1"), InvalidArgument);
  EXPECT_THROW(parse_redis_url("redis://h?bogus=1"), InvalidArgument);
  EXPECT_THROW(parse_redis_url("http://h:1"), InvalidArgument);
  EXPECT_THROW(parse_redis_url("redis://h:99999"), InvalidArgument);
  EXPECT_THROW(parse_redis_url("redis://h:1/x"), InvalidArgument);
  EXPECT_THROW(parse_redis_url("not a url"), InvalidArgument);
}

TEST(RedisConfig, UrlWinsThenFlagsThenEnvironmentThenDefaults) {
  auto env = fake_env({{"REDIS_HOST", "env-host"},
                       {"REDIS_PORT", "7000"},
                       {"REDIS_DB", "2"},
                       {"REDIS_PASSWORD", "env-pw"},
                       {"REDIS_SSL", "no"}});
  RedisSettings s;
  auto o = resolve_redis_options(s, env);
  EXPECT_EQ(o.host, "env-host");
  EXPECT_EQ(o.port, 7000);
  EXPECT_EQ(o.db, 2);
  EXPECT_EQ(o.password, "env-pw");
  EXPECT_FALSE(o.tls);
  s.host = "flag-host";
  s.port = 7001;
  o = resolve_redis_options(s, env);
  EXPECT_EQ(o.host, "flag-host");
  EXPECT_EQ(o.port, 7001);
  EXPECT_EQ(o.db, 2);  // still from the environment
  // REDIS_URL wins over flags naming host/port.
  auto env_url = fake_env({{"REDIS_URL", "redis://:u@url-host:7100/5"}, {"REDIS_HOST", "x"}});
  o = resolve_redis_options(s, env_url);
  EXPECT_EQ(o.host, "url-host");
  EXPECT_EQ(o.port, 7100);
  EXPECT_EQ(o.db, 5);
  // An explicit URL wins over REDIS_URL.
  s.url = "redis://flag-url:7200";
  EXPECT_EQ(resolve_redis_options(s, env_url).host, "flag-url");
  // Defaults.
  o = resolve_redis_options({}, fake_env({}));
  EXPECT_EQ(o.host, "localhost");
  EXPECT_EQ(o.port, 6379);
  EXPECT_EQ(o.db, 0);
  EXPECT_EQ(o.password, "");
  EXPECT_TRUE(resolve_redis_options({}, fake_env({{"REDIS_SSL", "TRUE"}})).tls);
  EXPECT_THROW(resolve_redis_options({}, fake_env({{"REDIS_PORT", "abc"}})), InvalidArgument);
  // Timeouts and pool come from base.
  RedisSettings t;
  t.base.pool_size = 3;
  t.base.socket_timeout = std::chrono::milliseconds(123);
  o = resolve_redis_options(t, fake_env({{"REDIS_URL", "redis://h"}}));
  EXPECT_EQ(o.pool_size, 3u);
  EXPECT_EQ(o.socket_timeout.count(), 123);
}

TEST(RedisConfig, AddressNeverShowsThePassword) {
  auto o = parse_redis_url("redis://bob:hunter2@h:1/2");
  EXPECT_EQ(o.redacted_address(), "redis://bob:***@h:1/2");
  EXPECT_EQ(parse_redis_url("redis://h").redacted_address(), "redis://h:6379/0");
}

TEST(OpenBackend, UrlForms) {
  EXPECT_EQ(open_backend("memory:")->kind(), "memory");
  auto m = std::dynamic_pointer_cast<SQLiteBackend>(open_backend("sqlite::memory:"));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->path(), ":memory:");
  auto dir = make_temp_dir("open");
  auto f =
      std::dynamic_pointer_cast<SQLiteBackend>(open_backend("sqlite:" + (dir / "a.db").string()));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->path(), (dir / "a.db").string());
  auto g = std::dynamic_pointer_cast<SQLiteBackend>(
      open_backend("sqlite://" + (dir / "b.db").string()));  // sqlite:///abs/path
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->path(), (dir / "b.db").string());
  EXPECT_THROW(open_backend("bogus:thing"), InvalidArgument);
  try {
    open_backend("redis:/:hunter2@h");  // mistyped: must not echo the password
    ADD_FAILURE() << "accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
  }
  try {
    open_backend("rediss://:pw@127.0.0.1:1/0");  // TLS, but nobody listens there
    ADD_FAILURE() << "connected to nothing";
  } catch (const BackendUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("rediss://:***@127.0.0.1:1/0"), std::string::npos)
        << e.what();
    EXPECT_EQ(std::string(e.what()).find("pw@"), std::string::npos);
  }
  auto r = open_backend(shared_redis().url());
  EXPECT_EQ(r->kind(), "redis");
  EXPECT_TRUE(r->health().ok);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST(OpenBackend, DefaultIsSqliteUnlessRedisIsConfigured) {
  auto dir = make_temp_dir("open-default");
  std::string path = (dir / "default.db").string();
  auto save = [](const char* n) {
    const char* v = std::getenv(n);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  auto old_url = save("REDIS_URL"), old_host = save("REDIS_HOST"),
       old_db = save("MCP_REFCACHE_DB_PATH");
  ::unsetenv("REDIS_URL");
  ::unsetenv("REDIS_HOST");
  ::setenv("MCP_REFCACHE_DB_PATH", path.c_str(), 1);
  auto s = std::dynamic_pointer_cast<SQLiteBackend>(open_backend());
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->path(), path);
  ::setenv("REDIS_URL", shared_redis().url().c_str(), 1);
  EXPECT_EQ(open_backend()->kind(), "redis");
  auto restore = [](const char* n, const std::optional<std::string>& v) {
    if (v)
      ::setenv(n, v->c_str(), 1);
    else
      ::unsetenv(n);
  };
  restore("REDIS_URL", old_url);
  restore("REDIS_HOST", old_host);
  restore("MCP_REFCACHE_DB_PATH", old_db);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace refcache::testing
