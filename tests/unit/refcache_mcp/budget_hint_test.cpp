// Budget hints as an MCP client sends them in params._meta (anthropic/maxResultSizeChars,
// refcache/maxResultTokens): they lower the answer of cached tools, get_cached_result and
// query_cached_result so that the whole tool result's text fits; never raise it; a hint too
// small for any preview gives the minimal answer; invalid hints are ignored (and logged at
// debug level without their value). Also the pure parts: reading, units, first budgets.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <sstream>
#include <string>

#include "jsonio/json_text.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache/tokenizer.hpp"
#include "refcache_mcp/budget_hint.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "unit/in_process_client.hpp"
#include "unit/refcache_mcp/small_cache_options.hpp"

namespace {

namespace bj = boost::json;
using refcache::mcp::budget_hint_from;

// The text of a tool result (its text content blocks, concatenated), as a client counts it.
std::string text_of(const bj::object& result) {
  std::string s;
  for (const auto& b : result.at("content").as_array())
    if (b.at("type") == "text") s += std::string(b.at("text").as_string());
  return s;
}

// A list of `n` objects of about 60 characters each.
bj::value rows(int n) {
  bj::array a;
  for (int i = 0; i < n; ++i)
    a.push_back(bj::object{{"id", i}, {"name", "item-" + std::to_string(i)}, {"score", i * 7}});
  return a;
}

refcache::RefCacheOptions token_cache_options() {
  refcache::RefCacheOptions o = test_support::small_cache_options();
  o.preview.size_mode = refcache::SizeMode::kToken;
  o.preview.token_counter = refcache::TokenCounter::kO200kBase;
  o.preview.max_size = 200;
  return o;
}

class BudgetHints : public ::testing::Test {
 protected:
  explicit BudgetHints(refcache::RefCacheOptions options = test_support::small_cache_options())
      : cache(std::move(options)),
        server(mcp::ServerOptions{.info = {.name = "b", .version = "1"}, .worker_threads = 2}) {
    refcache::mcp::install(server, cache, {});
    refcache::mcp::CachedToolSpec spec;
    spec.tool.name = "rows";
    spec.tool.input_schema = jsonio::parse_or_throw(
        R"({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]})");
    refcache::mcp::cached_tool_raw(server, cache, std::move(spec),
                                   [](const bj::object& args, refcache::CallContext&) {
                                     return rows(static_cast<int>(args.at("n").as_int64()));
                                   });
    client = test_support::InProcessClient(server, "alice", "s-alice");
  }

  // tools/call with `meta` as params._meta (none when empty): the result object.
  bj::object call(const std::string& tool, bj::object args, bj::object meta = {}) {
    bj::object params{{"name", tool}, {"arguments", std::move(args)}};
    if (!meta.empty()) params["_meta"] = std::move(meta);
    bj::value r = client.request("tools/call", std::move(params));
    EXPECT_TRUE(r.as_object().contains("result")) << r;
    if (!r.as_object().contains("result")) return {};
    return r.at("result").as_object();
  }

  static bj::object chars(std::int64_t n) { return {{"anthropic/maxResultSizeChars", n}}; }
  static bj::object tokens(std::int64_t n) { return {{"refcache/maxResultTokens", n}}; }
  static const bj::object& body(const bj::object& result) {
    return result.at("structuredContent").as_object();
  }

  std::string store(const bj::value& v) { return cache.set("", v).ref_id; }

