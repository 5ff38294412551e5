// Ref paths ("<ref_id>#<JSON Pointer>"): parsing (RFC 6901 escapes, percent-encoding of the
// URI fragment form, invalid pointers, array indexes), selection, resolution of paths in
// tool inputs under the whole ref's permissions, RefCache::get of a part, and errors that
// tell a reader which token failed and tell anyone else nothing.
#include <gtest/gtest.h>

#include <regex>

#include "refcache/ref_cache.hpp"
#include "refcache/ref_path.hpp"
#include "refcache/resolution.hpp"
#include "test_util.hpp"

using namespace refcache;
using refcache_test::J;
namespace json = boost::json;

TEST(RefPath, ParsesARefIdWithAndWithoutAPointer) {
  auto bare = parse_ref_path("t:0123456789abcdef");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->ref_id, "t:0123456789abcdef");
  EXPECT_FALSE(bare->has_pointer);
  EXPECT_FALSE(is_ref_path("t:0123456789abcdef"));
  EXPECT_TRUE(names_ref("t:0123456789abcdef"));

  auto p = parse_ref_path("t:0123456789abcdef#/rows/0/a~1b~0c");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ref_id, "t:0123456789abcdef");
  EXPECT_EQ(p->pointer, "/rows/0/a~1b~0c");
  EXPECT_TRUE(p->has_pointer);
  EXPECT_TRUE(is_ref_path("t:0123456789abcdef#/rows/0/a~1b~0c"));

  // "ref#" is the empty pointer (the whole value), "ref#/" the member named "".
  auto whole = parse_ref_path("t:0123456789abcdef#");
  ASSERT_TRUE(whole);
  EXPECT_TRUE(whole->has_pointer);
  EXPECT_EQ(whole->pointer, "");
  auto empty_member = parse_ref_path("t:0123456789abcdef#/");
  ASSERT_TRUE(empty_member);
  EXPECT_EQ(empty_member->pointer, "/");
}

TEST(RefPath, RefusesStringsThatAreNotARefIdFollowedByAValidPointer) {
  for (const char* s : {
           "t:0123456789abcdef#rows",       // a pointer starts with '/'
           "t:0123456789abcdef#/a~2",       // '~' must be followed by 0 or 1
           "t:0123456789abcdef#/a~",        // ... and by something
           "t:0123456789abcdef\n#/a",       // the ref id must be exact
           "see t:0123456789abcdef#/a",     // a substring is not a ref
           "t:0123#/a",                     // too few hex digits
           "#/a",                           // no ref id at all
           "T:0123456789ABCDEF#/a",         // uppercase hex is no ref id
           "https://example.com/page#/top"  // an ordinary URL with a fragment
       }) {
    EXPECT_FALSE(parse_ref_path(s)) << s;
    EXPECT_FALSE(names_ref(s)) << s;
  }
  // A second '#' belongs to the pointer, where it is an ordinary character.
  auto p = parse_ref_path("t:0123456789abcdef#/a#b");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->pointer, "/a#b");
}

TEST(RefPath, ThePatternAgreesWithParseRefPath) {
  // Tool parameters advertise kRefPathPattern; a client that validates with it must accept
  // exactly the strings the server resolves as refs or parts of refs.
  const std::regex pattern{std::string(kRefPathPattern), std::regex::ECMAScript};
  std::vector<std::string> samples = {"a:00000000",
                                      "a:00000000#",
                                      "a:00000000#/",
                                      "a:00000000#//",
                                      "a:00000000#x",
                                      "a:00000000#/~",
                                      "a:00000000#/~2",
                                      "a:00000000#/~0",
                                      "a:00000000#/a~1b/#",
                                      "a:0000000#/x",
                                      "#/x",
                                      ""};
  // Every byte value at every position of a short path.
  const std::string base = "a:00000000#/x~0y/1";
  for (std::size_t i = 0; i < base.size(); ++i)
    for (int b = 0; b < 256; ++b) {
      std::string s = base;
      s[i] = static_cast<char>(b);
      samples.push_back(s);
    }
  for (const auto& s : samples)
    EXPECT_EQ(std::regex_match(s, pattern), names_ref(s)) << "'" << s << "'";
}

