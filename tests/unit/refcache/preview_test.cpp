// Previews. Golden values are ours (compact JSON, so they differ from the reference's sizes,
// which count Python's ", " separators); docs/previews.md lists them with the reasoning.
#include <gtest/gtest.h>

#include "refcache/errors.hpp"
#include "refcache/preview.hpp"
#include "test_util.hpp"

using namespace refcache;
using refcache_test::J;
using refcache_test::range;
namespace json = boost::json;

namespace {
PreviewConfig chars() {
  PreviewConfig c;
  c.size_mode = SizeMode::kCharacter;
  return c;
}
PreviewResult run(const json::value& v, std::size_t max,
                  PreviewStrategy s = PreviewStrategy::kSample,
                  std::optional<std::int64_t> page = {}, std::optional<std::int64_t> ps = {},
                  PreviewConfig cfg = chars()) {
  PreviewRequest r;
  r.max_size = max;
  r.strategy = s;
  r.page = page;
  r.page_size = ps;
  return generate_preview(v, r, cfg);
}
std::string text(const PreviewResult& r) {
  return jsonio::to_string(r.preview);
}
}  // namespace

TEST(Preview, GoldenSampleOfAList) {
  auto r = run(range(100), 50);
  EXPECT_EQ(text(r), "[0,6,12,19,25,31,37,43,50,56,62,68,74,80,87,93,99]");
  EXPECT_EQ(r.strategy, PreviewStrategy::kSample);
  EXPECT_EQ(r.original_size, 291u);
  EXPECT_EQ(r.preview_size, 50u);
  EXPECT_EQ(r.total_items, 100u);
  EXPECT_EQ(r.sampled_items, 17u);
  EXPECT_FALSE(r.page);
}

TEST(Preview, GoldenSampleOfALongerList) {
  auto r = run(range(1000), 100);
  EXPECT_EQ(text(r),
            "[0,42,83,125,166,208,250,291,333,375,416,458,500,541,583,624,666,708,749,791,832,874,"
            "916,957,999]");
  EXPECT_EQ(r.original_size, 3891u);
  EXPECT_EQ(r.preview_size, 97u);
}

TEST(Preview, GoldenSampleOfAnObject) {
  json::object o;
  for (int i = 0; i < 20; ++i) o["key_" + std::to_string(i)] = i;
  auto r = run(o, 60);
  EXPECT_EQ(text(r), R"({"key_0":0,"key_5":5,"key_10":10,"key_14":14,"key_19":19})");
  EXPECT_EQ(r.original_size, 221u);
  EXPECT_EQ(r.sampled_items, 5u);
}

TEST(Preview, StringsAreTruncated) {
  auto r = run(json::string(std::string(100, 'a')), 20);
  EXPECT_EQ(text(r), "\"aaaaaaaaaaaaaaa...\"");
  EXPECT_EQ(r.strategy, PreviewStrategy::kTruncate);
  EXPECT_EQ(r.original_size, 102u);
  EXPECT_EQ(r.total_items, 100u);
  EXPECT_EQ(r.sampled_items, 15u);
  // Ten x's with max 12 fit exactly (quotes count).
  auto exact = run(json::string(std::string(10, 'x')), 12);
  EXPECT_EQ(text(exact), "\"xxxxxxxxxx\"");
  // Cuts at code point boundaries; sizes count code points.
  auto u = run(json::string("h\xc3\xa9llo w\xc3\xb6rld"), 8);
  EXPECT_EQ(text(u), "\"h\xc3\xa9l...\"");
  EXPECT_EQ(u.preview_size, 8u);
}

TEST(Preview, KeepsFirstAndLastAndFitsTheBudget) {
  for (std::size_t max : {10u, 33u, 100u, 999u}) {
    auto r = run(range(5000), max);
    const auto& a = r.preview.as_array();
    EXPECT_EQ(a.front(), 0);
    if (a.size() > 1) {
      EXPECT_EQ(a.back(), 4999);
    }
    EXPECT_LE(r.preview_size, max);
    EXPECT_EQ(r.preview_size, jsonio::to_string(r.preview).size());
  }
}

TEST(Preview, SmallValuesComeBackWhole) {
  auto r = run(J(R"({"a":[1,2]})"), 100);
  EXPECT_EQ(text(r), R"({"a":[1,2]})");
  EXPECT_EQ(r.original_size, 11u);
  EXPECT_EQ(run(J("[]"), 5).preview, J("[]"));
  EXPECT_EQ(run(J("{}"), 5).total_items, 0u);
  EXPECT_EQ(run(J("42"), 5).preview, J("42"));
}

TEST(Preview, OversizedScalarsBecomeTruncatedText) {
  auto r = run(json::value(12345678901234567890ull), 5);
  EXPECT_EQ(text(r), "\"...\"");
  EXPECT_EQ(r.total_items, 20u);
  EXPECT_EQ(r.sampled_items, 0u);
}

