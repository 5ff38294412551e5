// Typed-tool schema generation, conversion and the raw-schema validator.
#include <gtest/gtest.h>

#include "jsonio/json_text.hpp"
#include "mcp/schema.hpp"

namespace {

namespace bj = boost::json;

enum class Color { red, green };
BOOST_DESCRIBE_ENUM(Color, red, green)

struct Inner {
  std::string label;
};
BOOST_DESCRIBE_STRUCT(Inner, (), (label))

struct Args {
  std::string text;                   // required
  int count = 20;                     // optional, default 20
  std::optional<double> ratio;        // optional
  std::vector<int> ids;               // required (no visible default)
  Color color = Color::green;         // optional enum with default
  Inner inner;                        // nested, required
  std::map<std::string, bool> flags;  // object of booleans
  static std::map<std::string, std::string> mcp_field_docs() { return {{"text", "What to say"}}; }
};
BOOST_DESCRIBE_STRUCT(Args, (), (text, count, ratio, ids, color, inner, flags))

bj::value J(std::string_view s) {
  return jsonio::parse_or_throw(s);
}

// Described structs inside vectors (and maps, optionals, structs), none of them with an
// operator==: what a member's default is must still be decidable.
struct Point {
  int x = 0;
  int y = 0;
};
BOOST_DESCRIBE_STRUCT(Point, (), (x, y))
struct Polyline {
  std::string name;
  std::vector<Point> points;                       // required
  std::vector<Point> origin = {{.x = 1, .y = 2}};  // optional, default [{"x":1,"y":2}]
  std::map<std::string, Point> marks;              // required
  std::optional<std::vector<Point>> extra;         // optional
  Point anchor;                                    // required (its default is Point{})
  Point offset = {.x = 0, .y = 5};                 // optional, default {"x":0,"y":5}
};
BOOST_DESCRIBE_STRUCT(Polyline, (), (name, points, origin, marks, extra, anchor, offset))

TEST(Schema, GeneratesObjectSchemaWithRequiredDefaultsAndDocs) {
  bj::value s = mcp::schema_of<Args>();
  EXPECT_EQ(jsonio::to_canonical_string(s),
            jsonio::to_canonical_string(J(R"({"type":"object","properties":{
              "text":{"type":"string","description":"What to say"},
              "count":{"type":"integer","default":20},
              "ratio":{"type":"number"},
              "ids":{"type":"array","items":{"type":"integer"}},
              "color":{"type":"string","enum":["red","green"],"default":"green"},
              "inner":{"type":"object","properties":{"label":{"type":"string"}},"required":["label"]},
              "flags":{"type":"object","additionalProperties":{"type":"boolean"}}},
              "required":["text","ids","inner","flags"]})")));
}

TEST(Schema, ConvertsValidArgumentsAndAppliesDefaults) {
  Args a;
  std::string err;
  ASSERT_TRUE(mcp::from_json(
      J(R"({"text":"hi","ids":[1,2],"inner":{"label":"x"},"flags":{"a":true},"color":"red"})"), a,
      err))
      << err;
  EXPECT_EQ(a.text, "hi");
  EXPECT_EQ(a.count, 20);
  EXPECT_FALSE(a.ratio.has_value());
  EXPECT_EQ(a.ids, (std::vector<int>{1, 2}));
  EXPECT_EQ(a.color, Color::red);
  EXPECT_EQ(a.inner.label, "x");
  EXPECT_TRUE(a.flags.at("a"));
}

TEST(Schema, ReportsTheFailingPath) {
  Args a;
  std::string err;
  EXPECT_FALSE(mcp::from_json(J(R"({"ids":[],"inner":{"label":"x"},"flags":{}})"), a, err));
  EXPECT_EQ(err, "arguments: missing required property \"text\"");
  EXPECT_FALSE(
      mcp::from_json(J(R"({"text":"t","ids":[1,"2"],"inner":{"label":"x"},"flags":{}})"), a, err));
  EXPECT_EQ(err, "arguments.ids[1]: expected integer, got string");
  EXPECT_FALSE(
      mcp::from_json(J(R"({"text":"t","ids":[],"inner":{"label":3},"flags":{}})"), a, err));
  EXPECT_EQ(err, "arguments.inner.label: expected string, got integer");
  EXPECT_FALSE(mcp::from_json(
      J(R"({"text":"t","ids":[],"inner":{"label":"x"},"flags":{},"color":"blue"})"), a, err));
  EXPECT_NE(err.find("arguments.color"), std::string::npos);
  EXPECT_FALSE(mcp::from_json(
      J(R"({"text":"t","ids":[],"inner":{"label":"x"},"flags":{},"count":1.5})"), a, err));
  EXPECT_EQ(err, "arguments.count: expected integer, got number");
  EXPECT_FALSE(mcp::from_json(
      J(R"({"text":"t","ids":[],"inner":{"label":"x"},"flags":{},"count":9999999999})"), a, err));
}

TEST(Schema, AcceptsIntegralDoublesAndRoundTrips) {
  Args a;
  std::string err;
  ASSERT_TRUE(mcp::from_json(
      J(R"({"text":"t","ids":[3.0],"inner":{"label":""},"flags":{},"ratio":0.5})"), a, err))
      << err;
  EXPECT_EQ(a.ids[0], 3);
  bj::value back = mcp::to_json(a);
  EXPECT_EQ(back.at("ratio").as_double(), 0.5);
  EXPECT_EQ(back.at("color").as_string(), "green");
  a.ratio.reset();
  EXPECT_FALSE(mcp::to_json(a).as_object().contains("ratio"));
}

TEST(Validator, CoreKeywords) {
  bj::value s = J(R"({"type":"object","properties":{"n":{"type":"integer","minimum":1,"maximum":5},
    "s":{"type":"string","minLength":2,"maxLength":3},"e":{"enum":["a","b"]},"c":{"const":7},
    "arr":{"type":"array","items":{"type":"string"},"minItems":1,"uniqueItems":true}},
    "required":["n"],"additionalProperties":false})");
  EXPECT_EQ(mcp::validate(s, J(R"({"n":3,"s":"ab","e":"a","c":7,"arr":["x"]})")), "");
  EXPECT_EQ(mcp::validate(s, J(R"({})")), "arguments: missing required property \"n\"");
  EXPECT_EQ(mcp::validate(s, J(R"({"n":0})")), "arguments.n: must be >= 1");
  EXPECT_EQ(mcp::validate(s, J(R"({"n":2.5})")), "arguments.n: expected integer, got number");
  EXPECT_NE(mcp::validate(s, J(R"({"n":2,"s":"abcd"})")), "");
  EXPECT_NE(mcp::validate(s, J(R"({"n":2,"e":"z"})")), "");
  EXPECT_NE(mcp::validate(s, J(R"({"n":2,"c":8})")), "");
  EXPECT_NE(mcp::validate(s, J(R"({"n":2,"arr":[]})")), "");
  EXPECT_NE(mcp::validate(s, J(R"({"n":2,"arr":["a","a"]})")), "");
  EXPECT_EQ(mcp::validate(s, J(R"({"n":2,"x":1})")), "arguments: unexpected property \"x\"");
  EXPECT_EQ(mcp::validate(s, J(R"([1])")), "arguments: expected object, got array");
}

