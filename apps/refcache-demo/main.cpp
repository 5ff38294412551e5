// refcache-demo: what the cache does, in one screen.
//
// Stores a large value, prints its reference, the preview an agent would see instead of the
// value, and one page of it; then shows a cached call answered by reference and a private
// computation whose input the agent may use but not read.
#include <boost/json.hpp>
#include <cstdio>
#include <string>

#include "jsonio/json_text.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/ref_cache.hpp"

using namespace refcache;
namespace json = boost::json;

namespace {

void show(const char* title, const json::value& v) {
  std::printf("%s\n  %s\n\n", title, jsonio::to_string(v).c_str());
}

}  // namespace

int main() {
  RefCacheOptions options;
  options.name = "demo";
  options.preview.size_mode = SizeMode::kCharacter;
  options.preview.max_size = 300;
  RefCache cache(options);
  const Actor agent = Actor::agent();

  // 1. A large tool result: 10,000 rows.
  json::array rows;
  for (int i = 0; i < 10000; ++i)
    rows.push_back(
        json::object{{"id", i}, {"name", "user-" + std::to_string(i)}, {"score", i * 0.5}});
  const std::size_t full_chars = jsonio::measure(rows).code_points;
  SetOptions so;
  so.tool_name = "list_users";
  CacheReference ref = cache.set("users", std::move(rows), so);
  std::printf("Stored %zu characters of JSON as %s\n\n", full_chars, ref.ref_id.c_str());

  // 2. What the agent sees instead: a preview within 300 characters.
  auto preview = std::get<CacheResponse>(cache.get(ref.ref_id, agent));
  show("Preview (sample strategy, max 300 characters):", preview.to_json());

  // 3. One page of it.
  GetOptions page;
  page.page = 2;
  page.page_size = 3;
  auto p2 = std::get<CacheResponse>(cache.get(ref.ref_id, agent, page));
  show("Page 2 (3 rows per page):", p2.to_json());

  // 4. A cached call: the same arguments give the same ref, computed once.
  int runs = 0;
  CachedCall primes(cache, "generate_primes", [&](const json::object& args, CallContext&) {
    ++runs;
    json::array out;
    const std::int64_t want = args.at("count").to_number<std::int64_t>();
    for (std::int64_t n = 2; static_cast<std::int64_t>(out.size()) < want; ++n) {
      bool prime = true;
      for (std::int64_t d = 2; d * d <= n && prime; ++d) prime = n % d != 0;
      if (prime) out.push_back(n);
    }
    return json::value(std::move(out));
  });
  auto first = primes.call(json::object{{"count", 200}});
  auto again = primes.call(json::object{{"count", 200}});
  show("generate_primes(count=200), a large result answered by reference:", first);
  std::printf("Called twice, computed %d time(s); same ref: %s\n\n", runs,
              first.at("ref_id") == again.at("ref_id") ? "yes" : "no");

  // 5. Private computation: the agent may pass a secret to a tool (EXECUTE) but never see it.
  SetOptions secret_opts;
  secret_opts.policy = AccessPolicy::execute_only();
  auto secret = cache.set("salaries", json::array{52000, 61000, 58000, 75000}, secret_opts);
  CachedCall mean(cache, "mean", [](const json::object& args, CallContext&) -> json::value {
    double sum = 0;
    const auto& data = args.at("data").as_array();
    for (const auto& v : data) sum += v.to_number<double>();
    return sum / static_cast<double>(data.size());
  });
  try {
    cache.resolve(secret.ref_id, agent);
  } catch (const PermissionDenied& e) {
    std::printf("Agent reading the secret directly: denied (%s)\n", e.what());
  }
  show("mean(data=<secret ref>) as the agent: computed, but the result is withheld:",
       mean.call(json::object{{"data", secret.ref_id}}));
  return 0;
}
