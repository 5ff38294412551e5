// Ref paths ("<ref_id>#<JSON Pointer>") through the MCP surface, as a client calls it: in the
// arguments of a cached tool (nested, in lists), get_cached_result (preview, pages, full),
// query_cached_result and search_cached_result, and resources/read of
// refcache://<ref_id>#<percent-encoded pointer>. A part has its whole ref's permissions: an
// EXECUTE-only part reaches a tool but is never shown, and a pointer that names nothing tells
// a reader which token failed and anyone else only what a forged ref id gets.
#include <gtest/gtest.h>

#include <mutex>
#include <regex>
#include <string>

#include "jsonio/json_text.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache/ref_path.hpp"
#include "refcache_mcp/cached_tools.hpp"
#include "unit/in_process_client.hpp"
#include "unit/refcache_mcp/small_cache_options.hpp"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;

class RefPaths : public ::testing::Test {
 protected:
  RefPaths()
      : cache(test_support::small_cache_options()),
        server(mcp::ServerOptions{.info = {.name = "p", .version = "1"}, .worker_threads = 2}) {
    refcache::mcp::InstallOptions o;
    o.query_deadline = std::chrono::milliseconds(200);  // a private query waits this + 1 s
    refcache::mcp::install(server, cache, o);
    // A cached tool that reports what it received, and keeps it for the test to look at.
    refcache::mcp::CachedToolSpec spec;
    spec.tool.name = "echo";
    spec.tool.input_schema = jsonio::parse_or_throw(
        R"({"type":"object","properties":{"x":{},"list":{"type":"array","items":{}}}})");
    refcache::mcp::cached_tool_raw(server, cache, std::move(spec),
                                   [this](const bj::object& args, refcache::CallContext&) {
                                     std::lock_guard lk(seen_mu);
                                     seen = args;
                                     return bj::value(args);
                                   });
    alice = test_support::InProcessClient(server, "alice", "s-alice");
  }

  bj::object call(const std::string& tool, bj::object args) {
    return alice.call(tool, std::move(args));
  }

  static bool is_error(const bj::object& result) {
    return result.contains("isError") && result.at("isError") == true;
  }
  static std::string error_text(const bj::object& result) {
    return jsonio::to_string(result.at("structuredContent"));
  }

  // The resources/read response: its result or its error.
  bj::value read(const std::string& uri) { return alice.request("resources/read", {{"uri", uri}}); }

  std::string store(const bj::value& v, const refcache::AccessPolicy& policy) {
    refcache::SetOptions so;
    so.policy = policy;
    return cache.set("", v, so).ref_id;
  }

  static bj::value data() {
    bj::array rows;
    for (int i = 0; i < 60; ++i)
      rows.push_back(bj::object{{"id", i}, {"note", "row note " + std::to_string(i)}});
    return bj::object{{"rows", rows}, {"a b", "spaced"}, {"m~n", {{"a/b", 3}}}, {"c%d", 4}};
  }

  refcache::RefCache cache;
  mcp::Server server;
  test_support::InProcessClient alice;
  std::mutex seen_mu;
  bj::object seen;
};

