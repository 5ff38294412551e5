// The JSON writer: what we measure is exactly what we send.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>

#include "test_util.hpp"

using refcache_test::J;
namespace json = boost::json;

TEST(JsonText, CompactWithPythonStyleDoubles) {
  EXPECT_EQ(jsonio::to_string(J(R"({"a": [1, 2.0, 61.5, -0.0, 1e20, 1.5e-7, true, null]})")),
            R"({"a":[1,2.0,61.5,-0.0,1e+20,1.5e-07,true,null]})");
  EXPECT_EQ(jsonio::to_string(json::value(0.1)), "0.1");
  EXPECT_EQ(jsonio::to_string(json::value(18446744073709551615ull)), "18446744073709551615");
  EXPECT_EQ(jsonio::to_string(json::value(std::numeric_limits<double>::infinity())), "null");
  // Python's repr: fixed notation for decimal exponents -4 .. 15, scientific beyond, always
  // the shortest digits that read back to the same double (checked against CPython 3.11).
  const std::vector<std::pair<double, std::string>> python = {
      {1.7e9, "1700000000.0"},
      {1e5, "100000.0"},
      {1e15, "1000000000000000.0"},
      {1e16, "1e+16"},
      {1.5e16, "1.5e+16"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {2.5e-5, "2.5e-05"},
      {-1e-7, "-1e-07"},
      {-0.5, "-0.5"},
      {123.456, "123.456"},
      {1234567.125, "1234567.125"},
      {0.1 + 0.2, "0.30000000000000004"},
      {1764123456.123456, "1764123456.123456"},
      {12345678901234567890.0, "1.2345678901234567e+19"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {-123456789012345.6, "-123456789012345.6"},
  };
  for (const auto& [d, text] : python) {
    EXPECT_EQ(jsonio::to_string(json::value(d)), text);
    std::string out;
    jsonio::write_double(d, out);
    EXPECT_EQ(out, text);
    EXPECT_EQ(jsonio::measure(json::value(d)).bytes, text.size());
    EXPECT_EQ(jsonio::parse_or_throw(text), json::value(d));
  }
}

// Any finite double: the text reads back to the same double, and uses an exponent exactly
// where Python's repr does (|d| >= 1e16, or 0 < |d| < 1e-4).
TEST(JsonText, DoublesRoundTripAndChooseTheNotationAsPythonDoes) {
  std::mt19937_64 rng(11);
  int checked = 0;
  for (int i = 0; i < 200000; ++i) {
    std::uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof d);
    if (!std::isfinite(d)) continue;
    if (i % 2 == 0)
      d = std::ldexp(static_cast<double>(rng() >> 11), -static_cast<int>(rng() % 100));
    std::string text = jsonio::to_string(json::value(d));
    ASSERT_EQ(jsonio::parse_or_throw(text).as_double(), d) << text;
    double a = std::fabs(d);
    bool sci = a >= 1e16 || (a != 0 && a < 1e-4);
    ASSERT_EQ(text.find('e') != std::string::npos, sci) << text;
    if (!sci) {
      ASSERT_NE(text.find('.'), std::string::npos) << text;
    }
    ++checked;
  }
  EXPECT_GT(checked, 150000);
}

// A number beyond the range of a double cannot be written back (JSON has no infinity): the
// document is refused, not silently changed to null. Below the range it is 0, as in Python.
TEST(JsonText, NumbersBeyondTheRangeOfADoubleAreRefused) {
  for (const char* text : {"[1e400]", "[-1e400]", "{\"a\":38111111E11111123}", "1.8e308"}) {
    std::error_code ec;
    jsonio::parse(text, ec);
    EXPECT_TRUE(ec) << text;
    EXPECT_THROW(jsonio::parse_or_throw(text), std::exception) << text;
  }
  EXPECT_EQ(jsonio::parse_or_throw("[1e-400]"), json::parse("[0.0]"));
  EXPECT_EQ(jsonio::parse_or_throw("1.7976931348623157e308").as_double(), 1.7976931348623157e308);
  // The parser is reused on the same thread: a refused document leaves nothing behind.
  EXPECT_EQ(jsonio::parse_or_throw("[1.5,2]"), json::parse("[1.5,2]"));
}

TEST(JsonText, EscapesControlsAndPassesUtf8) {
  EXPECT_EQ(jsonio::to_string(json::value("a\"b\\c\n\t\x01 \xc3\xa9")),
            "\"a\\\"b\\\\c\\n\\t\\u0001 \xc3\xa9\"");
}

TEST(JsonText, MeasureEqualsTheWrittenText) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    json::array a;
    for (int i = 0; i < 20; ++i) {
      switch (rng() % 6) {
        case 0:
          a.push_back(static_cast<std::int64_t>(rng()) - 2'000'000'000);
          break;
        case 1:
          a.push_back(std::ldexp(static_cast<double>(rng()), -static_cast<int>(rng() % 60)));
          break;
        case 2:
          a.push_back(json::string(std::string("k\xc3\xa9\"\n") + std::to_string(rng())));
          break;
        case 3:
          a.push_back(json::object{{"x\ty", i}, {"\xe2\x82\xac", nullptr}});
          break;
        case 4:
          a.push_back(rng() % 2 == 0);
          break;
        default:
          a.push_back(json::array{1, json::array{}, json::object{}});
          break;
      }
    }
    json::value v(a);
    std::string text = jsonio::to_string(v);
    auto m = jsonio::measure(v);
    EXPECT_EQ(m.bytes, text.size());
    std::size_t cps = 0;
    for (unsigned char c : text) cps += (c & 0xC0) != 0x80;
    EXPECT_EQ(m.code_points, cps);
    // Writing and measuring in one pass gives the same text and size, appended to what the
    // string held, even from a tiny initial reservation (the writer grows many times).
    std::string appended = "prefix";
    auto w = jsonio::write_measured(v, appended, round % 3);
    EXPECT_EQ(appended, "prefix" + text);
    EXPECT_EQ(w.bytes, m.bytes);
    EXPECT_EQ(w.code_points, m.code_points);
    EXPECT_EQ(jsonio::to_string_of_size(v, m.bytes), text);
    // What we write reads back to the same value.
    EXPECT_EQ(jsonio::parse_or_throw(text), v);
  }
}

