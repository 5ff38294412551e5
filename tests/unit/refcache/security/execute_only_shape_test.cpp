// What a caller that may EXECUTE a value but not READ it sees of it (SECURITY.md, threats 1 and
// 2; docs/previews.md, "What the shape reveals"): of an original value, its structure-only
// shape -- the keys and JSON types seen at least release_min_items times, and the item count
// of a value of at least that many items -- and no value, statistic or per-field count; of a
// value derived from private data, nothing; and no other strategy, page or part. Each test
// searches the whole serialized answer for every scalar of the value.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "jsonio/json_text.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/ref_cache.hpp"
#include "refcache/resolution.hpp"
#include "unit/refcache/test_util.hpp"

using namespace refcache;
using refcache_test::J;
namespace json = boost::json;

namespace {

RefCacheOptions options(std::size_t release_min_items = 10) {
  RefCacheOptions o;
  o.name = "exo";
  o.preview.size_mode = SizeMode::kCharacter;
  o.preview.max_size = 2000;
  o.call_defaults.release_min_items = release_min_items;
  return o;
}

const CallIdentity kAlice{{{"user_id", "alice"}}};

// Rows whose every scalar is written in a way no key, count or size of an answer contains:
// {"name": "patient-<i>-zq", "amount": 7731.5 + i * 1000.125, "code": "c<i>x", "visit":
// {"ward": "ward-<i>-kv", "day": "2031-07-<dd>"}, "tags": ["tag-<i>-a", "tag-<i>-b"]}.
json::value rows(int n) {
  json::array a;
  for (int i = 0; i < n; ++i) {
    const int d = 10 + i % 19;
    a.push_back(
        json::object{{"name", "patient-" + std::to_string(i) + "-zq"},
                     {"amount", 7731.5 + i * 1000.125},
                     {"code", "c" + std::to_string(i) + "x"},
                     {"visit", json::object{{"ward", "ward-" + std::to_string(i) + "-kv"},
                                            {"day", "2031-07-" + std::to_string(d)}}},
                     {"tags", json::array{json::value("tag-" + std::to_string(i) + "-a"),
                                          json::value("tag-" + std::to_string(i) + "-b")}}});
  }
  return a;
}

// Every string and number of `v` (object keys excluded), as JSON text.
void scalars(const json::value& v, std::vector<std::string>& out) {
  if (v.is_array()) {
    for (const auto& x : v.get_array()) scalars(x, out);
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object()) scalars(kv.value(), out);
  } else if (v.is_string()) {
    out.emplace_back(v.get_string());
  } else if (v.is_number()) {
    out.push_back(jsonio::to_string(v));
  }
}

// Fails for each scalar of `value` that occurs in `answer`.
void expect_no_value_in(const std::string& answer, const json::value& value) {
  std::vector<std::string> all;
  scalars(value, all);
  ASSERT_FALSE(all.empty());
  for (const auto& s : all) EXPECT_EQ(answer.find(s), std::string::npos) << s << " in " << answer;
}

// Fails for each statistic or count member of a shape found in `answer`.
void expect_no_statistic_in(const std::string& answer) {
  for (const char* member :
       {"\"count\"", "\"nulls\"", "\"missing\"", "\"length\"", "\"distinct\"", "\"min\"", "\"max\"",
        "\"min_date\"", "\"max_date\"", "\"top\"", "\"examples\"", "\"untracked_key_occurrences\""})
    EXPECT_EQ(answer.find(member), std::string::npos) << member << " in " << answer;
}

std::string private_ref(RefCache& cache, const json::value& v) {
  return cache.set("", v, private_set_options(kAlice)).ref_id;
}

CacheResponse get(RefCache& cache, const std::string& ref, GetOptions go = {}) {
  return std::get<CacheResponse>(cache.get(ref, derive_actor(kAlice), go));
}

}  // namespace

