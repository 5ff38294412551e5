// query_cached_result and search_cached_result as an MCP client calls them: registered by
// install(), answers cached (a repeated query is a hit) and paged like any result, a ref
// nobody lets the caller use refused with the opaque answer get_cached_result gives, a ref
// the caller may only use (EXECUTE) queried as a private computation, nothing of a value
// leaked.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "jsonio/json_text.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache/resolution.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "unit/in_process_client.hpp"
#include "unit/refcache_mcp/small_cache_options.hpp"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;

class QueryTools : public ::testing::Test {
 protected:
  QueryTools()
      : cache(test_support::small_cache_options()),
        server(mcp::ServerOptions{.info = {.name = "q", .version = "1"}, .worker_threads = 2}) {
    refcache::mcp::InstallOptions o;
    o.query_deadline = 300ms;
    refcache::mcp::install(server, cache, o);
    alice = test_support::InProcessClient(server, "alice", "s-alice");
    bob = test_support::InProcessClient(server, "bob", "s-bob");
  }

  static bj::value structured(const bj::object& result) { return result.at("structuredContent"); }

  std::string store(const bj::value& v, const refcache::AccessPolicy& policy) {
    refcache::SetOptions so;
    so.policy = policy;
    return cache.set("", v, so).ref_id;
  }

  static refcache::AccessPolicy owned_by(const std::string& owner) {
    refcache::AccessPolicy p;
    p.user_permissions = refcache::Permission::kNone;
    p.agent_permissions = refcache::Permission::kNone;
    p.owner = owner;
    return p;
  }

  static bj::value sales() {
    bj::array a;
    for (int i = 0; i < 200; ++i)
      a.push_back(bj::object{{"id", i},
                             {"region", i % 3 == 0 ? "north" : "south"},
                             {"amount", i * 10},
                             {"note", "secret-note-" + std::to_string(i)}});
    return a;
  }

  refcache::RefCache cache;
  mcp::Server server;
  test_support::InProcessClient alice;
  test_support::InProcessClient bob;
};

TEST_F(QueryTools, InstallRegistersBothTools) {
  bj::value r = alice.send(
      jsonio::parse_or_throw(R"({"jsonrpc":"2.0","id":5,"method":"tools/list","params":{}})"));
  std::set<std::string> names;
  for (const auto& t : r.at("result").at("tools").as_array())
    names.emplace(t.at("name").as_string());
  EXPECT_TRUE(names.count("query_cached_result"));
  EXPECT_TRUE(names.count("search_cached_result"));
}

TEST_F(QueryTools, AQueryAnswersRowsAndARepeatIsACacheHit) {
  const std::string ref = store(sales(), refcache::AccessPolicy::public_policy());
  std::int64_t north = 0;
  for (std::int64_t i = 0; i < 200; i += 3) north += i * 10;
  const bj::object args{{"ref_id", ref},
                        {"sql",
                         "SELECT region, sum(amount) AS total, count(*) AS n FROM data "
                         "GROUP BY region ORDER BY region"}};
  const bj::object first = alice.call("query_cached_result", args);
  ASSERT_FALSE(first.contains("isError") && first.at("isError") == true) << first;
  const bj::value s = structured(first);
  EXPECT_EQ(s.at("is_complete"), true);
  const bj::value want_north = bj::object{{"region", "north"}, {"total", north}, {"n", 67}};
  EXPECT_EQ(s.at("value").at(0), want_north);
  const std::uint64_t sets = cache.backend().stats().sets;
  const bj::object again = alice.call("query_cached_result", args);
  EXPECT_EQ(structured(again).at("ref_id"), s.at("ref_id"));
  EXPECT_EQ(cache.backend().stats().sets, sets);  // nothing computed and stored again
  // Another SQL is another answer.
  const bj::object other = alice.call("query_cached_result",
                                      {{"ref_id", ref}, {"sql", "SELECT count(*) AS n FROM data"}});
  EXPECT_NE(structured(other).at("ref_id"), s.at("ref_id"));
  const bj::value count = bj::array{bj::object{{"n", 200}}};
  EXPECT_EQ(structured(other).at("value"), count);
}

TEST_F(QueryTools, ALargeAnswerIsARefWithAPreviewAndPagesOnRequest) {
  const std::string ref = store(sales(), refcache::AccessPolicy::public_policy());
  const bj::object args{{"ref_id", ref}, {"sql", "SELECT id, note FROM data ORDER BY id"}};
  const bj::value preview = structured(alice.call("query_cached_result", args));
  EXPECT_EQ(preview.at("is_complete"), false) << preview;
  EXPECT_EQ(preview.at("total_items"), 200);
  bj::object paged = args;
  paged["page"] = 3;
  paged["page_size"] = 5;
  const bj::value page = structured(alice.call("query_cached_result", paged));
  EXPECT_EQ(page.at("ref_id"), preview.at("ref_id"));
  ASSERT_TRUE(page.at("preview").is_array()) << page;
  ASSERT_EQ(page.at("preview").as_array().size(), 5U);
  EXPECT_EQ(page.at("preview").at(0).at("id"), 10);
  // get_cached_result pages the same answer.
  const bj::value via_get = structured(alice.call(
      "get_cached_result", {{"ref_id", preview.at("ref_id")}, {"page", 3}, {"page_size", 5}}));
  EXPECT_EQ(via_get.at("preview"), page.at("preview"));
}