// Strings are scanned eight bytes at a time; whatever sits where in a word, and whatever the
// length, the text and its measure must equal a byte-by-byte reference.
TEST(JsonText, StringsMatchAByteByByteReferenceAtEveryPositionOfAWord) {
  auto reference = [](const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
      }
    }
    return out + "\"";
  };
  // Specials and bytes next to them (0x1f/0x20, 0x21/0x23 around '"', 0x5b/0x5d around
  // '\\'), UTF-8 lead and continuation bytes, and 0x7f/0xff.
  const std::vector<std::string> inserts = {
      "\"", "\\", "\n",       std::string(1, '\x1f'), std::string(1, '\0'), " ",    "!",    "#",
      "[",  "]",  "\xc3\xa9", "\xe2\x82\xac",         "\xf0\x9f\x98\x80",   "\x7f", "a\xff"};
  for (std::size_t len = 0; len <= 40; ++len)
    for (std::size_t at = 0; at <= len; ++at)
      for (const auto& ins : inserts) {
        std::string s(len, 'v');
        s.insert(at, ins);
        std::string text = jsonio::to_string(json::value(json::string(s)));
        ASSERT_EQ(text, reference(s)) << "len " << len << " at " << at;
        std::string lit;
        jsonio::write_string_literal(s, lit);
        ASSERT_EQ(lit, text);
        std::size_t cps = 0;
        for (unsigned char c : text) cps += (c & 0xC0) != 0x80;
        auto m = jsonio::measure_string_literal(s);
        ASSERT_EQ(m.bytes, text.size());
        ASSERT_EQ(m.code_points, cps) << "len " << len << " at " << at;
        auto w = jsonio::measure(json::value(json::string(s)));
        ASSERT_EQ(w.code_points, cps);
      }
}

