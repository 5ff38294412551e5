// B1: RedisBackend set + get of 1 KB entries from 8 threads, beside redis-benchmark
// (-t set,get -d 1024 -c 8 -n 100000) against the same redis-server, started here; and the
// same set + get over TLS (rediss://) on that server's TLS port, for the TLS overhead.
// Also reports the CPU time per operation of redis-server and of the client (ours, or
// redis-benchmark), which says which side limits, and the rates of the simplest client with
// our threading model: 8 threads, each with its own blocking hiredis connection, sending a
// bare SET key value PX ttl (no transaction, no index, no JSON) and GET for the same fresh
// keys. That reference shows what any synchronous client from 8 threads reaches on this
// machine, beside redis-benchmark's single event loop. Prints one JSON line. Not a test.
#include <hiredis/hiredis.h>
#include <sys/resource.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

#include "../tests/integration/redis_server.hpp"
#include "jsonio/json_text.hpp"
#include "redis_bench_util.hpp"
#include "refcache/redis_backend.hpp"

using namespace refcache;
namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

using bench::proc_cpu_seconds;
using bench::rusage_seconds;

// {"SET": rps, "GET": rps} from redis-benchmark --csv.
std::pair<double, double> run_redis_benchmark(const testing::RedisServer& server, int clients,
                                              int requests) {
  std::string cmd = "redis-benchmark -h 127.0.0.1 -p " + std::to_string(server.port()) + " -a " +
                    server.password() + " -t set,get -d 1024 -c " + std::to_string(clients) +
                    " -n " + std::to_string(requests) + " -q --csv 2>/dev/null";
  return bench::redis_benchmark_set_get(cmd);
}

// The reference client: `threads` threads, each with its own blocking hiredis connection,
// SET (with PX) or GET of the keys `keys` in turn. Returns operations per second, or 0 if a
// connection or a command failed (said on stderr).
double run_hiredis_sync(const testing::RedisServer& server, int threads,
                        const std::vector<std::string>& keys, bool set) {
  const std::string value(1024, 'v');
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  auto t0 = SteadyClock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&] {
      redisContext* c = redisConnect("127.0.0.1", server.port());
      auto ok = [&](redisReply* r) {
        bool good = r && r->type != REDIS_REPLY_ERROR;
        if (r) freeReplyObject(r);
        return good;
      };
      if (!c || c->err ||
          !ok(static_cast<redisReply*>(redisCommand(c, "AUTH %s", server.password().c_str())))) {
        failed = true;
      } else {
        for (std::size_t i; !failed && (i = next.fetch_add(1)) < keys.size();) {
          const std::string& k = keys[set ? i : (i * 7919) % keys.size()];
          void* r = set ? redisCommand(c, "SET %b %b PX 3600000", k.data(), k.size(), value.data(),
                                       value.size())
                        : redisCommand(c, "GET %b", k.data(), k.size());
          if (!ok(static_cast<redisReply*>(r))) failed = true;
        }
      }
      if (c) redisFree(c);
    });
  for (auto& th : ts) th.join();
  if (failed) {
    std::cerr << "hiredis reference client failed\n";
    return 0;
  }
  return static_cast<double>(keys.size()) /
         std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

}  // namespace

