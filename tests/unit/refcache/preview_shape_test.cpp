// The shape preview: inferred structure and per-field statistics of a value, within the budget,
// and the structure-only view of a caller that may use the value but not read it.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "jsonio/json_text.hpp"
#include "refcache/preview.hpp"
#include "refcache/ref_cache.hpp"
#include "test_util.hpp"

using namespace refcache;
using refcache_test::J;
namespace json = boost::json;

namespace {

PreviewConfig chars() {
  PreviewConfig c;
  c.size_mode = SizeMode::kCharacter;
  return c;
}

PreviewResult shape(const json::value& v, std::size_t max, bool structure_only = false,
                    PreviewConfig cfg = chars()) {
  PreviewRequest r;
  r.max_size = max;
  r.strategy = PreviewStrategy::kShape;
  r.structure_only = structure_only;
  return generate_preview(v, r, cfg);
}

// Rows {"id": i, "name": "user-<i % names>", "score": i * 0.5 or null every 10th,
// "day": "2026-01-<dd>", "tags": [i % 3 tags], optional "extra": {"n": i}} .
json::value rows(int n, int names = 4) {
  json::array a;
  for (int i = 0; i < n; ++i) {
    json::object o;
    o["id"] = i;
    o["name"] = "user-" + std::to_string(i % names);
    if (i % 10 == 0)
      o["score"] = nullptr;
    else
      o["score"] = i * 0.5;
    const int d = 1 + i % 28;
    o["day"] = std::string("2026-01-") + (d < 10 ? "0" : "") + std::to_string(d);
    json::array tags;
    for (int t = 0; t < i % 3; ++t) tags.emplace_back("t" + std::to_string(t));
    o["tags"] = std::move(tags);
    if (i % 2 == 0) o["extra"] = json::object{{"n", i}};
    a.push_back(std::move(o));
  }
  return a;
}

const json::object& field(const PreviewResult& r, std::string_view key) {
  return r.preview.at("items").at("keys").at(key).as_object();
}

}  // namespace

TEST(PreviewShape, DescribesStructureAndStatistics) {
  const auto r = shape(rows(100), 100000);
  EXPECT_EQ(r.strategy, PreviewStrategy::kShape);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.omitted.at("summarised"), true);
  EXPECT_EQ(r.preview.at("type"), "array");
  EXPECT_EQ(r.preview.at("length"), J(R"({"min":100,"max":100})"));
  EXPECT_EQ(r.preview.at("items").at("type"), "object");

  const auto& id = field(r, "id");
  EXPECT_EQ(id.at("type"), "integer");
  EXPECT_EQ(id.at("count"), 100);
  EXPECT_EQ(id.at("distinct"), 100);
  EXPECT_FALSE(id.contains("distinct_estimated"));
  EXPECT_EQ(id.at("min"), 0);
  EXPECT_EQ(id.at("max"), 99);

  const auto& name = field(r, "name");
  EXPECT_EQ(name.at("distinct"), 4);
  EXPECT_EQ(name.at("top").at(0), J(R"(["user-0",25])"));

  const auto& score = field(r, "score");
  EXPECT_EQ(score.at("types"), J(R"({"null":10,"number":90})"));
  EXPECT_EQ(score.at("nulls"), 10);
  EXPECT_EQ(score.at("max"), 49.5);

  const auto& day = field(r, "day");
  EXPECT_EQ(day.at("min_date"), "2026-01-01");
  EXPECT_EQ(day.at("max_date"), "2026-01-28");

  const auto& tags = field(r, "tags");
  EXPECT_EQ(tags.at("length"), J(R"({"min":0,"max":2})"));
  EXPECT_EQ(tags.at("items").at("type"), "string");

  const auto& extra = field(r, "extra");
  EXPECT_EQ(extra.at("missing"), 50);
  EXPECT_EQ(extra.at("keys").at("n").at("max"), 98);

  EXPECT_EQ(r.preview.at("examples").as_array().size(), 3u);
  EXPECT_EQ(r.preview.at("examples").at(0), rows(1).at(0));
  EXPECT_EQ(r.sampled_items, 3u);
  EXPECT_EQ(r.omitted.at("items"), 97);
  EXPECT_FALSE(r.omitted.contains("dropped"));
}

