// The attacks on private values, at the level of the cache core: each test is an attack an
// outside review ran against the example servers, replayed on CachedCall with functions
// shaped like the servers' tools (statistics, element-wise aggregates, transforms). Each
// must recover nothing. The same attacks run end to end against the servers in
// tests/e2e/security.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "refcache/cached_call.hpp"
#include "refcache/resolution.hpp"
#include "unit/refcache/test_util.hpp"

using namespace refcache;
using refcache_test::J;
namespace json = boost::json;

namespace {

RefCacheOptions options() {
  RefCacheOptions o;
  o.name = "sec";
  o.preview.size_mode = SizeMode::kCharacter;
  o.preview.max_size = 10000;
  return o;
}

std::vector<double> numbers(const json::value& v) {
  if (!v.is_array()) throw std::invalid_argument("Expected list data");
  std::vector<double> out;
  for (const auto& e : v.as_array()) {
    if (!e.is_number()) throw std::invalid_argument("Expected a list of numbers");
    out.push_back(e.to_number<double>());
  }
  return out;
}

json::value as_json(const std::vector<double>& v) {
  json::array a;
  for (double x : v) a.push_back(x);
  return a;
}

// analyze_data: every statistic, the releasable ones among them.
json::value statistics(const json::object& a, CallContext&) {
  auto d = numbers(a.at("data"));
  if (d.empty()) throw std::invalid_argument("Empty dataset");
  const double sum = std::accumulate(d.begin(), d.end(), 0.0);
  return json::object{{"count", d.size()},
                      {"sum", sum},
                      {"mean", sum / static_cast<double>(d.size())},
                      {"min", *std::min_element(d.begin(), d.end())},
                      {"max", *std::max_element(d.begin(), d.end())}};
}

// aggregate_data: concat or element-wise sum of datasets.
json::value aggregate(const json::object& a, CallContext&) {
  const std::string op(a.contains("operation") ? a.at("operation").as_string() : "concat");
  std::vector<std::vector<double>> ds;
  for (const auto& d : a.at("datasets").as_array()) ds.push_back(numbers(d));
  std::vector<double> out;
  if (op == "concat") {
    for (const auto& d : ds) out.insert(out.end(), d.begin(), d.end());
  } else if (op == "sum") {
    out.assign(ds.at(0).size(), 0.0);
    for (const auto& d : ds) {
      if (d.size() != out.size()) throw std::invalid_argument("lengths differ");
      for (std::size_t i = 0; i < d.size(); ++i) out[i] += d[i];
    }
  } else {
    throw std::invalid_argument("Unknown operation: " + op);
  }
  return as_json(out);
}

// transform_data's log: fails on a value <= 0, which is a fact about the values.
json::value log_transform(const json::object& a, CallContext&) {
  auto d = numbers(a.at("data"));
  for (double& x : d) {
    if (x <= 0) throw std::invalid_argument("Log transform requires all positive values");
    x = std::log(x);
  }
  return as_json(d);
}

struct PrivateComputation : ::testing::Test {
  RefCache cache{options()};
  // The victim's private list, as store_private_data stores it for a session.
  CallIdentity victim{{{"session_id", "victim"}}};
  CallIdentity attacker{{{"session_id", "victim"}}};  // same scope: EXECUTE, never READ
  std::vector<double> secret_values = {3.5, 12, 7, 1, 19, 4, 8, 15, 2, 11};

  std::string store(const std::vector<double>& values, const CallIdentity& who) {
    return cache.set("", as_json(values), private_set_options(who)).ref_id;
  }
  CachedCall analyze{cache, "analyze_data", statistics, [] {
                       CachedCallOptions o;
                       o.ns = "analysis";
                       o.release = ReleaseRule{.fields = {"count", "sum", "mean"}, .min_items = 10};
                       return o;
                     }()};
  CachedCall combine{cache, "aggregate_data", aggregate, [] {
                       CachedCallOptions o;
                       o.ns = "aggregates";
                       return o;
                     }()};
  CachedCall log{cache, "transform_data", log_transform, [] {
                   CachedCallOptions o;
                   o.ns = "transforms";
                   return o;
                 }()};

