// Tool arguments that carry private values: cached tools shaped like the example servers'
// (an enum and a number beside a list of numbers, a typed struct with a string, a tool that
// releases statistics of private data) are called through mcp::Server::handle with fuzzed
// arguments in which placeholders stand for refs to values the caller may use but not read:
//   "$S" a private string, "$N" a private number, "$L" a private list of 12 numbers.
// Whatever the arguments, no answer -- result, error, validation message -- may contain a
// private value: the argument validation and every tool error are checked by this property.
//
// Input: byte 0 picks the tool (and whether the caller is the owner's scope or a stranger);
// the rest is the JSON of the arguments.
#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.hpp"
#include "jsonio/json_text.hpp"
#include "mcp/server.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache_mcp/cached_tools.hpp"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;

constexpr const char* kSecretText = "qx-SECRET-text-9311";
constexpr double kSecretNumber = 73914.625;
constexpr const char* kSecretNumberText = "73914.625";
// Items of the private list: kSecretItemBase + i for i < 12, printed "1000.8125" ... "1011.8125".
constexpr double kSecretItemBase = 1000.8125;
constexpr int kSecretItems = 12;

struct SequenceArgs {
  std::string sequence_type;
  int count = 5;
};
BOOST_DESCRIBE_STRUCT(SequenceArgs, (), (sequence_type, count))

// Collects every text the server sends.
class Out : public mcp::Outbound {
 public:
  bool send(std::string text) override {
    std::lock_guard lk(mu);
    all += text;
    return true;
  }
  void respond(std::string text, int) override {
    std::lock_guard lk(mu);
    all += text;
  }
  std::mutex mu;
  std::string all;
};

std::vector<double> numbers(const bj::value& v) {
  if (!v.is_array()) throw std::invalid_argument("Expected list data");
  std::vector<double> out;
  for (const auto& e : v.as_array()) {
    if (!e.is_number())
      throw std::invalid_argument("Expected numbers, found " + jsonio::to_string(e));
    out.push_back(e.to_number<double>());
  }
  return out;
}

bj::value as_json(const std::vector<double>& d) {
  bj::array a;
  for (double x : d) a.push_back(x);
  return a;
}

struct World {
  mcp::Server server{[] {
    mcp::ServerOptions o;
    o.info = {.name = "fuzz-args", .version = "1.0"};
    o.worker_threads = 2;
    return o;
  }()};
  refcache::RefCache cache{[] {
    refcache::RefCacheOptions o;
    o.name = "fa";
    o.default_ttl = refcache::kNoExpiry;
    o.preview.size_mode = refcache::SizeMode::kCharacter;
    o.preview.max_size = 400;
    return o;
  }()};
  std::string text_ref, number_ref, list_ref;