TEST(PreviewShape, DistinctCountsAreEstimatedAboveTheExactBound) {
  const auto r = shape(rows(20000, 20000), 100000);
  const auto& name = field(r, "name");
  EXPECT_EQ(name.at("distinct_estimated"), true);
  const auto d = name.at("distinct").to_number<double>();
  EXPECT_NEAR(d, 20000.0, 20000.0 * 0.15);
  EXPECT_EQ(name.at("top_approximate"), true);
}

TEST(PreviewShape, DegradesToFitAndSaysWhatItDropped) {
  const json::value v = rows(1000);
  std::size_t last_size = 1 << 30;
  bool saw_examples_dropped = false, saw_stats_dropped = false, saw_cut = false;
  for (std::size_t budget : {6000, 2000, 1200, 900, 700, 500, 300, 120, 40}) {
    const auto r = shape(v, budget);
    SCOPED_TRACE(budget);
    EXPECT_LE(r.preview_size, budget);
    EXPECT_LE(r.preview_size, last_size);
    EXPECT_EQ(r.preview_size, jsonio::measure_code_points(r.preview));
    last_size = r.preview_size;
    EXPECT_FALSE(r.complete);
    if (auto d = r.omitted.find("dropped"); d != r.omitted.end()) {
      const std::string text = jsonio::to_string(d->value());
      saw_examples_dropped |= text.find("example rows") != std::string::npos;
      saw_stats_dropped |= text.find("per-field statistics") != std::string::npos;
    }
    saw_cut |= r.omitted.contains("cut_to_budget");
  }
  EXPECT_TRUE(saw_examples_dropped);
  EXPECT_TRUE(saw_stats_dropped);
  EXPECT_TRUE(saw_cut);
}

TEST(PreviewShape, StructureOnlyShowsNoValueOfTheData) {
  json::array a;
  for (int i = 0; i < 50; ++i)
    a.push_back(json::object{{"secret", "s3cr3t-" + std::to_string(i % 2)},
                             {"amount", 424242 + i},
                             {"when", "2031-07-0" + std::to_string(1 + i % 9)},
                             {"list", json::array{i, i}}});
  const auto r = shape(a, 100000, true);
  const std::string text = jsonio::to_string(r.preview);
  for (const char* banned :
       {"s3cr3t", "4242", "2031", "\"max\":4", "distinct", "top", "examples", "min_date"})
    EXPECT_EQ(text.find(banned), std::string::npos) << banned << " in " << text;
  EXPECT_EQ(r.preview.at("items").at("keys").at("secret").at("type"), "string");
  EXPECT_EQ(r.preview.at("items").at("keys").at("secret").at("count"), 50);
  EXPECT_EQ(r.preview.at("items").at("keys").at("list").at("length"), J(R"({"min":2,"max":2})"));
  EXPECT_EQ(r.omitted.at("values_withheld"), true);
}

TEST(PreviewShape, AnyValueHasAShape) {
  EXPECT_EQ(shape(J(R"({"a":1,"b":"x"})"), 1000).preview.at("keys").at("b").at("type"), "string");
  EXPECT_EQ(shape(J(R"("text")"), 1000).preview.at("type"), "string");
  EXPECT_EQ(shape(J("[]"), 1000).preview.at("length"), J(R"({"min":0,"max":0})"));
  EXPECT_EQ(shape(J("[1,2.5,null]"), 1000).preview.at("items").at("types"),
            J(R"({"null":1,"integer":1,"number":1})"));
}

TEST(PreviewShape, TokenModeStaysWithinTheTokenBudget) {
  PreviewConfig cfg;  // o200k_base
  const auto r = shape(rows(500), 300, false, cfg);
  EXPECT_LE(r.preview_size, 300u);
  EXPECT_EQ(r.preview_size, measure_units(r.preview, cfg));
}

TEST(PreviewShape, AHundredThousandRowsInOnePass) {
  const json::value v = rows(100000, 100000);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = shape(v, 2000);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_LE(r.preview_size, 2000u);
  EXPECT_EQ(r.total_items, 100000u);
  EXPECT_EQ(field(r, "id").at("count"), 100000);
  // Generous bound (sanitizer builds are several times slower); docs/benchmarks.md has the
  // measured figure.
  EXPECT_LT(ms, 20000);
}

