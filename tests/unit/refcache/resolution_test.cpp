// Ref resolution inside JSON inputs.
#include <gtest/gtest.h>

#include "refcache/memory_backend.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache/resolution.hpp"
#include "test_util.hpp"

using namespace refcache;
using refcache_test::J;
namespace json = boost::json;

TEST(ContainsRefIds, FindsRefShapedStringsAtAnyDepthButNotKeysOrSubstrings) {
  // CachedCall skips resolution (and its copy of the input) when this is false, so a false
  // negative would hand a tool the ref id instead of the value.
  EXPECT_TRUE(contains_ref_ids(J(R"({"a":"t:0123456789abcdef"})")));
  EXPECT_TRUE(contains_ref_ids(J(R"({"a":{"b":[1,{"c":[null,"t:abcdef01"]}]}})")));
  EXPECT_TRUE(contains_ref_ids(J(R"(["x","t:abcdef01"])")));
  EXPECT_TRUE(contains_ref_ids(J(R"("t:abcdef01")")));
  EXPECT_FALSE(contains_ref_ids(J(R"({"t:abcdef01":1})")));  // keys are never resolved
  EXPECT_FALSE(contains_ref_ids(J(R"({"a":"see t:abcdef01","b":"t:abcdef01\n"})")));
  EXPECT_FALSE(contains_ref_ids(J(R"({"a":[1,2.5,true,null,{}],"b":"plain"})")));
  EXPECT_FALSE(contains_ref_ids(json::object{}));
  // Agrees with resolve_refs on a mixed input: it changes exactly when refs are present.
  for (const char* text : {R"({"n":1,"s":"x"})", R"({"n":[1,{"r":"t:abcdef01"}]})"}) {
    json::value v = J(text);
    ResolutionOptions ro;
    ro.fail_on_missing = false;
    RefCache cache;
    auto r = resolve_refs(cache, v, Actor::agent(), ro);
    EXPECT_EQ(contains_ref_ids(v), !r.failed_refs.empty() || !r.resolved_refs.empty()) << text;
  }
}

class ResolutionTest : public ::testing::Test {
 protected:
  RefCache cache{[] {
    RefCacheOptions o;
    o.name = "t";
    return o;
  }()};
};

TEST_F(ResolutionTest, ResolvesNestedObjectsAndArrays) {
  auto a = cache.set("a", J("[1,2,3]"));
  auto b = cache.set("b", J(R"({"x":1})"));
  json::value input = {{"data", a.ref_id},
                       {"nested", {{"list", json::array{b.ref_id, "plain", 5}}}},
                       {a.ref_id, "keys are not resolved"},
                       {"substring", "see " + a.ref_id}};
  auto r = resolve_refs(cache, input, Actor::agent());
  EXPECT_EQ(r.value.at("data"), J("[1,2,3]"));
  EXPECT_EQ(r.value.at("nested").at("list").at(0), J(R"({"x":1})"));
  EXPECT_EQ(r.value.at("nested").at("list").at(1), "plain");
  EXPECT_TRUE(r.value.as_object().contains(a.ref_id));
  EXPECT_EQ(std::string(r.value.at("substring").as_string()), "see " + a.ref_id);
  EXPECT_EQ(r.resolved_refs.size(), 2u);
  EXPECT_FALSE(r.used_execute_only);
}

TEST_F(ResolutionTest, ResolvedValuesHoldingRefsAreResolvedToo) {
  auto inner = cache.set("inner", 7);
  auto outer = cache.set("outer", json::array{inner.ref_id, inner.ref_id});
  auto r = resolve_refs(cache, json::value(outer.ref_id), Actor::agent());
  EXPECT_EQ(r.value, J("[7,7]"));  // the same ref twice in siblings is not a cycle
}

