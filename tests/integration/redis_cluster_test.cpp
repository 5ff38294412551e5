// RedisBackend on Redis Cluster: the slot function and redirection parsing (unit), the
// redis+cluster:// URL, and against a real 3-primary, 3-replica cluster on loopback (started
// by the fixture, never skipped): keys spread over every primary, listing and clearing across
// them, a slot migrated with live data (ASK, TRYAGAIN, MOVED) while reads and writes go on,
// and failovers under continuous load (CLUSTER FAILOVER on a replica; SIGKILL of a primary).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC bug 105329
#endif

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "integration/backend_fixture.hpp"
#include "refcache/backends/redis_cluster.hpp"
#include "refcache/errors.hpp"

namespace refcache::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using redis_detail::crc16;
using redis_detail::key_hash_slot;
using redis_detail::parse_redirect;

// --- unit ---------------------------------------------------------------------------------

TEST(RedisClusterSlots, Crc16KnownValues) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  EXPECT_EQ(crc16(""), 0);
  EXPECT_EQ(key_hash_slot("123456789"), 0x31C3 % 16384);
  // Values given by CLUSTER KEYSLOT (Redis documentation).
  EXPECT_EQ(key_hash_slot("foo"), 12182);
  EXPECT_EQ(key_hash_slot("somekey"), 11058);
}

TEST(RedisClusterSlots, HashTags) {
  EXPECT_EQ(key_hash_slot("{user1000}.following"), key_hash_slot("{user1000}.followers"));
  EXPECT_EQ(key_hash_slot("{user1000}.following"), key_hash_slot("user1000"));
  EXPECT_EQ(key_hash_slot("foo{}{bar}"), crc16("foo{}{bar}") % 16384);  // empty tag: whole key
  EXPECT_EQ(key_hash_slot("foo{{bar}}zap"), key_hash_slot("{bar"));     // first '{' to first '}'
  EXPECT_EQ(key_hash_slot("foo{bar}{zap}"), key_hash_slot("bar"));
  EXPECT_EQ(key_hash_slot("no-closing{brace"), crc16("no-closing{brace") % 16384);
  // Our layout: every key of a ref group shares the group's slot.
  EXPECT_EQ(key_hash_slot("mcp-refcache:{g7}:entry:a"), key_hash_slot("mcp-refcache:{g7}:idx:x"));
  EXPECT_NE(key_hash_slot("mcp-refcache:{g7}:entry:a"), key_hash_slot("mcp-refcache:{g8}:entry:a"));
}

TEST(RedisClusterSlots, ParsesRedirections) {
  auto m = parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->ask);
  EXPECT_EQ(m->slot, 3999);
  EXPECT_EQ(m->host, "127.0.0.1");
  EXPECT_EQ(m->port, 6381);
  auto a = parse_redirect("ASK 16383 redis-2.example:7002");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->ask);
  EXPECT_EQ(a->slot, 16383);
  EXPECT_EQ(a->host, "redis-2.example");
  EXPECT_EQ(a->port, 7002);
  auto unknown_host = parse_redirect("MOVED 0 :7000");
  ASSERT_TRUE(unknown_host);
  EXPECT_EQ(unknown_host->host, "");
  auto v6 = parse_redirect("MOVED 5 [::1]:7000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7000);
  EXPECT_FALSE(parse_redirect("ERR unknown command"));
  EXPECT_FALSE(parse_redirect("MOVED 16384 h:1"));
  EXPECT_FALSE(parse_redirect("MOVED x h:1"));
  EXPECT_FALSE(parse_redirect("MOVED 1 h"));
  EXPECT_FALSE(parse_redirect("MOVED 1 h:0"));
  EXPECT_FALSE(parse_redirect("TRYAGAIN Multiple keys request during rehashing of slot"));
}

