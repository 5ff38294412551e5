// B1: RedisBackend set + get of 1 KB entries from 8 threads, beside redis-benchmark
// (-t set,get -d 1024 -c 8 -n 100000) against the same redis-server, started here.
// Prints one JSON line. Not a test.
#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "../tests/integration/redis_server.hpp"
#include "jsonio/json_text.hpp"
#include "refcache/redis_backend.hpp"

using namespace refcache;
namespace json = boost::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

// {"SET": rps, "GET": rps} from redis-benchmark --csv.
std::pair<double, double> run_redis_benchmark(const testing::RedisServer& server, int clients,
                                              int requests) {
  std::string cmd = "redis-benchmark -h 127.0.0.1 -p " + std::to_string(server.port()) + " -a " +
                    server.password() + " -t set,get -d 1024 -c " + std::to_string(clients) +
                    " -n " + std::to_string(requests) + " -q --csv 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {0, 0};
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  double set = 0, get = 0;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    // "SET","80000.00",...
    auto rps_of = [&](const std::string& l) {
      auto a = l.find("\",\"");
      if (a == std::string::npos) return 0.0;
      return std::atof(l.c_str() + a + 3);
    };
    if (line.rfind("\"SET\"", 0) == 0) set = rps_of(line);
    if (line.rfind("\"GET\"", 0) == 0) get = rps_of(line);
  }
  return {set, get};
}

}  // namespace

int main() {
  constexpr int kThreads = 8, kOps = 100000;
  testing::RedisServer server;
  RedisOptions o = server.options();
  o.pool_size = kThreads;
  RedisBackend backend(o);

  auto entry = std::make_shared<CacheEntry>();
  entry->value = std::string(1024, 'v');
  entry->ns = "bench";
  entry->created_at = unix_now();
  entry->expires_at = entry->created_at + 3600;
  // Sets write fresh ref ids (as a cache does: ref ids are random, overwrites are rare);
  // gets read them back in another order.
  std::vector<std::string> ids;
  for (int i = 0; i < kOps; ++i) ids.push_back("bench:" + std::to_string(10000000 + i));

  auto run = [&](bool set) {
    std::atomic<int> next{0};
    std::atomic<long> misses{0};
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
    if (misses) std::cerr << "misses: " << misses << "\n";
    return kOps / secs;
  };
  // Interleaved rounds, best of each: the machine may be shared, and both sides get the
  // same chances.
  constexpr int kRounds = 3;
  double ours_set = 0, ours_get = 0, rb_set = 0, rb_get = 0;
  testing::RawRedis raw(server.port(), server.password());
  for (int round = 0; round < kRounds; ++round) {
    raw.cmd({"FLUSHALL"});
    ours_set = std::max(ours_set, run(true));
    ours_get = std::max(ours_get, run(false));
    auto [s, g] = run_redis_benchmark(server, kThreads, kOps);
    rb_set = std::max(rb_set, s);
    rb_get = std::max(rb_get, g);
  }

  json::object r;
  r["bench"] = "B1_redis_set_get_1k";
  r["threads"] = kThreads;
  r["ops"] = kOps;
  r["statistic"] = "best of 3 interleaved rounds";
  r["value_bytes"] = 1024;
  r["ours_set_per_s"] = static_cast<std::int64_t>(std::round(ours_set));
  r["ours_get_per_s"] = static_cast<std::int64_t>(std::round(ours_get));
  r["redis_benchmark_set_per_s"] = rb_set;
  r["redis_benchmark_get_per_s"] = rb_get;
  r["set_ratio"] = rb_set > 0 ? std::round(ours_set / rb_set * 1000) / 1000 : 0.0;
  r["get_ratio"] = rb_get > 0 ? std::round(ours_get / rb_get * 1000) / 1000 : 0.0;
  double ours = 2 / (1 / ours_set + 1 / ours_get), theirs = 2 / (1 / rb_set + 1 / rb_get);
  r["set_get_ratio"] = theirs > 0 ? std::round(ours / theirs * 1000) / 1000 : 0.0;
  std::cout << jsonio::to_string(r) << std::endl;
  return 0;
}