  // True when some number of `values` appears in the answer (outside ref ids).
  bool reveals(const json::object& answer, const std::vector<double>& values) {
    std::string text = jsonio::to_string(answer);
    for (double v : values) {
      const std::string needle = jsonio::to_string(json::value(v));
      std::size_t at = 0;
      while ((at = text.find(needle, at)) != std::string::npos) {
        const bool in_ref =
            at > 0 && (std::isxdigit(static_cast<unsigned char>(text[at - 1])) ||
                       (at + needle.size() < text.size() &&
                        std::isxdigit(static_cast<unsigned char>(text[at + needle.size()]))));
        if (!in_ref) return true;
        at += needle.size();
      }
    }
    return false;
  }
};

}  // namespace

// The mean of a one-element list is the element.
TEST_F(PrivateComputation, ReleaseOfAFewItemsIsRefused) {
  const std::string one = store({42.25}, victim);
  json::object r = analyze.call(json::object{{"data", one}}, attacker);
  EXPECT_EQ(r.at("value_withheld"), true);
  EXPECT_FALSE(r.contains("value"));
  EXPECT_FALSE(reveals(r, {42.25}));
  EXPECT_NE(std::string(r.at("message").as_string()).find("at least 10 items"), std::string::npos);
}

// A whole original list of enough items releases only the declared statistics.
TEST_F(PrivateComputation, ReleaseShowsOnlyStatisticsThatSingleOutNobody) {
  const std::string secret = store(secret_values, victim);
  json::object r = analyze.call(json::object{{"data", secret}}, attacker);
  ASSERT_TRUE(r.contains("value")) << jsonio::to_string(r);
  EXPECT_EQ(r.at("value").as_object().size(), 3u);
  EXPECT_FALSE(r.at("value").as_object().contains("max"));
  EXPECT_FALSE(r.at("value").as_object().contains("min"));
  EXPECT_EQ(r.at("value").at("count"), 10);
}

// sum with -1e300 everywhere but one position, then max of the derived ref: recovers
// secret[i] exactly in 2 calls per value on a tool that releases max.
TEST_F(PrivateComputation, MaskedSumThenStatisticsRecoversNothing) {
  const std::string secret = store(secret_values, victim);
  CachedCall max_of{
      cache, "max_of", statistics, [] {
        CachedCallOptions o;
        o.release = ReleaseRule{.fields = {"count", "sum", "mean", "max"}, .min_items = 10};
        return o;
      }()};
  for (std::size_t i = 0; i < secret_values.size(); ++i) {
    json::array mask;
    for (std::size_t k = 0; k < secret_values.size(); ++k) mask.push_back(k == i ? 0.0 : -1e300);
    json::object masked = combine.call(
        json::object{{"datasets", json::array{json::value(secret), mask}}, {"operation", "sum"}},
        attacker);
    EXPECT_EQ(masked.at("value_withheld"), true);
    EXPECT_TRUE(masked.at("total_items").is_null());
    json::object stats = max_of.call(json::object{{"data", masked.at("ref_id")}}, attacker);
    EXPECT_EQ(stats.at("value_withheld"), true) << jsonio::to_string(stats);
    EXPECT_FALSE(reveals(stats, secret_values));
    EXPECT_NE(std::string(stats.at("message").as_string()).find("computed from private data"),
              std::string::npos);
  }
}

