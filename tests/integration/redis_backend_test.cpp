// RedisBackend specifics against a real redis-server: storage format and millisecond TTL,
// namespace index cost, bad blobs, credentials, and faults (Redis absent, stopping, hanging,
// coming back, AOF restart).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC bug 105329
#endif

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "integration/backend_fixture.hpp"
#include "refcache/errors.hpp"

namespace refcache::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override { raw().cmd({"FLUSHALL"}); }
  RedisServer& server() { return shared_redis(); }
  RawRedis& raw() {
    if (!raw_) raw_ = std::make_unique<RawRedis>(server().port(), server().password());
    return *raw_;
  }
  std::unique_ptr<RawRedis> raw_;
};

// Server-side command counts from INFO commandstats: {"get": 3, "evalsha": 1, ...}.
std::map<std::string, long long> command_stats(RawRedis& r) {
  std::map<std::string, long long> out;
  std::istringstream in(r.cmd({"INFO", "commandstats"}));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("cmdstat_", 0) != 0) continue;
    auto colon = line.find(':');
    auto calls = line.find("calls=");
    if (colon == std::string::npos || calls == std::string::npos) continue;
    out[line.substr(8, colon - 8)] = std::stoll(line.substr(calls + 6));
  }
  return out;
}

long long total_commands(const std::map<std::string, long long>& m) {
  long long n = 0;
  for (auto& [name, calls] : m)
    if (name != "info" && name != "config|resetstat") n += calls;
  return n;
}

TEST_F(RedisTest, EntryIsOneReferenceBlobWithMillisecondTtl) {
  RedisBackend b(server().options());
  auto e = make_entry(json::parse(R"({"a":[1,2.5,"é"]})"), "custom:proj");
  e->expires_at = e->created_at + 1.7;
  e->standard.tool_name = "t";
  b.set("pycache:00000000000000ff", e);
  std::string blob = raw().cmd({"GET", "mcp-refcache:entry:pycache:00000000000000ff"});
  json::value v = json::parse(blob);
  ASSERT_TRUE(v.is_object());
  std::vector<std::string> keys;
  for (auto& kv : v.as_object()) keys.emplace_back(kv.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"value", "namespace", "policy", "created_at",
                                            "expires_at", "metadata"}));
  EXPECT_EQ(v.at("namespace"), json::value("custom:proj"));
  EXPECT_TRUE(v.at("policy").at("user_permissions").is_int64());
  EXPECT_TRUE(v.at("created_at").is_double());
  long long pttl = raw().integer({"PTTL", "mcp-refcache:entry:pycache:00000000000000ff"});
  EXPECT_GT(pttl, 1000);  // the reference would have truncated to 1 s
  EXPECT_LE(pttl, 1700);
  // No expiry: no TTL.
  b.set("pycache:00000000000000fe", make_entry(json::value(1)));
  EXPECT_EQ(raw().integer({"PTTL", "mcp-refcache:entry:pycache:00000000000000fe"}), -1);
}

// Fills `ns` with n entries through the backend.
void fill(Backend& b, const std::string& ns, int n, const std::string& prefix) {
  for (int i = 0; i < n; ++i)
    b.set(prefix + std::to_string(100000 + i), make_entry(json::value(i), ns, 3600));
}

// Writes n entries of namespace `ns` straight into Redis (the same keys and index the backend
// maintains), in one server-side loop: quicker than n round trips.
void bulk_fill(RawRedis& r, const std::string& ns, int n) {
  const std::string script = R"lua(
local ns, n = ARGV[1], tonumber(ARGV[2])
local blob = '{"value":1,"namespace":"' .. ns .. '","policy":{"user_permissions":31,' ..
  '"agent_permissions":17,"owner":null,"owner_permissions":31,"allowed_actors":null,' ..
  '"denied_actors":null,"bound_session":null},"created_at":1.0,"expires_at":null,"metadata":{}}'
for i = 1, n do
  local ref = 'bulk:' .. i
  redis.call('SET', 'mcp-refcache:entry:' .. ref, blob)
  redis.call('ZADD', 'mcp-refcache:idx:' .. ns, '+inf', ref)
end
redis.call('SADD', 'mcp-refcache:namespaces', ns)
return n
)lua";
  EXPECT_EQ(r.cmd({"EVAL", script, "0", ns, std::to_string(n)}), std::to_string(n));
}

