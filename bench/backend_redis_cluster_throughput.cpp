// B1 against Redis Cluster: RedisBackend (redis+cluster://) set + get of 1 KB entries from 8
// threads, beside `redis-benchmark --cluster -t set,get -d 1024 -r 100000 -c 8 -n 100000` (random
// keys, so that every primary serves some, as our 100,000 distinct ref ids do) against the
// same cluster (3 primaries, 3 replicas on loopback, started here). Also reports the CPU time
// per operation of the 6 redis-server processes and of the client. Prints one JSON line.
// Not a test. The machine's load average is printed too: on a shared machine the figures
// are noisy.
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

#include "../tests/integration/redis_cluster.hpp"
#include "jsonio/json_text.hpp"
#include "redis_bench_util.hpp"
#include "refcache/redis_backend.hpp"

using namespace refcache;
namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

using bench::proc_cpu_seconds;
using bench::rusage_seconds;

double cluster_cpu_seconds(testing::RedisCluster& c) {
  double s = 0;
  for (std::size_t i = 0; i < c.size(); ++i) s += proc_cpu_seconds(c.node(i).pid());
  return s;
}

std::pair<double, double> run_redis_benchmark(testing::RedisCluster& c, int clients, int requests) {
  std::string cmd = "redis-benchmark --cluster -h 127.0.0.1 -p " +
                    std::to_string(c.node(0).port()) + " -a " + c.password() +
                    " -t set,get -d 1024 -r 100000 -c " + std::to_string(clients) + " -n " +
                    std::to_string(requests) + " -q --csv 2>/dev/null";
  return bench::redis_benchmark_set_get(cmd);
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double l = 0;
  in >> l;
  return l;
}

}  // namespace

int main() {
  constexpr int kThreads = 8, kOps = 100000;
  testing::RedisCluster cluster;
  RedisOptions o = cluster.options();
  if (const char* pool = std::getenv("REFCACHE_BENCH_POOL")) o.pool_size = std::stoul(pool);
  RedisBackend backend(o);

  auto entry = std::make_shared<CacheEntry>();
  entry->value = std::string(1024, 'v');
  entry->ns = "bench";
  entry->created_at = unix_now();
  entry->expires_at = entry->created_at + 3600;
  std::vector<std::string> ids;
  for (int i = 0; i < kOps; ++i) ids.push_back("bench:" + std::to_string(10000000 + i));

  struct Cpu {
    double server = 0, client = 0;
  };
  Cpu ours_cpu, rb_cpu;
  auto run = [&](bool set) {
    std::atomic<int> next{0};
    std::atomic<long> misses{0};
    double s0 = cluster_cpu_seconds(cluster), c0 = rusage_seconds(RUSAGE_SELF);
    auto t0 = SteadyClock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&] {
        for (int i; (i = next.fetch_add(1)) < kOps;) {
          const std::string& id = ids[static_cast<size_t>(set ? i : (i * 7919L) % kOps)];
          if (set)
            backend.set(id, entry);
          else if (!backend.get(id))
            ++misses;
        }
      });
    for (auto& th : ts) th.join();
    double secs = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    ours_cpu.server += cluster_cpu_seconds(cluster) - s0;
    ours_cpu.client += rusage_seconds(RUSAGE_SELF) - c0;
    if (misses) std::cerr << "misses: " << misses << "\n";
    return kOps / secs;
  };
  constexpr int kRounds = 3;
  double load_before = load_average();
  double ours_set = 0, ours_get = 0, rb_set = 0, rb_get = 0;
  for (int round = 0; round < kRounds; ++round) {
    cluster.flush_all();
    ours_set = std::max(ours_set, run(true));
    ours_get = std::max(ours_get, run(false));
    cluster.flush_all();
    double s0 = cluster_cpu_seconds(cluster), c0 = rusage_seconds(RUSAGE_CHILDREN);
    auto [s, g] = run_redis_benchmark(cluster, kThreads, kOps);
    rb_cpu.server += cluster_cpu_seconds(cluster) - s0;
    rb_cpu.client += rusage_seconds(RUSAGE_CHILDREN) - c0;
    rb_set = std::max(rb_set, s);
    rb_get = std::max(rb_get, g);
  }
  if (std::getenv("REFCACHE_BENCH_COMMANDSTATS")) {
    // Where the servers' time went (per node; replicas included).
    for (std::size_t i = 0; i < cluster.size(); ++i)
      std::cerr << "node " << cluster.node(i).port() << ":\n"
                << cluster.cmd(cluster.node(i).port(), {"INFO", "commandstats"}) << "\n";
  }
  auto us_per_op = [&](double secs) {
    return std::round(secs / (2.0 * kOps * kRounds) * 1e6 * 100) / 100;
  };
  auto r3 = [](double v) { return std::round(v * 1000) / 1000; };

  json::object r;
  r["bench"] = "B1_redis_cluster_set_get_1k";
  r["topology"] = "3 primaries + 3 replicas, loopback";
  r["threads"] = kThreads;
  r["ops"] = kOps;
  r["pool_size_per_node"] = o.pool_size;
  r["cluster_groups"] = o.cluster_groups;
  r["statistic"] = "best of 3 interleaved rounds";
  r["value_bytes"] = 1024;
  r["ours_set_per_s"] = static_cast<std::int64_t>(std::round(ours_set));
  r["ours_get_per_s"] = static_cast<std::int64_t>(std::round(ours_get));
  r["redis_benchmark_cluster_set_per_s"] = rb_set;
  r["redis_benchmark_cluster_get_per_s"] = rb_get;
  r["set_ratio"] = rb_set > 0 ? r3(ours_set / rb_set) : 0.0;
  r["get_ratio"] = rb_get > 0 ? r3(ours_get / rb_get) : 0.0;
  double ours = 2 / (1 / ours_set + 1 / ours_get), theirs = 2 / (1 / rb_set + 1 / rb_get);
  r["set_get_ratio"] = theirs > 0 ? r3(ours / theirs) : 0.0;
  r["ours_servers_cpu_us_per_op"] = us_per_op(ours_cpu.server);
  r["ours_client_cpu_us_per_op"] = us_per_op(ours_cpu.client);
  r["redis_benchmark_servers_cpu_us_per_op"] = us_per_op(rb_cpu.server);
  r["redis_benchmark_client_cpu_us_per_op"] = us_per_op(rb_cpu.client);
  r["load_average_before"] = load_before;
  r["load_average_after"] = load_average();
  r["cpus"] = static_cast<std::int64_t>(std::thread::hardware_concurrency());
  std::cout << jsonio::to_string(r) << std::endl;
  return 0;
}
