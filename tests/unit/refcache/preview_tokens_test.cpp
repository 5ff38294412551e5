// Previews in token mode counted by a tokenizer (the default, o200k_base, and cl100k_base):
// sizes are the tokens of the compact JSON, previews stay within the token budget and fill
// most of it, and the chars4 approximation keeps its rule.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "jsonio/json_text.hpp"
#include "refcache/preview.hpp"
#include "refcache/tokenizer.hpp"

namespace {

namespace json = boost::json;
using namespace refcache;

json::value records(int n) {
  json::array a;
  for (int i = 0; i < n; ++i)
    a.push_back(json::object{{"id", i},
                             {"name", "user " + std::to_string(i * 7919)},
                             {"tags", json::array{"alpha", "βeta", "数据"}}});
  return a;
}

std::size_t tokens(const json::value& v, Encoding e) {
  return Tokenizer::get(e).count(jsonio::to_string(v));
}

TEST(PreviewTokens, DefaultCountsWithO200kBase) {
  PreviewConfig cfg;
  EXPECT_EQ(cfg.token_counter, TokenCounter::kO200kBase);
  const json::value v = records(300);
  PreviewRequest req;
  req.max_size = 500;
  const PreviewResult r = generate_preview(v, req, cfg);
  EXPECT_EQ(r.original_size, tokens(v, Encoding::kO200kBase));
  EXPECT_EQ(r.preview_size, tokens(r.preview, Encoding::kO200kBase));
  EXPECT_LE(r.preview_size, 500U);
  EXPECT_GE(r.preview_size, 400U);  // the budget is mostly used
  EXPECT_LT(*r.sampled_items, 300U);
  EXPECT_EQ(measure_units(v, cfg), r.original_size);
}

TEST(PreviewTokens, EveryStrategyStaysWithinTheBudget) {
  for (const auto counter : {TokenCounter::kO200kBase, TokenCounter::kCl100kBase}) {
    PreviewConfig cfg;
    cfg.token_counter = counter;
    const Encoding e =
        counter == TokenCounter::kO200kBase ? Encoding::kO200kBase : Encoding::kCl100kBase;
    const json::value values[] = {records(200), json::value(std::string(5000, 'x') + " 日本語"),
                                  json::value(json::object{{"a", records(50)}, {"b", 1}})};
    for (const auto& v : values) {
      for (const auto s :
           {PreviewStrategy::kSample, PreviewStrategy::kTruncate, PreviewStrategy::kPaginate}) {
        PreviewRequest req;
        req.max_size = 120;
        req.strategy = s;
        const PreviewResult r = generate_preview(v, req, cfg);
        EXPECT_LE(r.preview_size, 120U) << to_string(s) << " " << to_string(counter);
        EXPECT_EQ(r.preview_size, tokens(r.preview, e));
        EXPECT_EQ(r.original_size, tokens(v, e));
      }
    }
  }
}

TEST(PreviewTokens, ASmallValueIsWhole) {
  PreviewConfig cfg;
  const json::value v = records(3);
  PreviewRequest req;
  req.max_size = 1000;
  const PreviewResult r = generate_preview(v, req, cfg);
  EXPECT_EQ(r.preview, v);
  EXPECT_EQ(r.preview_size, r.original_size);
}

TEST(PreviewTokens, EncodingsCountDifferently) {
  const json::value v = json::value(std::string(2000, ' ') + "数据库连接池配置");
  PreviewConfig a, b;
  b.token_counter = TokenCounter::kCl100kBase;
  EXPECT_EQ(measure_units(v, a), tokens(v, Encoding::kO200kBase));
  EXPECT_EQ(measure_units(v, b), tokens(v, Encoding::kCl100kBase));
}

TEST(PreviewTokens, Chars4IsTheApproximation) {
  PreviewConfig cfg;
  cfg.token_counter = TokenCounter::kChars4;
  const json::value v = records(100);
  EXPECT_EQ(measure_units(v, cfg), (jsonio::measure(v).code_points + 3) / 4);
  EXPECT_TRUE(sizes_from_characters(cfg));
  EXPECT_FALSE(sizes_from_characters(PreviewConfig{}));
}

TEST(PreviewTokens, CounterNames) {
  EXPECT_EQ(to_string(TokenCounter::kChars4), "chars4");
  EXPECT_EQ(token_counter_from_string("cl100k_base"), TokenCounter::kCl100kBase);
  EXPECT_EQ(token_counter_from_string("o200k_base"), TokenCounter::kO200kBase);
  EXPECT_FALSE(token_counter_from_string("claude"));
}

}  // namespace