int main() {
  constexpr int kThreads = 8, kOps = 100000;
  testing::RedisServer server(testing::RedisServer::Options{.tls = true});
  RedisOptions o = server.options();
  // Default pool_size: a few multiplexed connections serve all threads (REFCACHE_BENCH_POOL
  // overrides it, to compare).
  if (const char* pool = std::getenv("REFCACHE_BENCH_POOL")) o.pool_size = std::stoul(pool);
  RedisOptions tls_o = server.tls_options();
  tls_o.pool_size = o.pool_size;
  RedisBackend backend(o);
  RedisBackend tls_backend(tls_o);

  auto entry = std::make_shared<CacheEntry>();
  entry->value = std::string(1024, 'v');
  entry->ns = "bench";
  entry->created_at = unix_now();
  entry->expires_at = entry->created_at + 3600;
  // Sets write fresh ref ids (as a cache does: ref ids are random, overwrites are rare);
  // gets read them back in another order.
  std::vector<std::string> ids;
  for (int i = 0; i < kOps; ++i) ids.push_back("bench:" + std::to_string(10000000 + i));

  struct Cpu {
    double server = 0, client = 0;  // seconds
  };
  Cpu ours_cpu, rb_cpu;
  auto run = [&](RedisBackend& b, bool set, Cpu* cpu) {
    std::atomic<int> next{0};
    std::atomic<long> misses{0};
    double s0 = proc_cpu_seconds(server.pid()), c0 = rusage_seconds(RUSAGE_SELF);
    auto t0 = SteadyClock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&] {
        for (int i; (i = next.fetch_add(1)) < kOps;) {
          const std::string& id = ids[static_cast<size_t>(set ? i : (i * 7919L) % kOps)];
          if (set)
            b.set(id, entry);
          else if (!b.get(id))
            ++misses;
        }
      });
    for (auto& th : ts) th.join();
    double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    if (cpu) {
      cpu->server += proc_cpu_seconds(server.pid()) - s0;
      cpu->client += rusage_seconds(RUSAGE_SELF) - c0;
    }
    if (misses) std::cerr << "misses: " << misses << "\n";
    return kOps / secs;
  };
  // Interleaved rounds, best of each: the machine may be shared, and every side gets the
  // same chances.
  constexpr int kRounds = 3;
  double ours_set = 0, ours_get = 0, rb_set = 0, rb_get = 0, tls_set = 0, tls_get = 0;
  double ref_set = 0, ref_get = 0;
  std::vector<std::string> entry_keys;
  for (const auto& id : ids) entry_keys.push_back("mcp-refcache:entry:" + id);
  testing::RawRedis raw(server.port(), server.password());
  for (int round = 0; round < kRounds; ++round) {
    raw.cmd({"FLUSHALL"});
    ours_set = std::max(ours_set, run(backend, true, &ours_cpu));
    ours_get = std::max(ours_get, run(backend, false, &ours_cpu));
    double s0 = proc_cpu_seconds(server.pid()), c0 = rusage_seconds(RUSAGE_CHILDREN);
    auto [s, g] = run_redis_benchmark(server, kThreads, kOps);
    rb_cpu.server += proc_cpu_seconds(server.pid()) - s0;
    rb_cpu.client += rusage_seconds(RUSAGE_CHILDREN) - c0;
    rb_set = std::max(rb_set, s);
    rb_get = std::max(rb_get, g);
    raw.cmd({"FLUSHALL"});
    tls_set = std::max(tls_set, run(tls_backend, true, nullptr));
    tls_get = std::max(tls_get, run(tls_backend, false, nullptr));
    raw.cmd({"FLUSHALL"});
    ref_set = std::max(ref_set, run_hiredis_sync(server, kThreads, entry_keys, true));
    ref_get = std::max(ref_get, run_hiredis_sync(server, kThreads, entry_keys, false));
  }
  auto us_per_op = [&](double secs) {
    return std::round(secs / (2.0 * kOps * kRounds) * 1e6 * 100) / 100;
  };
  auto r3 = [](double v) { return std::round(v * 1000) / 1000; };

  json::object r;
  r["bench"] = "B1_redis_set_get_1k";
  r["threads"] = kThreads;
  r["ops"] = kOps;
  r["pool_size"] = o.pool_size;
  r["statistic"] = "best of 3 interleaved rounds";
  r["value_bytes"] = 1024;
  r["ours_set_per_s"] = static_cast<std::int64_t>(std::round(ours_set));
  r["ours_get_per_s"] = static_cast<std::int64_t>(std::round(ours_get));
  r["redis_benchmark_set_per_s"] = rb_set;
  r["redis_benchmark_get_per_s"] = rb_get;
  r["set_ratio"] = rb_set > 0 ? r3(ours_set / rb_set) : 0.0;
  r["get_ratio"] = rb_get > 0 ? r3(ours_get / rb_get) : 0.0;
  double ours = 2 / (1 / ours_set + 1 / ours_get), theirs = 2 / (1 / rb_set + 1 / rb_get);
  r["set_get_ratio"] = theirs > 0 ? r3(ours / theirs) : 0.0;
  // CPU microseconds per operation (mean of sets and gets, all rounds).
  r["ours_server_cpu_us_per_op"] = us_per_op(ours_cpu.server);
  r["ours_client_cpu_us_per_op"] = us_per_op(ours_cpu.client);
  r["redis_benchmark_server_cpu_us_per_op"] = us_per_op(rb_cpu.server);
  r["redis_benchmark_client_cpu_us_per_op"] = us_per_op(rb_cpu.client);
  // The reference client (bare blocking hiredis, 8 threads): its rates, its ratio to
  // redis-benchmark, and ours to it.
  r["hiredis_sync_set_per_s"] = static_cast<std::int64_t>(std::round(ref_set));
  r["hiredis_sync_get_per_s"] = static_cast<std::int64_t>(std::round(ref_get));
  double ref = ref_set > 0 && ref_get > 0 ? 2 / (1 / ref_set + 1 / ref_get) : 0.0;
  r["hiredis_sync_set_get_ratio"] = theirs > 0 ? r3(ref / theirs) : 0.0;
  r["ours_vs_hiredis_sync"] = ref > 0 ? r3(ours / ref) : 0.0;
  // The same through rediss:// on the same server.
  r["tls_set_per_s"] = static_cast<std::int64_t>(std::round(tls_set));
  r["tls_get_per_s"] = static_cast<std::int64_t>(std::round(tls_get));
  double tls = 2 / (1 / tls_set + 1 / tls_get);
  r["tls_throughput_vs_plain"] = ours > 0 ? r3(tls / ours) : 0.0;
  std::cout << jsonio::to_string(r) << std::endl;
  return 0;
}
