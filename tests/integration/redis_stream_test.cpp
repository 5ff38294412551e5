// Durable invalidation over the Redis events stream: a server whose connection to Redis is
// cut while another server makes 1,000 changes receives every one of them exactly once after
// it reconnects (as ChangeEvents, and as notifications/resources/updated for an MCP client
// subscribed to the refs), and a stream trimmed past its position gives a resync. On a
// single redis-server, a Redis Cluster (the shared fixture) and a primary/replica pair with
// Sentinel (where a failover moves the stream too), all real processes on loopback.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "jsonio/json_text.hpp"
#include "redis_cluster.hpp"
#include "redis_sentinel.hpp"
#include "redis_server.hpp"
#include "refcache/errors.hpp"
#include "refcache/redis_backend.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "unit/recording_outbound.hpp"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;
using refcache::ChangeEvent;
using refcache::ChangeKind;
using refcache::RedisBackend;
using refcache::RedisOptions;
using refcache::testing::RawRedis;
using refcache::testing::RedisCluster;
using refcache::testing::RedisServer;
using refcache::testing::Sentinel;
using SteadyClock = std::chrono::steady_clock;

// Polls `ok` (bounded); true once it held.
bool within(const std::function<bool()>& ok, std::chrono::milliseconds limit) {
  auto deadline = SteadyClock::now() + limit;
  while (SteadyClock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return ok();
}

// Cuts every connection blocked on the events stream (XREAD) of the nodes at `ports`, by
// CLIENT KILL ID. Returns how many were cut.
int cut_stream_readers(const std::vector<int>& ports, const std::string& password) {
  int cut = 0;
  for (int port : ports) {
    RawRedis r(port, password);
    std::istringstream lines(r.cmd({"CLIENT", "LIST"}));
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find(" cmd=xread") == std::string::npos) continue;
      auto at = line.find("id=");
      if (at == std::string::npos) continue;
      std::string id = line.substr(at + 3, line.find(' ', at) - at - 3);
      if (r.cmd({"CLIENT", "KILL", "ID", id}) == "1") ++cut;
    }
  }
  return cut;
}

// What a session's standalone stream received.
class Capture : public test_support::RecordingOutbound {
 public:
  std::map<std::string, int> updated() {
    std::map<std::string, int> out;
    for (const auto& m : sent_so_far())
      if (m.at("method") == "notifications/resources/updated")
        ++out[std::string(m.at("params").at("uri").as_string())];
    return out;
  }
  int count(const std::string& method) {
    int n = 0;
    for (const auto& m : sent_so_far())
      if (m.at("method").as_string() == method) ++n;
    return n;
  }
};

// A server: a RefCache on a RedisBackend, an in-process MCP server with the change
// notifier, and one MCP client session on it; every ChangeEvent its backend delivers is
// counted by ref.
class Server {
 public:
  explicit Server(const RedisOptions& o)
      : backend_(std::make_shared<RedisBackend>(o)),
        cache(options(backend_)),
        mcp(mcp::ServerOptions{.info = {.name = "s", .version = "1"}, .worker_threads = 2}) {
    refcache::mcp::install(mcp, cache, {});
    notifier = std::make_unique<refcache::mcp::ChangeNotifier>(
        mcp, cache, refcache::mcp::ChangeNotifierOptions{.watch_interval = 0ms});
    backend_->subscribe([this](const ChangeEvent& e) {
      std::lock_guard lk(mu_);
      if (e.kind == ChangeKind::kResync)
        ++resyncs_;
      else
        ++by_ref_[e.ref_id];
      order_.push_back(e.kind);
    });
    session = std::make_shared<mcp::Session>("s1", mcp::TransportKind::kInMemory);
    client = std::make_shared<Capture>();
    session->set_standalone(client);
    info.principal = mcp::Principal{"alice", {}, {}};
    mcp.attach(session);
    send(
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    send(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  }
  ~Server() { notifier.reset(); }

  bj::value send(const std::string& text) {
    auto out = std::make_shared<Capture>();
    mcp.handle(session, jsonio::parse_or_throw(text), out, info);
    EXPECT_TRUE(out->wait()) << text;
    return out->response;
  }
  bool subscribe(const std::string& ref) {
    return send(
               R"({"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"refcache://)" +
               ref + R"("}})")
        .as_object()
        .contains("result");
  }