TEST(RefPath, UnescapesTokensTildeOneBeforeTildeZero) {
  EXPECT_EQ(pointer_tokens(""), std::vector<std::string>{});
  EXPECT_EQ(pointer_tokens("/"), std::vector<std::string>{""});
  EXPECT_EQ(pointer_tokens("/a~1b/m~0n//x"), (std::vector<std::string>{"a/b", "m~n", "", "x"}));
  // "~01" is '~' then '1', not '/': ~1 is replaced first only where it is written as such.
  EXPECT_EQ(pointer_tokens("/~01"), std::vector<std::string>{"~1"});
  EXPECT_TRUE(is_json_pointer(""));
  EXPECT_TRUE(is_json_pointer("/~0~1"));
  EXPECT_FALSE(is_json_pointer("a"));
  EXPECT_FALSE(is_json_pointer("/~x"));
}

TEST(RefPath, DecodesThePercentEncodedFragmentForm) {
  // RFC 6901 section 6's examples: the fragment is percent-decoded, then read as a pointer.
  EXPECT_EQ(percent_decode("/a%20b"), "/a b");
  EXPECT_EQ(percent_decode("/c%25d"), "/c%d");
  EXPECT_EQ(percent_decode("/k%22l"), "/k\"l");
  EXPECT_EQ(percent_decode("/m~0n"), "/m~0n");
  EXPECT_EQ(percent_decode("%2Fa%2fb"), "/a/b");
  EXPECT_EQ(percent_decode("/%E2%82%AC"), "/\xE2\x82\xAC");
  EXPECT_FALSE(percent_decode("/a%2"));
  EXPECT_FALSE(percent_decode("/a%zz"));
  EXPECT_FALSE(percent_decode("%"));
}

TEST(RefPath, SelectsByRfc6901IncludingItsExamples) {
  const json::value doc = J(R"({"foo":["bar","baz"],"":0,"a/b":1,"c%d":2,"e^f":3,"g|h":4,
                               "i\\j":5,"k\"l":6," ":7,"m~n":8,"arr":[10,11,12]})");
  auto at = [&](std::string_view p) { return select_part(doc, p); };
  ASSERT_TRUE(at(""));
  EXPECT_EQ(*at(""), doc);
  EXPECT_EQ(*at("/foo"), J(R"(["bar","baz"])"));
  EXPECT_EQ(*at("/foo/0"), "bar");
  EXPECT_EQ(*at("/"), 0);
  EXPECT_EQ(*at("/a~1b"), 1);
  EXPECT_EQ(*at("/c%d"), 2);
  EXPECT_EQ(*at("/e^f"), 3);
  EXPECT_EQ(*at("/g|h"), 4);
  EXPECT_EQ(*at("/i\\j"), 5);
  EXPECT_EQ(*at("/k\"l"), 6);
  EXPECT_EQ(*at("/ "), 7);
  EXPECT_EQ(*at("/m~0n"), 8);
  EXPECT_EQ(*at("/arr/2"), 12);

  std::string why;
  EXPECT_EQ(select_part(doc, "/arr/-", &why), nullptr);  // "-" is past the last element
  EXPECT_NE(why.find("'-'"), std::string::npos) << why;
  EXPECT_EQ(select_part(doc, "/arr/01", &why), nullptr);  // leading zeros are refused
  EXPECT_NE(why.find("'01' is not an array index"), std::string::npos) << why;
  EXPECT_EQ(select_part(doc, "/arr/+1", &why), nullptr);
  EXPECT_EQ(select_part(doc, "/arr/3", &why), nullptr);
  EXPECT_NE(why.find("index 3 is past the end of the array at '/arr' (3 elements)"),
            std::string::npos)
      << why;
  EXPECT_EQ(select_part(doc, "/arr/99999999999999999999999", &why), nullptr);
  EXPECT_EQ(select_part(doc, "/nope/x", &why), nullptr);
  EXPECT_NE(why.find("no member 'nope' in the object at the whole value"), std::string::npos)
      << why;
  EXPECT_EQ(select_part(doc, "/foo/0/x", &why), nullptr);
  EXPECT_NE(why.find("token 'x' goes into a scalar at '/foo/0'"), std::string::npos) << why;
  EXPECT_EQ(select_part(doc, "/arr/0", nullptr)->as_int64(), 10);
}

