// The confinement of query_value (refcache/ref_query.hpp): only one reading statement runs;
// everything else is refused with a message naming why, and the limits on time and answer
// size and memory stop a query with a message naming the limit.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "refcache/errors.hpp"
#include "refcache/ref_query.hpp"
#include "unit/refcache/test_util.hpp"

using namespace refcache;
using refcache_test::J;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string refusal(std::string_view sql, const QueryLimits& limits = {}) {
  try {
    query_value(J(R"([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])"), sql, limits);
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}

TEST(QueryConfinement, EveryStatementThatIsNotAReadIsRefused) {
  const char* forbidden[] = {
      "ATTACH DATABASE '/tmp/refcache-query-attack.db' AS x",
      "ATTACH ':memory:' AS x",
      "DETACH main",
      "PRAGMA table_info(data)",
      "PRAGMA writable_schema = 1",
      "INSERT INTO data(a) VALUES (3)",
      "REPLACE INTO data(a) VALUES (3)",
      "UPDATE data SET a = 5",
      "DELETE FROM data",
      "WITH x AS (SELECT 1) DELETE FROM data",
      "CREATE TABLE t(x)",
      "CREATE TEMP TABLE t AS SELECT * FROM data",
      "CREATE INDEX i ON data(a)",
      "CREATE VIEW v AS SELECT 1",
      "CREATE TRIGGER tr AFTER INSERT ON data BEGIN SELECT 1; END",
      "CREATE VIRTUAL TABLE f USING fts5(x)",
      "DROP TABLE data",
      "ALTER TABLE data ADD COLUMN c",
      "BEGIN",
      "COMMIT",
      "SAVEPOINT s",
      "VACUUM",
      "VACUUM INTO '/tmp/refcache-query-attack.db'",
      "ANALYZE",
      "REINDEX",
      "SELECT load_extension('/tmp/x.so')",
  };
  for (const char* sql : forbidden) {
    const std::string e = refusal(sql);
    EXPECT_FALSE(e.empty()) << sql << " was not refused";
    EXPECT_TRUE(e.find("not allowed") != std::string::npos ||
                e.find("SQL error") != std::string::npos)
        << sql << ": " << e;
  }
  // The authorizer's refusals say what was refused.
  EXPECT_NE(refusal("PRAGMA table_info(data)").find("PRAGMA"), std::string::npos);
  EXPECT_NE(refusal("ATTACH ':memory:' AS x").find("ATTACH"), std::string::npos);
  EXPECT_NE(refusal("DELETE FROM data").find("writing"), std::string::npos);
  // Nothing was written by any of them: the table is whole.
  EXPECT_EQ(query_value(J(R"([{"a": 1}])"), "SELECT count(*) AS n FROM data"), J(R"([{"n": 1}])"));
}

TEST(QueryConfinement, OnlyOneStatementIsAllowed) {
  EXPECT_NE(refusal("SELECT 1; SELECT 2").find("only one SQL statement"), std::string::npos);
  EXPECT_NE(refusal("SELECT a FROM data; DROP TABLE data").find("only one SQL statement"),
            std::string::npos);
  // Trailing semicolons, blanks and comments are not a second statement.
  EXPECT_EQ(refusal("SELECT a FROM data;  -- the end\n /* done */ ;"), "");
}

TEST(QueryConfinement, AQueryThatRunsForeverMeetsItsDeadline) {
  QueryLimits l;
  l.deadline = 200ms;
  const auto start = std::chrono::steady_clock::now();
  const std::string e = refusal(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", l);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(e, "the query exceeded its 200 ms deadline");
  EXPECT_LT(took, 2s);
  l.deadline = 1s;
  EXPECT_EQ(refusal("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                    "SELECT max(x) FROM c",
                    l),
            "the query exceeded its 1 s deadline");
}

TEST(QueryConfinement, AHugeAnswerBreaksTheRowAndByteLimits) {
  QueryLimits l;
  l.max_rows = 1000;
  const char* many =
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c";
  EXPECT_NE(refusal(many, l).find("exceeds its 1,000 rows limit"), std::string::npos);
  QueryLimits bytes;
  bytes.max_result_bytes = 100000;
  EXPECT_NE(refusal("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100) "
                    "SELECT printf('%.2000c', 'x') FROM c",
                    bytes)
                .find("exceeds its 100,000-byte limit"),
            std::string::npos);
  QueryLimits length;
  length.max_value_length = 1000000;
  EXPECT_NE(refusal("SELECT zeroblob(100000000)", length).find("1,000,000-byte length limit"),
            std::string::npos);
}

TEST(QueryConfinement, WhatSqliteHoldsForOneCallBreaksItsMemoryLimit) {
  QueryLimits small;
  small.max_memory = 4u << 20;
  // What the query builds: a 10 MB string, within the length limit, beyond the memory limit.
  EXPECT_EQ(refusal("SELECT length(printf('%.10000000c', 'x')) AS n", small),
            "the query exceeded its 4,194,304-byte memory limit");
  // What loading takes: 40,000 rows of about 200 bytes.
  json::array rows;
  for (int i = 0; i < 40000; ++i)
    rows.push_back(
        json::object{{"id", i}, {"text", std::string(200, static_cast<char>('a' + i % 26))}});
  const json::value big(std::move(rows));
  try {
    query_value(big, "SELECT count(*) AS n FROM data", small);
    ADD_FAILURE() << "loading 8 MB within a 4 MiB limit";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "the query exceeded its 4,194,304-byte memory limit");
  }
  try {
    search_value(big, "aaaa", 10, small);
    ADD_FAILURE() << "indexing 8 MB within a 4 MiB limit";
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "the query exceeded its 4,194,304-byte memory limit");
  }
  // The limit is the call's own: the same thread's next call, within the default, answers.
  EXPECT_EQ(query_value(big, "SELECT count(*) AS n FROM data"), J(R"([{"n": 40000}])"));
  EXPECT_EQ(query_value(J("[1]"), "SELECT length(printf('%.10000000c', 'x')) AS n"),
            J(R"([{"n": 10000000}])"));
}

TEST(QueryConfinement, OversizedAndDeeplyNestedStatementsAreRefused) {
  QueryLimits l;
  l.max_sql_length = 100;
  EXPECT_NE(refusal("SELECT a FROM data WHERE " + std::string(200, ' ') + "a = 1", l)
                .find("100-character limit"),
            std::string::npos);
  // Nesting as deep as the default length allows either answers or is refused; it never
  // exhausts the stack.
  const std::string deep =
      "SELECT " + std::string(8000, '(') + "1" + std::string(8000, ')') + " AS one";
  try {
    EXPECT_EQ(query_value(J("[1]"), deep), J(R"([{"one": 1}])"));
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("SQL error"), std::string::npos) << e.what();
  }
}

}  // namespace
