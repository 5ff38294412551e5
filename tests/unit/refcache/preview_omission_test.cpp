// Previews that never mislead: every strategy (the built-in ones and custom ones, well and
// badly behaved), on every kind of value, in every size mode and at several budgets, gives
// valid JSON within the budget, says `complete` exactly when the preview is the whole value,
// and otherwise states what it omits. A strategy that forgets to state an omission fails here.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "jsonio/json_text.hpp"
#include "refcache/preview.hpp"
#include "refcache/ref_cache.hpp"
#include "test_util.hpp"

using namespace refcache;
using refcache_test::J;
namespace json = boost::json;

namespace {

struct Kind {
  std::string name;
  json::value value;
};

std::vector<Kind> kinds() {
  std::vector<Kind> k;
  k.push_back({"big list", refcache_test::range(3000)});
  json::object big_object;
  for (int i = 0; i < 500; ++i) big_object["key_" + std::to_string(i)] = i * 3;
  k.push_back({"big object", big_object});
  std::string text;
  for (int i = 0; i < 4000; ++i) text += static_cast<char>('a' + i % 26);
  text += "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"\\\n";  // multi-byte and escaped characters
  k.push_back({"long string", json::value(text)});
  json::value nested = refcache_test::range(400);
  for (int d = 0; d < 12; ++d) nested = json::object{{"level" + std::to_string(d), nested}};
  k.push_back({"deeply nested", nested});
  json::array rows;
  for (int i = 0; i < 400; ++i)
    rows.push_back(json::object{{"id", i},
                                {"name", "user-" + std::to_string(i)},
                                {"when", "2026-02-03T04:05:06Z"},
                                {"tags", json::array{"a", i % 2 ? json::value(nullptr) : "b"}}});
  k.push_back({"records", rows});
  k.push_back(
      {"mixed", J(R"([1,"two",3.5,null,true,{"k":[1,2,{"z":"long long long long"}]},)"
                  R"([[[[["deep"]]]]],"a longer string that will not fit in small budgets"])")});
  json::array huge_items;
  for (int i = 0; i < 3; ++i) huge_items.push_back(refcache_test::range(2000, i));
  k.push_back({"list of huge items", huge_items});
  k.push_back({"empty list", J("[]")});
  k.push_back({"empty object", J("{}")});
  k.push_back({"empty string", J(R"("")")});
  k.push_back({"tiny", J(R"({"a":1})")});
  k.push_back({"number", J("123456789012345")});
  k.push_back({"null", J("null")});
  return k;
}

struct Strategy {
  std::string name;
  PreviewStrategy builtin = PreviewStrategy::kSample;
  std::optional<std::int64_t> page{};
  PreviewFunction custom{};  // set: a custom strategy
};

std::vector<Strategy> strategies() {
  std::vector<Strategy> s;
  s.push_back({"sample", PreviewStrategy::kSample});
  s.push_back({"paginate", PreviewStrategy::kPaginate, 1});
  s.push_back({"paginate page 2", PreviewStrategy::kPaginate, 2});
  s.push_back({"truncate", PreviewStrategy::kTruncate});
  s.push_back({"shape", PreviewStrategy::kShape});
  // A custom strategy that states what it leaves out.
  s.push_back({"custom first items", PreviewStrategy::kSample, std::nullopt,
               [](const json::value& v, const PreviewBudget&) {
                 CustomPreview c;
                 if (v.is_array() && v.get_array().size() > 2) {
                   c.preview = json::array{v.get_array()[0], v.get_array()[1]};
                   c.omitted["items"] = v.get_array().size() - 2;
                 } else {
                   c.preview = v;
                 }
                 return c;
               }});
  // One that forgets to say what it leaves out: the library says it.
  s.push_back({"custom forgetful", PreviewStrategy::kSample, std::nullopt,
               [](const json::value& v, const PreviewBudget&) {
                 CustomPreview c;
                 c.preview = v.is_array() && !v.get_array().empty() ? v.get_array()[0] : v;
                 return c;
               }});
  // One that ignores the budget: the library cuts it.
  s.push_back({"custom overflowing", PreviewStrategy::kSample, std::nullopt,
               [](const json::value& v, const PreviewBudget&) {
                 CustomPreview c;
                 c.preview = json::array{v, v};
                 c.omitted["summarised"] = true;
                 return c;
               }});
  return s;
}

std::vector<std::pair<std::string, PreviewConfig>> configs() {
  PreviewConfig chars;
  chars.size_mode = SizeMode::kCharacter;
  PreviewConfig o200k;  // exact tokens
  PreviewConfig approx;
  approx.token_counter = TokenCounter::kChars4;
  return {{"characters", chars}, {"o200k_base", o200k}, {"chars4", approx}};
}

// A stated omission is non-empty and each of its members says something.
void expect_stated(const json::object& omitted) {
  ASSERT_FALSE(omitted.empty());
  for (const auto& kv : omitted) {
    const json::value& v = kv.value();
    if (v.is_number()) {
      EXPECT_GT(v.to_number<double>(), 0) << kv.key();
    }
    if (v.is_bool()) {
      EXPECT_TRUE(v.get_bool()) << kv.key();
    }
    if (v.is_array()) {
      EXPECT_FALSE(v.get_array().empty()) << kv.key();
    }
    if (v.is_object()) {
      EXPECT_FALSE(v.get_object().empty()) << kv.key();
    }
  }
}

PreviewResult run(const Strategy& s, const json::value& v, std::size_t max,
                  const PreviewConfig& cfg) {
  PreviewRequest r;
  r.max_size = max;
  r.strategy = s.builtin;
  r.page = s.page;
  if (s.custom) return generate_custom_preview(v, s.custom, r, cfg);
  return generate_preview(v, r, cfg);
}

}  // namespace