class RefPathResolution : public ::testing::Test {
 protected:
  RefCache cache{[] {
    RefCacheOptions o;
    o.name = "t";
    return o;
  }()};
  json::value data = J(R"({"rows":[{"id":7,"name":"a"},{"id":8,"name":"b"}],"m~n":{"a/b":3}})");
};

TEST_F(RefPathResolution, PathsInToolArgumentsResolveToTheirPartNestedAndInLists) {
  auto ref = cache.set("", data);
  const std::string id = ref.ref_id;
  json::value input = {{"n", id + "#/rows/1/id"},
                       {"nested", {{"list", json::array{id + "#/rows/0", id + "#/m~0n/a~1b", 5}}}},
                       {"whole", id + "#"},
                       {"root", id},
                       {"hash_text", "see " + id + "#/rows"},
                       {"bad_pointer", id + "#rows"},
                       {id + "#/rows", "keys are not resolved"}};
  EXPECT_TRUE(contains_ref_ids(json::value(id + "#/rows")));
  EXPECT_FALSE(contains_ref_ids(json::value(id + "#rows")));
  auto r = resolve_refs(cache, input, Actor::agent());
  EXPECT_EQ(r.value.at("n"), 8);
  EXPECT_EQ(r.value.at("nested").at("list").at(0), J(R"({"id":7,"name":"a"})"));
  EXPECT_EQ(r.value.at("nested").at("list").at(1), 3);
  EXPECT_EQ(r.value.at("nested").at("list").at(2), 5);
  EXPECT_EQ(r.value.at("whole"), data);
  EXPECT_EQ(r.value.at("root"), data);
  EXPECT_EQ(r.value.at("hash_text"), json::value("see " + id + "#/rows"));
  EXPECT_EQ(r.value.at("bad_pointer"), json::value(id + "#rows"));
  EXPECT_TRUE(r.value.as_object().contains(id + "#/rows"));
  EXPECT_EQ(r.resolved_refs.size(), 5u);
  EXPECT_EQ(r.resolved_refs.front(), id + "#/rows/1/id");
}

TEST_F(RefPathResolution, RefsInsideTheSelectedPartResolveToo) {
  auto inner = cache.set("", J("[1,2,3]"));
  auto outer = cache.set("", json::value{{"data", inner.ref_id + "#/2"}, {"other", 0}});
  auto r = resolve_refs(cache, json::value(outer.ref_id + "#/data"), Actor::agent());
  EXPECT_EQ(r.value, 3);
  // A path that comes back to its own ref is a cycle like any other.
  SetOptions so;
  so.ref_id = make_ref_id("t");
  cache.set("", json::value{{"a", *so.ref_id + "#/a"}}, so);
  EXPECT_THROW(resolve_refs(cache, json::value(*so.ref_id + "#/a"), Actor::agent()),
               CircularReference);
}

TEST_F(RefPathResolution, AMissingPartTellsAReaderWhichTokenFailed) {
  auto ref = cache.set("", data);
  const std::string written = ref.ref_id + "#/rows/5/id";
  try {
    resolve_refs(cache, json::value{{"n", written}}, Actor::agent());
    FAIL() << "resolved a pointer that names nothing";
  } catch (const PartNotFound& e) {
    EXPECT_EQ(e.ref_id(), written);
    EXPECT_NE(std::string(e.what()).find("index 5 is past the end of the array at '/rows'"),
              std::string::npos)
        << e.what();
  }
  // A reader's missing part is an error even where missing refs are only recorded.
  ResolutionOptions lenient;
  lenient.fail_on_missing = false;
  EXPECT_THROW(resolve_refs(cache, json::value(written), Actor::agent(), lenient), PartNotFound);
}