struct Cost {
  long long server_commands = 0;
  std::uint64_t client_commands = 0;
  std::size_t listed = 0;
  std::size_t cleared = 0;
  bool scanned = false;
};

Cost measure_keys_and_clear(RedisBackend& b, RawRedis& r, const std::string& ns) {
  Cost c;
  b.keys("warm-up");  // loads the scripts, so that both runs use EVALSHA alone
  b.clear("warm-up");
  r.cmd({"CONFIG", "RESETSTAT"});
  auto before = b.commands_sent();
  c.listed = b.keys(ns).size();
  c.cleared = b.clear(ns);
  c.client_commands = b.commands_sent() - before;
  auto stats = command_stats(r);
  c.server_commands = total_commands(stats);
  c.scanned = stats.count("scan") || stats.count("keys");
  return c;
}

TEST_F(RedisTest, NamespaceCostFollowsTheNamespaceNotTheInstance) {
  RedisBackend b(server().options());
  // 1,000 entries beside 100 unrelated ones.
  fill(b, "target", 1000, "t:");
  fill(b, "other", 100, "o:");
  Cost small = measure_keys_and_clear(b, raw(), "target");
  // 1,000 entries beside 100,000 unrelated ones.
  raw().cmd({"FLUSHALL"});
  fill(b, "target", 1000, "t:");
  bulk_fill(raw(), "unrelated", 100000);
  ASSERT_GE(raw().integer({"DBSIZE"}), 100000);
  Cost big = measure_keys_and_clear(b, raw(), "target");

  EXPECT_EQ(small.listed, 1000u);
  EXPECT_EQ(big.listed, 1000u);
  EXPECT_EQ(small.cleared, 1000u);
  EXPECT_EQ(big.cleared, 1000u);
  EXPECT_FALSE(small.scanned);
  EXPECT_FALSE(big.scanned);
  // Same work whatever else the instance holds: identical round trips, and server-side
  // commands (including those run by the scripts) within 1% of each other.
  EXPECT_EQ(small.client_commands, big.client_commands);
  std::cout << "namespace cost: beside 100: " << small.server_commands << " server commands, "
            << small.client_commands << " round trips; beside 100,000: " << big.server_commands
            << " / " << big.client_commands << "\n";
  EXPECT_NEAR(static_cast<double>(big.server_commands), static_cast<double>(small.server_commands),
              small.server_commands * 0.01 + 2);
  // And proportional to the namespace: a few commands per entry, not per key in Redis.
  EXPECT_LT(big.server_commands, 1000 * 12);
  EXPECT_LT(big.client_commands, 20u);
  // The unrelated entries are untouched.
  EXPECT_EQ(raw().integer({"EXISTS", "mcp-refcache:entry:bulk:777"}), 1);
}

TEST_F(RedisTest, CorruptBlobsFailAloneOthersStayReadable) {
  RedisBackend b(server().options());
  b.set("good:1", make_entry(json::value("fine"), "mixed"));
  raw().cmd({"SET", "mcp-refcache:entry:bad:text", "not json at all"});
  raw().cmd({"SET", "mcp-refcache:entry:bad:policy",
             R"({"value":1,"namespace":"mixed","policy":{"user_permissions":"all"},)"
             R"("created_at":1.0,"expires_at":null,"metadata":{}})"});
  raw().cmd({"SET", "mcp-refcache:entry:bad:shape", "[1,2,3]"});
  for (const char* id : {"bad:text", "bad:policy", "bad:shape"}) {
    try {
      b.get(id);
      ADD_FAILURE() << id << " decoded";
    } catch (const CorruptEntry& e) {
      EXPECT_NE(std::string(e.what()).find(id), std::string::npos) << e.what();
    }
  }
  ASSERT_NE(b.get("good:1"), nullptr);
  EXPECT_EQ(b.reindex(), 1u);  // bad:policy has a readable namespace; the others cannot be indexed
  auto keys = b.keys("mixed");
  EXPECT_EQ(keys, (std::vector<std::string>{"bad:policy", "good:1"}));
  EXPECT_TRUE(b.remove("bad:text"));
  EXPECT_GE(b.clear(std::nullopt), 3u);
  // Nothing is left but the events stream, which records the changes (capped).
  EXPECT_EQ(raw().integer({"DBSIZE"}), 1);
  EXPECT_EQ(raw().integer({"EXISTS", "mcp-refcache:events"}), 1);
}