// Two releases over inputs that differ by one item give that item by subtraction.
TEST_F(PrivateComputation, DifferencingTwoReleasesRecoversNothing) {
  const std::string secret = store(secret_values, victim);
  json::object whole = analyze.call(json::object{{"data", secret}}, attacker);
  ASSERT_TRUE(whole.contains("value"));
  // The second input needs the private list plus (or minus) one known item: a concat makes
  // a derived value, and a list holding the ref is not the ref passed whole.
  json::object plus = combine.call(
      json::object{{"datasets", json::array{json::value(secret), json::array{0.0}}}}, attacker);
  json::object second = analyze.call(json::object{{"data", plus.at("ref_id")}}, attacker);
  EXPECT_EQ(second.at("value_withheld"), true);
  json::object nested =
      analyze.call(json::object{{"data", json::array{json::value(secret), 0.0}}}, attacker);
  EXPECT_EQ(nested.at("value_withheld"), true);
  // Two private refs (or one twice) in one call are refused too.
  const std::string other = store({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, victim);
  json::object both = combine.call(
      json::object{{"datasets", json::array{json::value(secret), json::value(other)}}}, attacker);
  json::object stats = analyze.call(json::object{{"data", both.at("ref_id")}}, attacker);
  EXPECT_EQ(stats.at("value_withheld"), true);
  // Asking again the same question gives the same answer (nothing new).
  json::object again = analyze.call(json::object{{"data", secret}}, attacker);
  EXPECT_EQ(again.at("ref_id"), whole.at("ref_id"));
}

// Whether a computation failed is a fact about its inputs: a log of (secret + mask) fails
// exactly when secret[0] <= t, so failures must look like successes.
TEST_F(PrivateComputation, FailuresOnPrivateValuesLookLikeSuccesses) {
  const std::string secret = store(secret_values, victim);
  auto probe = [&](double t) {
    json::array mask;
    for (std::size_t k = 0; k < secret_values.size(); ++k) mask.push_back(k == 0 ? -t : 1e300);
    json::object masked = combine.call(
        json::object{{"datasets", json::array{json::value(secret), mask}}, {"operation", "sum"}},
        attacker);
    return log.call(json::object{{"data", masked.at("ref_id")}}, attacker);
  };
  json::object below = probe(1.0);   // 3.5 - 1 > 0: the log succeeds
  json::object above = probe(10.0);  // 3.5 - 10 <= 0: the log fails
  for (auto* r : {&below, &above}) {
    r->erase("ref_id");
    r->erase("message");
  }
  EXPECT_EQ(below, above);
  EXPECT_EQ(above.at("value_withheld"), true);
}

// An error of a call on private values names the parameter, never what the function said
// (which quotes the value: "Unknown operation: <secret>").
TEST_F(PrivateComputation, ErrorsNeverQuotePrivateValues) {
  SetOptions so = private_set_options(victim);
  const std::string word = cache.set("", json::value("hunter2-secret"), so).ref_id;
  json::object r = combine.call(
      json::object{{"datasets", json::array{json::array{1, 2}}}, {"operation", word}}, attacker);
  const std::string text = jsonio::to_string(r);
  EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
  EXPECT_EQ(r.at("value_withheld"), true);
}

// Another user's private value is out of reach entirely: not readable, not usable.
TEST(PrivateValues, OtherUsersGetNothing) {
  RefCache cache(options());
  CallIdentity alice{{{"user_id", "alice"}}};
  CallIdentity bob{{{"user_id", "bob"}}};
  SetOptions so = private_set_options(alice);
  EXPECT_EQ(so.ns, "user:alice");
  const std::string ref = cache.set("", J("[1,2,3,4,5,6,7,8,9,10]"), so).ref_id;
  const Actor a = derive_actor(alice), b = derive_actor(bob);
  EXPECT_THROW(cache.resolve(ref, b), PermissionDenied);
  EXPECT_THROW(cache.entry_for(ref, b, Permission::kExecute), PermissionDenied);
  EXPECT_THROW(cache.resolve(ref, a), PermissionDenied);  // nobody reads a private value
  EXPECT_NO_THROW(cache.entry_for(ref, a, Permission::kExecute));
  EXPECT_THROW(resolve_refs(cache, json::value(ref), b), InvalidReference);
  // A stateless anonymous caller has no scope to keep private data in.
  EXPECT_THROW(private_set_options(CallIdentity{}), InvalidArgument);
}

// A value of alice's scope passed to a tool yields a result in alice's scope, not in the
// tool's shared namespace, where bob would find it.
TEST(PrivateValues, DerivedResultsKeepTheirInputsScope) {
  RefCache cache(options());
  CallIdentity alice{{{"user_id", "alice"}}};
  CallIdentity bob{{{"user_id", "bob"}}};
  SetOptions so;
  so.ns = "user:alice";
  so.policy = AccessPolicy{};
  so.policy->owner = "user:alice";
  const std::string mine = cache.set("", J("[1,2,3]"), so).ref_id;
  CachedCall doubler(cache, "double", [](const json::object& a, CallContext&) -> json::value {
    json::array out;
    for (const auto& v : a.at("data").as_array()) out.push_back(v.as_int64() * 2);
    return out;
  });
  json::object r = doubler.call(json::object{{"data", mine}}, alice);
  EXPECT_EQ(r.at("value"), J("[2,4,6]"));
  const std::string derived(r.at("ref_id").as_string());
  EXPECT_EQ(cache.backend().get(derived)->ns, "user:alice");
  EXPECT_THROW(cache.resolve(derived, derive_actor(bob)), PermissionDenied);
}

// 1,000 refs to a 10,000-item list are 10^7 items: refused before anything is built.
TEST(InputBudget, RefExpansionIsBounded) {
  RefCache cache(options());
  json::array big;
  for (int i = 0; i < 10000; ++i) big.push_back(i);
  const std::string ref = cache.set("", json::value(big)).ref_id;
  json::array many;
  for (int i = 0; i < 1000; ++i) many.push_back(json::value(ref));
  CachedCall count(cache, "count",
                   [](const json::object&, CallContext&) -> json::value { return 0; });
  try {
    count.call(json::object{{"datasets", many}});
    FAIL() << "the expansion was not bounded";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("1000000 items"), std::string::npos) << e.what();
  }
  CachedCallOptions tight;
  tight.input_limits.max_bytes = 1000;
  CachedCall small(
      cache, "small", [](const json::object&, CallContext&) -> json::value { return 0; }, tight);
  EXPECT_THROW(small.call(json::object{{"data", ref}}), InvalidArgument);
}