TEST_F(RefPathResolution, AnExecuteOnlyPartIsUsableButItsShapeNeverLeaks) {
  SetOptions so;
  so.policy = AccessPolicy::execute_only();
  auto secret = cache.set("", data, so);
  const std::string id = secret.ref_id;

  auto r = resolve_refs(cache, json::value{{"x", id + "#/rows/1"}}, Actor::agent());
  EXPECT_EQ(r.value.at("x"), J(R"({"id":8,"name":"b"})"));
  EXPECT_TRUE(r.used_execute_only);
  ASSERT_EQ(r.private_inputs.size(), 1u);
  EXPECT_EQ(r.private_inputs[0].ref_id, id + "#/rows/1");
  EXPECT_EQ(r.private_inputs[0].parameter, "x");
  EXPECT_TRUE(r.private_inputs[0].whole_parameter);
  EXPECT_EQ(r.private_inputs[0].items, 2u);  // the part's members, not the whole value's

  // Without READ, a pointer that names nothing is answered exactly as a forged ref is.
  auto message_of = [&](const std::string& s) {
    try {
      resolve_refs(cache, json::value(s), Actor::agent());
    } catch (const PartNotFound&) {
      return std::string("PartNotFound");
    } catch (const InvalidReference& e) {
      return std::string(e.what());
    }
    return std::string("resolved");
  };
  const std::string missing = id + "#/rows/9";
  const std::string forged = "t:00000000deadbeef#/rows/9";
  EXPECT_EQ(message_of(missing), std::string(kInvalidReferenceText) + ": " + missing);
  EXPECT_EQ(message_of(forged), std::string(kInvalidReferenceText) + ": " + forged);
  EXPECT_EQ(message_of("t:00000000deadbeef"),
            std::string(kInvalidReferenceText) + ": t:00000000deadbeef");
  EXPECT_EQ(message_of(id + "#/nope/deeper"),
            std::string(kInvalidReferenceText) + ": " + id + "#/nope/deeper");

  // READ required: the part is refused like the whole ref.
  ResolutionOptions read_only;
  read_only.allow_execute = false;
  EXPECT_THROW(resolve_refs(cache, json::value(id + "#/rows/0"), Actor::agent(), read_only),
               InvalidReference);
  read_only.fail_on_missing = false;
  auto kept = resolve_refs(cache, json::value(missing), Actor::agent(), read_only);
  EXPECT_EQ(kept.value, json::value(missing));
  EXPECT_EQ(kept.failed_refs, std::vector<std::string>{missing});
}

TEST_F(RefPathResolution, TheBudgetCountsThePartNotTheWholeValue) {
  json::array big;
  for (int i = 0; i < 1000; ++i) big.push_back(i);
  auto ref = cache.set("", json::value{{"big", big}, {"small", 1}});
  ResolutionOptions ro;
  ro.limits.max_items = 10;
  auto r = resolve_refs(cache, json::value(ref.ref_id + "#/small"), Actor::agent(), ro);
  EXPECT_EQ(r.value, 1);
  EXPECT_THROW(resolve_refs(cache, json::value(ref.ref_id + "#/big"), Actor::agent(), ro),
               InvalidArgument);
}

TEST_F(RefPathResolution, GetPreviewsAndPagesThePartAfterCheckingRead) {
  json::array rows;
  for (int i = 0; i < 50; ++i) rows.push_back(json::value{{"i", i}});
  auto ref = cache.set("", json::value{{"rows", rows}, {"meta", "x"}});
  GetOptions go;
  go.pointer = "/rows";
  go.page = 2;
  go.page_size = 10;
  auto g = cache.get(ref.ref_id, Actor::agent(), go);
  const auto& resp = std::get<CacheResponse>(g);
  EXPECT_EQ(resp.total_items, 50u);
  EXPECT_EQ(resp.page, 2);
  EXPECT_EQ(resp.preview.at(0).at("i"), 10);

  go.pointer = "/rows/50";
  try {
    cache.get(ref.ref_id, Actor::agent(), go);
    FAIL() << "got a part that does not exist";
  } catch (const PartNotFound& e) {
    EXPECT_NE(std::string(e.what()).find("index 50 is past the end"), std::string::npos)
        << e.what();
  }

  // Without READ the pointer is not even looked at: the answer is the whole ref's refusal.
  SetOptions so;
  so.policy = AccessPolicy::execute_only();
  auto secret = cache.set("", json::value{{"rows", rows}}, so);
  go.pointer = "/nothing/here";
  go.page.reset();
  go.page_size.reset();
  EXPECT_THROW(cache.get(secret.ref_id, Actor::agent(), go), PermissionDenied);
}