TEST_F(QueryTools, ForbiddenRefsGetGetCachedResultsAnswerAndNoValue) {
  const std::string bobs = store(sales(), owned_by("user:bob"));
  const std::string forged = "t:0123456789abcdef";
  // Bob, the owner, may query his ref.
  const bj::value count = bj::array{bj::object{{"n", 200}}};
  EXPECT_EQ(structured(bob.call("query_cached_result",
                                {{"ref_id", bobs}, {"sql", "SELECT count(*) AS n FROM data"}}))
                .at("value"),
            count);
  for (const std::string& ref : {bobs, forged, bobs + "#/0/note"}) {
    const bj::object get = alice.call("get_cached_result", {{"ref_id", ref}});
    const bj::object q =
        alice.call("query_cached_result", {{"ref_id", ref}, {"sql", "SELECT note FROM data"}});
    const bj::object s = alice.call("search_cached_result", {{"ref_id", ref}, {"query", "secret"}});
    EXPECT_EQ(q.at("isError"), true) << ref;
    EXPECT_EQ(s.at("isError"), true) << ref;
    EXPECT_EQ(structured(q), structured(get)) << ref;
    EXPECT_EQ(structured(s), structured(get)) << ref;
    EXPECT_EQ(jsonio::to_string(q).find("secret-note"), std::string::npos);
    EXPECT_EQ(jsonio::to_string(s).find("secret-note"), std::string::npos);
  }
  // An SQL error on a forbidden ref says nothing of SQL either: the ref is checked first.
  const bj::object bad =
      alice.call("query_cached_result", {{"ref_id", bobs}, {"sql", "SELECT nope FROM data"}});
  EXPECT_EQ(jsonio::to_string(bad).find("nope"), std::string::npos) << bad;
}

// The stored value of a withheld answer, read from the backend as the test's oracle (no
// caller can read it through the cache).
bj::value stored_value(refcache::RefCache& cache, const bj::value& answer) {
  auto e = cache.backend().get(answer.at("ref_id").as_string());
  if (!e) return nullptr;
  EXPECT_EQ(e->metadata.at(refcache::kDerivedFromPrivate), true);
  return e->value;
}

TEST_F(QueryTools, AQueryOnAnExecuteOnlyRefIsAPrivateDerivedResult) {
  const std::string exec_only = store(sales(), refcache::AccessPolicy::execute_only());
  std::int64_t north = 0;
  for (std::int64_t i = 0; i < 200; i += 3) north += i * 10;
  // Each call is answered no sooner than the deadline (300 ms) and a second: whatever the
  // query does with the value, its answer comes at the same time.
  const std::chrono::milliseconds pad = 1300ms;
  auto timed = [&](const std::string& tool, bj::object args) {
    const auto t0 = std::chrono::steady_clock::now();
    bj::object r = alice.call(tool, std::move(args));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, pad) << r;
    EXPECT_FALSE(r.contains("isError") && r.at("isError") == true) << r;
    EXPECT_EQ(jsonio::to_string(r).find("secret-note"), std::string::npos) << r;
    EXPECT_EQ(jsonio::to_string(r).find("north"), std::string::npos) << r;
    bj::value s = structured(r);
    EXPECT_EQ(s.at("value_withheld"), true) << r;
    EXPECT_FALSE(s.as_object().contains("value")) << r;
    EXPECT_FALSE(s.as_object().contains("preview")) << r;
    EXPECT_TRUE(!s.as_object().contains("total_items") || s.at("total_items").is_null()) << r;
    return s;
  };
  const bj::value sum = timed(
      "query_cached_result",
      {{"ref_id", exec_only},
       {"sql", "SELECT region, sum(amount) AS total FROM data GROUP BY region ORDER BY region"}});
  // The answer was computed and stored: nobody may read it, tools may use it.
  const bj::value want_north = bj::object{{"region", "north"}, {"total", north}};
  EXPECT_EQ(stored_value(cache, sum).at(0), want_north);
  const bj::object read = alice.call("get_cached_result", {{"ref_id", sum.at("ref_id")}});
  EXPECT_EQ(read.at("isError"), true) << read;
  EXPECT_EQ(jsonio::to_string(read).find("north"), std::string::npos) << read;
  // A failure, an SQL error or a query stopped by its deadline, looks like a success: whether a
  // computation on a value one may not read fails is a fact about the value.
  const bj::value error =
      timed("query_cached_result", {{"ref_id", exec_only}, {"sql", "SELECT nope FROM data"}});
  EXPECT_TRUE(stored_value(cache, error).as_object().contains("error"));
  const bj::value slow =
      timed("query_cached_result",
            {{"ref_id", exec_only},
             {"sql",
              "SELECT CASE WHEN (SELECT sum(amount) FROM data) > 0 THEN (WITH RECURSIVE c(x) AS "
              "(SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c) END AS x"}});
  EXPECT_TRUE(stored_value(cache, slow).as_object().contains("error"));
  // The private answer is usable by tools (here a query of it), and what they make of it is
  // private too.
  const bj::value total =
      timed("query_cached_result",
            {{"ref_id", sum.at("ref_id")}, {"sql", "SELECT sum(total) AS t FROM data"}});
  const bj::value want_total = bj::array{bj::object{{"t", 199 * 200 / 2 * 10}}};
  EXPECT_EQ(stored_value(cache, total), want_total);
  // A search is the same.
  const bj::value hits =
      timed("search_cached_result", {{"ref_id", exec_only}, {"query", "secret"}});
  EXPECT_EQ(stored_value(cache, hits).as_array().size(), 10U);
}

