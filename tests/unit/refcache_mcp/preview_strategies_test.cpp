// Preview strategies through the MCP surface: get_cached_result's preview_strategy argument
// with a built-in strategy, with the custom `columns` strategy that refcache-data-analysis
// registers, and with an unknown name; and the explicit completeness fields of its answers.
#include <gtest/gtest.h>

#include <string>

#include "jsonio/json_text.hpp"
#include "refcache-data-analysis/columns_preview.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "unit/in_process_client.hpp"
#include "unit/refcache_mcp/small_cache_options.hpp"

namespace {

namespace bj = boost::json;

class PreviewStrategies : public ::testing::Test {
 protected:
  PreviewStrategies()
      : cache(test_support::small_cache_options()),
        server(mcp::ServerOptions{.info = {.name = "p", .version = "1"}, .worker_threads = 2}) {
    refcache::mcp::install(server, cache, {});
    cache.register_preview_strategy("columns", analysis::columns_preview);
    alice = test_support::InProcessClient(server, "alice", "s");
  }

  // get_cached_result's result object.
  bj::object call(bj::object args) { return alice.call("get_cached_result", std::move(args)); }

  static bj::value dataset(int n) {
    bj::array rows;
    for (int i = 0; i < n; ++i)
      rows.push_back(bj::object{{"id", i},
                                {"region", i % 2 ? "north" : "south"},
                                {"value", i * 1.5},
                                {"note", std::string(60, 'x') + std::to_string(i)}});
    return rows;
  }

  refcache::RefCache cache;
  mcp::Server server;
  test_support::InProcessClient alice;
};

TEST_F(PreviewStrategies, TheCustomColumnsStrategyAnswersThroughMcp) {
  const std::string ref = cache.set("", dataset(200)).ref_id;
  const bj::object r = call({{"ref_id", ref}, {"preview_strategy", "columns"}});
  ASSERT_FALSE(r.contains("isError") && r.at("isError") == true) << bj::value(r);
  const bj::object& s = r.at("structuredContent").as_object();
  EXPECT_EQ(s.at("preview_strategy"), "columns");
  EXPECT_EQ(s.at("complete"), false);
  EXPECT_EQ(s.at("preview").at("rows"), 200);
  const auto& cols = s.at("preview").at("columns").as_object();
  ASSERT_TRUE(cols.contains("region"));
  EXPECT_EQ(cols.at("id").at(0), 0);
  const std::size_t shown = cols.at("id").as_array().size();
  EXPECT_GE(shown, 1u);
  EXPECT_EQ(s.at("omitted").at("items"), 200 - static_cast<int>(shown));
  EXPECT_GT(s.at("omitted").at("characters").as_int64(), 0);  // the notes were cut
  EXPECT_LE(s.at("preview_size").as_int64(), 400);
  EXPECT_LE(jsonio::measure_code_points(s.at("preview")), 400u);
  EXPECT_FALSE(s.at("how_to_get_more").as_array().empty());
}

TEST_F(PreviewStrategies, BuiltInStrategiesByNameAndTheDefaultShape) {
  const std::string ref = cache.set("", dataset(200)).ref_id;
  const bj::object shape = call({{"ref_id", ref}}).at("structuredContent").as_object();
  EXPECT_EQ(shape.at("preview_strategy"), "shape");
  EXPECT_EQ(shape.at("omitted").at("summarised"), true);
  const bj::object sample =
      call({{"ref_id", ref}, {"preview_strategy", "sample"}}).at("structuredContent").as_object();
  EXPECT_EQ(sample.at("preview_strategy"), "sample");
  EXPECT_TRUE(sample.at("preview").is_array());
  EXPECT_GT(sample.at("omitted").at("items").as_int64(), 0);
}

TEST_F(PreviewStrategies, SmallValuesSayTheyAreComplete) {
  const std::string ref = cache.set("", bj::value(bj::array{1, 2, 3})).ref_id;
  const bj::object s = call({{"ref_id", ref}}).at("structuredContent").as_object();
  EXPECT_EQ(s.at("complete"), true);
  EXPECT_FALSE(s.contains("omitted"));
  EXPECT_FALSE(s.contains("how_to_get_more"));
}

// A caller that may use a private original value but not read it gets its structure through
// get_cached_result, and nothing else; another user gets the answer of a missing ref.
TEST_F(PreviewStrategies, ACallerWhoMayOnlyUseAValueGetsItsStructure) {
  const bj::value data = dataset(200);
  const refcache::CallIdentity owner{{{"user_id", "alice"}}};
  const std::string ref = cache.set("", data, refcache::private_set_options(owner)).ref_id;
  const bj::object r = call({{"ref_id", ref}});
  ASSERT_FALSE(r.contains("isError") && r.at("isError") == true) << bj::value(r);
  const bj::object& s = r.at("structuredContent").as_object();
  EXPECT_EQ(s.at("preview_strategy"), "shape");
  EXPECT_EQ(s.at("total_items"), 200);
  EXPECT_TRUE(s.at("original_size").is_null());
  EXPECT_EQ(s.at("omitted").at("values_withheld"), true);
  EXPECT_EQ(s.at("preview").at("items").at("keys").at("region"), bj::value({{"type", "string"}}));
  const std::string text = jsonio::to_string(bj::value(r));
  for (const char* value : {"north", "south", "xxxxxxxxxx", "1.5", "\"count\"", "\"min\""})
    EXPECT_EQ(text.find(value), std::string::npos) << value << " in " << text;

  for (bj::object args :
       {bj::object{{"ref_id", ref}, {"full", true}}, bj::object{{"ref_id", ref}, {"page", 1}},
        bj::object{{"ref_id", ref}, {"preview_strategy", "sample"}},
        bj::object{{"ref_id", ref + "#/0"}}}) {
    const bj::object refused = call(args);
    EXPECT_TRUE(refused.contains("isError") && refused.at("isError") == true) << bj::value(args);
    EXPECT_EQ(jsonio::to_string(bj::value(refused)).find("north"), std::string::npos);
  }

  test_support::InProcessClient bob(server, "bob", "b");
  const bj::object other = bob.call("get_cached_result", {{"ref_id", ref}});
  const std::string absent =
      ref.substr(0, ref.size() - 4) + (ref.ends_with("0000") ? "1111" : "0000");
  const bj::object missing = bob.call("get_cached_result", {{"ref_id", absent}});
  // The same text, but for the ref id each names.
  auto without = [](std::string answer, const std::string& id) {
    for (auto at = answer.find(id); at != std::string::npos; at = answer.find(id))
      answer.replace(at, id.size(), "REF");
    return answer;
  };
  EXPECT_EQ(without(jsonio::to_string(bj::value(other)), ref),
            without(jsonio::to_string(bj::value(missing)), absent));
  EXPECT_TRUE(other.contains("isError") && other.at("isError") == true);
}

TEST_F(PreviewStrategies, AnUnknownStrategyIsAClearErrorListingTheKnownOnes) {
  const std::string ref = cache.set("", dataset(5)).ref_id;
  const bj::object r = call({{"ref_id", ref}, {"preview_strategy", "nope"}});
  ASSERT_TRUE(r.contains("isError") && r.at("isError") == true) << bj::value(r);
  const std::string text = jsonio::to_string(bj::value(r));
  EXPECT_NE(text.find("Unknown preview strategy 'nope'"), std::string::npos) << text;
  for (const char* name : {"sample", "paginate", "truncate", "shape", "columns"})
    EXPECT_NE(text.find(name), std::string::npos) << name;
}

}  // namespace