TEST(RedisClusterConfig, ParsesClusterUrls) {
  RedisOptions o = parse_redis_url(
      "redis+cluster://app:s3cret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002,node4"
      "?cluster_groups=16&call_timeout=2.5");
  ASSERT_EQ(o.cluster_nodes.size(), 4u);
  EXPECT_EQ(o.cluster_nodes[0].host, "10.0.0.1");
  EXPECT_EQ(o.cluster_nodes[0].port, 7000);
  EXPECT_EQ(o.cluster_nodes[2].host, "::1");
  EXPECT_EQ(o.cluster_nodes[2].port, 7002);
  EXPECT_EQ(o.cluster_nodes[3].host, "node4");
  EXPECT_EQ(o.cluster_nodes[3].port, 6379);
  EXPECT_EQ(o.user, "app");
  EXPECT_EQ(o.password, "s3cret");
  EXPECT_EQ(o.cluster_groups, 16);
  EXPECT_EQ(o.call_timeout, 2500ms);
  EXPECT_FALSE(o.tls);
  EXPECT_EQ(o.redacted_address(),
            "redis+cluster://app:***@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002,node4:6379");
  RedisOptions t = parse_redis_url("rediss+cluster://h:1/?ssl_ca_certs=/ca.pem");
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.tls_ca_file, "/ca.pem");
  EXPECT_EQ(t.cluster_groups, 64);
  EXPECT_EQ(t.redacted_address(), "rediss+cluster://h:1");
}

TEST(RedisClusterConfig, BadClusterUrlsNameTheProblem) {
  auto message = [](const std::string& url) -> std::string {
    try {
      parse_redis_url(url);
    } catch (const InvalidArgument& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_NE(message("redis+cluster://").find("names no seed node"), std::string::npos);
  EXPECT_NE(message("redis+cluster://h:1/3").find("database 0 only"), std::string::npos);
  EXPECT_NE(message("redis+cluster://h:1?db=2").find("database 0 only"), std::string::npos);
  EXPECT_NE(message("redis+cluster://h:99999").find("Redis Cluster seed port"), std::string::npos);
  EXPECT_NE(message("redis+cluster://h:1,:2").find("empty host"), std::string::npos);
  EXPECT_NE(message("redis+cluster://h:1?cluster_groups=0").find("cluster_groups"),
            std::string::npos);
  EXPECT_NE(message("redis+cluster://h:1?bogus=1").find("unknown Redis URL parameter 'bogus'"),
            std::string::npos);
}

TEST(RedisClusterConfig, GarbageClusterUrlsAreInvalidArgumentsOnly) {
  std::minstd_rand rng(11);
  const std::string alphabet = "ab:@,[]/?=&%0123456789.{}-";
  for (int i = 0; i < 20000; ++i) {
    std::string url = i % 2 ? "redis+cluster://" : "rediss+cluster://";
    std::size_t len = rng() % 24;
    for (std::size_t k = 0; k < len; ++k) url += alphabet[rng() % alphabet.size()];
    try {
      RedisOptions o = parse_redis_url(url);
      EXPECT_FALSE(o.cluster_nodes.empty()) << url;
      for (const auto& n : o.cluster_nodes) {
        EXPECT_FALSE(n.host.empty()) << url;
        EXPECT_GE(n.port, 1) << url;
        EXPECT_LE(n.port, 65535) << url;
      }
      (void)o.redacted_address();
    } catch (const InvalidArgument&) {
    }
  }
}

// --- against a real cluster ----------------------------------------------------------------

TEST(RedisCluster, SlotFunctionAgreesWithTheServer) {
  auto& c = shared_cluster();
  int port = c.primary_ports().front();
  std::minstd_rand rng(7);
  for (int i = 0; i < 200; ++i) {
    std::string key = "k" + std::to_string(rng());
    if (i % 3 == 0) key = "x{" + std::to_string(i % 11) + "}y" + key;
    if (i % 7 == 0) key = "{}" + key;
    EXPECT_EQ(std::to_string(key_hash_slot(key)), c.cmd(port, {"CLUSTER", "KEYSLOT", key})) << key;
  }
}

TEST(RedisCluster, OpensFromAUrl) {
  auto& c = shared_cluster();
  std::shared_ptr<Backend> b = open_backend(c.url() + "?cluster_groups=64&call_timeout=5");
  EXPECT_EQ(b->kind(), "redis");
  b->set("url:1", make_entry(json::value("x"), "url"));
  auto e = b->get("url:1");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, json::value("x"));
  EXPECT_TRUE(b->remove("url:1"));
  // A dead seed first: the next one answers.
  RedisOptions o = c.options();
  o.cluster_nodes.insert(o.cluster_nodes.begin(), {"127.0.0.1", free_loopback_port()});
  RedisBackend other(o);
  EXPECT_TRUE(other.health().ok) << other.health().detail;
}

TEST(RedisCluster, UnreachableClusterNamesTheSeeds) {
  int p1 = free_loopback_port(), p2 = free_loopback_port();
  RedisOptions o = parse_redis_url("redis+cluster://127.0.0.1:" + std::to_string(p1) +
                                   ",127.0.0.1:" + std::to_string(p2));
  o.connect_timeout = 500ms;
  try {
    RedisBackend b(o);
    FAIL() << "connected to nothing";
  } catch (const BackendUnavailable& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("no cluster node answered CLUSTER SLOTS"), std::string::npos) << w;
    EXPECT_NE(w.find("127.0.0.1:" + std::to_string(p1)), std::string::npos) << w;
    EXPECT_NE(w.find("127.0.0.1:" + std::to_string(p2)), std::string::npos) << w;
  }
  // A wrong password is said as such, and never shown.
  RedisOptions bad = shared_cluster().options();
  bad.password = "wrong-pass";
  try {
    RedisBackend b(bad);
    FAIL() << "wrong password accepted";
  } catch (const BackendUnavailable& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("authentication failed"), std::string::npos) << w;
    EXPECT_EQ(w.find("wrong-pass"), std::string::npos) << w;
  }
}