TEST(PreviewOmissions, EveryStrategyOnEveryValueIsValidBoundedAndHonest) {
  std::size_t checked = 0, incomplete = 0;
  for (const auto& [mode, cfg] : configs())
    for (const auto& s : strategies())
      for (const auto& k : kinds())
        for (std::size_t max : {40, 200, 5000}) {
          SCOPED_TRACE(mode + " / " + s.name + " / " + k.name + " / " + std::to_string(max));
          const PreviewResult r = run(s, k.value, max, cfg);
          // Valid JSON: what is sent reads back as the same value.
          const std::string text = jsonio::to_string(r.preview);
          EXPECT_EQ(jsonio::parse_or_throw(text), r.preview);
          // Within the budget, and the size reported is the size sent.
          EXPECT_EQ(r.preview_size, measure_units(r.preview, cfg));
          EXPECT_LE(r.preview_size, max);
          // complete exactly when the preview is the whole value; otherwise stated.
          EXPECT_EQ(r.complete, r.preview == k.value);
          if (r.complete) {
            EXPECT_TRUE(r.omitted.empty());
          } else {
            ++incomplete;
            expect_stated(r.omitted);
          }
          ++checked;
        }
  EXPECT_EQ(checked, 3u * 8u * 13u * 3u);
  EXPECT_GT(incomplete, checked / 2);
}

TEST(PreviewOmissions, ResponsesSayCompleteAndHowToGetTheRest) {
  RefCacheOptions o;
  o.preview.size_mode = SizeMode::kCharacter;
  o.preview.max_size = 100;
  RefCache cache(o);
  cache.register_preview_strategy("forgetful", [](const json::value& v, const PreviewBudget&) {
    return CustomPreview{v.is_array() ? v.get_array()[0] : v, {}};
  });
  const auto big = cache.set("", refcache_test::range(1000)).ref_id;
  const auto small = cache.set("", J("[1,2]")).ref_id;
  for (const char* name : {"sample", "paginate", "truncate", "shape", "forgetful"}) {
    SCOPED_TRACE(name);
    GetOptions go;
    go.strategy_name = name;
    const json::object whole =
        std::get<CacheResponse>(cache.get(small, Actor::agent(), go)).to_json();
    if (std::string_view(name) != "shape" && std::string_view(name) != "forgetful") {
      EXPECT_EQ(whole.at("complete"), true);
      EXPECT_FALSE(whole.contains("omitted"));
    }
    const json::object part = std::get<CacheResponse>(cache.get(big, Actor::agent(), go)).to_json();
    EXPECT_EQ(part.at("complete"), false);
    EXPECT_FALSE(part.at("omitted").as_object().empty());
    const std::string more = jsonio::to_string(part.at("how_to_get_more"));
    EXPECT_NE(more.find("full=true"), std::string::npos) << more;
    EXPECT_EQ(part.at("preview_strategy"), name);
  }
  GetOptions paged;
  paged.page = 1;
  const json::object page =
      std::get<CacheResponse>(cache.get(big, Actor::agent(), paged)).to_json();
  EXPECT_NE(jsonio::to_string(page.at("how_to_get_more")).find("page=2"), std::string::npos);
}

TEST(PreviewOmissions, RegistrationRefusesBuiltInDuplicateAndEmptyNames) {
  RefCache cache;
  auto fn = [](const json::value& v, const PreviewBudget&) { return CustomPreview{v, {}}; };
  EXPECT_THROW(cache.register_preview_strategy("", fn), InvalidArgument);
  EXPECT_THROW(cache.register_preview_strategy("shape", fn), InvalidArgument);
  cache.register_preview_strategy("mine", fn);
  EXPECT_THROW(cache.register_preview_strategy("mine", fn), InvalidArgument);
  const auto names = cache.preview_strategy_names();
  EXPECT_EQ(names.back(), "mine");
  const auto ref = cache.set("", J("[1]")).ref_id;
  GetOptions go;
  go.strategy_name = "nope";
  try {
    cache.get(ref, Actor::agent(), go);
    ADD_FAILURE() << "an unknown strategy was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("sample, paginate, truncate, shape, mine"),
              std::string::npos)
        << e.what();
  }
}

// The example of docs/previews.md ("Custom strategies"), compiled and run as written there.
TEST(PreviewOmissions, TheDocumentedCustomStrategyExample) {
  refcache::RefCache cache({.name = "shop"});
  // The first record of a list, and how many records it leaves out.
  cache.register_preview_strategy("first_row",
                                  [](const boost::json::value& v, const refcache::PreviewBudget&) {
                                    refcache::CustomPreview p;
                                    if (v.is_array() && v.get_array().size() > 1) {
                                      p.preview = v.get_array()[0];
                                      p.omitted["items"] = v.get_array().size() - 1;
                                    } else {
                                      p.preview = v;  // the whole value: nothing omitted
                                    }
                                    return p;
                                  });
  auto ref = cache.set("orders", boost::json::array{{{"id", 1}}, {{"id", 2}}});
  refcache::GetOptions go;
  go.strategy_name = "first_row";  // over MCP: get_cached_result(ref_id, preview_strategy=...)
  auto r = std::get<refcache::CacheResponse>(cache.get(ref.ref_id, refcache::Actor::agent(), go));
  // r.preview == {"id":1}, r.complete == false, r.omitted == {"items":1}
  EXPECT_EQ(r.preview, J(R"({"id":1})"));
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(json::value(r.omitted), J(R"({"items":1})"));
}