TEST_F(RefPaths, SchemasAcceptTheRefPathFormAndNothingElseWithAHash) {
  const bj::value schema = refcache::mcp::ref_id_schema();
  EXPECT_EQ(schema.at("pattern"), bj::value(refcache::kRefPathPattern));
  const std::regex re(std::string(refcache::kRefPathPattern), std::regex::ECMAScript);
  for (const char* ok : {"t:0123456789abcdef", "t:0123456789abcdef#", "t:0123456789abcdef#/",
                         "t:0123456789abcdef#/rows/0/a~1b~0c", "t:0123456789abcdef#/a b/%"}) {
    EXPECT_TRUE(std::regex_match(ok, re)) << ok;
    EXPECT_TRUE(refcache::names_ref(ok)) << ok;
  }
  for (const char* bad : {"t:0123456789abcdef#rows", "t:0123456789abcdef#/a~2",
                          "t:0123456789abcdef#/a~", "x t:0123456789abcdef#/a", "#/a"}) {
    EXPECT_FALSE(std::regex_match(bad, re)) << bad;
    EXPECT_FALSE(refcache::names_ref(bad)) << bad;
  }
  // A cached tool's parameters take the path form too.
  bj::value r = alice.send(
      jsonio::parse_or_throw(R"({"jsonrpc":"2.0","id":5,"method":"tools/list","params":{}})"));
  bool found = false;
  for (const auto& t : r.at("result").at("tools").as_array()) {
    if (t.at("name") != "echo") continue;
    found = true;
    const auto& any = t.at("inputSchema").at("properties").at("x").at("anyOf").as_array();
    EXPECT_EQ(any.at(1).at("pattern"), bj::value(refcache::kRefPathPattern));
  }
  EXPECT_TRUE(found);
}

TEST_F(RefPaths, ToolArgumentsTakePathsNestedAndInLists) {
  const std::string id = store(data(), refcache::AccessPolicy::public_policy());
  const bj::object r = call("echo", {{"x", id + "#/rows/2/id"},
                                     {"list", bj::array{id + "#/m~0n/a~1b", id + "#/c%d", 7,
                                                        "see " + id + "#/rows", id + "#rows"}}});
  ASSERT_FALSE(is_error(r)) << r;
  std::lock_guard lk(seen_mu);
  EXPECT_EQ(seen.at("x"), 2);
  EXPECT_EQ(seen.at("list").at(0), 3);
  EXPECT_EQ(seen.at("list").at(1), 4);
  EXPECT_EQ(seen.at("list").at(2), 7);
  // Strings that merely hold a '#' are left alone.
  EXPECT_EQ(seen.at("list").at(3), bj::value("see " + id + "#/rows"));
  EXPECT_EQ(seen.at("list").at(4), bj::value(id + "#rows"));
}

TEST_F(RefPaths, GetCachedResultPreviewsPagesAndReturnsThePart) {
  const std::string id = store(data(), refcache::AccessPolicy::public_policy());
  const std::string rows = id + "#/rows";
  const bj::object preview = call("get_cached_result", {{"ref_id", rows}});
  ASSERT_FALSE(is_error(preview)) << preview;
  const bj::value& p = preview.at("structuredContent");
  EXPECT_EQ(p.at("ref_id"), bj::value(rows));  // the next page is asked of the part
  EXPECT_EQ(p.at("total_items"), 60);

  const bj::object page =
      call("get_cached_result", {{"ref_id", rows}, {"page", 3}, {"page_size", 5}});
  ASSERT_FALSE(is_error(page)) << page;
  EXPECT_EQ(page.at("structuredContent").at("preview").at(0).at("id"), 10);
  EXPECT_EQ(page.at("structuredContent").at("total_pages"), 12);

  const bj::object full = call("get_cached_result", {{"ref_id", id + "#/a b"}, {"full", true}});
  ASSERT_FALSE(is_error(full)) << full;
  EXPECT_EQ(full.at("structuredContent").at("value"), "spaced");
  const bj::object whole = call("get_cached_result", {{"ref_id", id + "#"}, {"full", true}});
  EXPECT_EQ(whole.at("structuredContent").at("value"), data());
}