TEST(RedisCluster, ServersWithAnotherGroupCountAreRefused) {
  auto& c = shared_cluster();
  c.flush_all();
  RedisBackend first(c.options());  // records groups=64
  first.set("lay:1", make_entry(json::value(1), "lay"));
  RedisOptions other = c.options();
  other.cluster_groups = 16;
  try {
    RedisBackend b(other);
    FAIL() << "a server with another cluster_groups was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("uses groups=64"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("this backend groups=16"), std::string::npos) << e.what();
  }
  RedisBackend same(c.options());
  EXPECT_NE(same.get("lay:1"), nullptr);
}

TEST(RedisCluster, SpreadsOverEveryPrimaryListsAndClearsAcrossThem) {
  auto& c = shared_cluster();
  c.flush_all();
  RedisBackend b(c.options());
  auto primaries = c.primary_ports();
  ASSERT_EQ(primaries.size(), 3u);
  std::string to = b.connected_to();
  EXPECT_EQ(std::count(to.begin(), to.end(), ','), 2) << "three primaries: " << to;
  EXPECT_EQ(b.health().detail, "ok (3 primaries)");
  std::set<std::string> want;
  for (int i = 0; i < 300; ++i) {
    std::string id = "sp:" + std::to_string(100000 + i);
    KeyBinding bind{"spread", "key-" + std::to_string(i)};
    b.set(id, make_entry(json::value(i), "spread"), i % 2 ? &bind : nullptr);
    want.insert(id);
  }
  for (int i = 0; i < 40; ++i)
    b.set("ot:" + std::to_string(i), make_entry(json::value(i), "other"));
  for (int p : primaries) EXPECT_GT(c.dbsize(p), 20) << "primary " << p << " holds too few keys";

  // Paging through the namespace: every id once, in order, full pages but the last.
  for (std::size_t limit : {1u, 7u, 17u, 64u, 299u, 300u, 1000u}) {
    std::vector<std::string> got;
    std::string cursor;
    for (int pages = 0; pages < 400; ++pages) {
      ListPage page = b.list("spread", cursor, limit);
      EXPECT_LE(page.ref_ids.size(), limit);
      got.insert(got.end(), page.ref_ids.begin(), page.ref_ids.end());
      if (page.next_cursor.empty()) break;
      EXPECT_EQ(page.ref_ids.size(), limit);
      cursor = page.next_cursor;
    }
    EXPECT_EQ(got, std::vector<std::string>(want.begin(), want.end())) << "limit " << limit;
  }
  EXPECT_EQ(b.keys().size(), 340u);
  EXPECT_EQ(b.find_by_key("spread", "key-7"), std::optional<std::string>("sp:100007"));

  EXPECT_EQ(b.clear("spread"), 300u);
  EXPECT_TRUE(b.keys("spread").empty());
  EXPECT_EQ(b.find_by_key("spread", "key-7"), std::nullopt);
  EXPECT_EQ(b.keys("other").size(), 40u);
  EXPECT_EQ(b.clear(std::nullopt), 40u);
  EXPECT_TRUE(b.keys().empty());
  // Nothing is left behind on any primary but the layout key ("<prefix>cluster-layout") and
  // the events stream, which records the changes (capped).
  long long left = 0, streams = 0;
  for (int p : primaries) {
    left += c.dbsize(p);
    streams += c.cmd(p, {"EXISTS", "{refcache-events}:mcp-refcache:"}) == "1" ? 1 : 0;
  }
  EXPECT_EQ(left, 2);
  EXPECT_EQ(streams, 1);
}