TEST_F(RedisTest, WrongPasswordIsAClearErrorWithoutThePassword) {
  RedisOptions o = server().options();
  o.password = "definitely-wrong-secret";
  try {
    RedisBackend b(o);
    FAIL() << "connected with a wrong password";
  } catch (const BackendUnavailable& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("authentication"), std::string::npos) << m;
    EXPECT_NE(m.find("127.0.0.1:" + std::to_string(server().port())), std::string::npos) << m;
    EXPECT_EQ(m.find("definitely-wrong-secret"), std::string::npos) << m;
  }
  o.password.clear();
  EXPECT_THROW(RedisBackend{o}, BackendUnavailable);  // NOAUTH
}

TEST_F(RedisTest, AclUserAndDatabaseNumber) {
  raw().cmd({"ACL", "SETUSER", "cacheuser", "on", ">user-secret", "~*", "+@all"});
  RedisOptions o = server().options();
  o.user = "cacheuser";
  o.password = "user-secret";
  o.db = 3;
  RedisBackend b(o);
  b.set("acl:1", make_entry(json::value(1)));
  RawRedis db3(server().port(), server().password(), 3);
  EXPECT_EQ(db3.integer({"EXISTS", "mcp-refcache:entry:acl:1"}), 1);
  EXPECT_EQ(raw().integer({"EXISTS", "mcp-refcache:entry:acl:1"}), 0);
  EXPECT_EQ(b.address(),
            "redis://cacheuser:***@127.0.0.1:" + std::to_string(server().port()) + "/3");
  db3.cmd({"FLUSHDB"});
}

