// "Ask the data": query_cached_result and search_cached_result on a large ref, beside jq on
// the same data in the same run. Not a test: it prints one JSON line and asserts nothing.
//
// Two values, generated deterministically:
//   table  --rows N objects (default 100,000) shaped like the data-analysis server's sample
//          data scaled up: {id, category, region, status, value, quantity, ts, note}, value a
//          sample in [0, 100] with two decimals, note a few words; a rare word ("quokka") in
//          a handful of notes;
//   log    about --log-mb MB (default 10) of log lines "timestamp LEVEL component message"
//          with ids, paths and latencies; a rare word ("kraken") in a handful of lines. The
//          ref holds the log as the list of its lines (what a tool answering log lines gives;
//          a single string would be one row, which SQL cannot split cheaply).
// Each value is stored in a RefCache on the memory backend (--backend sqlite: a SQLite file in
// the temporary folder, removed at the end) and asked three questions through
// the MCP tools, called in-process on an mcp::Server with refcache::mcp::install() (the path
// an agent's call takes after its transport): a group-by (count and mean per category; count
// per level), a filter (rows matching a predicate, sorted, first 20) and a full-text search
// for the rare word. Each question is timed on its first call (a miss: the value is loaded
// into SQLite and the answer computed and stored) and as the median of --reps repeats (cache
// hits). jq (and grep -c for the log search) answers the same questions from the same data
// written to a temporary file, spawned and timed wall clock as a user would run it, parse of
// the file included. The answers are compared; "ok" is false, with "problems", when any
// differ. `jq_over_first` is jq's time over our first call (> 1: we answer sooner).
// The shape preview of each value (get_cached_result, preview_strategy "shape", a budget of
// 4,000 characters) is timed the same way, with the size of the answer in characters and
// o200k_base tokens.
// Token counting (o200k_base) is measured on --token-mb MB of each text beside js-tiktoken
// (bench/token_count_bench.mjs under the pinned Node 22) on the same bytes.
//
//   ref_query_bench [--rows N] [--log-mb N] [--reps N] [--token-mb N] [--backend memory|sqlite]
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "jsonio/json_text.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache/sqlite_backend.hpp"
#include "refcache/tokenizer.hpp"
#include "refcache_mcp/cached_tools.hpp"

namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// splitmix64: the same data on every run and machine.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : s_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  double uniform() { return static_cast<double>(next() >> 11U) * 0x1.0p-53; }

 private:
  std::uint64_t s_;
};

constexpr std::string_view kTableTerm = "quokka";
constexpr std::string_view kLogTerm = "kraken";

const std::vector<std::string> kWords = {
    "order",   "shipped", "delayed", "refund",   "customer", "priority", "warehouse", "invoice",
    "batch",   "return",  "damaged", "express",  "standard", "pickup",   "confirmed", "pending",
    "vendor",  "audit",   "repeat",  "discount", "bulk",     "sample",   "archive",   "review",
    "contact", "updated", "note",    "manual",   "import",   "export",   "quarterly", "annual"};

// The table value: `rows` objects; about one row in 14,000 has the rare word in its note.
json::array make_rows(std::size_t rows) {
  static const char* const kCategories[] = {"books",   "clothing", "electronics", "garden",
                                            "grocery", "health",   "hobby",       "home",
                                            "music",   "office",   "sports",      "toys"};
  static const char* const kRegions[] = {"north", "south", "east", "west", "central"};
  static const char* const kStatus[] = {"ok", "ok", "ok", "late", "returned"};
  Rng rng(42);
  json::array a;
  a.reserve(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    // A sample like create_sample_data's "normal" in [0, 100]: mean 50, std about 16.7.
    double x = 0;
    for (int k = 0; k < 4; ++k) x += rng.uniform();
    const double value = std::round(x * 25.0 * 100.0) / 100.0;
    std::string note;
    const std::size_t words = 3 + rng.below(6);
    for (std::size_t w = 0; w < words; ++w) {
      if (w) note += ' ';
      note += kWords[rng.below(kWords.size())];
    }
    if (i % 14009 == 77) note += " " + std::string(kTableTerm) + " sighting";
    char ts[32];
    (void)std::snprintf(ts, sizeof ts, "2026-%02zu-%02zuT%02zu:%02zu:%02zuZ", 1 + i % 12,
                        1 + i % 28, rng.below(24), rng.below(60), rng.below(60));
    a.push_back(json::object{{"id", static_cast<std::int64_t>(i)},
                             {"category", kCategories[rng.below(12)]},
                             {"region", kRegions[rng.below(5)]},
                             {"status", kStatus[rng.below(5)]},
                             {"value", value},
                             {"quantity", static_cast<std::int64_t>(1 + rng.below(50))},
                             {"ts", ts},
                             {"note", note}});
  }
  return a;
}