TEST_F(ResolutionTest, CyclesAreDetected) {
  // Build A -> B -> A by storing refs chosen in advance.
  SetOptions sa, sb;
  sa.ref_id = "t:aaaaaaaaaaaaaaaa";
  sb.ref_id = "t:bbbbbbbbbbbbbbbb";
  cache.set("", json::value(*sb.ref_id), sa);
  cache.set("", json::array{*sa.ref_id}, sb);
  try {
    resolve_refs(cache, json::value(*sa.ref_id), Actor::agent());
    FAIL();
  } catch (const CircularReference& e) {
    EXPECT_NE(std::string(e.what()).find("Circular reference detected"), std::string::npos);
    EXPECT_EQ(e.ref_id(), *sa.ref_id);
    EXPECT_EQ(e.chain().size(), 2u);
  }
  SetOptions self;
  self.ref_id = "t:cccccccccccccccc";
  cache.set("", json::value(*self.ref_id), self);
  EXPECT_THROW(resolve_refs(cache, json::value(*self.ref_id), Actor::agent()), CircularReference);
}

TEST_F(ResolutionTest, MissingExpiredAndForbiddenLookTheSame) {
  SetOptions hidden;
  hidden.policy = AccessPolicy::user_only();
  auto forbidden = cache.set("f", 1, hidden);
  std::string missing_text, forbidden_text;
  try {
    resolve_refs(cache, json::value("t:0123456789abcdef"), Actor::agent());
  } catch (const InvalidReference& e) {
    missing_text = e.what();
  }
  try {
    resolve_refs(cache, json::value(forbidden.ref_id), Actor::agent());
  } catch (const InvalidReference& e) {
    forbidden_text = e.what();
  }
  EXPECT_EQ(missing_text, "Invalid or inaccessible reference: t:0123456789abcdef");
  EXPECT_EQ(forbidden_text, "Invalid or inaccessible reference: " + forbidden.ref_id);
  for (const auto& t : {missing_text, forbidden_text})
    for (const char* word : {"permission", "denied", "not found", "expired"})
      EXPECT_EQ(t.find(word), std::string::npos);
}

TEST_F(ResolutionTest, CollectModeLeavesFailuresInPlace) {
  ResolutionOptions o;
  o.fail_on_missing = false;
  auto r = resolve_refs(cache, J(R"(["t:0123456789abcdef", 1])"), Actor::agent(), o);
  EXPECT_EQ(r.value, J(R"(["t:0123456789abcdef", 1])"));
  EXPECT_EQ(r.failed_refs.size(), 1u);
}

TEST_F(ResolutionTest, ExecuteOnlyRefsReachTheComputationAndAreFlagged) {
  SetOptions so;
  so.policy = AccessPolicy::execute_only();
  auto secret = cache.set("secret", 42, so);
  auto r = resolve_refs(cache, json::value(secret.ref_id), Actor::agent());
  EXPECT_EQ(r.value, json::value(42));
  EXPECT_TRUE(r.used_execute_only);
  ResolutionOptions read_only;
  read_only.allow_execute = false;
  EXPECT_THROW(resolve_refs(cache, json::value(secret.ref_id), Actor::agent(), read_only),
               InvalidReference);
  // Without EXECUTE as well, nothing passes.
  SetOptions none;
  none.policy = AccessPolicy::user_only();
  auto locked = cache.set("locked", 1, none);
  EXPECT_THROW(resolve_refs(cache, json::value(locked.ref_id), Actor::agent()), InvalidReference);
}

TEST_F(ResolutionTest, InputRefsResolveAsTheCallingActor) {
  SetOptions so;
  so.policy = AccessPolicy::user_only();
  so.policy->owner = "user:alice";
  auto ref = cache.set("mine", 5, so);
  EXPECT_EQ(resolve_refs(cache, json::value(ref.ref_id), Actor::user("alice")).value, 5);
  EXPECT_THROW(resolve_refs(cache, json::value(ref.ref_id), Actor::agent()), InvalidReference);
}