// A namespace the caller has no identity for would store results no caller can read.
TEST(CallScope, TemplatesNeedTheIdentityTheyName) {
  RefCache cache(options());
  std::atomic<int> calls{0};
  CachedCallOptions per_session;
  per_session.namespace_template = "session:{session_id}";
  CachedCall call(
      cache, "f",
      [&](const json::object&, CallContext&) -> json::value {
        ++calls;
        return 1;
      },
      per_session);
  EXPECT_THROW(call.call({}, CallIdentity{}), InvalidArgument);
  EXPECT_NO_THROW(call.call({}, CallIdentity{{{"session_id", "s1"}}}));
  CachedCallOptions per_user;
  per_user.namespace_template = "user:{user_id}";
  CachedCall call2(
      cache, "g",
      [&](const json::object&, CallContext&) -> json::value {
        ++calls;
        return 1;
      },
      per_user);
  EXPECT_THROW(call2.call({}, CallIdentity{{{"session_id", "s1"}}}), InvalidArgument);
  CachedCallOptions bound;
  bound.session_scoped = true;
  CachedCall call3(
      cache, "h",
      [&](const json::object&, CallContext&) -> json::value {
        ++calls;
        return 1;
      },
      bound);
  EXPECT_THROW(call3.call({}, CallIdentity{}), InvalidArgument);
  EXPECT_EQ(calls, 1);
}

// A cancelled call (its deadline passed) stops: before its function and inside it.
TEST(CallDeadline, CancellationIsHonoured) {
  RefCache cache(options());
  std::atomic<int> ran{0};
  CachedCall slow(cache, "slow", [&](const json::object&, CallContext& ctx) -> json::value {
    ++ran;
    for (int i = 0; i < 1000; ++i) {
      ctx.throw_if_cancelled();
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return 1;
  });
  CallOverrides ov;
  ov.cancel = std::make_shared<std::atomic<bool>>(true);
  EXPECT_THROW(slow.call({}, {}, ov), Cancelled);
  EXPECT_EQ(ran, 0);
  ov.cancel->store(false);
  std::thread canceller([flag = ov.cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    flag->store(true);
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(slow.call(json::object{{"n", 2}}, {}, ov), Cancelled);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_TRUE(cache.backend().keys().empty());
}