// The log: lines until `bytes` (newlines counted); about one line in 12,000 has the rare word.
// Every line is "YYYY-MM-DDTHH:MM:SS.mmmZ LEVEL component message ... took=Nms".
std::vector<std::string> make_log(std::size_t bytes) {
  static const char* const kComponents[] = {"http.server", "db.pool", "payments", "auth",
                                            "scheduler",   "cache",   "mailer"};
  Rng rng(7);
  std::vector<std::string> lines;
  std::size_t total = 0;
  std::int64_t ms = 0;
  char buf[512];
  for (std::size_t i = 0; total < bytes; ++i) {
    ms += static_cast<std::int64_t>(1 + rng.below(40));
    const std::int64_t s = ms / 1000;
    const std::size_t r = rng.below(100);
    const char* level = r < 20 ? "DEBUG" : r < 80 ? "INFO" : r < 92 ? "WARN" : "ERROR";
    const char* component = kComponents[rng.below(7)];
    const std::size_t took = 1 + rng.below(rng.below(10) == 0 ? 5000 : 200);
    int n = 0;
    switch (rng.below(4)) {
      case 0:
        n = std::snprintf(buf, sizeof buf,
                          "request id=%08llx user=u%zu method=GET path=/api/v2/orders/%zu "
                          "status=%d",
                          static_cast<unsigned long long>(rng.next() & 0xffffffffULL),
                          rng.below(50000), rng.below(1000000), r < 92 ? 200 : 503);
        break;
      case 1:
        n = std::snprintf(buf, sizeof buf, "query %s on table %s rows=%zu",
                          kWords[rng.below(32)].c_str(), kWords[rng.below(32)].c_str(),
                          rng.below(10000));
        break;
      case 2:
        n = std::snprintf(buf, sizeof buf, "job %s-%zu %s after %zu attempts",
                          kWords[rng.below(32)].c_str(), rng.below(100000),
                          r < 92 ? "finished" : "failed", 1 + rng.below(5));
        break;
      default:
        n = std::snprintf(buf, sizeof buf, "session %08llx %s %s for tenant t%zu",
                          static_cast<unsigned long long>(rng.next() & 0xffffffffULL),
                          kWords[rng.below(32)].c_str(), kWords[rng.below(32)].c_str(),
                          rng.below(300));
        break;
    }
    std::string message(buf, static_cast<std::size_t>(std::max(n, 0)));
    if (i % 11939 == 5) message += " " + std::string(kLogTerm) + " detected in worker pool";
    char head[96];
    (void)std::snprintf(head, sizeof head, "2026-03-%02lldT%02lld:%02lld:%02lld.%03lldZ %s %s ",
                        static_cast<long long>(1 + (s / 86400) % 28),
                        static_cast<long long>((s / 3600) % 24),
                        static_cast<long long>((s / 60) % 60), static_cast<long long>(s % 60),
                        static_cast<long long>(ms % 1000), level, component);
    lines.push_back(std::string(head) + message + " took=" + std::to_string(took) + "ms");
    total += lines.back().size() + 1;
  }
  return lines;
}