  World() {
    refcache::mcp::install(server, cache);
    auto numbers_schema = bj::object{{"type", "array"}, {"items", {{"type", "number"}}}};
    {
      refcache::mcp::CachedToolSpec s;
      s.tool.name = "transform";
      s.tool.input_schema =
          bj::object{{"type", "object"},
                     {"properties",
                      {{"data", numbers_schema},
                       {"operation", {{"type", "string"}, {"enum", {"scale", "log", "offset"}}}},
                       {"factor", {{"type", "number"}}}}},
                     {"required", {"data"}}};
      refcache::mcp::cached_tool_raw(
          server, cache, std::move(s), [](const bj::object& a, refcache::CallContext&) {
            auto d = numbers(a.at("data"));
            const std::string op =
                a.contains("operation") ? std::string(a.at("operation").as_string()) : "scale";
            const double f = a.contains("factor") ? a.at("factor").to_number<double>() : 1.0;
            for (double& x : d) {
              if (op == "log") {
                if (x <= 0) throw std::invalid_argument("log of " + std::to_string(x));
                x = std::log(x);
              } else if (op == "offset") {
                x += f;
              } else {
                x *= f;
              }
            }
            return as_json(d);
          });
    }
    {
      refcache::mcp::CachedToolSpec s;
      s.tool.name = "combine";
      s.tool.input_schema =
          bj::object{{"type", "object"},
                     {"properties",
                      {{"datasets", {{"type", "array"}, {"items", numbers_schema}}},
                       {"operation", {{"type", "string"}, {"enum", {"concat", "sum"}}}}}},
                     {"required", {"datasets"}}};
      s.ref_params = {"datasets"};
      refcache::mcp::cached_tool_raw(server, cache, std::move(s),
                                     [](const bj::object& a, refcache::CallContext&) {
                                       std::vector<double> out;
                                       for (const auto& d : a.at("datasets").as_array()) {
                                         auto v = numbers(d);
                                         out.insert(out.end(), v.begin(), v.end());
                                       }
                                       return as_json(out);
                                     });
    }
    {
      refcache::mcp::CachedToolSpec s;
      s.tool.name = "stats";
      s.tool.input_schema = bj::object{
          {"type", "object"}, {"properties", {{"data", numbers_schema}}}, {"required", {"data"}}};
      s.cache.release = refcache::ReleaseRule{.fields = {"count", "sum", "mean"}, .min_items = 10};
      refcache::mcp::cached_tool_raw(
          server, cache, std::move(s), [](const bj::object& a, refcache::CallContext&) {
            auto d = numbers(a.at("data"));
            if (d.empty()) throw std::invalid_argument("empty");
            double sum = 0, mx = d[0];
            for (double x : d) sum += x, mx = std::max(mx, x);
            return bj::value(bj::object{{"count", d.size()},
                                        {"sum", sum},
                                        {"mean", sum / static_cast<double>(d.size())},
                                        {"max", mx}});
          });
    }
    refcache::mcp::cached_tool<SequenceArgs>(
        server, cache, {.tool = {.name = "sequence"}},
        [](const SequenceArgs& a, refcache::CallContext&) -> bj::value {
          if (a.sequence_type != "ones") throw std::invalid_argument("unknown " + a.sequence_type);
          return bj::array(static_cast<std::size_t>(std::clamp(a.count, 0, 50)), 1);
        });
    refcache::CallIdentity owner{{{"session_id", "owner"}}};
    auto store = [&](bj::value v) {
      return cache.set("", std::move(v), refcache::private_set_options(owner)).ref_id;
    };
    text_ref = store(bj::value(kSecretText));
    number_ref = store(bj::value(kSecretNumber));
    bj::array list;
    for (int i = 0; i < kSecretItems; ++i) list.push_back(kSecretItemBase + i);
    list_ref = store(std::move(list));
  }

  // Replaces the placeholders of `v` with the private refs.
  void substitute(bj::value& v) const {
    if (v.is_string()) {
      const auto s = v.get_string();
      if (s == "$S") v = text_ref.c_str();
      if (s == "$N") v = number_ref.c_str();
      if (s == "$L") v = list_ref.c_str();
    } else if (v.is_array()) {
      for (auto& e : v.as_array()) substitute(e);
    } else if (v.is_object()) {
      for (auto& kv : v.as_object()) substitute(kv.value());
    }
  }
};

World& world() {
  static World* w = new World();
  return *w;
}

// The texts of the private values. An answer that holds one of them leaks it -- unless the
// caller wrote it into the arguments itself, which the fuzzer may (such inputs are skipped).
const std::vector<std::string>& secret_texts() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> t{"SECRET", kSecretNumberText};
    for (int i = 0; i < kSecretItems; ++i) t.push_back(std::to_string(1000 + i) + ".8125");
    return t;
  }();
  return texts;
}

bool holds_secret(std::string_view text) {
  for (const auto& s : secret_texts())
    if (text.find(s) != std::string_view::npos) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  if (holds_secret(as_view(data + 1, size - 1))) return 0;
  World& w = world();
  static const char* kTools[] = {"transform", "combine", "stats", "sequence", "get_cached_result"};
  const char* tool = kTools[data[0] % 5];
  const bool stranger = (data[0] & 0x80) != 0;
  std::error_code ec;
  bj::value args =
      jsonio::parse(as_view(data + 1, size - 1), ec, {.max_depth = 32, .max_bytes = 1 << 16});
  if (ec || !args.is_object()) return 0;
  w.substitute(args);
  auto session = std::make_shared<mcp::Session>(stranger ? "stranger" : "owner",
                                                mcp::TransportKind::kInMemory, false);
  auto out = std::make_shared<Out>();
  bj::object msg{{"jsonrpc", "2.0"},
                 {"id", 1},
                 {"method", "tools/call"},
                 {"params", {{"name", tool}, {"arguments", std::move(args)}}}};
  w.server.handle(session, std::move(msg), out);
  FUZZ_CHECK(w.server.wait_idle(20s), "the call finishes");
  std::lock_guard lk(out->mu);
  if (holds_secret(out->all)) {
    std::fprintf(stderr, "answer: %s\n", out->all.c_str());
    FUZZ_CHECK(false, "no answer carries a private value");
  }
  return 0;
}