  refcache::RefCache cache;
  mcp::Server server;
  test_support::InProcessClient client;
};

class TokenBudgetHints : public BudgetHints {
 protected:
  TokenBudgetHints() : BudgetHints(token_cache_options()) {}
};

refcache::RefCacheOptions approx_cache_options() {
  refcache::RefCacheOptions o = token_cache_options();
  o.preview.token_counter = refcache::TokenCounter::kChars4;
  return o;
}

class ApproxBudgetHints : public BudgetHints {
 protected:
  ApproxBudgetHints() : BudgetHints(approx_cache_options()) {}
};

TEST(BudgetHintReading, PositiveIntegersAreReadAndEverythingElseIsIgnored) {
  auto h = budget_hint_from(bj::object{{"anthropic/maxResultSizeChars", 500},
                                       {"refcache/maxResultTokens", 120.0},
                                       {"other/maxResultTokens", 3}});
  EXPECT_EQ(h.max_chars, 500u);
  EXPECT_EQ(h.max_tokens, 120u);
  EXPECT_TRUE(budget_hint_from({}).empty());
  for (const bj::value& bad :
       {bj::value(-5), bj::value(0), bj::value(1.5), bj::value("300"), bj::value(1e12),
        bj::value(true), bj::value(nullptr), bj::value(bj::array{300}),
        bj::value(static_cast<std::uint64_t>(1) << 63)}) {
    EXPECT_TRUE(budget_hint_from(bj::object{{"anthropic/maxResultSizeChars", bad},
                                            {"refcache/maxResultTokens", bad}})
                    .empty())
        << bad;
  }
}

TEST(BudgetHintReading, AnIgnoredHintIsLoggedAtDebugWithoutItsValue) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  logger->set_level(spdlog::level::debug);
  auto saved = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  budget_hint_from(bj::object{{"anthropic/maxResultSizeChars", "sk-secret-value"},
                              {"refcache/maxResultTokens", -42}});
  spdlog::set_default_logger(saved);
  const std::string log = out.str();
  EXPECT_NE(log.find("anthropic/maxResultSizeChars ignored"), std::string::npos) << log;
  EXPECT_NE(log.find("refcache/maxResultTokens ignored"), std::string::npos) << log;
  EXPECT_NE(log.find("[debug]"), std::string::npos) << log;
  EXPECT_EQ(log.find("sk-secret-value"), std::string::npos) << log;
  EXPECT_EQ(log.find("-42"), std::string::npos) << log;
}

TEST(BudgetHintUnits, CharactersAreUtf16UnitsAndFirstBudgetsConvertUnits) {
  mcp::CallToolResult r;
  r.content.push_back(mcp::text_content("ab\xC3\xA9\xF0\x9F\x98\x80"));  // a b é 😀
  EXPECT_EQ(refcache::mcp::result_text_chars(r), 5u);                    // 😀 is two units

  refcache::PreviewConfig chars{.size_mode = refcache::SizeMode::kCharacter, .max_size = 1000};
  EXPECT_EQ(refcache::mcp::result_text_tokens(r, chars), 8u);  // UTF-8 bytes bound tokens
  refcache::PreviewConfig approx{.size_mode = refcache::SizeMode::kToken,
                                 .max_size = 1000,
                                 .token_counter = refcache::TokenCounter::kChars4};
  EXPECT_EQ(refcache::mcp::initial_budget({.max_chars = 400}, 1000, approx), 100u);
  EXPECT_EQ(refcache::mcp::initial_budget({.max_chars = 400}, 1000, chars), 400u);
  EXPECT_EQ(refcache::mcp::initial_budget({.max_chars = 4000}, 1000, chars), 1000u);
  EXPECT_EQ(refcache::mcp::initial_budget({.max_tokens = 300}, 1000, chars), 300u);
  EXPECT_EQ(refcache::mcp::initial_budget({.max_chars = 400, .max_tokens = 50}, 1000, approx), 50u);
}

TEST_F(BudgetHints, ACharacterHintLowersACachedToolsAnswerToFitTheWholeText) {
  const bj::object plain = call("rows", {{"n", 50}});
  ASSERT_EQ(body(plain).at("is_complete"), false);
  const std::size_t plain_len = text_of(plain).size();
  ASSERT_GT(plain_len, 700u);

  const bj::object hinted = call("rows", {{"n", 50}}, chars(700));
  EXPECT_EQ(body(hinted).at("is_complete"), false);
  EXPECT_LE(text_of(hinted).size(), 700u) << text_of(hinted);
  EXPECT_TRUE(body(hinted).contains("preview")) << text_of(hinted);
  EXPECT_EQ(body(hinted).at("ref_id"), body(plain).at("ref_id"));
  EXPECT_LT(body(hinted).at("preview_size").to_number<std::int64_t>(),
            body(plain).at("preview_size").to_number<std::int64_t>());
}