  RedisBackend& backend() { return *backend_; }
  std::map<std::string, int> events() {
    std::lock_guard lk(mu_);
    return by_ref_;
  }
  int total() {
    std::lock_guard lk(mu_);
    int n = 0;
    for (const auto& [ref, c] : by_ref_) n += c;
    return n;
  }
  int resyncs() {
    std::lock_guard lk(mu_);
    return resyncs_;
  }
  std::vector<ChangeKind> order() {
    std::lock_guard lk(mu_);
    return order_;
  }

 private:
  static refcache::RefCacheOptions options(std::shared_ptr<RedisBackend> b) {
    refcache::RefCacheOptions o;
    o.name = "t";
    o.backend = std::move(b);
    return o;
  }
  std::shared_ptr<RedisBackend> backend_;

 public:
  refcache::RefCache cache;
  mcp::Server mcp;
  std::unique_ptr<refcache::mcp::ChangeNotifier> notifier;
  std::shared_ptr<mcp::Session> session;
  std::shared_ptr<Capture> client;
  mcp::MessageInfo info;

 private:
  std::mutex mu_;
  std::map<std::string, int> by_ref_;
  int resyncs_ = 0;
  std::vector<ChangeKind> order_;
};

constexpr int kRefs = 50;
constexpr int kChanges = 1000;  // kChanges / kRefs overwrites of each ref

// Two servers on one store: `a` has its stream connection cut while `b` overwrites kRefs
// refs kChanges times. Returns the refs (a's client subscribed to each).
std::vector<std::string> cut_while_changing(Server& a, Server& b, const std::vector<int>& ports,
                                            const std::string& password) {
  std::vector<std::string> refs;
  refs.reserve(kRefs);
  refcache::SetOptions so;
  so.ns = "public";
  for (int i = 0; i < kRefs; ++i) refs.push_back(b.cache.set("", bj::value(i), so).ref_id);
  for (const auto& r : refs) EXPECT_TRUE(a.subscribe(r)) << r;
  EXPECT_TRUE(within([&] { return a.backend().sharing_events(); }, 10s));

  EXPECT_GE(cut_stream_readers(ports, password), 1);
  EXPECT_TRUE(within([&] { return !a.backend().sharing_events(); }, 5s));
  for (int i = 0; i < kChanges; ++i) {
    so.ref_id = refs[static_cast<std::size_t>(i % kRefs)];
    b.cache.set("", bj::value(1000 + i), so);
  }
  // The connection stayed down (a's reconnect backoff) while the changes were made.
  EXPECT_FALSE(a.backend().sharing_events()) << "the writes outlasted the backoff";
  EXPECT_EQ(a.total(), 0);
  return refs;
}

RedisOptions with_slow_reconnect(RedisOptions o, std::size_t maxlen = 100000) {
  // Long enough for the 1,000 changes to be made while the connection is down.
  o.reconnect_backoff_min = 4000ms;
  o.reconnect_backoff_max = 4000ms;
  o.events_stream_maxlen = maxlen;
  return o;
}

void expect_every_event_once(Server& a, const std::vector<std::string>& refs) {
  ASSERT_TRUE(within([&] { return a.total() >= kChanges; }, 30s)) << a.total();
  // Every change once, as an event and as a notification to the subscribed client.
  ASSERT_TRUE(within(
      [&] {
        int n = 0;
        for (const auto& [uri, c] : a.client->updated()) n += c;
        return n >= kChanges;
      },
      30s));
  std::this_thread::sleep_for(500ms);  // room for duplicates to show
  EXPECT_EQ(a.total(), kChanges);
  EXPECT_EQ(a.resyncs(), 0);
  auto events = a.events();
  auto notes = a.client->updated();
  EXPECT_EQ(events.size(), refs.size());
  EXPECT_EQ(notes.size(), refs.size());
  for (const auto& r : refs) {
    EXPECT_EQ(events[r], kChanges / kRefs) << r;
    EXPECT_EQ(notes["refcache://" + r], kChanges / kRefs) << r;
  }
}

