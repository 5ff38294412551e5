// Token counting speed: refcache::Tokenizer::count on one core over the tokenizer test corpus
// (1.2 MB of JSON, prose, code, non-Latin scripts and emoji; tests/integration/token_corpus.hpp),
// beside js-tiktoken's speed on the same text in the same run (token_count_bench.mjs under the
// pinned Node 22). Prints one JSON line; docs/benchmarks.md gives the figures.
//   token_count_bench [--seconds S]   measure each encoding for about S seconds (default 3)
#include <unistd.h>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "integration/token_corpus.hpp"
#include "refcache/tokenizer.hpp"

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// CPU time of the calling thread, in seconds: the speed on one core even when other
// processes share it (the wall-clock figure is reported too).
double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

int main(int argc, char** argv) {
  double seconds = 3;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--seconds") seconds = std::atof(argv[i + 1]);
  const std::string text =
      refcache::test::TokenCorpus::joined(refcache::test::TokenCorpus::generate(1200 * 1024));
  const double mb = static_cast<double>(text.size()) / 1e6;

  json::object out{{"bench", "token_count"}, {"bytes", text.size()}};
  for (const auto e : {refcache::Encoding::kO200kBase, refcache::Encoding::kCl100kBase}) {
    const auto t0 = Clock::now();
    const auto& tok = refcache::Tokenizer::get(e);
    const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::size_t tokens = tok.count(text);  // warm-up
    double best = 1e300, best_cpu = 1e300;
    int runs = 0;
    for (const auto start = Clock::now();
         runs < 3 || std::chrono::duration<double>(Clock::now() - start).count() < seconds;
         ++runs) {
      const auto a = Clock::now();
      const double c = thread_cpu_seconds();
      tokens = tok.count(text);
      best_cpu = std::min(best_cpu, thread_cpu_seconds() - c);
      best = std::min(best, std::chrono::duration<double>(Clock::now() - a).count());
    }
    const auto a = Clock::now();
    const std::size_t encoded = tok.encode(text).size();
    const double encode_s = std::chrono::duration<double>(Clock::now() - a).count();
    out[to_string(e)] = json::object{{"tokens", tokens},
                                     {"encode_tokens", encoded},
                                     {"load_ms", load_ms},
                                     {"count_mb_s", mb / best},
                                     {"count_mb_s_cpu", mb / best_cpu},
                                     {"encode_mb_s", mb / encode_s},
                                     {"runs", runs}};
  }

  // js-tiktoken on the same text.
  const auto file = std::filesystem::temp_directory_path() /
                    ("refcache-token-bench-" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream f(file, std::ios::binary);
    f << text;
  }
  const std::string cmd = std::string("'") + REFCACHE_BENCH_NODE + "' '" + REFCACHE_BENCH_MJS +
                          "' '" + file.string() + "'";
  std::string js;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {  // NOLINT(cert-env33-c): our own fixed command
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) js.append(buf, n);
    ::pclose(p);
  }
  std::filesystem::remove(file);
  boost::system::error_code ec;
  const json::value jv = json::parse(js, ec);
  if (!ec && jv.is_object()) {
    for (const auto* name : {"o200k_base", "cl100k_base"}) {
      json::object& o = out[name].as_object();
      o["js_tiktoken_mb_s"] = jv.at(name).at("mb_s");
      o["js_tiktoken_tokens"] = jv.at(name).at("tokens");
    }
  } else {
    out["js_tiktoken_error"] = "the js-tiktoken run failed (scripts/setup installs it)";
  }
  std::cout << json::serialize(out) << "\n";
  return 0;
}