// Waits for the server's answer to one in-process request.
class Reply : public mcp::Outbound {
 public:
  bool send(std::string /*text*/) override { return true; }
  void respond(std::string text, int /*http_status*/) override {
    const std::lock_guard lk(mu_);
    response_ = std::move(text);
    done_ = true;
    cv_.notify_all();
  }
  void accepted() override {
    const std::lock_guard lk(mu_);
    done_ = true;
    cv_.notify_all();
  }
  // The response text, or nullopt when none came within 10 minutes.
  std::optional<std::string> wait() {
    std::unique_lock lk(mu_);
    if (!cv_.wait_for(lk, 600s, [&] { return done_; })) return std::nullopt;
    return response_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string response_;
  bool done_ = false;
};

// One MCP server with refcache's tools over a cache on `backend`, and one client session.
class Harness {
 public:
  explicit Harness(std::shared_ptr<refcache::Backend> backend)
      : cache_(cache_options(std::move(backend))),
        server_(mcp::ServerOptions{.info = {.name = "ref-query-bench", .version = "1"},
                                   .worker_threads = 2}) {
    refcache::mcp::InstallOptions o;
    o.query_deadline = 600s;  // a busy machine must not turn a slow answer into an error
    refcache::mcp::install(server_, cache_, o);
    session_ = std::make_shared<mcp::Session>("bench", mcp::TransportKind::kInMemory);
    info_.principal = mcp::Principal{"bench", {}, {}};
    server_.attach(session_);
    send(jsonio::parse_or_throw(
        R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}})"));
    send(jsonio::parse_or_throw(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  }

  std::string store(json::value v) {
    refcache::SetOptions so;
    so.policy = refcache::AccessPolicy::public_policy();
    return cache_.set("", std::move(v), so).ref_id;
  }

  // The tool's result (structuredContent and its text mirror), or throws with the tool's error.
  json::object result(const std::string& tool, json::object args) {
    const json::value r = send(json::object{{"jsonrpc", "2.0"},
                                            {"id", ++next_id_},
                                            {"method", "tools/call"},
                                            {"params", {{"name", tool}, {"arguments", args}}}});
    const json::object* result = nullptr;
    if (r.is_object())
      if (const json::value* v = r.as_object().if_contains("result"); v && v->is_object())
        result = &v->as_object();
    if (!result || (result->contains("isError") && result->at("isError") == true) ||
        !result->contains("structuredContent"))
      throw std::runtime_error(tool + " failed: " + json::serialize(r).substr(0, 500));
    return *result;
  }

  // The tool's answer (the rows or hits), or throws with the tool's error.
  json::value call(const std::string& tool, json::object args) {
    const json::object r = result(tool, std::move(args));
    const json::value& s = r.at("structuredContent");
    if (s.as_object().contains("value")) return s.at("value");
    throw std::runtime_error(tool + " answered a preview, not the whole answer");
  }

 private:
  static refcache::RefCacheOptions cache_options(std::shared_ptr<refcache::Backend> backend) {
    refcache::RefCacheOptions o;
    o.name = "bench";
    o.preview.size_mode = refcache::SizeMode::kCharacter;
    o.preview.max_size = 100000;  // the answers here come whole
    o.backend = std::move(backend);
    return o;
  }

  json::value send(const json::value& msg) {
    auto out = std::make_shared<Reply>();
    server_.handle(session_, msg, out, info_);
    const std::optional<std::string> text = out->wait();
    if (!text) throw std::runtime_error("no answer from the server");
    return text->empty() ? json::value() : jsonio::parse_or_throw(*text);
  }

  refcache::RefCache cache_;
  mcp::Server server_;
  std::shared_ptr<mcp::Session> session_;
  mcp::MessageInfo info_;
  std::int64_t next_id_ = 0;
};

// Runs a shell command and answers its stdout and wall time (spawn to exit) in ms.
std::pair<std::string, double> run(const std::string& cmd) {
  const auto t0 = Clock::now();
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {  // NOLINT(cert-env33-c): our own fixed commands
    std::vector<char> buf(65536);
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    ::pclose(p);
  }
  return {out, ms_since(t0)};
}

std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// jq's answer to `filter` over `file`, parsed, and its time.
std::pair<json::value, double> jq(const std::string& options, const std::string& filter,
                                  const std::filesystem::path& file) {
  auto [out, ms] =
      run("jq -c " + options + " " + quoted(filter) + " " + quoted(file.string()) + " 2>/dev/null");
  boost::system::error_code ec;
  json::value v = json::parse(out, ec);
  return {ec ? json::value() : std::move(v), ms};
}

double as_number(const json::value& v) {
  return v.is_number() ? v.to_number<double>() : NAN;
}

bool close(double a, double b) {
  return std::abs(a - b) <= 1e-9 * std::max({1.0, std::abs(a), std::abs(b)});
}

// Compares two lists of row objects member by member (numbers within 1e-9, relatively).
bool same_rows(const json::value& ours, const json::value& theirs,
               const std::vector<std::string>& keys) {
  if (!ours.is_array() || !theirs.is_array()) return false;
  const json::array& a = ours.as_array();
  const json::array& b = theirs.as_array();
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    for (const auto& k : keys) {
      const json::value* x = a[i].is_object() ? a[i].as_object().if_contains(k) : nullptr;
      const json::value* y = b[i].is_object() ? b[i].as_object().if_contains(k) : nullptr;
      if (!x || !y) return false;
      if (x->is_number() && y->is_number() ? !close(as_number(*x), as_number(*y)) : *x != *y)
        return false;
    }
  }
  return true;
}

// The sorted row numbers of search hits.
json::array hit_rows(const json::value& hits) {
  std::vector<std::int64_t> rows;
  if (hits.is_array())
    for (const auto& h : hits.as_array())
      if (h.is_object() && h.as_object().contains("row"))
        rows.push_back(h.at("row").to_number<std::int64_t>());
  std::sort(rows.begin(), rows.end());
  json::array a;
  for (auto r : rows) a.push_back(r);
  return a;
}

struct Question {
  std::string name;
  std::string tool;
  json::object args;
  std::string jq_options;
  std::string jq_filter;
  // Compares our answer with jq's; true when they agree.
  std::function<bool(const json::value&, const json::value&)> agree;
};

struct Totals {
  bool ok = true;
  json::array problems;
};

json::object ask(Harness& h, const std::string& ref, const std::filesystem::path& file, Question q,
                 int reps, const std::string& dataset, Totals& totals) {
  q.args["ref_id"] = ref;
  json::object out;
  json::value ours;
  try {
    auto t0 = Clock::now();
    ours = h.call(q.tool, q.args);
    out["first_ms"] = ms_since(t0);
    std::vector<double> hits;
    for (int i = 0; i < reps; ++i) {
      t0 = Clock::now();
      (void)h.call(q.tool, q.args);
      hits.push_back(ms_since(t0));
    }
    out["hit_ms"] = median(hits);
  } catch (const std::exception& e) {
    totals.ok = false;
    totals.problems.push_back(json::string(dataset + "." + q.name + ": " + e.what()));
    return out;
  }
  auto [theirs, jq_ms] = jq(q.jq_options, q.jq_filter, file);
  out["jq_ms"] = jq_ms;
  out["jq_over_first"] = jq_ms / out["first_ms"].as_double();
  out["jq_over_hit"] = jq_ms / out["hit_ms"].as_double();
  if (theirs.is_null()) {
    out["agree"] = false;
    totals.ok = false;
    totals.problems.push_back(
        json::string(dataset + "." + q.name + ": jq gave no answer (scripts/setup installs jq)"));
    return out;
  }
  const bool agree = q.agree(ours, theirs);
  out["agree"] = agree;
  if (!agree) {
    totals.ok = false;
    totals.problems.push_back(json::string(dataset + "." + q.name + ": ours " +
                                           json::serialize(ours).substr(0, 300) + " jq " +
                                           json::serialize(theirs).substr(0, 300)));
  }
  return out;
}

// The shape preview of `ref` as an agent gets it from get_cached_result, within a budget of
// kShapeChars characters (about the 1,000 tokens a server gives by default): the time of the
// first call and the median of `reps` more, and the size of the answer's text in characters
// and o200k_base tokens, which is what the agent's context pays for.
constexpr std::int64_t kShapeChars = 4000;
json::object shape_preview(Harness& h, const std::string& ref, int reps) {
  const json::object args{
      {"ref_id", ref}, {"preview_strategy", "shape"}, {"max_size", kShapeChars}};
  auto t0 = Clock::now();
  const json::object first = h.result("get_cached_result", args);
  const double first_ms = ms_since(t0);
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    t0 = Clock::now();
    h.result("get_cached_result", args);
    times.push_back(ms_since(t0));
  }
  std::string text;
  for (const auto& c : first.at("content").as_array())
    if (c.as_object().contains("text")) text += c.at("text").as_string();
  const auto& tok = refcache::Tokenizer::get(refcache::Encoding::kO200kBase);
  const json::value& s = first.at("structuredContent");
  return {{"first_ms", first_ms},
          {"repeat_ms", median(times)},
          {"strategy",
           s.as_object().contains("preview_strategy") ? s.at("preview_strategy") : json::value()},
          {"chars", text.size()},
          {"tokens", tok.count(text)}};
}

