// query_value and search_value: the table mapping, SQL answers checked against values the
// test computes itself, full-text ranking and snippets, and the limits on input and answer.
#include "refcache/ref_query.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "refcache/errors.hpp"
#include "test_util.hpp"

using namespace refcache;
using refcache_test::J;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// The message of the InvalidArgument `fn` throws, or "" when it throws none.
template <class Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(RefQuery, ObjectsWithDifferentKeysAreOneTableWithTheUnionOfTheirKeys) {
  const json::value v = J(R"([{"a": 1, "b": "x"}, {"b": "y", "c": true}, {"a": 3.5, "d": null}])");
  const json::value rows = query_value(v, "SELECT * FROM data");
  EXPECT_EQ(rows, J(R"([{"a": 1, "b": "x", "c": null, "d": null},
                        {"a": null, "b": "y", "c": 1, "d": null},
                        {"a": 3.5, "b": null, "c": null, "d": null}])"));
  // Column order is first-seen order.
  EXPECT_EQ(query_value(v, "SELECT * FROM data LIMIT 1").at(0).as_object().begin()->key(), "a");
}

TEST(RefQuery, KeysThatDifferOnlyByCaseGetDistinctColumns) {
  const json::value rows = query_value(J(R"([{"Name": "a"}, {"name": "b"}, {"": 7}])"),
                                       "SELECT \"Name\", name_2, _ FROM data ORDER BY rowid");
  EXPECT_EQ(rows, J(R"([{"Name": "a", "name_2": null, "_": null},
                        {"Name": null, "name_2": "b", "_": null},
                        {"Name": null, "name_2": null, "_": 7}])"));
}

TEST(RefQuery, NestedValuesAreJsonTextForJsonFunctions) {
  const json::value v = J(R"([{"id": 1, "meta": {"score": 2.5, "tags": ["x", "y"]}},
                              {"id": 2, "meta": {"score": 1.0, "tags": []}},
                              {"id": 3, "meta": {"score": 9.0, "tags": ["z"]}}])");
  EXPECT_EQ(query_value(v,
                        "SELECT id FROM data WHERE json_extract(meta, '$.score') > 2 "
                        "ORDER BY id"),
            J(R"([{"id": 1}, {"id": 3}])"));
  // A json_* function's answer comes back as JSON; a stored nested value as its text.
  EXPECT_EQ(query_value(v, "SELECT json_extract(meta, '$.tags') AS t, meta FROM data WHERE id = 1"),
            J(R"([{"t": ["x", "y"], "meta": "{\"score\":2.5,\"tags\":[\"x\",\"y\"]}"}])"));
  EXPECT_EQ(query_value(v, "SELECT sum(json_array_length(meta, '$.tags')) AS n FROM data"),
            J(R"([{"n": 3}])"));
}

TEST(RefQuery, AnyOtherValueIsOneRowOfItsJson) {
  EXPECT_EQ(query_value(J("[1, 2, 3, 4.5]"),
                        "SELECT sum(j.value) AS s FROM data, json_each(data.value) AS j"),
            J(R"([{"s": 10.5}])"));
  EXPECT_EQ(query_value(J(R"({"a": {"b": [1, 2]}, "c": "d"})"),
                        "SELECT count(*) AS leaves FROM data, json_tree(data.value) AS t "
                        "WHERE t.atom IS NOT NULL"),
            J(R"([{"leaves": 3}])"));
  EXPECT_EQ(query_value(J(R"("text")"), "SELECT value FROM data"), J(R"([{"value": "\"text\""}])"));
  EXPECT_EQ(query_value(J("[]"), "SELECT json_array_length(value) AS n FROM data"),
            J(R"([{"n": 0}])"));
}

TEST(RefQuery, GroupByAndFilterMatchWhatTheTestComputes) {
  json::array records;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> want;  // cat -> (sum, count)
  std::uint32_t x = 12345;
  for (int i = 0; i < 2000; ++i) {
    x = x * 1103515245U + 12345U;
    const std::string cat = std::string(1, static_cast<char>('a' + (x >> 16) % 7));
    const std::int64_t amount = static_cast<std::int64_t>((x >> 8) % 1000);
    records.push_back(json::object{{"cat", cat}, {"amount", amount}, {"i", i}});
    if (amount > 100) {
      want[cat].first += amount;
      want[cat].second += 1;
    }
  }
  const json::value rows =
      query_value(records,
                  "SELECT cat, sum(amount) AS s, count(*) AS n FROM data WHERE amount > 100 "
                  "GROUP BY cat ORDER BY cat");
  json::array expected;
  for (const auto& [cat, sn] : want)
    expected.push_back(json::object{{"cat", cat}, {"s", sn.first}, {"n", sn.second}});
  EXPECT_EQ(rows, json::value(expected));
}

TEST(RefQuery, RepeatedColumnNamesAreSuffixed) {
  EXPECT_EQ(query_value(J(R"([{"a": 1}])"), "SELECT a, a, a + 1 AS a FROM data"),
            J(R"([{"a": 1, "a_2": 1, "a_3": 2}])"));
}