TEST(RedisStream, AServerCutOffReceivesEveryMissedChangeOnceAfterReconnecting) {
  RedisServer redis;
  Server a(with_slow_reconnect(redis.options()));
  Server b(redis.options());
  auto refs = cut_while_changing(a, b, {redis.port()}, redis.password());
  expect_every_event_once(a, refs);
  // b's own changes reached b's listeners once each, not echoed back from the stream.
  EXPECT_EQ(b.total(), kChanges);
  // The stream holds one entry per change (no change without its event).
  RawRedis raw(redis.port(), redis.password());
  EXPECT_EQ(raw.integer({"XLEN", "mcp-refcache:events"}), kChanges);
}

TEST(RedisStream, AStreamTrimmedPastTheServersPositionGivesAResync) {
  RedisServer redis;
  Server a(with_slow_reconnect(redis.options(), 100));
  RedisOptions ob = redis.options();
  ob.events_stream_maxlen = 100;
  Server b(ob);
  auto refs = cut_while_changing(a, b, {redis.port()}, redis.password());
  ASSERT_TRUE(within([&] { return a.resyncs() >= 1; }, 30s));
  // The events still in the stream follow the resync; the trimmed ones are not replayed.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(a.resyncs(), 1);
  auto order = a.order();
  ASSERT_FALSE(order.empty());
  EXPECT_EQ(order.front(), ChangeKind::kResync);
  EXPECT_LT(a.total(), kChanges);
  RawRedis raw(redis.port(), redis.password());
  EXPECT_LT(raw.integer({"XLEN", "mcp-refcache:events"}), kChanges);
  // The MCP client hears that anything may have changed: the resource list, and every
  // subscribed ref.
  EXPECT_GE(a.client->count("notifications/resources/list_changed"), 1);
  auto notes = a.client->updated();
  EXPECT_EQ(notes.size(), refs.size());
  for (const auto& r : refs) EXPECT_GE(notes["refcache://" + r], 1) << r;
}

TEST(RedisStream, OnAClusterACutOffServerReceivesEveryMissedChangeOnce) {
  RedisCluster cluster;
  std::vector<int> ports;
  for (std::size_t i = 0; i < cluster.size(); ++i) ports.push_back(cluster.node(i).port());
  Server a(with_slow_reconnect(cluster.options()));
  Server b(cluster.options());
  auto refs = cut_while_changing(a, b, ports, cluster.password());
  expect_every_event_once(a, refs);
  EXPECT_EQ(b.total(), kChanges);
}

TEST(RedisStream, OnAClusterATrimmedStreamGivesAResync) {
  RedisCluster cluster;
  std::vector<int> ports;
  for (std::size_t i = 0; i < cluster.size(); ++i) ports.push_back(cluster.node(i).port());
  Server a(with_slow_reconnect(cluster.options(), 100));
  RedisOptions ob = cluster.options();
  ob.events_stream_maxlen = 100;
  Server b(ob);
  cut_while_changing(a, b, ports, cluster.password());
  ASSERT_TRUE(within([&] { return a.resyncs() >= 1; }, 30s));
  EXPECT_EQ(a.order().front(), ChangeKind::kResync);
  EXPECT_LT(a.total(), kChanges);
}

TEST(RedisStream, AStreamCapOfZeroIsRefused) {
  RedisOptions o;
  o.port = 1;  // never reached: the options are refused first
  o.events_stream_maxlen = 0;
  EXPECT_THROW(RedisBackend{o}, refcache::InvalidArgument);
}

// A primary with one replica, watched by three Sentinels (quorum 2), and the backend options
// of a redis+sentinel:// URL naming them.
struct SentinelGroup {
  RedisServer primary;
  RedisServer replica{RedisServer::Options{.extra_args = {"--replicaof", "127.0.0.1",
                                                          std::to_string(primary.port()),
                                                          "--masterauth", primary.password()}}};
  Sentinel s1{primary.port(), primary.password()}, s2{primary.port(), primary.password()},
      s3{primary.port(), primary.password()};
  RedisOptions options;

