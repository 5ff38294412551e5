// The calculator's and data-analysis server's computations, and the schema widening that lets
// every cached-tool parameter take a ref id.
#include <gtest/gtest.h>

#include "jsonio/json_text.hpp"
#include "refcache-calculator/sequences.hpp"
#include "refcache-data-analysis/analysis.hpp"
#include "refcache_mcp/cached_tools.hpp"

namespace json = boost::json;

TEST(Calculator, Primes) {
  EXPECT_EQ(jsonio::to_string(calculator::primes(10)), "[2,3,5,7,11,13,17,19,23,29]");
  auto p = calculator::primes(10000);
  EXPECT_EQ(p.as_array().size(), 10000u);
  EXPECT_EQ(p.as_array().back(), 104729);
  EXPECT_THROW(calculator::primes(0), calculator::InputError);
  EXPECT_THROW(calculator::primes(10001), calculator::InputError);
  try {
    calculator::primes(0);
  } catch (const calculator::InputError& e) {
    EXPECT_STREQ(e.what(), "Count must be between 1 and 10000");
  }
}

TEST(Calculator, FibonacciStaysExactAsLongAsItCan) {
  EXPECT_EQ(jsonio::to_string(calculator::fibonacci(8)), "[0,1,1,2,3,5,8,13]");
  auto f = calculator::fibonacci(94).as_array();
  EXPECT_EQ(f[93], json::value(12200160415121876738ull));  // the last that fits 64 bits
  auto g = calculator::fibonacci(1000).as_array();
  EXPECT_TRUE(g[999].is_double());
  EXPECT_THROW(calculator::fibonacci(1001), calculator::InputError);
}

TEST(Calculator, Sequences) {
  EXPECT_EQ(jsonio::to_string(calculator::sequence("Arithmetic", 4, 10, 5)), "[10,15,20,25]");
  EXPECT_EQ(jsonio::to_string(calculator::sequence("geometric", 4, {}, {})), "[1,2,4,8]");
  EXPECT_EQ(jsonio::to_string(calculator::sequence("triangular", 4, {}, {})), "[1,3,6,10]");
  EXPECT_EQ(jsonio::to_string(calculator::sequence("factorial", 5, {}, {})), "[1,1,2,6,24]");
  try {
    calculator::sequence("squares", 3, {}, {});
    FAIL();
  } catch (const calculator::InputError& e) {
    // The type is not quoted back (it may come from a private value).
    EXPECT_EQ(std::string(e.what()).rfind("Unknown sequence type. Valid types:", 0), 0u);
    EXPECT_EQ(std::string(e.what()).find("squares"), std::string::npos);
  }
}