TEST_F(BudgetHints, AResultThatWouldComeWholeBecomesARefWhenOverTheHint) {
  const bj::object plain = call("rows", {{"n", 4}});
  ASSERT_EQ(body(plain).at("is_complete"), true);
  const std::size_t len = text_of(plain).size();
  const bj::object hinted = call("rows", {{"n", 4}}, chars(static_cast<std::int64_t>(len) - 20));
  EXPECT_EQ(body(hinted).at("is_complete"), false) << text_of(hinted);
  EXPECT_LE(text_of(hinted).size(), len - 20) << text_of(hinted);
  EXPECT_EQ(body(hinted).at("ref_id"), body(plain).at("ref_id"));
}

TEST_F(BudgetHints, AHintLargerThanTheServersMaximumChangesNothing) {
  const bj::object plain = call("rows", {{"n", 50}});
  const bj::object hinted = call("rows", {{"n", 50}}, chars(1000000));
  EXPECT_EQ(text_of(hinted), text_of(plain));
  const bj::object both =
      call("rows", {{"n", 50}},
           {{"anthropic/maxResultSizeChars", 1000000}, {"refcache/maxResultTokens", 1000000}});
  EXPECT_EQ(text_of(both), text_of(plain));
}

TEST_F(BudgetHints, InvalidHintsAreIgnored) {
  const bj::object plain = call("rows", {{"n", 50}});
  for (const bj::value& bad : {bj::value(-300), bj::value(0), bj::value(12.5), bj::value("300"),
                               bj::value(1e15), bj::value(false), bj::value(bj::object{})}) {
    const bj::object hinted =
        call("rows", {{"n", 50}},
             {{"anthropic/maxResultSizeChars", bad}, {"refcache/maxResultTokens", bad}});
    EXPECT_FALSE(hinted.contains("isError")) << bad;
    EXPECT_EQ(text_of(hinted), text_of(plain)) << bad;
  }
}

TEST_F(BudgetHints, ATokenHintInCharacterModeBoundsTheTextsBytes) {
  const bj::object hinted = call("rows", {{"n", 50}}, tokens(700));
  EXPECT_EQ(body(hinted).at("is_complete"), false);
  EXPECT_TRUE(body(hinted).contains("preview")) << text_of(hinted);
  const std::string text = text_of(hinted);
  EXPECT_LE(text.size(), 700u) << text;
  EXPECT_LE(refcache::Tokenizer::get(refcache::Encoding::kO200kBase).count(text), 700u);
}

TEST_F(BudgetHints, ATinyHintGivesTheMinimalAnswerAndSaysSo) {
  const bj::object tiny = call("rows", {{"n", 50}}, chars(10));
  EXPECT_FALSE(tiny.contains("isError"));
  const auto& b = body(tiny);
  EXPECT_TRUE(b.at("ref_id").is_string());
  EXPECT_EQ(b.at("nothing_fits"), true);
  EXPECT_EQ(b.at("answer_exceeds_hint"), true);  // not even the ref id fits in 10
  EXPECT_FALSE(b.contains("preview"));

  // Room for the ref id and the statement, not for a preview: the bare minimal answer, within.
  const bj::object small = call("rows", {{"n", 50}}, chars(90));
  EXPECT_EQ(body(small).at("nothing_fits"), true) << text_of(small);
  EXPECT_FALSE(body(small).contains("answer_exceeds_hint"));
  EXPECT_LE(text_of(small).size(), 90u);

  // A little more: the minimal answer with its message, still within.
  const bj::object roomier = call("rows", {{"n", 50}}, chars(230));
  EXPECT_LE(text_of(roomier).size(), 230u) << text_of(roomier);
  EXPECT_EQ(body(roomier).at("ref_id"), b.at("ref_id"));
}