TEST(RedisCluster, EventsAndExpiriesReachOtherProcesses) {
  auto& c = shared_cluster();
  c.flush_all();
  RedisOptions o = c.options();
  o.expiry_sweep_interval = 200ms;
  RedisBackend writer(o), watcher(o);
  std::mutex mu;
  std::vector<ChangeEvent> seen;
  watcher.subscribe([&](const ChangeEvent& e) {
    std::lock_guard lock(mu);
    seen.push_back(e);
  });
  auto has = [&](ChangeKind k, const std::string& ref) {
    std::lock_guard lock(mu);
    for (const auto& e : seen)
      if (e.kind == k && e.ref_id == ref) return true;
    return false;
  };
  auto within = [](const std::function<bool()>& ok, std::chrono::milliseconds limit) {
    auto deadline = SteadyClock::now() + limit;
    while (SteadyClock::now() < deadline) {
      if (ok()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return ok();
  };
  ASSERT_TRUE(within([&] { return writer.sharing_events() && watcher.sharing_events(); }, 5000ms));
  writer.set("ev:a", make_entry(json::value(1), "ev"));
  writer.set("ev:a", make_entry(json::value(2), "ev"));
  writer.set("ev:b", make_entry(json::value(1), "ev", 0.3));
  EXPECT_TRUE(writer.remove("ev:a"));
  EXPECT_TRUE(within([&] { return has(ChangeKind::kUpdated, "ev:a"); }, 3000ms));
  EXPECT_TRUE(within([&] { return has(ChangeKind::kDeleted, "ev:a"); }, 3000ms));
  // The expiry sweeps of both backends visit every group; the event comes once.
  EXPECT_TRUE(within([&] { return has(ChangeKind::kExpired, "ev:b"); }, 5000ms));
  std::this_thread::sleep_for(500ms);
  std::lock_guard lock(mu);
  EXPECT_EQ(std::count_if(seen.begin(), seen.end(),
                          [](const ChangeEvent& e) {
                            return e.kind == ChangeKind::kExpired && e.ref_id == "ev:b";
                          }),
            1);
}

TEST(RedisClusterTls, WorksOverTlsEverywhere) {
  RedisCluster c(1000, 6, /*tls=*/true);
  RedisOptions o = c.tls_options();
  RedisBackend b(o);
  EXPECT_EQ(b.address().rfind("rediss+cluster://:***@127.0.0.1:", 0), 0u) << b.address();
  // The slot map names the TLS ports (CLUSTER SLOTS asked over TLS).
  std::string to = b.connected_to();
  for (int p : c.primary_ports()) {
    EXPECT_EQ(to.find("127.0.0.1:" + std::to_string(p) + ","), std::string::npos) << to;
    EXPECT_NE(to.find("127.0.0.1:" + std::to_string(c.node_by_port(p)->tls_port())),
              std::string::npos)
        << to;
  }
  KeyBinding bind{"tls", "k"};
  for (int i = 0; i < 100; ++i)
    b.set("tl:" + std::to_string(i), make_entry(json::value(i), "tls"), i == 7 ? &bind : nullptr);
  for (int p : c.primary_ports()) EXPECT_GT(c.dbsize(p), 0) << p;
  EXPECT_EQ(b.keys("tls").size(), 100u);
  EXPECT_EQ(b.find_by_key("tls", "k"), std::optional<std::string>("tl:7"));
  auto e = b.get("tl:42");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->value, json::value(42));
  EXPECT_EQ(b.clear("tls"), 100u);
  // A client that does not trust the CA is refused, saying why.
  RedisOptions other = o;
  other.tls_ca_file = c.node(0).file("other-ca.crt");
  try {
    RedisBackend untrusting(other);
    FAIL() << "connected without trusting the CA";
  } catch (const BackendUnavailable& err) {
    EXPECT_NE(std::string(err.what()).find("certificate verification failed"), std::string::npos)
        << err.what();
  }
}

// The id of a node (by port), from CLUSTER MYID.
std::string node_id(RedisCluster& c, int port) {
  return c.cmd(port, {"CLUSTER", "MYID"});
}

TEST(RedisCluster, MigratingASlotWithLiveDataKeepsCallsWorking) {
  auto& c = shared_cluster();
  c.flush_all();
  RedisOptions o = c.options();
  RedisBackend b(o);
  // Refs of group 5: all their keys share one slot.
  const int group = 5;
  std::string tag = o.key_prefix + "{g" + std::to_string(group) + "}:";
  int slot = key_hash_slot(tag + "entry:x");
  auto ref_in_group = [&](int n) {
    for (int k = 0;; ++k) {
      std::string id = "mig:" + std::to_string(n) + ":" + std::to_string(k);
      if (crc16(id) % o.cluster_groups == group) return id;
    }
  };
  std::vector<std::string> refs;
  for (int i = 0; i < 60; ++i) {
    refs.push_back(ref_in_group(i));
    b.set(refs.back(), make_entry(json::value(i), "mig"));
  }
  // Source: the primary owning the slot; target: another primary.
  int source = 0, target = 0;
  for (int p : c.primary_ports()) {
    std::string owner = c.cmd(p, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)});
    if (owner != "0") source = p;
  }
  ASSERT_NE(source, 0);
  for (int p : c.primary_ports())
    if (p != source) target = p;
  std::string source_id = node_id(c, source), target_id = node_id(c, target);

  std::atomic<bool> stop{false};
  std::atomic<int> ops{0}, failures{0};
  std::mutex mu;
  std::vector<std::string> written;  // refs written during the migration
  std::string first_error;
  auto note = [&](const std::exception& e) {
    std::lock_guard lock(mu);
    if (first_error.empty()) first_error = e.what();
    ++failures;
  };
  std::vector<std::thread> load;
  for (int t = 0; t < 3; ++t)
    load.emplace_back([&, t] {
      for (int i = 0; !stop; ++i) {
        try {
          if (t == 0) {
            auto e = b.get(refs[static_cast<std::size_t>(i) % refs.size()]);
            if (!e)
              throw std::runtime_error("lost " + refs[static_cast<std::size_t>(i) % refs.size()]);
          } else if (t == 1) {
            if (b.keys("mig").size() < refs.size()) throw std::runtime_error("short listing");
          } else {
            std::string id = ref_in_group(1000 + i);
            b.set(id, make_entry(json::value(i), "mig"));
            std::lock_guard lock(mu);
            written.push_back(id);
          }
          ++ops;
        } catch (const std::exception& e) {
          note(e);
        }
      }
    });
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(c.cmd(target, {"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", source_id}),
            "OK");
  ASSERT_EQ(c.cmd(source, {"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", target_id}),
            "OK");
  // Move the keys in two batches, calls going on in between (ASK, TRYAGAIN).
  for (int batch = 0; batch < 2; ++batch) {
    std::this_thread::sleep_for(150ms);
    std::string keys = c.cmd(source, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "1000"});
    std::vector<std::string> args = {"MIGRATE", "127.0.0.1", std::to_string(target), "",    "0",
                                     "5000",    "AUTH",      c.password(),           "KEYS"};
    std::istringstream in(keys);
    std::vector<std::string> all;
    for (std::string k; std::getline(in, k);)
      if (!k.empty()) all.push_back(k);
    std::size_t n = batch == 0 ? all.size() / 2 : all.size();
    if (n == 0) continue;
    args.insert(args.end(), all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
    ASSERT_EQ(c.cmd(source, args), "OK");
  }
  std::this_thread::sleep_for(150ms);
  // Assign the slot to the target everywhere (the source then answers MOVED).
  for (int p : {target, source})
    ASSERT_EQ(c.cmd(p, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", target_id}), "OK");
  for (int p : c.primary_ports())
    c.cmd(p, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", target_id});
  std::this_thread::sleep_for(200ms);
  stop = true;
  for (auto& th : load) th.join();
  EXPECT_EQ(failures.load(), 0) << first_error;
  EXPECT_GT(ops.load(), 20);
  EXPECT_GT(b.cluster_redirections(), 0u) << "no ASK/MOVED/TRYAGAIN seen";
  std::cout << ops.load() << " calls during the migration, " << b.cluster_redirections()
            << " redirections or waits\n";
  EXPECT_EQ(c.cmd(source, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}), "0");
  EXPECT_NE(c.cmd(target, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}), "0");
  for (const auto& id : refs) EXPECT_NE(b.get(id), nullptr) << id;
  for (const auto& id : written) EXPECT_NE(b.get(id), nullptr) << id;
  std::set<std::string> listed;
  for (const auto& id : b.keys("mig")) listed.insert(id);
  for (const auto& id : refs) EXPECT_TRUE(listed.count(id)) << id;
  for (const auto& id : written) EXPECT_TRUE(listed.count(id)) << id;
  c.wait_healthy(20s);
}