TEST_F(QueryTools, RefsInsideTheValueFollowTheirOwnPermissions) {
  // Secret values long enough never to occur by chance in the random ref ids of the answer.
  const std::string secret =
      store(bj::array{4181767, 4181768}, refcache::AccessPolicy::execute_only());
  const std::string bobs = store(bj::array{4181769}, owned_by("user:bob"));
  const std::string readable = store(bj::array{1, 2}, refcache::AccessPolicy::public_policy());
  const std::string holds_secret = store(bj::array{bj::object{{"k", "a"}, {"v", secret}}},
                                         refcache::AccessPolicy::public_policy());
  const std::string holds_bobs = store(bj::array{bj::object{{"k", "a"}, {"v", bobs}}},
                                       refcache::AccessPolicy::public_policy());
  const std::string holds_readable = store(bj::array{bj::object{{"k", "a"}, {"v", readable}}},
                                           refcache::AccessPolicy::public_policy());
  // A ref alice may not use at all: refused, naming the inner ref and nothing of its value.
  const bj::object refused = alice.call(
      "query_cached_result",
      {{"ref_id", holds_bobs}, {"sql", "SELECT json_extract(v, '$[0]') AS x FROM data"}});
  EXPECT_EQ(refused.at("isError"), true) << refused;
  EXPECT_NE(jsonio::to_string(refused).find("Invalid or inaccessible reference"),
            std::string::npos);
  EXPECT_EQ(jsonio::to_string(refused).find("418176"), std::string::npos) << refused;
  // A ref she may only use makes the query private: its answer is withheld.
  const bj::object withheld = alice.call(
      "query_cached_result",
      {{"ref_id", holds_secret}, {"sql", "SELECT json_extract(v, '$[0]') AS x FROM data"}});
  EXPECT_EQ(structured(withheld).at("value_withheld"), true) << withheld;
  EXPECT_EQ(jsonio::to_string(withheld).find("418176"), std::string::npos) << withheld;
  const bj::value secret_x = bj::array{bj::object{{"x", 4181767}}};
  EXPECT_EQ(stored_value(cache, structured(withheld)), secret_x);
  // A readable inner ref is resolved like any tool input's.
  const bj::object ok = alice.call(
      "query_cached_result",
      {{"ref_id", holds_readable}, {"sql", "SELECT json_extract(v, '$[1]') AS x FROM data"}});
  const bj::value two = bj::array{bj::object{{"x", 2}}};
  EXPECT_EQ(structured(ok).at("value"), two) << ok;
}

TEST_F(QueryTools, RefusalsAndLimitsAreToolErrorsNamingThem) {
  const std::string ref = store(sales(), refcache::AccessPolicy::public_policy());
  const bj::object attach =
      alice.call("query_cached_result", {{"ref_id", ref}, {"sql", "ATTACH ':memory:' AS x"}});
  EXPECT_EQ(attach.at("isError"), true);
  EXPECT_NE(jsonio::to_string(attach).find("ATTACH"), std::string::npos) << attach;
  const bj::object forever = alice.call(
      "query_cached_result",
      {{"ref_id", ref},
       {"sql",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"}});
  EXPECT_EQ(forever.at("isError"), true);
  EXPECT_NE(jsonio::to_string(forever).find("300 ms deadline"), std::string::npos) << forever;
}

TEST_F(QueryTools, SearchRanksHitsAndIsCached) {
  const bj::value docs = jsonio::parse_or_throw(R"([
    {"title": "Bread", "body": "flour water salt"},
    {"title": "Cache", "body": "a reference cache keeps large results"},
    {"title": "Refs", "body": "cache cache cache"}])");
  const std::string ref = store(docs, refcache::AccessPolicy::public_policy());
  const bj::object r = alice.call("search_cached_result", {{"ref_id", ref}, {"query", "cache"}});
  const bj::value hits = structured(r).at("value");
  ASSERT_EQ(hits.as_array().size(), 2U) << r;
  EXPECT_EQ(hits.at(0).at("row"), 2);
  EXPECT_EQ(hits.at(0).at("snippet"), "[cache] [cache] [cache]");
  EXPECT_EQ(hits.at(1).at("item"), docs.at(1));
  const bj::object again =
      alice.call("search_cached_result", {{"ref_id", ref}, {"query", "cache"}});
  EXPECT_EQ(structured(again).at("ref_id"), structured(r).at("ref_id"));
}

}  // namespace