TEST_F(RefPaths, AMissingPartTellsAReaderWhichTokenFailedAndAForgedPathNothing) {
  const std::string id = store(data(), refcache::AccessPolicy::public_policy());
  for (bool full : {false, true}) {
    const bj::object r =
        call("get_cached_result", {{"ref_id", id + "#/rows/60/id"}, {"full", full}});
    ASSERT_TRUE(is_error(r)) << r;
    EXPECT_NE(error_text(r).find("index 60 is past the end of the array at '/rows'"),
              std::string::npos)
        << r;
  }
  const bj::object leading_zero = call("echo", {{"x", id + "#/rows/01"}});
  ASSERT_TRUE(is_error(leading_zero));
  EXPECT_NE(error_text(leading_zero).find("'01' is not an array index"), std::string::npos)
      << leading_zero;
  const bj::object dash = call("echo", {{"x", id + "#/rows/-"}});
  ASSERT_TRUE(is_error(dash));
  EXPECT_NE(error_text(dash).find("'-'"), std::string::npos) << dash;

  // A forged ref id with a path is answered as a forged ref id is, naming what was written.
  const std::string forged = "t:00000000deadbeef";
  const bj::object plain = call("get_cached_result", {{"ref_id", forged}});
  const bj::object with_path = call("get_cached_result", {{"ref_id", forged + "#/rows/0"}});
  ASSERT_TRUE(is_error(plain));
  ASSERT_TRUE(is_error(with_path));
  bj::value expected = plain.at("structuredContent");
  expected.as_object()["ref_id"] = forged + "#/rows/0";
  EXPECT_EQ(with_path.at("structuredContent"), expected);
}

TEST_F(RefPaths, AnExecuteOnlyPartReachesAToolButIsNeverShown) {
  const std::string secret = store(data(), refcache::AccessPolicy::execute_only());
  const std::string forged = "t:00000000deadbeef";
  const bj::object r = call("echo", {{"x", secret + "#/rows/5"}});
  ASSERT_FALSE(is_error(r)) << r;
  {
    std::lock_guard lk(seen_mu);
    EXPECT_EQ(seen.at("x").at("id"), 5);  // the tool received the part
  }
  const std::string answer = jsonio::to_string(r.at("structuredContent"));
  EXPECT_EQ(answer.find("row note 5"), std::string::npos) << answer;  // ... the caller did not
  EXPECT_EQ(r.at("structuredContent").at("value_withheld"), true) << r;

  // get_cached_result, full or not, answers as for a forged ref.
  for (bool full : {false, true}) {
    const bj::object g =
        call("get_cached_result", {{"ref_id", secret + "#/rows/5"}, {"full", full}});
    const bj::object f =
        call("get_cached_result", {{"ref_id", forged + "#/rows/5"}, {"full", full}});
    ASSERT_TRUE(is_error(g));
    bj::value expected = f.at("structuredContent");
    expected.as_object()["ref_id"] = secret + "#/rows/5";
    EXPECT_EQ(g.at("structuredContent"), expected);
  }
  // A pointer that names nothing in it says what a forged ref says, not which token failed.
  const bj::object missing = call("echo", {{"x", secret + "#/rows/99"}});
  const bj::object forged_missing = call("echo", {{"x", forged + "#/rows/99"}});
  ASSERT_TRUE(is_error(missing));
  ASSERT_TRUE(is_error(forged_missing));
  std::string m = error_text(missing);
  std::string fm = error_text(forged_missing);
  m.replace(m.find(secret), secret.size(), forged);
  EXPECT_EQ(m, fm);
  EXPECT_EQ(m.find("past the end"), std::string::npos) << m;
}