// Continuous load (writes of new refs, reads of old ones) on `b` while `failover` runs;
// every call is bounded; returns what happened.
struct LoadReport {
  std::vector<std::string> acked;           // refs whose set() returned, in order
  std::vector<SteadyClock::time_point> at;  // when
  int failures = 0;
  int other_errors = 0;
  std::string first_other;
  std::chrono::milliseconds longest{0};
  SteadyClock::time_point last_failure{};
};

class Load {
 public:
  Load(RedisBackend& b, int threads) : b_(b) {
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this, t] { run(t); });
  }
  ~Load() { stop(); }
  // The number of refs acknowledged so far.
  std::size_t acked() {
    std::lock_guard lock(mu_);
    return r_.acked.size();
  }
  // True once a write was acknowledged after `t`.
  bool acked_after(SteadyClock::time_point t) {
    std::lock_guard lock(mu_);
    return !r_.at.empty() && r_.at.back() > t;
  }
  LoadReport stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    std::lock_guard lock(mu_);
    return r_;
  }

 private:
  void run(int t) {
    for (int i = 0; !stop_; ++i) {
      std::string id = "fo:" + std::to_string(t) + ":" + std::to_string(i);
      auto start = SteadyClock::now();
      try {
        if (i % 2 == 0) {
          b_.set(id, make_entry(json::value(i), "fo"));
          std::lock_guard lock(mu_);
          r_.acked.push_back(id);
          r_.at.push_back(SteadyClock::now());
        } else {
          std::string old;
          {
            std::lock_guard lock(mu_);
            if (!r_.acked.empty()) old = r_.acked[static_cast<std::size_t>(i) % r_.acked.size()];
          }
          if (!old.empty()) b_.get(old);
        }
      } catch (const BackendUnavailable&) {
        std::lock_guard lock(mu_);
        ++r_.failures;
        r_.last_failure = SteadyClock::now();
        std::this_thread::sleep_for(5ms);
      } catch (const std::exception& e) {
        std::lock_guard lock(mu_);
        if (r_.other_errors++ == 0) r_.first_other = e.what();
      }
      auto took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
      std::lock_guard lock(mu_);
      r_.longest = std::max(r_.longest, took);
    }
  }
  RedisBackend& b_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  LoadReport r_;
  std::vector<std::thread> threads_;
};

