// The gateway's interception under a client's budget hint (refcache_mcp/budget_hint.hpp): a
// result whose text is over the hint becomes a ref even under the threshold, its preview is
// cut so that the whole answer's text fits (characters, or tokens as the cache counts them),
// and without a hint nothing changes.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "refcache/memory_backend.hpp"
#include "refcache/tokenizer.hpp"
#include "result_interception.hpp"

namespace json = boost::json;

namespace {

std::string text_of(const mcp::CallToolResult& r) {
  std::string s;
  for (const auto& b : r.content)
    if (b.at("type") == "text") s += std::string(b.at("text").as_string());
  return s;
}

mcp::CallToolResult listing(int n) {
  json::array rows;
  for (int i = 0; i < n; ++i)
    rows.push_back(
        json::object{{"path", "/data/file-" + std::to_string(i) + ".txt"}, {"size", i * 100}});
  mcp::CallToolResult r;
  r.content.push_back(mcp::text_content(json::serialize(rows)));
  r.content.push_back(mcp::image_content("aGk=", "image/png"));
  return r;
}

class GatewayBudgetHint : public ::testing::Test {
 protected:
  GatewayBudgetHint() {
    refcache::RefCacheOptions o;  // tokens, o200k_base
    o.name = "gateway";
    o.backend = std::make_shared<refcache::MemoryBackend>();
    cache_ = std::make_unique<refcache::RefCache>(std::move(o));
  }
  std::unique_ptr<refcache::RefCache> cache_;
};

TEST_F(GatewayBudgetHint, AResultUnderTheThresholdButOverTheHintBecomesARefThatFits) {
  const mcp::CallToolResult r = listing(30);  // about 1300 characters, 400 tokens
  const gateway::InterceptOptions plain{.threshold = 10000, .preview_size = 1000, .tool = "ls"};
  EXPECT_EQ(gateway::intercept(*cache_, {}, r, plain).to_json(), r.to_json());

  gateway::InterceptOptions hinted = plain;
  hinted.hint.max_chars = 700;
  const mcp::CallToolResult out = gateway::intercept(*cache_, {}, r, hinted);
  ASSERT_TRUE(out.structured_content);
  const auto& sc = out.structured_content->as_object();
  EXPECT_EQ(sc.at("is_complete"), false);
  EXPECT_TRUE(sc.contains("preview")) << text_of(out);
  EXPECT_LE(text_of(out).size(), 700u) << text_of(out);
  EXPECT_EQ(out.content.back().at("type"), "image");  // passed on after the ref
  EXPECT_NE(std::string(sc.at("message").as_string()).find("larger than this call accepts"),
            std::string::npos);
}

TEST_F(GatewayBudgetHint, ALargeResultsPreviewFitsACharacterOrTokenHint) {
  const mcp::CallToolResult r = listing(500);
  const gateway::InterceptOptions plain{.threshold = 100, .preview_size = 1000, .tool = "ls"};
  const mcp::CallToolResult unhinted = gateway::intercept(*cache_, {}, r, plain);
  ASSERT_GT(text_of(unhinted).size(), 700u);

  gateway::InterceptOptions by_chars = plain;
  by_chars.hint.max_chars = 700;
  const mcp::CallToolResult a = gateway::intercept(*cache_, {}, r, by_chars);
  EXPECT_TRUE(a.structured_content->as_object().contains("preview")) << text_of(a);
  EXPECT_LE(text_of(a).size(), 700u) << text_of(a);

  gateway::InterceptOptions by_tokens = plain;
  by_tokens.hint.max_tokens = 250;
  const mcp::CallToolResult b = gateway::intercept(*cache_, {}, r, by_tokens);
  EXPECT_TRUE(b.structured_content->as_object().contains("preview")) << text_of(b);
  EXPECT_LE(refcache::Tokenizer::get(refcache::Encoding::kO200kBase).count(text_of(b)), 250u);

  // A hint above what the gateway would answer anyway changes nothing but the ref's entry.
  gateway::InterceptOptions large = plain;
  large.hint.max_chars = 1000000;
  const mcp::CallToolResult c = gateway::intercept(*cache_, {}, r, large);
  EXPECT_EQ(c.structured_content->at("preview"), unhinted.structured_content->at("preview"));
}

TEST_F(GatewayBudgetHint, AHintTooSmallForAnyPreviewGivesTheMinimalAnswer) {
  gateway::InterceptOptions o{.threshold = 100, .preview_size = 1000, .tool = "ls"};
  o.hint.max_chars = 100;
  mcp::CallToolResult r = listing(500);
  r.is_error = true;  // an upstream's error result stays one
  const mcp::CallToolResult out = gateway::intercept(*cache_, {}, r, o);
  const auto& sc = out.structured_content->as_object();
  EXPECT_EQ(sc.at("nothing_fits"), true);
  EXPECT_TRUE(out.is_error);
  EXPECT_LE(text_of(out).size(), 100u) << text_of(out);
  EXPECT_FALSE(cache_->resolve(std::string(sc.at("ref_id").as_string()), refcache::Actor::agent())
                   ->is_null());
}

}  // namespace