TEST(ExecuteOnlyShape, ALargeListShowsKeysAndTypesAndItsCountOnly) {
  RefCache cache(options());
  const json::value v = rows(50);
  const std::string ref = private_ref(cache, v);
  const CacheResponse r = get(cache, ref);
  const std::string text = jsonio::to_string(r.to_json());
  expect_no_value_in(text, v);
  expect_no_statistic_in(text);
  EXPECT_EQ(r.preview_strategy, PreviewStrategy::kShape);
  EXPECT_TRUE(r.values_withheld);
  EXPECT_EQ(r.total_items, 50u);
  EXPECT_EQ(r.preview, J(R"({"type":"array","items":{"type":"object","keys":{
      "name":{"type":"string"},"amount":{"type":"number"},"code":{"type":"string"},
      "visit":{"type":"object","keys":{"ward":{"type":"string"},"day":{"type":"string"}}},
      "tags":{"type":"array","items":{"type":"string"}}}}})"));
  const json::object j = r.to_json();
  EXPECT_TRUE(j.at("original_size").is_null());
  EXPECT_EQ(j.at("omitted").at("values_withheld"), true);
  EXPECT_EQ(j.at("omitted").at("counts_withheld"), true);
  EXPECT_EQ(j.at("omitted").at("shown_if_seen_at_least"), 10);
  EXPECT_EQ(j.at("available_actions"), J(R"(["pass_to_tool","delete"])"));
  EXPECT_NE(jsonio::to_string(j.at("how_to_get_more")).find("pass ref_id"), std::string::npos);
}

// A list of fewer items than a release may describe: nothing of its items, not even their
// count -- a one-item list's keys and types would be that item's.
TEST(ExecuteOnlyShape, ASmallListSaysNothingOfItsItems) {
  RefCache cache(options());
  for (int n : {1, 3, 9}) {
    json::value v = rows(n);
    v.as_array()[0].as_object()["amount"] = nullptr;  // a null the shape must not show
    const CacheResponse r = get(cache, private_ref(cache, v));
    const std::string text = jsonio::to_string(r.to_json());
    expect_no_value_in(text, v);
    expect_no_statistic_in(text);
    EXPECT_EQ(r.preview, J(R"({"type":"array"})")) << n;
    EXPECT_FALSE(r.total_items) << n;
    EXPECT_FALSE(r.omitted.contains("items")) << n;
    EXPECT_EQ(text.find("\"null\""), std::string::npos) << text;
  }
}

// A key or a type that few items have is not named: it would describe those items.
TEST(ExecuteOnlyShape, RareKeysAndTypesAreNotNamed) {
  RefCache cache(options());
  json::value v = rows(50);
  auto& a = v.as_array();
  a[7].as_object()["diagnosis_rare_key"] = "zz-diag";
  a[8].as_object()["amount"] = "amount-as-text-zz";
  for (int i = 0; i < 9; ++i) a[i].as_object()["nine_have_it"] = 42424242;
  const CacheResponse r = get(cache, private_ref(cache, v));
  const std::string text = jsonio::to_string(r.to_json());
  expect_no_value_in(text, v);
  EXPECT_EQ(text.find("diagnosis_rare_key"), std::string::npos) << text;
  EXPECT_EQ(text.find("nine_have_it"), std::string::npos) << text;
  EXPECT_EQ(r.preview.at("items").at("keys").at("amount"), J(R"({"type":"number"})"));
}

// An object keyed by data (names, e-mail addresses) shows none of its keys: the members of a
// single object are seen once each.
TEST(ExecuteOnlyShape, AnObjectKeyedByDataShowsNoKey) {
  RefCache cache(options());
  json::object o;
  for (int i = 0; i < 20; ++i)
    o["person" + std::to_string(i) + "@example.org"] = json::object{{"balance", 100.5 + i}};
  const json::value v = o;
  const CacheResponse r = get(cache, private_ref(cache, v));
  const std::string text = jsonio::to_string(r.to_json());
  expect_no_value_in(text, v);
  EXPECT_EQ(text.find("example.org"), std::string::npos) << text;
  EXPECT_EQ(r.preview, J(R"({"type":"object"})"));
  EXPECT_EQ(r.total_items, 20u);
}

// The threshold is the operator's release rule minimum (--release-min-items).
TEST(ExecuteOnlyShape, TheThresholdIsTheReleaseMinimum) {
  RefCache strict(options(10)), loose(options(3));
  const json::value v = rows(5);
  EXPECT_EQ(get(strict, private_ref(strict, v)).preview, J(R"({"type":"array"})"));
  const CacheResponse r = get(loose, private_ref(loose, v));
  EXPECT_EQ(r.total_items, 5u);
  EXPECT_EQ(r.preview.at("items").at("keys").at("name"), J(R"({"type":"string"})"));
  expect_no_value_in(jsonio::to_string(r.to_json()), v);
}