TEST(PreviewShape, IsTheDefaultForLargeArraysOfObjectsOnly) {
  RefCacheOptions o;
  o.preview.size_mode = SizeMode::kCharacter;
  o.preview.max_size = 500;
  RefCache cache(o);
  auto get = [&](const json::value& v, GetOptions go = {}) {
    auto ref = cache.set("", v);
    return std::get<CacheResponse>(cache.get(ref.ref_id, Actor::agent(), go));
  };
  EXPECT_EQ(get(rows(200)).preview_strategy, PreviewStrategy::kShape);
  // Small enough to show whole: shown whole.
  const auto small = get(rows(2));
  EXPECT_EQ(small.preview_strategy, PreviewStrategy::kSample);
  EXPECT_TRUE(small.complete);
  // Other values keep sample; an explicit strategy or a page is obeyed.
  EXPECT_EQ(get(refcache_test::range(1000)).preview_strategy, PreviewStrategy::kSample);
  GetOptions sample;
  sample.strategy = PreviewStrategy::kSample;
  EXPECT_EQ(get(rows(200), sample).preview_strategy, PreviewStrategy::kSample);
  GetOptions paged;
  paged.page = 2;
  EXPECT_EQ(get(rows(200), paged).preview_strategy, PreviewStrategy::kPaginate);
  GetOptions by_name;
  by_name.strategy_name = "shape";
  EXPECT_EQ(get(refcache_test::range(1000), by_name).preview_strategy, PreviewStrategy::kShape);
}

// A caller that may use an original value but not read it gets its structure-only shape and
// nothing else: every other strategy is refused as any read is. The shape names no value and
// no count (tests/unit/refcache/security/execute_only_shape_test.cpp tries to find them;
// docs/previews.md, "What the shape reveals").
TEST(PreviewShape, ExecuteOnlyCallersGetOnlyTheStructure) {
  RefCache cache;
  SetOptions so;
  so.policy = AccessPolicy::execute_only();
  const auto ref = cache.set("", rows(50), so).ref_id;
  for (const char* name : {"sample", "paginate", "truncate"}) {
    GetOptions go;
    go.strategy_name = name;
    EXPECT_THROW(cache.get(ref, Actor::agent(), go), PermissionDenied) << name;
  }
  GetOptions go;
  go.strategy_name = "shape";
  const auto r = std::get<CacheResponse>(cache.get(ref, Actor::agent(), go));
  EXPECT_TRUE(r.values_withheld);
  EXPECT_EQ(r.omitted.at("values_withheld"), true);
  const std::string text = jsonio::to_string(r.preview);
  for (const char* banned : {"user-", "2026", "count", "nulls", "distinct", "examples", "min"})
    EXPECT_EQ(text.find(banned), std::string::npos) << banned << " in " << text;
  EXPECT_EQ(r.preview.at("items").at("keys").at("day"), J(R"({"type":"string"})"));
}

// Beyond the counters, a frequent value is still found, its count is never over-stated, and
// values not known to repeat are not listed as frequent.
TEST(PreviewShape, FrequentValuesAmongManyAreLowerBoundsNeverOverstated) {
  json::array a;
  for (int i = 0; i < 30000; ++i)
    a.push_back(json::object{{"k", i % 3 == 0 ? std::string("hot") : "u" + std::to_string(i)},
                             {"unique", "id-" + std::to_string(i)}});
  const auto r = shape(a, 100000);
  const auto& k = field(r, "k");
  EXPECT_EQ(k.at("top_approximate"), true);
  ASSERT_TRUE(k.contains("top")) << k;
  EXPECT_EQ(k.at("top").at(0).at(0), "hot");
  const auto hot = k.at("top").at(0).at(1).to_number<std::int64_t>();
  EXPECT_LE(hot, 10000);
  EXPECT_GT(hot, 5000);
  EXPECT_EQ(k.at("top").as_array().size(), 1u);  // no unique value is listed as frequent
  EXPECT_FALSE(field(r, "unique").contains("top"));
  EXPECT_LE(field(r, "unique").at("distinct").to_number<std::int64_t>(), 30000);
}