#if REFCACHE_WITH_SQLITE
TEST_F(RefPaths, QueryAndSearchRunOverThePart) {
  const std::string id = store(data(), refcache::AccessPolicy::public_policy());
  const bj::object q =
      call("query_cached_result",
           {{"ref_id", id + "#/rows"}, {"sql", "SELECT count(*) AS n, max(id) AS top FROM data"}});
  ASSERT_FALSE(is_error(q)) << q;
  EXPECT_EQ(q.at("structuredContent").at("value").at(0).at("n"), 60);
  EXPECT_EQ(q.at("structuredContent").at("value").at(0).at("top"), 59);
  const bj::object s =
      call("search_cached_result", {{"ref_id", id + "#/rows"}, {"query", "\"note 42\""}});
  ASSERT_FALSE(is_error(s)) << s;
  EXPECT_NE(jsonio::to_string(s.at("structuredContent")).find("42"), std::string::npos) << s;

  const bj::object bad =
      call("query_cached_result", {{"ref_id", id + "#/rowz"}, {"sql", "SELECT 1 FROM data"}});
  ASSERT_TRUE(is_error(bad));
  EXPECT_NE(error_text(bad).find("no member 'rowz'"), std::string::npos) << bad;

  // EXECUTE-only: the part is queried privately (the answer withheld), and a pointer that
  // names nothing in it is refused exactly as a forged ref.
  const std::string secret = store(data(), refcache::AccessPolicy::execute_only());
  const bj::object sq =
      call("query_cached_result", {{"ref_id", secret + "#/rows"}, {"sql", "SELECT 1 FROM data"}});
  ASSERT_FALSE(is_error(sq)) << sq;
  EXPECT_EQ(sq.at("structuredContent").at("value_withheld"), true) << sq;
  const bj::object mq =
      call("query_cached_result", {{"ref_id", secret + "#/rowz"}, {"sql", "SELECT 1 FROM data"}});
  const bj::object fq = call("query_cached_result", {{"ref_id", "t:00000000deadbeef#/rowz"},
                                                     {"sql", "SELECT 1 FROM data"}});
  ASSERT_TRUE(is_error(mq));
  bj::value expected = fq.at("structuredContent");
  expected.as_object()["ref_id"] = secret + "#/rowz";
  EXPECT_EQ(mq.at("structuredContent"), expected);
}
#endif

TEST_F(RefPaths, ResourcesReadPartsByAPercentEncodedFragment) {
  const std::string id = store(data(), refcache::AccessPolicy::public_policy());
  auto text_of = [&](const std::string& uri) {
    const bj::value r = read(uri);
    EXPECT_TRUE(r.as_object().contains("result")) << r;
    return jsonio::parse_or_throw(r.at("result").at("contents").at(0).at("text").as_string());
  };
  EXPECT_EQ(text_of("refcache://" + id + "#/a%20b"), "spaced");
  EXPECT_EQ(text_of("refcache://" + id + "#/c%25d"), 4);
  EXPECT_EQ(text_of("refcache://" + id + "#/m~0n/a~1b"), 3);
  EXPECT_EQ(text_of("refcache://" + id + "#%2Frows%2F1%2Fid"), 1);
  EXPECT_EQ(text_of("refcache://" + id + "#"), data());
  EXPECT_EQ(text_of("refcache://" + id), data());

  // A reader learns which token failed; a forged ref, a bad fragment and a bad pointer are
  // not found.
  const bj::value missing = read("refcache://" + id + "#/rows/70");
  ASSERT_TRUE(missing.as_object().contains("error")) << missing;
  EXPECT_NE(jsonio::to_string(missing).find("index 70 is past the end"), std::string::npos)
      << missing;
  for (const std::string& uri :
       std::vector<std::string>{"refcache://t:00000000deadbeef#/rows", "refcache://" + id + "#/a%2",
                                "refcache://" + id + "#/a~2"}) {
    const bj::value r = read(uri);
    ASSERT_TRUE(r.as_object().contains("error")) << uri << r;
    EXPECT_EQ(jsonio::to_string(r).find("rows\":"), std::string::npos) << r;
  }
  const bj::value forged_plain = read("refcache://t:00000000deadbeef");
  const bj::value forged_path = read("refcache://t:00000000deadbeef#/rows");
  EXPECT_EQ(forged_plain.at("error").at("code"), forged_path.at("error").at("code"));

  // EXECUTE-only: described, never shown, whether or not the pointer names anything.
  const std::string secret = store(data(), refcache::AccessPolicy::execute_only());
  for (const char* pointer : {"/rows/1", "/nothing"}) {
    const bj::value d = text_of("refcache://" + secret + "#" + pointer);
    EXPECT_EQ(d.at("value_withheld"), true) << d;
    EXPECT_EQ(d.at("ref_id"), bj::value(secret + "#" + pointer));
    EXPECT_EQ(jsonio::to_string(d).find("row note"), std::string::npos) << d;
  }
}

}  // namespace