TEST(Validator, CompositionConditionalsAndLocalRefs) {
  // The conformance suite's 2020-12 schema.
  bj::value s = J(R"({"type":"object","$defs":{"address":{"$anchor":"addressDef","type":"object",
    "properties":{"street":{"type":"string"}}}},
    "properties":{"address":{"$ref":"#/$defs/address"},"alt":{"$ref":"#addressDef"},
      "contactMethod":{"type":"string","enum":["phone","email"]},"phone":{"type":"string"},"email":{"type":"string"}},
    "allOf":[{"anyOf":[{"required":["phone"]},{"required":["email"]}]}],
    "if":{"properties":{"contactMethod":{"const":"phone"}},"required":["contactMethod"]},
    "then":{"required":["phone"]},"else":{"required":["email"]},"additionalProperties":false})");
  EXPECT_EQ(mcp::validate(s, J(R"({"contactMethod":"phone","phone":"1"})")), "");
  EXPECT_EQ(mcp::validate(s, J(R"({"email":"a@b"})")), "");
  EXPECT_NE(mcp::validate(s, J(R"({"contactMethod":"phone","email":"a@b"})")), "");  // then: phone
  EXPECT_NE(mcp::validate(s, J(R"({})")), "");                                       // anyOf
  EXPECT_NE(mcp::validate(s, J(R"({"email":"a","address":{"street":1}})")), "");     // $ref
  EXPECT_NE(mcp::validate(s, J(R"({"email":"a","alt":{"street":1}})")), "");         // $anchor
  bj::value one = J(R"({"oneOf":[{"type":"integer"},{"type":"number"}]})");
  EXPECT_NE(mcp::validate(one, J("1")), "");  // matches both
  EXPECT_EQ(mcp::validate(one, J("1.5")), "");
  EXPECT_NE(mcp::validate(J(R"({"not":{"type":"string"}})"), J(R"("x")")), "");
}

