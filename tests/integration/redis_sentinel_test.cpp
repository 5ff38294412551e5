// RedisBackend with Redis Sentinel: 1 primary, 1 replica, 3 sentinels, all real processes on
// loopback ports; the backend finds the primary through the sentinels and follows a failover.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC bug 105329
#endif

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>

#include "integration/backend_fixture.hpp"
#include "integration/redis_sentinel.hpp"
#include "refcache/errors.hpp"

namespace refcache::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// Polls `ok` (bounded); true once it held.
bool eventually(const std::function<bool()>& ok, std::chrono::seconds limit) {
  auto deadline = SteadyClock::now() + limit;
  while (SteadyClock::now() < deadline) {
    try {
      if (ok()) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

TEST(RedisSentinel, FindsThePrimaryAndFollowsAFailover) {
  RedisServer primary;
  RedisServer replica(RedisServer::Options{.extra_args = {"--replicaof", "127.0.0.1",
                                                          std::to_string(primary.port()),
                                                          "--masterauth", primary.password()}});
  RawRedis on_primary(primary.port(), primary.password());
  ASSERT_TRUE(eventually(
      [&] {
        return RawRedis(replica.port(), replica.password())
                   .cmd({"INFO", "replication"})
                   .find("master_link_status:up") != std::string::npos;
      },
      15s));
  Sentinel s1(primary.port(), primary.password()), s2(primary.port(), primary.password()),
      s3(primary.port(), primary.password());
  // Each sentinel has seen the replica (needed to fail over to it).
  for (Sentinel* s : {&s1, &s2, &s3})
    ASSERT_TRUE(eventually(
        [&] {
          return !s->cmd({"SENTINEL", "replicas", "mymaster"}).empty();
        },
        20s));

  std::string url = "redis+sentinel://:" + primary.password() +
                    "@127.0.0.1:" + std::to_string(s1.port()) +
                    ",127.0.0.1:" + std::to_string(s2.port()) +
                    ",127.0.0.1:" + std::to_string(s3.port()) + "/mymaster/0";
  RedisOptions o = parse_redis_url(url);
  ASSERT_EQ(o.sentinels.size(), 3u);
  EXPECT_EQ(o.sentinel_primary, "mymaster");
  o.breaker_threshold = 0;  // this test watches the failover, not the breaker
  RedisBackend b(o);
  EXPECT_EQ(b.address().rfind("redis+sentinel://:***@127.0.0.1:", 0), 0u) << b.address();
  EXPECT_EQ(b.connected_to(), "127.0.0.1:" + std::to_string(primary.port()));
  b.set("sen:1", make_entry(json::value("before"), "sen"));
  EXPECT_EQ(on_primary.integer({"EXISTS", "mcp-refcache:entry:sen:1"}), 1);
  ASSERT_TRUE(eventually(
      [&] {
        return RawRedis(replica.port(), replica.password())
                   .integer({"EXISTS", "mcp-refcache:entry:sen:1"}) == 1;
      },
      10s));

  // Fail over: the replica becomes the primary; the backend follows on its own.
  // (Refused with NOGOODSLAVE until the sentinel has fresh information from the replica.)
  ASSERT_TRUE(eventually(
      [&] {
        return s1.cmd({"SENTINEL", "FAILOVER", "mymaster"}) == "OK";
      },
      30s));
  ASSERT_TRUE(eventually(
      [&] {
        return s1.cmd({"SENTINEL", "get-master-addr-by-name", "mymaster"}) ==
               "127.0.0.1\n" + std::to_string(replica.port());
      },
      30s));
  // (Writes that reach the old primary before the switch is announced are lost, as with any
  // Redis failover; the backend learns of the switch from the sentinels' +switch-master.)
  bool written = eventually(
      [&] {
        b.set("sen:2", make_entry(json::value("after"), "sen"));
        return b.connected_to() == "127.0.0.1:" + std::to_string(replica.port());
      },
      30s);
  ASSERT_TRUE(written);
  EXPECT_EQ(b.connected_to(), "127.0.0.1:" + std::to_string(replica.port()));
  RawRedis on_new(replica.port(), replica.password());
  EXPECT_EQ(on_new.integer({"EXISTS", "mcp-refcache:entry:sen:2"}), 1);
  auto e = b.get("sen:1");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, json::value("before"));
  EXPECT_EQ(b.keys("sen"), (std::vector<std::string>{"sen:1", "sen:2"}));
}

TEST(RedisSentinel, NoSentinelAnsweringIsAClearError) {
  RedisOptions o = parse_redis_url(
      "redis+sentinel://127.0.0.1:" + std::to_string(free_loopback_port()) + "/mymaster");
  o.connect_timeout = 500ms;
  try {
    RedisBackend b(o);
    FAIL() << "connected without sentinels";
  } catch (const BackendUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("no sentinel gave the address of primary 'mymaster'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace refcache::testing