// Tokens and MB/s of Tokenizer::count (o200k_base, best of 3) on `text`.
json::object count_tokens(const std::string& text) {
  const auto& tok = refcache::Tokenizer::get(refcache::Encoding::kO200kBase);
  std::size_t tokens = 0;
  double best = 1e300;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = Clock::now();
    tokens = tok.count(text);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return {{"bytes", text.size()},
          {"tokens", tokens},
          {"mb_s", static_cast<double>(text.size()) / 1e6 / best}};
}

// The first `bytes` of `text`, cut after a newline or a comma when there is one near the end.
std::string prefix(const std::string& text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  const std::size_t cut = text.find_last_of("\n,", bytes);
  return text.substr(0, cut == std::string::npos || cut < bytes / 2 ? bytes : cut + 1);
}

// `text` as a number > 0, or nullopt when it is not one.
std::optional<double> positive_number(const char* text) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(v > 0) || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t rows = 100000;
  double log_mb = 10;
  double token_mb = 1;
  int reps = 5;
  std::string backend_name = "memory";
  bool usage = argc % 2 == 0;  // every flag takes a value
  for (int i = 1; !usage && i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::optional<double> v = positive_number(argv[i + 1]);
    if (flag == "--backend")
      backend_name = argv[i + 1];
    else if (v && flag == "--rows")
      rows = static_cast<std::size_t>(*v);
    else if (v && flag == "--log-mb")
      log_mb = *v;
    else if (v && flag == "--reps")
      reps = std::max(1, static_cast<int>(*v));
    else if (v && flag == "--token-mb")
      token_mb = *v;
    else
      usage = true;
  }
  if (usage || rows == 0 || (backend_name != "memory" && backend_name != "sqlite")) {
    std::cerr << "usage: ref_query_bench [--rows N] [--log-mb N] [--reps N] [--token-mb N] "
                 "[--backend memory|sqlite] (N: positive numbers)\n";
    return 2;
  }
  const auto tmp = std::filesystem::temp_directory_path();
  const std::string pid = std::to_string(::getpid());
  const std::filesystem::path table_file = tmp / ("refcache-query-bench-" + pid + "-table.json");
  const std::filesystem::path log_file = tmp / ("refcache-query-bench-" + pid + "-log.txt");

  const std::filesystem::path db_file = tmp / ("refcache-query-bench-" + pid + ".db");
  json::object out{{"bench", "ref_query"}, {"backend", backend_name}};
  {
    // The machine's load when the run starts: the figures are read beside it.
    std::string load;
    std::getline(std::ifstream("/proc/loadavg"), load);
    out["loadavg"] = load.substr(0, load.find(' '));
  }
  Totals totals;
  std::shared_ptr<refcache::Backend> backend;
  if (backend_name == "sqlite") {
    refcache::SQLiteOptions so;
    so.path = db_file.string();
    backend = std::make_shared<refcache::SQLiteBackend>(so);
  } else {
    backend = std::make_shared<refcache::MemoryBackend>();
  }
  auto harness = std::make_unique<Harness>(backend);
  Harness& h = *harness;

  // The table.
  json::array table = make_rows(rows);
  const std::string table_text = json::serialize(table);
  std::ofstream(table_file, std::ios::binary) << table_text;
  json::object t{{"rows", rows}, {"bytes", table_text.size()}};
  auto t0 = Clock::now();
  const std::string table_ref = h.store(std::move(table));
  t["store_ms"] = ms_since(t0);
  const std::string term_t(kTableTerm);
  t["group"] = ask(
      h, table_ref, table_file,
      {.name = "group",
       .tool = "query_cached_result",
       .args = {{"sql",
                 "SELECT category, count(*) AS n, avg(value) AS mean FROM data GROUP BY category "
                 "ORDER BY category"}},
       .jq_options = "",
       .jq_filter = "group_by(.category) | map({category: .[0].category, n: length, mean: "
                    "(map(.value) | add / length)})",
       .agree =
           [](const json::value& a, const json::value& b) {
             return same_rows(a, b, {"category", "n", "mean"});
           }},
      reps, "table", totals);
  t["filter"] = ask(
      h, table_ref, table_file,
      {.name = "filter",
       .tool = "query_cached_result",
       .args = {{"sql",
                 "SELECT id, value FROM data WHERE region = 'north' AND status = 'late' AND "
                 "value > 75 ORDER BY value DESC, id LIMIT 20"}},
       .jq_options = "",
       .jq_filter = "map(select(.region == \"north\" and .status == \"late\" and .value > 75)) | "
                    "sort_by([-.value, .id]) | .[:20] | map({id, value})",
       .agree =
           [](const json::value& a, const json::value& b) {
             return same_rows(a, b, {"id", "value"});
           }},
      reps, "table", totals);
  t["search"] =
      ask(h, table_ref, table_file,
          {.name = "search",
           .tool = "search_cached_result",
           .args = {{"query", term_t}, {"limit", 100}},
           .jq_options = "",
           .jq_filter = "[to_entries[] | select(.value.note | test(\"" + term_t + "\")) | .key]",
           .agree = [](const json::value& a,
                       const json::value& b) { return hit_rows(a) == b && !b.as_array().empty(); }},
          reps, "table", totals);
  t["shape"] = shape_preview(h, table_ref, reps);
  out["table"] = std::move(t);

  // The log.
  const std::vector<std::string> lines = make_log(static_cast<std::size_t>(log_mb * 1024 * 1024));
  std::string log_text;
  json::array log_value;
  log_value.reserve(lines.size());
  for (const auto& l : lines) {
    log_text += l;
    log_text += '\n';
    log_value.emplace_back(l);
  }
  std::ofstream(log_file, std::ios::binary) << log_text;
  json::object l{{"lines", lines.size()}, {"bytes", log_text.size()}};
  t0 = Clock::now();
  const std::string log_ref = h.store(std::move(log_value));
  l["store_ms"] = ms_since(t0);
  const std::string term_l(kLogTerm);
  l["group"] =
      ask(h, log_ref, log_file,
          {.name = "group",
           .tool = "query_cached_result",
           .args = {{"sql",
                     "SELECT substr(j.value, 26, instr(substr(j.value, 26), ' ') - 1) AS level, "
                     "count(*) AS n FROM data, json_each(data.value) AS j GROUP BY level ORDER BY "
                     "level"}},
           .jq_options = "-R -n",
           .jq_filter = "[inputs | split(\" \")[1]] | group_by(.) | map({level: .[0], n: length})",
           .agree =
               [](const json::value& a, const json::value& b) {
                 return same_rows(a, b, {"level", "n"});
               }},
          reps, "log", totals);
  l["filter"] = ask(
      h, log_ref, log_file,
      {.name = "filter",
       .tool = "query_cached_result",
       .args = {{"sql",
                 "SELECT j.key AS line, CAST(substr(j.value, instr(j.value, ' took=') + 6) AS "
                 "INTEGER) AS took FROM data, json_each(data.value) AS j WHERE instr(j.value, ' "
                 "ERROR payments ') > 0 ORDER BY took DESC, line LIMIT 20"}},
       .jq_options = "-R -n",
       .jq_filter = "[foreach inputs as $l (-1; . + 1; if ($l | contains(\" ERROR payments \")) "
                    "then {line: ., took: ($l | capture(\" took=(?<t>[0-9]+)ms\").t | tonumber)} "
                    "else empty end)] | sort_by([-.took, .line]) | .[:20]",
       .agree =
           [](const json::value& a, const json::value& b) {
             return same_rows(a, b, {"line", "took"});
           }},
      reps, "log", totals);
  json::object search =
      ask(h, log_ref, log_file,
          {.name = "search",
           .tool = "search_cached_result",
           .args = {{"query", term_l}, {"limit", 100}},
           .jq_options = "-R -n",
           .jq_filter = "[foreach inputs as $l (-1; . + 1; if ($l | test(\"" + term_l +
                        "\")) then . else empty end)]",
           .agree = [](const json::value& a,
                       const json::value& b) { return hit_rows(a) == b && !b.as_array().empty(); }},
          reps, "log", totals);
  {
    auto [count, grep_ms] = run("grep -c " + term_l + " " + quoted(log_file.string()));
    search["grep_ms"] = grep_ms;
    const long n = std::strtol(count.c_str(), nullptr, 10);
    search["grep_count"] = n;
    const auto want = std::count_if(lines.begin(), lines.end(), [&](const std::string& line) {
      return line.find(term_l) != std::string::npos;
    });
    if (n != want) {
      totals.ok = false;
      totals.problems.push_back(json::string("log.search: grep -c counted " + std::to_string(n) +
                                             " lines, the log has " + std::to_string(want)));
    }
  }
  l["search"] = std::move(search);
  l["shape"] = shape_preview(h, log_ref, reps);
  out["log"] = std::move(l);

  // Token counting, beside js-tiktoken on the same bytes.
  const std::size_t token_bytes = static_cast<std::size_t>(token_mb * 1e6);
  const std::vector<std::pair<std::string, std::string>> texts = {
      {"log", prefix(log_text, token_bytes)}, {"table", prefix(table_text, token_bytes)}};
  json::object tokens;
  std::string args;
  std::vector<std::filesystem::path> files;
  for (const auto& [name, text] : texts) {
    tokens[name] = count_tokens(text);
    std::string file_name = "refcache-query-bench-";
    file_name.append(pid).append("-tokens-").append(name).append(".txt");
    files.push_back(tmp / file_name);
    std::ofstream(files.back(), std::ios::binary) << text;
    args += ' ';
    args += quoted(name + "=" + files.back().string());
  }
  auto [js, js_ms] =
      run(quoted(REFCACHE_BENCH_NODE) + " " + quoted(REFCACHE_BENCH_MJS) + args + " 2>/dev/null");
  (void)js_ms;
  boost::system::error_code ec;
  const json::value jv = json::parse(js, ec);
  for (const auto& [name, text] : texts) {
    json::object& o = tokens[name].as_object();
    if (!ec && jv.is_object() && jv.as_object().contains(name)) {
      o["js_tiktoken_mb_s"] = jv.at(name).at("o200k_base").at("mb_s");
      o["js_tiktoken_tokens"] = jv.at(name).at("o200k_base").at("tokens");
      if (o["js_tiktoken_tokens"] != o["tokens"]) {
        totals.ok = false;
        totals.problems.push_back(json::string("tokens." + name + ": counts differ"));
      }
    } else {
      o["js_tiktoken_error"] = "the js-tiktoken run failed (scripts/setup installs it)";
    }
  }
  out["tokens_o200k_base"] = std::move(tokens);
  for (const auto& f : files) std::filesystem::remove(f);
  std::filesystem::remove(table_file);
  std::filesystem::remove(log_file);
  harness.reset();
  backend.reset();
  for (const char* suffix : {"", "-wal", "-shm"})
    std::filesystem::remove(db_file.string() + suffix);

  out["ok"] = totals.ok;
  if (!totals.ok) out["problems"] = std::move(totals.problems);
  std::cout << json::serialize(out) << "\n";
  return 0;
}