TEST(Validator, NeverFollowsNetworkRefs) {
  bj::value s = J(R"({"properties":{"a":{"$ref":"https://example.com/schema.json"}}})");
  EXPECT_EQ(mcp::validate(s, J(R"({"a":1})")), "");
}

}  // namespace

TEST(Validator, PatternIsAnUnanchoredEcmaRegex) {
  boost::json::value s = {{"type", "string"}, {"pattern", "^[a-z]+:[0-9a-f]{8,}$"}};
  EXPECT_EQ(mcp::validate(s, "calc:0123abcd"), "");
  EXPECT_NE(mcp::validate(s, "calc:0123"), "");
  EXPECT_NE(mcp::validate(s, "Calc:0123abcd"), "");
  boost::json::value contains = {{"type", "string"}, {"pattern", "b+"}};
  EXPECT_EQ(mcp::validate(contains, "abbbc"), "");  // unanchored: a match anywhere
  EXPECT_NE(mcp::validate(contains, boost::json::value(std::string(20000, 'b'))),
            "");  // refused, never recursed
  boost::json::value broken = {{"type", "string"}, {"pattern", "(unclosed"}};
  EXPECT_EQ(mcp::validate(broken, "anything"), "");  // an invalid pattern constrains nothing
}

namespace {

TEST(Schema, VectorsOfDescribedStructsNeedNoEqualityOperator) {
  bj::value s = mcp::schema_of<Polyline>();
  const auto& props = s.at("properties").as_object();
  EXPECT_EQ(jsonio::to_canonical_string(props.at("points")),
            jsonio::to_canonical_string(J(R"({"type":"array","items":{"type":"object",
              "properties":{"x":{"type":"integer"},"y":{"type":"integer"}},"required":["x","y"]}})")));
  EXPECT_EQ(jsonio::to_string(props.at("origin").at("default")), R"([{"x":1,"y":2}])");
  EXPECT_EQ(jsonio::to_string(props.at("offset").at("default")), R"({"x":0,"y":5})");
  EXPECT_FALSE(props.at("anchor").as_object().contains("default"));
  EXPECT_EQ(jsonio::to_string(s.at("required")), R"(["name","points","marks","anchor"])");

  Polyline p;
  std::string err;
  ASSERT_TRUE(mcp::from_json(
      J(R"({"name":"n","points":[{"x":3,"y":4},{"x":5,"y":6}],"marks":{"a":{"x":7,"y":8}},
           "anchor":{"x":0,"y":0}})"),
      p, err))
      << err;
  ASSERT_EQ(p.points.size(), 2u);
  EXPECT_EQ(p.points[1].y, 6);
  EXPECT_EQ(p.origin.at(0).x, 1);  // the default stays
  EXPECT_EQ(p.marks.at("a").x, 7);
  EXPECT_EQ(jsonio::to_string(mcp::to_json(p)),
            R"({"name":"n","points":[{"x":3,"y":4},{"x":5,"y":6}],"origin":[{"x":1,"y":2}],)"
            R"("marks":{"a":{"x":7,"y":8}},"anchor":{"x":0,"y":0},"offset":{"x":0,"y":5}})");
  EXPECT_FALSE(
      mcp::from_json(J(R"({"name":"n","points":[{"x":"3"}],"marks":{},"anchor":{}})"), p, err));
  EXPECT_EQ(err, "arguments.points[0].x: expected integer, got string");
}

}  // namespace