TEST_F(BudgetHints, GetCachedResultHonoursTheHintAndAnExplicitSmallerMaxSizeWins) {
  const std::string ref = store(rows(100));
  const bj::object plain = call("get_cached_result", {{"ref_id", ref}});
  ASSERT_GT(text_of(plain).size(), 900u);
  const bj::object hinted = call("get_cached_result", {{"ref_id", ref}}, chars(900));
  EXPECT_LE(text_of(hinted).size(), 900u) << text_of(hinted);
  EXPECT_EQ(body(hinted).at("ref_id"), bj::value(ref));

  // max_size 60 is smaller than what the hint allows: the answer is max_size's, unchanged.
  const bj::object small = call("get_cached_result", {{"ref_id", ref}, {"max_size", 60}});
  const bj::object small_hinted =
      call("get_cached_result", {{"ref_id", ref}, {"max_size", 60}}, chars(100000));
  EXPECT_EQ(text_of(small_hinted), text_of(small));
  EXPECT_LE(body(small_hinted).at("preview_size").to_number<std::int64_t>(), 60);

  // A page is cut to the hint too.
  const bj::object page =
      call("get_cached_result", {{"ref_id", ref}, {"page", 2}, {"page_size", 20}}, chars(400));
  EXPECT_LE(text_of(page).size(), 400u) << text_of(page);

  // full=true larger than the hint: a preview that fits, saying so.
  const bj::object full = call("get_cached_result", {{"ref_id", ref}, {"full", true}}, chars(1500));
  EXPECT_LE(text_of(full).size(), 1500u) << text_of(full);
  EXPECT_EQ(body(full).at("full_exceeds_hint"), true);
  EXPECT_FALSE(body(full).contains("value"));
  // full=true within the hint: the whole value.
  const bj::object whole =
      call("get_cached_result", {{"ref_id", ref}, {"full", true}}, chars(100000));
  EXPECT_EQ(body(whole).at("value"), rows(100));
}

#if REFCACHE_WITH_SQLITE
TEST_F(BudgetHints, QueryCachedResultHonoursTheHint) {
  const std::string ref = store(rows(300));
  const bj::object args{{"ref_id", ref}, {"sql", "SELECT id, name FROM data WHERE score > 10"}};
  const bj::object plain = call("query_cached_result", args);
  ASSERT_GT(text_of(plain).size(), 450u);
  const bj::object hinted = call("query_cached_result", args, chars(450));
  EXPECT_FALSE(hinted.contains("isError")) << text_of(hinted);
  EXPECT_LE(text_of(hinted).size(), 450u) << text_of(hinted);
  EXPECT_EQ(body(hinted).at("is_complete"), false);
  EXPECT_EQ(body(hinted).at("ref_id"), body(plain).at("ref_id"));  // the same cached answer

  const bj::object search =
      call("search_cached_result", {{"ref_id", ref}, {"query", "item"}}, chars(300));
  EXPECT_LE(text_of(search).size(), 300u) << text_of(search);
}
#endif

TEST_F(TokenBudgetHints, ATokenHintInTokenModeBoundsTheTextsTokens) {
  const auto& tok = refcache::Tokenizer::get(refcache::Encoding::kO200kBase);
  const bj::object plain = call("rows", {{"n", 80}});
  ASSERT_GT(tok.count(text_of(plain)), 150u);
  const bj::object hinted = call("rows", {{"n", 80}}, tokens(150));
  EXPECT_TRUE(body(hinted).contains("preview")) << text_of(hinted);
  EXPECT_LE(tok.count(text_of(hinted)), 150u) << text_of(hinted);
}

TEST_F(TokenBudgetHints, ACharacterHintInTokenModeBoundsTheTextsCharacters) {
  const bj::object hinted = call("rows", {{"n", 80}}, chars(700));
  EXPECT_TRUE(body(hinted).contains("preview")) << text_of(hinted);
  EXPECT_LE(text_of(hinted).size(), 700u) << text_of(hinted);
  // Both hints: the answer fits both.
  const bj::object both =
      call("rows", {{"n", 80}},
           {{"anthropic/maxResultSizeChars", 600}, {"refcache/maxResultTokens", 100}});
  EXPECT_LE(text_of(both).size(), 600u);
  EXPECT_LE(refcache::Tokenizer::get(refcache::Encoding::kO200kBase).count(text_of(both)), 100u);
}

TEST_F(ApproxBudgetHints, HintsInTheApproximationsTokensAndInCharactersAreBothMet) {
  const bj::object plain = call("rows", {{"n", 80}});
  ASSERT_GT(text_of(plain).size(), 4u * 150u);
  const bj::object by_tokens = call("rows", {{"n", 80}}, tokens(150));
  EXPECT_TRUE(body(by_tokens).contains("preview")) << text_of(by_tokens);
  EXPECT_LE((text_of(by_tokens).size() + 3) / 4, 150u) << text_of(by_tokens);
  const bj::object by_chars = call("rows", {{"n", 80}}, chars(700));
  EXPECT_TRUE(body(by_chars).contains("preview")) << text_of(by_chars);
  EXPECT_LE(text_of(by_chars).size(), 700u) << text_of(by_chars);
}

}  // namespace