TEST(Calculator, Expressions) {
  EXPECT_DOUBLE_EQ(calculator::evaluate("2 * (3 + 4) ** 2"), 98.0);
  EXPECT_DOUBLE_EQ(calculator::evaluate("sqrt(16) + log(e)"), 5.0);
  EXPECT_DOUBLE_EQ(calculator::evaluate("factorial(5) + max(1, 7, 3)"), 127.0);
  EXPECT_NEAR(calculator::evaluate("sin(pi / 2)"), 1.0, 1e-12);
  try {
    calculator::evaluate("__import__('os')");
    FAIL();
  } catch (const calculator::InputError& e) {
    EXPECT_STREQ(e.what(), "Invalid character in expression: '");
  }
  // A character beyond ASCII is named whole (valid UTF-8), a stray byte by its value.
  for (const auto& [expr, named] : std::vector<std::pair<std::string, std::string>>{
           {"2 \xC3\x97 3", "\xC3\x97"},
           {"1 + \xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},
           {"1 \xC3", "byte 0xc3"},
           {"1 \xE0\x80\x80", "byte 0xe0"},
           {"1 \xED\xA0\x80", "byte 0xed"}}) {
    try {
      calculator::evaluate(expr);
      ADD_FAILURE() << expr;
    } catch (const calculator::InputError& e) {
      EXPECT_EQ(std::string(e.what()), "Invalid character in expression: " + named);
    }
  }
  EXPECT_THROW(calculator::evaluate("1 / 0"), calculator::InputError);
  EXPECT_THROW(calculator::evaluate("2 +"), calculator::InputError);
  EXPECT_THROW(calculator::evaluate("nosuchfn(2)"), calculator::InputError);
}

TEST(Analysis, Statistics) {
  auto s = analysis::statistics({1, 2, 3, 4, 5, 6, 7});
  EXPECT_EQ(s.at("count"), 7);
  EXPECT_DOUBLE_EQ(s.at("mean").as_double(), 4.0);
  EXPECT_DOUBLE_EQ(s.at("median").as_double(), 4.0);
  EXPECT_DOUBLE_EQ(s.at("q1").as_double(), 2.0);  // median of 1,2,3 (middle excluded)
  EXPECT_DOUBLE_EQ(s.at("q3").as_double(), 6.0);
  EXPECT_DOUBLE_EQ(s.at("variance").as_double(), 28.0 / 6.0);
  auto one = analysis::statistics({5});
  EXPECT_FALSE(one.contains("std"));
  EXPECT_FALSE(one.contains("q1"));
  EXPECT_THROW(analysis::statistics({}), analysis::InputError);
}

TEST(Analysis, NumbersAreChecked) {
  EXPECT_THROW(analysis::numbers(json::value("x")), analysis::InputError);
  EXPECT_THROW(analysis::numbers(json::array{1, "a"}), analysis::InputError);
  try {
    analysis::numbers(json::object{});
  } catch (const analysis::InputError& e) {
    EXPECT_STREQ(e.what(), "Expected list data, got dict");
  }
}

TEST(Analysis, Transforms) {
  EXPECT_EQ(analysis::transform({2, 4, 6}, "normalize", 1), (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(analysis::transform({3, 3}, "normalize", 1), (std::vector<double>{0.5, 0.5}));
  EXPECT_EQ(analysis::transform({1, 2, 4}, "diff", 1), (std::vector<double>{1, 2}));
  EXPECT_EQ(analysis::transform({1, 2, 4}, "cumsum", 1), (std::vector<double>{1, 3, 7}));
  EXPECT_EQ(analysis::transform({1, -2}, "scale", 3), (std::vector<double>{3, -6}));
  EXPECT_THROW(analysis::transform({0, 1}, "log", 1), analysis::InputError);
  EXPECT_THROW(analysis::transform({-1}, "sqrt", 1), analysis::InputError);
  EXPECT_THROW(analysis::transform({1}, "standardize", 1), analysis::InputError);
  EXPECT_THROW(analysis::transform({1}, "invert", 1), analysis::InputError);
  EXPECT_THROW(analysis::transform({}, "abs", 1), analysis::InputError);
}

TEST(Analysis, Aggregates) {
  EXPECT_EQ(analysis::aggregate({{1, 2}, {3}}, "concat"), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(analysis::aggregate({{1, 2}, {3, 4}}, "sum"), (std::vector<double>{4, 6}));
  EXPECT_EQ(analysis::aggregate({{1, 2}, {3, 4}}, "mean"), (std::vector<double>{2, 3}));
  EXPECT_EQ(analysis::aggregate({{1, 2}, {3}}, "zip"), (std::vector<double>{1, 3, 2}));
  EXPECT_THROW(analysis::aggregate({{1, 2}, {3}}, "sum"), analysis::InputError);
  EXPECT_THROW(analysis::aggregate({}, "concat"), analysis::InputError);
}

TEST(Analysis, Samples) {
  auto u = analysis::sample(1000, "uniform", 5, 10);
  EXPECT_EQ(u.size(), 1000u);
  for (double x : u) EXPECT_TRUE(x >= 5 && x <= 10);
  EXPECT_EQ(analysis::sample(10, "normal", 0, 1).size(), 10u);
  EXPECT_THROW(analysis::sample(0, "uniform", 0, 1), analysis::InputError);
  EXPECT_THROW(analysis::sample(10, "cauchy", 0, 1), analysis::InputError);
}

TEST(Binding, EveryParameterAcceptsARefAndTheSchemaSaysSo) {
  json::value schema = {{"type", "object"},
                        {"properties",
                         {{"data", {{"type", "array"}, {"description", "numbers"}}},
                          {"count", {{"type", "integer"}, {"default", 20}}}}},
                        {"required", json::array{"data"}}};
  auto wide = refcache::mcp::accept_refs(schema);
  const auto& data = wide.at("properties").at("data");
  EXPECT_EQ(data.at("description"), "numbers");
  EXPECT_EQ(data.at("anyOf").at(0).at("type"), "array");
  // A ref id, optionally followed by '#' and a JSON Pointer (a ref path, ref_path.hpp).
  EXPECT_EQ(data.at("anyOf").at(1).at("pattern"),
            "^[a-zA-Z][a-zA-Z0-9_-]*:[a-f0-9]{8,}(#(/([^~/]|~[01])*)*)?$");
  EXPECT_EQ(mcp::validate(wide, json::object{{"data", "calc:0123456789abcdef#/rows/0"}}), "");
  EXPECT_NE(mcp::validate(wide, json::object{{"data", "calc:0123456789abcdef#rows"}}), "");
  EXPECT_EQ(wide.at("properties").at("count").at("default"), 20);
  EXPECT_EQ(mcp::validate(wide, json::object{{"data", "calc:0123456789abcdef"}}), "");
  EXPECT_EQ(mcp::validate(schema, json::object{{"data", "calc:0123456789abcdef"}}).empty(), false);
  EXPECT_NE(mcp::validate(wide, json::object{{"data", "not a ref"}}), "");
  auto only = refcache::mcp::accept_refs(schema, {"data"});
  EXPECT_EQ(only.at("properties").at("count").at("type"), "integer");
}

TEST(Binding, LargeResultsLinkToTheirResource) {
  json::object large{{"ref_id", "calc:0123456789abcdef"},
                     {"preview", json::array{1}},
                     {"is_complete", false},
                     {"is_async", false}};
  auto r = refcache::mcp::to_tool_result(large);
  ASSERT_EQ(r.content.size(), 2u);
  EXPECT_EQ(r.content[1].at("type"), "resource_link");
  EXPECT_EQ(r.content[1].at("uri"), "refcache://calc:0123456789abcdef");
  EXPECT_EQ(jsonio::parse_or_throw(r.content[0].at("text").as_string()), json::value(large));
  json::object small{{"ref_id", "calc:0123456789abcdef"}, {"value", 1}, {"is_complete", true}};
  EXPECT_EQ(refcache::mcp::to_tool_result(small).content.size(), 1u);
}