  SentinelGroup() {
    EXPECT_TRUE(within(
        [&] {
          return replica_says({"INFO", "replication"}).find("master_link_status:up") !=
                 std::string::npos;
        },
        15s));
    for (Sentinel* s : {&s1, &s2, &s3})
      EXPECT_TRUE(within(
          [&] {
            return !s->cmd({"SENTINEL", "replicas", "mymaster"}).empty();
          },
          20s));
    options = refcache::parse_redis_url("redis+sentinel://:" + primary.password() +
                                        "@127.0.0.1:" + std::to_string(s1.port()) +
                                        ",127.0.0.1:" + std::to_string(s2.port()) +
                                        ",127.0.0.1:" + std::to_string(s3.port()) + "/mymaster/0");
    options.breaker_threshold = 0;  // the stream is watched, not the breaker
  }
  std::string replica_says(const std::vector<std::string>& cmd) {
    return RawRedis(replica.port(), replica.password()).cmd(cmd);
  }
};

TEST(RedisStream, OnSentinelACutOffServerReceivesEveryMissedChangeOnce) {
  SentinelGroup g;
  Server a(with_slow_reconnect(g.options));
  Server b(g.options);
  auto refs = cut_while_changing(a, b, {g.primary.port()}, g.primary.password());
  expect_every_event_once(a, refs);
  EXPECT_EQ(b.total(), kChanges);
}

TEST(RedisStream, OnSentinelATrimmedStreamGivesAResync) {
  SentinelGroup g;
  Server a(with_slow_reconnect(g.options, 100));
  RedisOptions ob = g.options;
  ob.events_stream_maxlen = 100;
  Server b(ob);
  auto refs = cut_while_changing(a, b, {g.primary.port()}, g.primary.password());
  ASSERT_TRUE(within([&] { return a.resyncs() >= 1; }, 30s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(a.resyncs(), 1);
  EXPECT_EQ(a.order().front(), ChangeKind::kResync);
  EXPECT_LT(a.total(), kChanges);
  EXPECT_GE(a.client->count("notifications/resources/list_changed"), 1);
  auto notes = a.client->updated();
  EXPECT_EQ(notes.size(), refs.size());
}

TEST(RedisStream, AfterASentinelFailoverAServerResumesOnTheNewPrimary) {
  SentinelGroup g;
  RedisServer& replica = g.replica;
  Sentinel& s1 = g.s1;
  auto replica_says = [&](const std::vector<std::string>& cmd) { return g.replica_says(cmd); };
  const RedisOptions& o = g.options;
  RedisOptions oa = o;
  oa.reconnect_backoff_min = 2000ms;  // b writes on the new primary before a reconnects
  oa.reconnect_backoff_max = 2000ms;
  Server a(oa);
  Server b(o);
  std::vector<std::string> refs;
  refs.reserve(kRefs);
  refcache::SetOptions so;
  so.ns = "public";
  for (int i = 0; i < kRefs; ++i) refs.push_back(b.cache.set("", bj::value(i), so).ref_id);
  for (const auto& r : refs) ASSERT_TRUE(a.subscribe(r)) << r;
  ASSERT_TRUE(within([&] { return a.backend().sharing_events(); }, 10s));
  auto change = [&](int from, int to) {
    for (int i = from; i < to; ++i) {
      so.ref_id = refs[static_cast<std::size_t>(i % kRefs)];
      b.cache.set("", bj::value(1000 + i), so);
    }
  };
  change(0, kChanges / 2);
  // Every change (and its event) is on the replica before it is promoted.
  ASSERT_TRUE(within(
      [&] {
        return replica_says({"XLEN", "mcp-refcache:events"}) == std::to_string(kChanges / 2);
      },
      10s));
  ASSERT_TRUE(within([&] { return s1.cmd({"SENTINEL", "FAILOVER", "mymaster"}) == "OK"; }, 30s));
  const std::string moved = "127.0.0.1:" + std::to_string(replica.port());
  ASSERT_TRUE(within(
      [&] {
        try {
          b.backend().get(refs.front());
        } catch (const std::exception&) {
        }
        return b.backend().connected_to() == moved && a.backend().connected_to() == moved;
      },
      30s));
  change(kChanges / 2, kChanges);
  expect_every_event_once(a, refs);
}

}  // namespace