// Only the structure-only shape of the whole value: every other strategy, a page, a part or
// a custom strategy is refused as any read is.
TEST(ExecuteOnlyShape, OtherStrategiesPagesAndPartsAreRefused) {
  RefCache cache(options());
  cache.register_preview_strategy("first", [](const json::value& v, const PreviewBudget&) {
    return CustomPreview{v.is_array() ? v.get_array()[0] : v, {{"items", 1}}};
  });
  const std::string ref = private_ref(cache, rows(50));
  const Actor alice = derive_actor(kAlice);
  for (const char* name : {"sample", "paginate", "truncate", "first"}) {
    GetOptions go;
    go.strategy_name = name;
    EXPECT_THROW(cache.get(ref, alice, go), PermissionDenied) << name;
  }
  GetOptions by_enum;
  by_enum.strategy = PreviewStrategy::kSample;
  EXPECT_THROW(cache.get(ref, alice, by_enum), PermissionDenied);
  GetOptions page;
  page.page = 1;
  EXPECT_THROW(cache.get(ref, alice, page), PermissionDenied);
  GetOptions page_size;
  page_size.page_size = 5;
  EXPECT_THROW(cache.get(ref, alice, page_size), PermissionDenied);
  GetOptions part;
  part.pointer = "/0";
  EXPECT_THROW(cache.get(ref, alice, part), PermissionDenied);
  GetOptions shape;
  shape.strategy_name = "shape";
  EXPECT_TRUE(get(cache, ref, shape).values_withheld);
  EXPECT_THROW(cache.resolve(ref, alice), PermissionDenied);
}

// A value computed from private data, or holding refs, is not original: nothing of it is
// shown, not even its structure (its size is never told).
TEST(ExecuteOnlyShape, DerivedPrivateValuesGetNothing) {
  RefCache cache(options());
  SetOptions derived = private_set_options(kAlice);
  derived.metadata[kDerivedFromPrivate] = true;
  const std::string d = cache.set("", rows(50), derived).ref_id;
  const std::string inner = private_ref(cache, rows(50));
  const std::string holder = private_ref(cache, json::array{json::value(inner)});
  const Actor alice = derive_actor(kAlice);
  for (const std::string& ref : {d, holder}) {
    EXPECT_THROW(cache.get(ref, alice), PermissionDenied);
    GetOptions shape;
    shape.strategy_name = "shape";
    EXPECT_THROW(cache.get(ref, alice, shape), PermissionDenied);
  }
}

// A caller with no permission at all gets what it got for a missing ref, shape or not.
TEST(ExecuteOnlyShape, OthersGetNothing) {
  RefCache cache(options());
  const std::string ref = private_ref(cache, rows(50));
  const Actor bob = derive_actor(CallIdentity{{{"user_id", "bob"}}});
  GetOptions shape;
  shape.strategy_name = "shape";
  EXPECT_THROW(cache.get(ref, bob), PermissionDenied);
  EXPECT_THROW(cache.get(ref, bob, shape), PermissionDenied);
}

// The first answer of a cached tool whose results are private originals is their structure;
// a result derived from private inputs is withheld whole, without its size.
TEST(ExecuteOnlyShape, TheFirstAnswerOfACachedToolIsTheStructure) {
  RefCache cache(options());
  CachedCallOptions co;
  co.policy = AccessPolicy::execute_only();
  const json::value v = rows(50);
  CachedCall store(
      cache, "load", [&v](const json::object&, CallContext&) { return v; }, co);
  const json::object first = store.call(json::object{{"n", 1}}, kAlice);
  const std::string text = jsonio::to_string(first);
  expect_no_value_in(text, v);
  expect_no_statistic_in(text);
  EXPECT_EQ(first.at("value_withheld"), true);
  EXPECT_EQ(first.at("preview_strategy"), "shape");
  EXPECT_EQ(first.at("total_items"), 50);
  EXPECT_FALSE(first.contains("original_size"));
  EXPECT_FALSE(first.contains("value"));
  EXPECT_EQ(first.at("preview").at("items").at("keys").at("visit").at("keys").at("ward"),
            J(R"({"type":"string"})"));

  // The same tool on a private input: a derived result, withheld whole.
  const std::string in = private_ref(cache, rows(50));
  CachedCall pass(cache, "pass",
                  [](const json::object& args, CallContext&) { return args.at("data"); });
  const json::object derived = pass.call(json::object{{"data", in}}, kAlice);
  EXPECT_EQ(derived.at("value_withheld"), true);
  EXPECT_TRUE(derived.at("total_items").is_null());
  EXPECT_FALSE(derived.contains("preview"));
  expect_no_value_in(jsonio::to_string(derived), v);
}