TEST_F(RedisTest, ChangesOfOtherProcessesReachListeners) {
  RedisBackend a(server().options());
  RedisBackend b(server().options());
  for (int i = 0; i < 200 && !(a.sharing_events() && b.sharing_events()); ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(b.sharing_events());
  std::mutex mu;
  std::vector<ChangeEvent> at_a, at_b;
  a.subscribe([&](const ChangeEvent& e) {
    std::lock_guard lock(mu);
    at_a.push_back(e);
  });
  b.subscribe([&](const ChangeEvent& e) {
    std::lock_guard lock(mu);
    at_b.push_back(e);
  });
  a.set("x:1", make_entry(json::value(1), "evs"));
  a.set("x:1", make_entry(json::value(2), "evs"));  // updated
  EXPECT_TRUE(a.remove("x:1"));                     // deleted
  a.set("x:2", make_entry(json::value(1), "evs"));
  a.clear("evs");  // cleared
  auto deadline = SteadyClock::now() + 3s;
  for (;;) {
    {
      std::lock_guard lock(mu);
      if (at_b.size() >= 3 || SteadyClock::now() > deadline) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(at_b.size(), 3u);
  EXPECT_EQ(at_b[0].kind, ChangeKind::kUpdated);
  EXPECT_EQ(at_b[0].ref_id, "x:1");
  EXPECT_EQ(at_b[0].ns, "evs");
  EXPECT_EQ(at_b[1].kind, ChangeKind::kDeleted);
  EXPECT_EQ(at_b[2].kind, ChangeKind::kCleared);
  EXPECT_EQ(at_b[2].ns, "evs");
  EXPECT_EQ(at_a.size(), 3u);  // its own changes once each, not echoed back
}

TEST(RedisFaults, AbsentAtStartupNamesTheAddress) {
  RedisOptions o;
  o.host = "127.0.0.1";
  o.port = free_loopback_port();
  try {
    RedisBackend b(o);
    FAIL() << "connected to nothing";
  } catch (const BackendUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(o.port)), std::string::npos)
        << e.what();
  }
}

TEST(RedisFaults, StoppingFailsFastAndCallsRecoverWhenRedisReturns) {
  RedisServer server;
  RedisOptions o = server.options();
  o.socket_timeout = 1000ms;
  o.connect_timeout = 500ms;
  o.reconnect_backoff_min = 20ms;
  o.reconnect_backoff_max = 200ms;
  RedisBackend b(o);
  b.set("f:1", make_entry(json::value(1)));
  ASSERT_NE(b.get("f:1"), nullptr);
  server.stop();
  for (int i = 0; i < 20; ++i) {
    auto t0 = SteadyClock::now();
    EXPECT_THROW(b.get("f:1"), BackendUnavailable);
    EXPECT_LT(SteadyClock::now() - t0, 1500ms) << "call " << i << " did not fail fast";
  }
  EXPECT_FALSE(b.health().ok);
  server.start();
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    try {
      b.set("f:2", make_entry(json::value(2)));
      back = b.get("f:2") != nullptr;
    } catch (const BackendUnavailable&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_TRUE(back);
  EXPECT_TRUE(b.health().ok);
  EXPECT_GE(b.stats().reconnects, 1u);
  EXPECT_GE(b.stats().errors, 1u);
}

TEST(RedisFaults, AHangingServerTimesOutWithinTheSocketTimeout) {
  RedisServer server;
  RedisOptions o = server.options();
  o.socket_timeout = 300ms;
  o.pool_size = 1;
  o.max_retries = 0;
  RedisBackend b(o);
  b.set("h:1", make_entry(json::value(1)));
  ::kill(server.pid(), SIGSTOP);
  auto t0 = SteadyClock::now();
  // A second caller shares the (multiplexed) connection: it fails too, within its own
  // socket_timeout at most, instead of hanging.
  std::atomic<bool> other_failed{false};
  std::chrono::steady_clock::duration other_took{};
  std::thread other([&] {
    std::this_thread::sleep_for(50ms);
    auto t1 = SteadyClock::now();
    try {
      b.get("h:1");
    } catch (const BackendUnavailable&) {
      other_failed = true;
    }
    other_took = SteadyClock::now() - t1;
  });
  try {
    b.get("h:1");
    ADD_FAILURE() << "a stopped server answered";
  } catch (const BackendUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("no reply within 300 ms"), std::string::npos) << e.what();
  }
  auto took = SteadyClock::now() - t0;
  other.join();
  ::kill(server.pid(), SIGCONT);
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_TRUE(other_failed.load());
  EXPECT_LT(other_took, 1500ms);
  bool back = false;
  for (int i = 0; i < 100 && !back; ++i) {
    try {
      back = b.get("h:1") != nullptr;
    } catch (const BackendUnavailable&) {
      std::this_thread::sleep_for(50ms);
    }
  }
  EXPECT_TRUE(back);
}

TEST(RedisFaults, EntriesSurviveARestartWithAof) {
  RedisServer server(RedisServer::Options{.aof = true});
  {
    RedisBackend b(server.options());
    KeyBinding bind{"persist", "k"};
    b.set("aof:1", make_entry(json::value("kept"), "persist", 3600), &bind);
    b.set("aof:2", make_entry(json::value("kept too"), "persist"));
    TaskRecord t;
    t.ref_id = "aof:1";
    t.status = TaskStatus::kComplete;
    b.put_task(t);
  }
  server.stop();
  server.start();
  RedisBackend b(server.options());
  auto e = b.get("aof:1");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, json::value("kept"));
  EXPECT_EQ(b.find_by_key("persist", "k"), std::optional<std::string>("aof:1"));
  EXPECT_EQ(b.keys("persist"), (std::vector<std::string>{"aof:1", "aof:2"}));
  EXPECT_TRUE(b.get_task("aof:1").has_value());
  RawRedis r(server.port(), server.password());
  EXPECT_GT(r.integer({"PTTL", "mcp-refcache:entry:aof:1"}), 3500 * 1000);
}

TEST(RedisFaults, ConnectionsAreBoundedByThePool) {
  RedisServer server;
  RedisOptions o = server.options();
  o.pool_size = 3;
  o.share_events = false;  // no subscriber connection: only the pool's
  RedisBackend b(o);
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i)
        b.set("pool:" + std::to_string(t) + ":" + std::to_string(i), make_entry(json::value(i)));
    });
  for (auto& th : ts) th.join();
  RawRedis r(server.port(), server.password());
  std::string clients = r.cmd({"CLIENT", "LIST"});
  long lines = std::count(clients.begin(), clients.end(), '\n');  // one line per client
  EXPECT_LE(lines, 3 + 1);                                        // ours + this raw client
  EXPECT_GE(lines, 2);
  EXPECT_EQ(b.keys("public").size(), 800u);
}

}  // namespace
}  // namespace refcache::testing