RedisOptions failover_options(RedisCluster& c, bool breaker) {
  RedisOptions o = c.options();
  o.call_timeout = 3000ms;
  o.socket_timeout = 1000ms;
  o.connect_timeout = 500ms;
  if (!breaker) o.breaker_threshold = 0;  // default: 5 failures, open for 1 s
  return o;
}

// Until the node on `port` is a primary according to every running node. Bounded.
bool wait_primary(RedisCluster& c, int port, std::chrono::seconds limit) {
  auto deadline = SteadyClock::now() + limit;
  while (SteadyClock::now() < deadline) {
    try {
      auto ps = c.primary_ports();
      if (std::find(ps.begin(), ps.end(), port) != ps.end() &&
          c.cmd(port, {"ROLE"}).rfind("master", 0) == 0)
        return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

void check_failover(RedisCluster& c, bool kill, bool breaker) {
  RedisOptions o = failover_options(c, breaker);
  RedisBackend b(o);
  int primary = c.primary_ports().front();
  int replica = c.replica_of(primary);
  ASSERT_NE(replica, 0);
  Load load(b, 4);
  std::this_thread::sleep_for(400ms);
  // Everything acknowledged before this point is on the replicas once wait_replicated says so.
  std::size_t safe = load.acked();
  ASSERT_TRUE(c.wait_replicated(5000ms));
  auto failover_start = SteadyClock::now();
  if (kill) {
    c.node_by_port(primary)->kill9();
  } else {
    ASSERT_EQ(c.cmd(replica, {"CLUSTER", "FAILOVER"}), "OK");
  }
  ASSERT_TRUE(wait_primary(c, replica, 20s)) << "the replica did not take over";
  auto failover_done = SteadyClock::now();
  if (!kill) {
    // The old primary has become the new one's replica.
    bool demoted = false;
    for (int i = 0; i < 500 && !demoted; ++i) {
      demoted = c.cmd(primary, {"ROLE"}).rfind("slave", 0) == 0;
      if (!demoted) std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(demoted);
  }
  // The load goes on for 1.5 s after the failover, and until a write succeeds after it (a
  // loaded machine can take longer to find the new primary, and the breaker, when on, keeps
  // calls away for its open time); bounded, so that a backend that never recovers fails below.
  std::this_thread::sleep_for(1500ms);
  const auto recovered_by = SteadyClock::now() + o.call_timeout + o.breaker_open_time + 5s;
  while (!load.acked_after(failover_done + 500ms) && SteadyClock::now() < recovered_by)
    std::this_thread::sleep_for(50ms);
  LoadReport r = load.stop();
  // Healthy again (within the breaker's open time, when it is on).
  Health h{false, ""};
  for (int i = 0; i < 100 && !(h = b.health()).ok; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(h.ok) << h.detail;
  // The events connection is back too (on another node if its node was killed).
  bool events = false;
  for (int i = 0; i < 300 && !(events = b.sharing_events()); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(events);
  auto window =
      std::chrono::duration_cast<std::chrono::milliseconds>(failover_done - failover_start);
  std::cout << (kill ? "[kill] " : "[CLUSTER FAILOVER] ") << (breaker ? "(breaker on) " : "")
            << "failover took " << window.count() << " ms; " << r.acked.size()
            << " writes acknowledged, " << r.failures
            << " calls failed with BackendUnavailable; longest call " << r.longest.count()
            << " ms\n";
  EXPECT_EQ(r.other_errors, 0) << r.first_other;
  if (!kill) {
    EXPECT_GT(b.cluster_redirections(), 0u) << "the demoted primary's MOVED";
  }
  // No call hangs: each ends within call_timeout (plus scheduling slack).
  EXPECT_LE(r.longest, o.call_timeout + 1500ms);
  // Failures only within the failover (and one call_timeout after it): calls work again.
  if (r.failures > 0) {
    EXPECT_LE(r.last_failure,
              failover_done + o.call_timeout + 1000ms + (breaker ? o.breaker_open_time : 0ms));
  }
  EXPECT_GT(r.acked.size(), safe);
  auto after =
      std::count_if(r.at.begin(), r.at.end(), [&](auto t) { return t > failover_done + 500ms; });
  EXPECT_GT(after, 0) << "no write succeeded after the failover";
  // No acknowledged write that the replica had is lost; with a manual failover (the replica
  // catches up before it takes over) none at all.
  std::size_t must = kill ? safe : r.acked.size();
  std::size_t lost = 0, lost_unsafe = 0;
  for (std::size_t i = 0; i < r.acked.size(); ++i) {
    bool there = false;
    for (int attempt = 0; attempt < 3 && !there; ++attempt) {
      try {
        there = b.get(r.acked[i]) != nullptr;
        break;
      } catch (const BackendUnavailable&) {
        std::this_thread::sleep_for(100ms);
      }
    }
    if (!there) (i < must ? lost : lost_unsafe)++;
  }
  EXPECT_EQ(lost, 0u) << "of " << must << " replicated writes";
  std::cout << "  " << lost_unsafe << " of " << (r.acked.size() - must)
            << " writes acknowledged after the last replication check were lost\n";
}

TEST(RedisClusterFailover, ManualFailoverUnderLoad) {
  RedisCluster c(1000);
  check_failover(c, false, false);
}

TEST(RedisClusterFailover, KilledPrimaryUnderLoad) {
  RedisCluster c(1000);
  check_failover(c, true, false);
}

TEST(RedisClusterFailover, KilledPrimaryUnderLoadWithTheCircuitBreaker) {
  RedisCluster c(1000);
  check_failover(c, true, true);
}

}  // namespace
}  // namespace refcache::testing
