// mcp::Client over stdio against refcache-calculator (an in-memory cache), in both eras: typed
// calls of its tools, a cached sequence handed back as a reference, and the reference read back
// as a resource.
#include <boost/describe.hpp>

#include "client_e2e.hpp"
#include "jsonio/json_text.hpp"

namespace {

using namespace client_e2e;
namespace bj = boost::json;

struct CalculateArgs {
  std::string expression;
};
BOOST_DESCRIBE_STRUCT(CalculateArgs, (), (expression))
struct CalculateResult {
  std::string expression;
  double result = 0;
};
BOOST_DESCRIBE_STRUCT(CalculateResult, (), (expression, result))

struct CountArgs {
  int count = 0;
};
BOOST_DESCRIBE_STRUCT(CountArgs, (), (count))
// What a cached tool answers: the reference, and the value or a preview of it.
struct CachedResult {
  std::string ref_id;
  std::optional<bj::value> value;
  std::optional<bj::value> preview;
};
BOOST_DESCRIBE_STRUCT(CachedResult, (), (ref_id, value, preview))

class Calculator : public ::testing::TestWithParam<mcp::VersionNegotiation> {
 protected:
  void SetUp() override {
    client_ = std::make_unique<mcp::Client>(
        mcp::ClientOptions{.info = {.name = "calculator-e2e", .version = "1"},
                           .versions = GetParam(),
                           .request_timeout = std::chrono::seconds(20)});
    client_->connect(stdio(MCP_TEST_CALCULATOR, {"--stdio", "--backend", "memory:"}, "calculator"));
  }
  std::unique_ptr<mcp::Client> client_;
};

TEST_P(Calculator, TypedCallsAndReferences) {
  mcp::Client& client = *client_;
  EXPECT_EQ(client.era(),
            GetParam() == mcp::VersionNegotiation::kLegacy ? mcp::Era::kLegacy : mcp::Era::kModern);
  EXPECT_EQ(client.server().implementation.name, "refcache-calculator");
  std::vector<std::string> names;
  for (const auto& t : client.list_tools()) names.push_back(t.name);
  for (const char* want : {"calculate", "generate_primes", "generate_fibonacci",
                           "generate_sequence", "list_cached_keys"})
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;

  auto calc = client.call_tool<CalculateResult>("calculate",
                                                CalculateArgs{.expression = "2 * (3 + 4) ** 2"});
  EXPECT_EQ(calc.result, 98);
  EXPECT_EQ(calc.expression, "2 * (3 + 4) ** 2");
  EXPECT_TRUE(client.call_tool("calculate", {{"expression", "1 +"}}).is_error);

  auto primes = client.call_tool<CachedResult>("generate_primes", CountArgs{.count = 10});
  ASSERT_FALSE(primes.ref_id.empty());
  ASSERT_TRUE(primes.value.has_value()) << "ten primes fit the preview size";
  EXPECT_EQ(jsonio::to_string(*primes.value), "[2,3,5,7,11,13,17,19,23,29]");

  // The reference is also a resource.
  bool has_template = false;
  for (const auto& t : client.list_resource_templates())
    has_template = has_template || t.uri_template == "refcache://{ref_id}";
  EXPECT_TRUE(has_template);
  auto read = client.read_resource("refcache://" + primes.ref_id);
  ASSERT_EQ(read.contents.size(), 1u);
  ASSERT_TRUE(read.contents[0].text.has_value());
  EXPECT_NE(read.contents[0].text->find("29"), std::string::npos) << *read.contents[0].text;
}

INSTANTIATE_TEST_SUITE_P(BothEras, Calculator,
                         ::testing::Values(mcp::VersionNegotiation::kLegacy,
                                           mcp::VersionNegotiation::kAuto),
                         [](const auto& p) {
                           return std::string(
                               p.param == mcp::VersionNegotiation::kLegacy ? "legacy" : "modern");
                         });

}  // namespace
