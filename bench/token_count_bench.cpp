// Token counting speed of refcache::Tokenizer::count on one core, beside js-tiktoken's on the
// same texts in the same run (token_count_bench.mjs under the pinned Node 22). Two texts:
//   mixed  the tokenizer test corpus, 1.2 MB of JSON, prose, code, non-Latin scripts, emoji,
//          code-point soup and long runs (tests/integration/token_corpus.hpp): the hard case,
//          with many pieces that are not tokens and must be merged byte by byte;
//   json   1.2 MB of API-style JSON records (ids, names, e-mails, dates, tags, a sentence):
//          what refcache previews most.
// Prints one JSON line: per text and encoding, tokens, MB/s of count() (best run, wall clock
// and thread CPU time), MB/s of encode(), js-tiktoken's MB/s, and the first get()'s time; and
// per text the chars4 approximation's count with its relative error against each encoding.
//   token_count_bench [--seconds S]   measure each case for about S seconds (default 3)
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "integration/token_corpus.hpp"
#include "refcache/tokenizer.hpp"

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

// CPU time of the calling thread, in seconds: the speed on one core even when other
// processes share it (the wall-clock figure is reported too).
double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string json_records(std::size_t min_bytes) {
  static const char* const kNotes[] = {
      "Renewed the subscription after the trial ended.", "Asked for a refund; escalated.",
      "Prefers e-mail. Time zone UTC+2.", "", "Imported from the legacy CRM (batch 7)."};
  static const char* const kTags[] = {"\"vip\"", "\"trial\"", "\"churn-risk\"", "\"eu\"",
                                      "\"beta\""};
  std::string s = "[";
  for (std::size_t i = 0; s.size() < min_bytes; ++i) {
    if (i) s += ',';
    s += "{\"id\":" + std::to_string(100000 + i) + ",\"name\":\"user-" +
         std::to_string(i * 7919 % 100000) + "\",\"email\":\"u" + std::to_string(i) +
         "@example.com\",\"score\":" + std::to_string(i % 1000) + "." +
         std::to_string(i * 37 % 100) + ",\"active\":" + (i % 3 ? "true" : "false") +
         ",\"created_at\":\"2024-" + std::to_string(1 + i % 12) + "-" + std::to_string(1 + i % 28) +
         "T10:" + std::to_string(10 + i % 50) + ":00Z\",\"tags\":[" + kTags[i % 5] + "," +
         kTags[(i / 5) % 5] + "],\"note\":\"" + kNotes[i % 5] + "\"}";
  }
  return s + "]";
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--seconds") seconds = std::atof(argv[i + 1]);
  const std::vector<std::pair<std::string, std::string>> texts = {
      {"mixed",
       refcache::test::TokenCorpus::joined(refcache::test::TokenCorpus::generate(1200 * 1024))},
      {"json", json_records(1200 * 1024)}};

  json::object out{{"bench", "token_count"}};
  json::object load;
  for (const auto e : {refcache::Encoding::kO200kBase, refcache::Encoding::kCl100kBase}) {
    const auto t0 = Clock::now();
    (void)refcache::Tokenizer::get(e);
    load[to_string(e)] = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }
  out["load_ms"] = std::move(load);
  for (const auto& [name, text] : texts) {
    const double mb = static_cast<double>(text.size()) / 1e6;
    json::object per{{"bytes", text.size()}};
    for (const auto e : {refcache::Encoding::kO200kBase, refcache::Encoding::kCl100kBase}) {
      const auto& tok = refcache::Tokenizer::get(e);
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
      per[to_string(e)] = json::object{{"tokens", tokens},
                                       {"encode_tokens", encoded},
                                       {"count_mb_s", mb / best},
                                       {"count_mb_s_cpu", mb / best_cpu},
                                       {"encode_mb_s", mb / encode_s},
                                       {"runs", runs}};
    }
    // The chars4 approximation (ceil(characters / 4), code points) beside both exact counts:
    // its relative error, (approximation - exact) / exact, on this text.
    std::size_t chars = 0;
    for (const unsigned char c : text) chars += (c & 0xC0U) != 0x80U ? 1 : 0;
    const std::size_t approx = (chars + 3) / 4;
    json::object chars4{{"chars", chars}, {"tokens", approx}};
    for (const auto e : {refcache::Encoding::kO200kBase, refcache::Encoding::kCl100kBase}) {
      const auto exact = per.at(to_string(e)).at("tokens").to_number<double>();
      chars4[std::string("error_vs_") + std::string(to_string(e))] =
          (static_cast<double>(approx) - exact) / exact;
    }
    per["chars4"] = std::move(chars4);
    out[name] = std::move(per);
  }

  // js-tiktoken on the same texts.
  std::string args;
  std::vector<std::filesystem::path> files;
  for (const auto& [name, text] : texts) {
    files.push_back(std::filesystem::temp_directory_path() /
                    ("refcache-token-bench-" + std::to_string(::getpid()) + "-" + name + ".txt"));
    std::ofstream f(files.back(), std::ios::binary);
    f << text;
    args += " '" + name + "=" + files.back().string() + "'";
  }
  const std::string cmd =
      std::string("'") + REFCACHE_BENCH_NODE + "' '" + REFCACHE_BENCH_MJS + "'" + args;
  std::string js;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {  // NOLINT(cert-env33-c): our own fixed command
    std::vector<char> buf(4096);
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) js.append(buf.data(), n);
    ::pclose(p);
  }
  for (const auto& f : files) std::filesystem::remove(f);
  boost::system::error_code ec;
  const json::value jv = json::parse(js, ec);
  if (!ec && jv.is_object()) {
    for (const auto& [name, text] : texts) {
      for (const auto* enc : {"o200k_base", "cl100k_base"}) {
        json::object& o = out[name].as_object()[enc].as_object();
        o["js_tiktoken_mb_s"] = jv.at(name).at(enc).at("mb_s");
        o["js_tiktoken_tokens"] = jv.at(name).at(enc).at("tokens");
      }
    }
  } else {
    out["js_tiktoken_error"] = "the js-tiktoken run failed (scripts/setup installs it)";
  }
  std::cout << json::serialize(out) << "\n";
  return 0;
}