TEST(Preview, NestedValuesShrinkInsteadOfOverflowing) {
  // The reference would return this whole: one item that alone exceeds the budget.
  auto r =
      run(J(R"({"data":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25]})"), 40);
  EXPECT_EQ(text(r), R"({"data":[1,3,6,8,11,13,15,18,20,23,25]})");
  EXPECT_LE(r.preview_size, 40u);
  json::array big;
  big.push_back(range(10000));
  auto r2 = run(big, 200);
  EXPECT_LE(r2.preview_size, 200u);
  EXPECT_EQ(r2.preview.as_array().size(), 1u);
}

TEST(Preview, TruncateStrategy) {
  auto r = run(range(100), 30, PreviewStrategy::kTruncate);
  EXPECT_EQ(text(r), "\"[0,1,2,3,4,5,6,7,8,9,10,1...\"");
  EXPECT_EQ(r.strategy, PreviewStrategy::kTruncate);
  EXPECT_EQ(r.preview_size, 30u);
  EXPECT_EQ(r.total_items, 100u);
  // Truncate ignores pages.
  auto p = run(range(100), 30, PreviewStrategy::kTruncate, 2, 10);
  EXPECT_EQ(p.strategy, PreviewStrategy::kTruncate);
}

TEST(Preview, Pagination) {
  auto r = run(range(100), 1000, PreviewStrategy::kPaginate, 2, 10);
  EXPECT_EQ(text(r), "[10,11,12,13,14,15,16,17,18,19]");
  EXPECT_EQ(r.page, 2);
  EXPECT_EQ(r.total_pages, 10);
  EXPECT_EQ(r.sampled_items, 10u);
  auto trimmed = run(range(100), 20, PreviewStrategy::kPaginate, 2, 10);
  EXPECT_EQ(text(trimmed), "[10,11,12,13,14,15]");
  EXPECT_EQ(trimmed.preview_size, 19u);
  auto p3 = run(range(50), 1000, PreviewStrategy::kPaginate, 3, 10);
  EXPECT_EQ(text(p3), "[20,21,22,23,24,25,26,27,28,29]");
  auto dflt = run(range(45), 1000, PreviewStrategy::kPaginate);
  EXPECT_EQ(dflt.page, 1);
  EXPECT_EQ(dflt.page_size, 20);
  EXPECT_EQ(dflt.total_pages, 3);
}

TEST(Preview, PagesOutOfRangeAreEmptyNeverACrash) {
  auto r = run(range(100), 1000, PreviewStrategy::kPaginate, 11, 10);
  EXPECT_EQ(text(r), "[]");
  EXPECT_EQ(r.page, 11);
  EXPECT_EQ(r.total_pages, 10);
  auto huge = run(range(100), 1000, PreviewStrategy::kPaginate, INT64_MAX, INT64_MAX);
  EXPECT_EQ(text(huge), "[]");
  auto empty = run(J("[]"), 1000, PreviewStrategy::kPaginate, 1, 10);
  EXPECT_EQ(empty.total_pages, 0);
}

TEST(Preview, BadPagingArgumentsAreClearErrors) {
  EXPECT_THROW(run(range(10), 100, PreviewStrategy::kPaginate, 0, 10), InvalidArgument);
  EXPECT_THROW(run(range(10), 100, PreviewStrategy::kPaginate, -1, 10), InvalidArgument);
  EXPECT_THROW(run(range(10), 100, PreviewStrategy::kPaginate, 1, 0), InvalidArgument);
  EXPECT_THROW(run(range(10), 0), InvalidArgument);
}

TEST(Preview, PaginatingStringsAndObjects) {
  auto s = run(json::string("abcdefghij"), 100, PreviewStrategy::kPaginate, 2, 4);
  EXPECT_EQ(text(s), "\"efgh\"");
  EXPECT_EQ(s.total_pages, 3);
  EXPECT_EQ(s.total_items, 10u);
  auto o = run(J(R"({"a":1,"b":2,"c":3})"), 100, PreviewStrategy::kPaginate, 2, 2);
  EXPECT_EQ(text(o), R"({"c":3})");
}

TEST(Preview, TokenModeCountsCharactersOverFour) {
  PreviewConfig cfg;  // token mode is the default
  // The chars4 approximation (the default counts with o200k_base; preview_tokens_test.cpp).
  cfg.token_counter = TokenCounter::kChars4;
  auto r = run(range(2000), 10, PreviewStrategy::kSample, {}, {}, cfg);
  EXPECT_EQ(r.original_size, 2223u);  // ceil(8891 / 4)
  EXPECT_EQ(text(r), "[0,250,500,750,1000,1249,1499,1749,1999]");
  EXPECT_EQ(r.preview_size, 10u);
}

TEST(Preview, KnownTotalAvoidsMeasuringAgainButAgrees) {
  PreviewRequest req;
  req.max_size = 100;
  req.known_total_chars = 3891;
  auto a = generate_preview(range(1000), req, chars());
  req.known_total_chars.reset();
  auto b = generate_preview(range(1000), req, chars());
  EXPECT_EQ(a.preview, b.preview);
  EXPECT_EQ(a.original_size, b.original_size);
}