TEST(JsonText, IntegersAtEveryDigitCountBoundary) {
  // The writer has separate paths below 100, below 10,000, below 2^32 and beyond; every
  // boundary (10^k - 1, 10^k, 10^k + 1, 2^32 +- 1), values with zeros inside, a spread of
  // others, and their negatives must read as to_chars.
  std::vector<std::uint64_t> edges = {0,
                                      1,
                                      0xFFFFFFFFull,
                                      0x100000000ull,
                                      0xFFFFFFFEull,
                                      std::numeric_limits<std::uint64_t>::max()};
  for (std::uint64_t p = 10; p <= 1000000000000000000ull; p *= 10)
    for (std::uint64_t e : {p - 1, p, p + 1}) edges.push_back(e);
  for (std::uint64_t e :
       {10010ull, 100200ull, 1000300ull, 12030405ull, 50000000ull, 99990001ull, 10000099ull})
    edges.push_back(e);
  for (std::uint64_t x = 1, i = 0; i < 2000;
       ++i, x = x * 6364136223846793005ull + 1442695040888963407ull)
    edges.push_back((x >> 11) % (i % 2 ? 100000000ull : 10000000000ull));
  auto chars = [](auto v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  };
  edges.push_back(static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  for (unsigned k = 1; k < 64; ++k)
    for (std::uint64_t e : {(1ull << k) - 1, 1ull << k}) edges.push_back(e);
  for (std::uint64_t e : edges) {
    EXPECT_EQ(jsonio::to_string(json::value(e)), chars(e));
    EXPECT_EQ(jsonio::measure(json::value(e)).bytes, chars(e).size());
    // The preview's inline measure (bit length, then one power of ten).
    EXPECT_EQ(jsonio::decimal_digits_inline(e), chars(e).size()) << e;
    EXPECT_EQ(jsonio::measure_code_points(json::value(e)), chars(e).size()) << e;
    if (e <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      auto i = static_cast<std::int64_t>(e);
      EXPECT_EQ(jsonio::int64_chars(i), chars(i).size()) << i;
      EXPECT_EQ(jsonio::int64_chars(-i), chars(-i).size()) << -i;
      EXPECT_EQ(jsonio::to_string(json::value(i)), chars(i));
      EXPECT_EQ(jsonio::to_string(json::value(-i)), chars(-i));
      // Inside an array too (the writer's inline path for array elements).
      EXPECT_EQ(jsonio::to_string(json::value(json::array{i, -i})),
                "[" + chars(i) + "," + chars(-i) + "]");
    }
  }
  const std::int64_t lowest = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(jsonio::int64_chars(lowest), chars(lowest).size());
}

TEST(JsonText, EveryIntegerBelowTenThousandAndItsNegative) {
  // Integers below 10,000 are written from a table of their texts: every entry, alone, in
  // an array (where the table's comma is used) and negated, must read as to_chars. The
  // array is written after a prefix of every length mod 8 and from the smallest buffer, so
  // that the table's eight-byte stores meet the end of the room at every offset.
  auto chars = [](std::int64_t v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
  };
  json::array all;
  std::string expected = "[";
  for (std::int64_t v = 0; v <= 10000; ++v) {
    ASSERT_EQ(jsonio::to_string(json::value(v)), chars(v));
    ASSERT_EQ(jsonio::to_string(json::value(static_cast<std::uint64_t>(v))), chars(v));
    ASSERT_EQ(jsonio::to_string(json::value(-v)), chars(-v));
    all.emplace_back(v);
    all.emplace_back(-v);
    expected += chars(v) + "," + chars(-v) + ",";
  }
  expected.back() = ']';
  for (std::size_t prefix = 0; prefix < 8; ++prefix) {
    std::string out(prefix, 'p');
    const jsonio::TextSize size = jsonio::write_measured(json::value(all), out, 1);
    EXPECT_EQ(out, std::string(prefix, 'p') + expected) << prefix;
    EXPECT_EQ(size.bytes, expected.size());
  }
}

TEST(JsonText, WriterGrowsForLongStringsAndEscapes) {
  // A string of control characters grows six-fold when escaped; the writer reserves for the
  // plain text first and must make room escape by escape.
  std::string controls(5000, '\x01');
  json::value v = json::array{json::string(controls), json::string(std::string(70000, 'a')),
                              std::numeric_limits<std::int64_t>::min(),
                              std::numeric_limits<std::uint64_t>::max(), -1.5e-307};
  std::string text = jsonio::to_string(v);
  EXPECT_EQ(text.size(), jsonio::measure(v).bytes);
  EXPECT_EQ(text.substr(0, 8), "[\"\\u0001");
  EXPECT_NE(text.find(",-9223372036854775808,18446744073709551615,-1.5e-307]"), std::string::npos);
  EXPECT_EQ(jsonio::parse_or_throw(text), v);
}

TEST(JsonText, IntegerRunsOfEveryLengthAcrossBufferGrowth) {
  // The writer checks its room once per stretch of integers: runs of the longest integers,
  // broken by other values, appended after existing text from the smallest start, must come
  // out as Boost.JSON writes them, whatever the run lengths and wherever the buffer grows.
  for (std::size_t n : {1u, 2u, 3u, 21u, 22u, 63u, 64u, 65u, 200u, 1000u}) {
    for (std::size_t every : {0u, 1u, 7u, 64u}) {
      json::array a;
      for (std::size_t i = 0; i < n; ++i) {
        if (every && i % every == every - 1)
          a.emplace_back("s");
        else
          a.emplace_back(i % 2 ? std::numeric_limits<std::int64_t>::min()
                               : static_cast<std::int64_t>(i));
      }
      std::string out = "prefix";
      const jsonio::TextSize size = jsonio::write_measured(json::value(a), out, 1);
      EXPECT_EQ(out, "prefix" + json::serialize(a)) << n << " " << every;
      EXPECT_EQ(size.bytes, out.size() - 6) << n << " " << every;
    }
  }
}

TEST(JsonText, CanonicalSortsKeysAtEveryLevel) {
  EXPECT_EQ(jsonio::to_canonical_string(J(R"({"b":1,"a":{"d":[{"z":1,"y":2}],"c":0}})")),
            R"({"a":{"c":0,"d":[{"y":2,"z":1}]},"b":1})");
  EXPECT_EQ(jsonio::to_canonical_string(J(R"({"x":1,"y":2})")),
            jsonio::to_canonical_string(J(R"({"y":2,"x":1})")));
}

TEST(JsonText, CanonicalSortsObjectsOfEverySize) {
  // Up to 16 members sort on the stack, more in a vector: both ways, and at the boundary,
  // the text must be the keys in order whatever the insertion order.
  for (std::size_t n : {0u, 1u, 2u, 15u, 16u, 17u, 40u}) {
    json::object forward, backward;
    std::string expected = "{";
    for (std::size_t i = 0; i < n; ++i) {
      char key[24];
      std::snprintf(key, sizeof key, "k%03zu", i);
      forward[key] = i;
      expected += (i ? ",\"" : "\"") + std::string(key) + "\":" + std::to_string(i);
    }
    for (std::size_t i = n; i-- > 0;) {
      char key[24];
      std::snprintf(key, sizeof key, "k%03zu", i);
      backward[key] = i;
    }
    expected += "}";
    EXPECT_EQ(jsonio::to_canonical_string(forward), expected) << n;
    EXPECT_EQ(jsonio::to_canonical_string(backward), expected) << n;
  }
}

TEST(JsonText, ParseLimits) {
  std::error_code ec;
  std::string deep(100, '[');
  deep += std::string(100, ']');
  jsonio::parse(deep, ec, {.max_depth = 64});
  EXPECT_TRUE(ec);
  jsonio::parse(deep, ec, {.max_depth = 128});
  EXPECT_FALSE(ec);
  jsonio::parse("{\"a\":1}", ec, {.max_depth = 64, .max_bytes = 3});
  EXPECT_TRUE(ec);
  jsonio::parse("{not json", ec);
  EXPECT_TRUE(ec);
  EXPECT_THROW(jsonio::parse_or_throw("[1,"), std::system_error);
}