TEST(RefQuery, SqlErrorsCarrySqlitesMessage) {
  const std::string e = error_of([] { query_value(J(R"([{"a": 1}])"), "SELECT nope FROM data"); });
  EXPECT_NE(e.find("SQL error"), std::string::npos) << e;
  EXPECT_NE(e.find("no such column: nope"), std::string::npos) << e;
  EXPECT_NE(error_of([] { query_value(J("[1]"), "SELEC 1"); }).find("syntax error"),
            std::string::npos);
  EXPECT_NE(error_of([] { query_value(J("[1]"), "   -- nothing\n"); }).find("empty"),
            std::string::npos);
}

TEST(RefQuery, TooManyKeysBreakTheColumnLimit) {
  json::object wide;
  for (int i = 0; i < 11; ++i) wide["k" + std::to_string(i)] = i;
  QueryLimits l;
  l.max_columns = 10;
  const std::string e = error_of([&] { query_value(json::array{wide}, "SELECT 1", l); });
  EXPECT_NE(e.find("more than 10 distinct keys"), std::string::npos) << e;
}

TEST(RefQuery, LongTextValuesLoadAndQueryWhole) {
  // Longer than max_value_length: loading raises the length limit to hold it.
  QueryLimits l;
  l.max_value_length = 1000;
  const std::string big(5000, 'x');
  EXPECT_EQ(
      query_value(json::array{json::object{{"t", big}}}, "SELECT length(t) AS n FROM data", l),
      J(R"([{"n": 5000}])"));
}

TEST(RefQuery, CancellationStopsTheQuery) {
  QueryLimits l;
  l.cancelled = [] { return true; };
  EXPECT_THROW(query_value(J("[1]"),
                           "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                           "SELECT count(*) FROM c",
                           l),
               Cancelled);
}

json::value documents() {
  return J(R"([
    {"title": "Cooking", "body": "A recipe for bread and butter."},
    {"title": "Databases", "body": "SQLite is a database engine; a database file holds tables."},
    {"title": "Gardening", "body": "Tomatoes need sun.", "year": 2020},
    {"title": "Storage", "body": "Every database needs backups. Backups of the database, always."},
    {"title": "Database", "body": "database database database"}
  ])");
}

TEST(RefSearch, HitsAreRankedByBm25WithSnippets) {
  const json::value hits = search_value(documents(), "database", 10);
  ASSERT_TRUE(hits.is_array());
  const json::array& h = hits.get_array();
  ASSERT_EQ(h.size(), 3U);
  // The short document that is nothing but the word ranks first.
  EXPECT_EQ(h[0].at("row"), 4);
  for (std::size_t i = 1; i < h.size(); ++i)
    EXPECT_LE(h[i - 1].at("score").as_double(), h[i].at("score").as_double());
  std::set<std::int64_t> rows;
  for (const auto& hit : h) {
    rows.insert(hit.at("row").to_number<std::int64_t>());
    EXPECT_NE(std::string(hit.at("snippet").as_string()).find("[database]"), std::string::npos)
        << hit;
    EXPECT_TRUE(hit.as_object().contains("item"));
  }
  EXPECT_EQ(rows, (std::set<std::int64_t>{1, 3, 4}));
  EXPECT_EQ(h[0].at("item"), documents().at(4));
  // limit bounds the hits; a phrase and a prefix query work.
  EXPECT_EQ(search_value(documents(), "database", 1).as_array().size(), 1U);
  const json::value phrase = search_value(documents(), "\"bread and butter\"", 10);
  ASSERT_EQ(phrase.as_array().size(), 1U);
  EXPECT_EQ(phrase.at(0).at("row"), 0);
  EXPECT_EQ(search_value(documents(), "tomat*", 10).at(0).at("row"), 2);
}

TEST(RefSearch, TextIsSplitIntoLinesAndListsIntoItems) {
  const json::value lines =
      search_value(json::value("alpha beta\n\nno match here\r\ngamma alpha\n"), "alpha", 10);
  ASSERT_EQ(lines.as_array().size(), 2U);
  std::set<std::int64_t> rows;
  for (const auto& hit : lines.as_array()) rows.insert(hit.at("row").to_number<std::int64_t>());
  EXPECT_EQ(rows, (std::set<std::int64_t>{0, 3}));
  const json::value items =
      search_value(J(R"(["red apple", 5, "green pear", "apple pie"])"), "apple", 10);
  ASSERT_EQ(items.as_array().size(), 2U);
  for (const auto& hit : items.as_array())
    EXPECT_TRUE(hit.at("row") == 0 || hit.at("row") == 3) << hit;
}

TEST(RefSearch, BadQueriesAndValuesWithoutTextAreRefused) {
  EXPECT_NE(error_of([] { search_value(documents(), "\"unterminated", 10); }).find("SQL error"),
            std::string::npos);
  EXPECT_NE(error_of([] { search_value(J("[1, 2, 3]"), "x", 10); }).find("no text"),
            std::string::npos);
  EXPECT_NE(error_of([] { search_value(documents(), "   ", 10); }).find("empty"),
            std::string::npos);
}

}  // namespace
