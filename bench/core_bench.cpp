// Core workloads W1-W5 (docs/benchmarks.md), in-process on the memory backend, character
// mode, max preview size 2000. Prints one JSON line of figures. Not a test.
//
//   W1 set of a 100-int list, distinct keys      W2 get (default preview) of a 1,000-int list
//   W3 resolve of the 1,000-int list             W4 get preview of 100,000 rows
//   W5 cached call n -> [n, n+200), distinct n   and the resident memory of 100,000 W1 entries
//   W6 get shape preview of the W4 rows (one pass over all 100,000)
//
// Arguments name workloads to run (W1 ... W6, RSS); none = all. Skipped figures print as null.
// Running one workload alone is meant for profilers (valgrind --tool=callgrind core_bench W1).
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "jsonio/json_text.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/ref_cache.hpp"

using namespace refcache;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

RefCacheOptions options() {
  RefCacheOptions o;
  o.name = "bench";
  o.preview.size_mode = SizeMode::kCharacter;
  o.preview.max_size = 2000;
  return o;
}

// The list [start, start + n). Also W5's tool body: built the cheapest way Boost.JSON offers
// (resized to n nulls, then assignment: 0.6-0.7 us for 200 ints built and destroyed, where
// push_back costs 2-3x as much and copying a filler value 1.5-2x), so that W5 measures the
// cache around the tool rather than the tool.
json::value int_list(int n, int start) {
  json::array a;
  a.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) a[static_cast<std::size_t>(i)] = start + i;
  return a;
}

long rss_bytes() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// Runs `op` for about `seconds` (at least `min_ops` times) and returns operations per second.
template <class Op>
double rate(Op op, double seconds = 1.0, long min_ops = 1000) {
  long n = 0;
  auto start = Clock::now();
  double elapsed = 0;
  do {
    for (int i = 0; i < 100; ++i) op(n++);
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds || n < min_ops);
  return static_cast<double>(n) / elapsed;
}

std::size_t g_sink = 0;  // printed to stderr at the end so no work is optimised away

// A figure as JSON: null when its workload was not run.
std::string figure(double v, bool ran, int decimals = 0) {
  if (!ran) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const std::set<std::string> only(argv + 1, argv + argc);
  auto run = [&](const char* name) { return only.empty() || only.count(name) > 0; };
  const Actor agent = Actor::agent();

  // Measured first, while the heap is fresh (freed memory of later workloads would hide it).
  long rss_delta = 0;
  std::size_t json_bytes = 0;
  if (run("RSS")) {
    RefCache cache(options());
    long before = rss_bytes();
    for (int i = 0; i < 100000; ++i) {
      json::value v = int_list(100, i * 100);
      json_bytes += jsonio::measure(v).bytes;
      cache.set("", std::move(v));
    }
    rss_delta = rss_bytes() - before;
  }

  // W1: set of a 100-int list, distinct keys. Values are built in batches outside the timed
  // region (the caller's cost, not the cache's) and moved into set(), as a tool's result is
  // handed over; the memory backend keeps their text, and the values are freed in set().
  double w1 = 0;
  if (run("W1")) {
    RefCache cache(options());
    const json::value list = int_list(100, 1000);
    std::vector<json::value> batch;
    std::vector<std::string> keys;
    double timed = 0;
    long n = 0;
    while (timed < 1.0) {
      batch.assign(1000, list);
      keys.clear();
      for (int i = 0; i < 1000; ++i) keys.push_back("k" + std::to_string(n + i));
      auto start = Clock::now();
      for (int i = 0; i < 1000; ++i) g_sink += cache.set(keys[i], std::move(batch[i])).total_size;
      timed += std::chrono::duration<double>(Clock::now() - start).count();
      n += 1000;
    }
    w1 = static_cast<double>(n) / timed;
  }

  // W2/W3: the 1,000-int list.
  double w2 = 0, w3 = 0;
  if (run("W2") || run("W3")) {
    RefCache cache(options());
    auto ref = cache.set("list", int_list(1000, 0));
    if (run("W2"))
      w2 = rate([&](long) {
        auto r = cache.get(ref.ref_id, agent);
        g_sink += std::get<CacheResponse>(r).preview_size;
      });
    if (run("W3"))
      w3 = rate([&](long) { g_sink += cache.resolve(ref.ref_id, agent)->as_array().size(); }, 1.0,
                100000);
  }

  // W4: sample preview of 100,000 rows {"id":i,"name":"user-i","score":i*0.5}; W6: their
  // shape (the default for them), which reads every row.
  double w4 = 0, w6 = 0;
  if (run("W4") || run("W6")) {
    RefCache cache(options());
    json::array rows;
    rows.reserve(100000);
    for (int i = 0; i < 100000; ++i)
      rows.push_back(
          json::object{{"id", i}, {"name", "user-" + std::to_string(i)}, {"score", i * 0.5}});
    auto ref = cache.set("rows", std::move(rows));
    GetOptions sample;
    sample.strategy = PreviewStrategy::kSample;
    if (run("W4"))
      w4 = rate(
          [&](long) {
            g_sink += std::get<CacheResponse>(cache.get(ref.ref_id, agent, sample)).preview_size;
          },
          1.0, 100);
    GetOptions shape;
    shape.strategy = PreviewStrategy::kShape;
    if (run("W6"))
      w6 = rate(
          [&](long) {
            g_sink += std::get<CacheResponse>(cache.get(ref.ref_id, agent, shape)).preview_size;
          },
          2.0, 5);
  }

  // W5: cached call n -> [n, n+200), distinct n (miss path).
  double w5 = 0;
  if (run("W5")) {
    RefCache cache(options());
    CachedCall call(cache, "span", [](const json::object& args, CallContext&) -> json::value {
      return int_list(200, static_cast<int>(args.at("n").as_int64()));
    });
    w5 = rate([&](long i) { g_sink += call.call(json::object{{"n", i}}).size(); });
  }

  std::printf(
      "{\"bench\":\"core\",\"W1_set_per_s\":%s,\"W2_get_preview_1k_per_s\":%s,"
      "\"W3_resolve_per_s\":%s,\"W4_preview_100k_rows_per_s\":%s,\"W5_cached_call_per_s\":%s,"
      "\"W6_shape_100k_rows_per_s\":%s,"
      "\"rss_100k_entries_bytes\":%s,\"json_100k_entries_bytes\":%s,\"rss_over_json\":%s}\n",
      figure(w1, run("W1")).c_str(), figure(w2, run("W2")).c_str(), figure(w3, run("W3")).c_str(),
      figure(w4, run("W4")).c_str(), figure(w5, run("W5")).c_str(),
      figure(w6, run("W6"), 2).c_str(), figure(static_cast<double>(rss_delta), run("RSS")).c_str(),
      figure(static_cast<double>(json_bytes), run("RSS")).c_str(),
      figure(static_cast<double>(rss_delta) / static_cast<double>(json_bytes), run("RSS"), 2)
          .c_str());
  std::fprintf(stderr, "checksum %zu\n", g_sink);
  return 0;
}
