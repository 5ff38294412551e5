// CachedCall: hits, keys, response shapes, private computation, identity, async tasks.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "refcache/cached_call.hpp"
#include "refcache/memory_backend.hpp"
#include "test_util.hpp"

using namespace refcache;
using refcache_test::J;
using refcache_test::range;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

RefCacheOptions char_opts() {
  RefCacheOptions o;
  o.name = "calc";
  o.preview.size_mode = SizeMode::kCharacter;
  o.preview.max_size = 50;
  return o;
}

// n -> [n, n + len)
CallFn range_fn(std::atomic<int>& calls) {
  return [&calls](const json::object& args, CallContext&) -> json::value {
    ++calls;
    std::int64_t n = args.at("n").as_int64();
    std::int64_t len = args.contains("len") ? args.at("len").as_int64() : 5;
    return range(static_cast<int>(len), static_cast<int>(n));
  };
}

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = 5s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return p();
}

// Two caches on one backend, as two processes sharing it.
struct SharedBackend {
  static RefCacheOptions opts(std::shared_ptr<Backend> b) {
    RefCacheOptions o = char_opts();
    o.backend = std::move(b);
    return o;
  }
  std::shared_ptr<MemoryBackend> backend = std::make_shared<MemoryBackend>();
  RefCache first{opts(backend)};
  RefCache second{opts(backend)};
};

}  // namespace

TEST(CachedCall, SmallResultShape) {
  RefCache cache(char_opts());
  std::atomic<int> calls{0};
  CachedCall call(cache, "range", range_fn(calls));
  auto r = call.call(json::object{{"n", 0}});
  EXPECT_EQ(r.at("value"), J("[0,1,2,3,4]"));
  EXPECT_EQ(r.at("is_complete"), true);
  EXPECT_EQ(r.at("is_async"), false);
  EXPECT_EQ(r.at("size"), 11);  // measured once, on the compact JSON
  EXPECT_EQ(r.at("total_items"), 5);
  EXPECT_TRUE(r.at("ref_id").as_string().starts_with("calc:"));
}

TEST(CachedCall, LargeResultShape) {
  RefCache cache(char_opts());
  std::atomic<int> calls{0};
  CachedCall call(cache, "range", range_fn(calls));
  auto r = call.call(json::object{{"n", 0}, {"len", 100}});
  EXPECT_EQ(r.at("is_complete"), false);
  EXPECT_EQ(r.at("preview_strategy"), "sample");
  EXPECT_EQ(r.at("total_items"), 100);
  EXPECT_EQ(r.at("original_size"), 291);
  EXPECT_LE(r.at("preview_size").to_number<std::int64_t>(), 50);
  EXPECT_EQ(std::string(r.at("message").as_string()), "Use get_cached_result(ref_id='" +
                                                          std::string(r.at("ref_id").as_string()) +
                                                          "') to paginate.");
}

// The first answer of a large list of objects is its shape, naming the columns a query
// needs (get_cached_result's default); the operator's explicit default strategy still wins.
TEST(CachedCall, FirstAnswerOfALargeListOfObjectsIsItsShape) {
  auto rows = [](const json::object& args, CallContext&) -> json::value {
    json::array a;
    const std::int64_t n = args.at("n").as_int64();
    for (std::int64_t i = 0; i < n; ++i)
      a.push_back(json::object{{"id", i}, {"region", i % 2 ? "north" : "south"}});
    return a;
  };
  RefCacheOptions o = char_opts();
  o.preview.max_size = 300;
  RefCache cache(o);
  CachedCall call(cache, "rows", rows);
  auto r = call.call(json::object{{"n", 100}});
  EXPECT_EQ(r.at("preview_strategy"), "shape");
  EXPECT_EQ(r.at("is_complete"), false);
  EXPECT_EQ(r.at("total_items"), 100);
  EXPECT_EQ(r.at("preview").at("items").at("keys").at("region").at("type"), "string");
  EXPECT_EQ(r.at("omitted").at("summarised"), true);
  EXPECT_FALSE(r.contains("value_withheld"));
  // Small enough: whole.
  EXPECT_EQ(call.call(json::object{{"n", 2}}).at("is_complete"), true);

  o.preview.default_strategy = PreviewStrategy::kTruncate;
  RefCache truncating(o);
  CachedCall call2(truncating, "rows", rows);
  EXPECT_EQ(call2.call(json::object{{"n", 100}}).at("preview_strategy"), "truncate");
}

TEST(CachedCall, ToolMaxSizeSizesThePreviewAndCallBeatsTool) {
  RefCache cache(char_opts());
  std::atomic<int> calls{0};
  CachedCallOptions o;
  o.max_size = 20;
  CachedCall call(cache, "range", range_fn(calls), o);
  auto r = call.call(json::object{{"n", 0}, {"len", 100}});
  EXPECT_LE(r.at("preview_size").to_number<std::int64_t>(), 20);
  CallOverrides ov;
  ov.max_size = 1000;
  auto whole = call.call(json::object{{"n", 0}, {"len", 100}}, {}, ov);
  EXPECT_EQ(whole.at("is_complete"), true);
  EXPECT_EQ(calls, 1);  // the second was a hit, only answered bigger
}

// Call keys are stored in shared backends, so their derivation is part of the storage
// format: the first 32 hex digits of SHA-256("<name>\0<canonical JSON of the arguments>").
// (Golden values from Python's hashlib; the same on every thread, however many times.)
TEST(CachedCall, CallKeysAreTheStoredSha256OfNameAndCanonicalArguments) {
  RefCache cache(char_opts());
  std::atomic<int> calls{0};
  CachedCall call(cache, "span", range_fn(calls));
  std::vector<std::thread> ts;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (call.call_key(json::object{{"n", 1}}) != "65c199e238684280ecbe7e5c91b4ba2f") ++wrong;
        if (call.call_key(J(R"({"b":{"c":null},"a":[1,2.5,"x"]})").as_object()) !=
            "38cc09c1ff580e6cf9b77716ad5f1702")
          ++wrong;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(calls.load(), 0);
}

TEST(CachedCall, RunsOncePerDistinctArgumentsAndHitsReturnTheSameRef) {
  RefCache cache(char_opts());
  std::atomic<int> calls{0};
  CachedCall call(cache, "range", range_fn(calls));
  auto a = call.call(json::object{{"n", 1}, {"len", 3}});
  auto b = call.call(json::object{{"len", 3}, {"n", 1}});  // member order does not matter
  auto c = call.call(json::object{{"n", 2}, {"len", 3}});
  EXPECT_EQ(a.at("ref_id"), b.at("ref_id"));
  EXPECT_NE(a.at("ref_id"), c.at("ref_id"));
  EXPECT_EQ(calls, 2);
}

TEST(CachedCall, ARefAndItsLiteralValueHitTheSameEntry) {
  RefCache cache(char_opts());
  std::atomic<int> calls{0};
  CachedCall sum(cache, "sum", [&](const json::object& args, CallContext&) -> json::value {
    ++calls;
    std::int64_t s = 0;
    for (const auto& v : args.at("data").as_array()) s += v.as_int64();
    return s;
  });
  auto data = cache.set("", J("[1,2,3]"));
  auto via_ref = sum.call(json::object{{"data", data.ref_id}});
  auto via_value = sum.call(json::object{{"data", J("[1,2,3]")}});
  EXPECT_EQ(via_ref.at("value"), 6);
  EXPECT_EQ(via_ref.at("ref_id"), via_value.at("ref_id"));
  EXPECT_EQ(calls, 1);
}

TEST(CachedCall, BadInputRefsAreOpaqueErrors) {
  RefCache cache(char_opts());
  std::atomic<int> calls{0};
  CachedCall call(cache, "range", range_fn(calls));
  EXPECT_THROW(call.call(json::object{{"n", "calc:0123456789abcdef"}}), InvalidReference);
  EXPECT_EQ(calls, 0);
}

TEST(CachedCall, ResolveRefsOffPassesRefStringsThrough) {
  RefCache cache(char_opts());
  CachedCallOptions o;
  o.resolve_refs = false;
  CachedCall echo(
      cache, "echo", [](const json::object& a, CallContext&) { return a.at("x"); }, o);
  auto r = echo.call(json::object{{"x", "calc:0123456789abcdef"}});
  EXPECT_EQ(r.at("value"), "calc:0123456789abcdef");
}

TEST(CachedCall, FunctionFailuresCacheNothing) {
  RefCache cache(char_opts());
  std::atomic<int> calls{0};
  CachedCall boom(cache, "boom", [&](const json::object&, CallContext&) -> json::value {
    ++calls;
    throw std::invalid_argument("Count must be between 1 and 10000");
  });
  try {
    boom.call({});
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_STREQ(e.what(), "Count must be between 1 and 10000");
  }
  EXPECT_THROW(boom.call({}), InvalidArgument);
  EXPECT_EQ(calls, 2);
  EXPECT_TRUE(cache.backend().keys().empty());
}

// A library's exception text (Boost.JSON's holds a source path) never reaches the caller;
// the operator's log gets it through CallFailed::detail().
TEST(CachedCall, InternalErrorsDoNotReachTheCaller) {
  RefCache cache(char_opts());
  CachedCall boom(cache, "boom", [](const json::object& a, CallContext&) -> json::value {
    // Not an exact integer: Boost.JSON throws a system_error naming its source file.
    return a.at("n").to_number<std::int64_t>();
  });
  try {
    boom.call(json::object{{"n", 1.5}});
    FAIL();
  } catch (const CallFailed& e) {
    EXPECT_EQ(std::string(e.what()), "The tool 'boom' failed with an internal error.");
    EXPECT_NE(e.detail().find("boost"), std::string::npos) << e.detail();
  }
}

TEST(CachedCall, PrivateComputationWithholdsTheResult) {
  RefCache cache(char_opts());
  SetOptions so;
  so.policy = AccessPolicy::execute_only();
  auto secret = cache.set("", J("[10,20,30]"), so);
  auto doubler = [](const json::object& a, CallContext&) -> json::value {
    json::array out;
    for (const auto& v : a.at("data").as_array()) out.push_back(v.as_int64() * 2);
    return out;
  };
  CachedCall transform(cache, "transform", doubler);
  auto r = transform.call(json::object{{"data", secret.ref_id}});
  EXPECT_FALSE(r.contains("value"));
  EXPECT_FALSE(r.contains("preview"));
  EXPECT_EQ(r.at("value_withheld"), true);
  const std::string ref(r.at("ref_id").as_string());
  // Stored at least as strictly as the input: nobody reads it, whatever their kind ...
  EXPECT_THROW(cache.resolve(ref, Actor::agent()), PermissionDenied);
  EXPECT_THROW(cache.resolve(ref, Actor::user()), PermissionDenied);
  // ... but it can be passed on, and says that it is derived from private data.
  EXPECT_NO_THROW(cache.entry_for(ref, Actor::agent(), Permission::kExecute));
  EXPECT_EQ(cache.backend().get(ref)->metadata.at(kDerivedFromPrivate), true);
  // A chained computation stays private.
  auto r2 = transform.call(json::object{{"data", ref}});
  EXPECT_EQ(r2.at("value_withheld"), true);
  // Guessing the private value as a literal does not hit the private entry.
  auto guess = transform.call(json::object{{"data", J("[10,20,30]")}});
  EXPECT_NE(guess.at("ref_id"), r.at("ref_id"));
  EXPECT_EQ(guess.at("value"), J("[20,40,60]"));
}

TEST(CachedCall, DeclaredReleasesMayShowAggregates) {
  RefCache cache(char_opts());
  SetOptions so;
  so.policy = AccessPolicy::execute_only();
  auto secret = cache.set("", J("[1,2,3,4,5,6,7,8,9,10]"), so);
  CachedCallOptions o;
  o.release = ReleaseRule{.fields = {"count", "sum"}, .min_items = 10};
  CachedCall stats(
      cache, "stats",
      [](const json::object& a, CallContext&) -> json::value {
        const auto& d = a.at("data").as_array();
        return json::object{{"count", d.size()}, {"sum", 55}, {"max", d.back()}};
      },
      o);
  auto r = stats.call(json::object{{"data", secret.ref_id}});
  // Only the declared statistics: max is an item of the private list.
  EXPECT_EQ(r.at("value"), J(R"({"count":10,"sum":55})"));
}

TEST(CachedCall, ContextScopingIsolatesUsers) {
  RefCache cache(char_opts());
  std::atomic<int> calls{0};
  CachedCallOptions o;
  o.namespace_template = "user:{user_id}";
  o.owner_template = "user:{user_id}";
  o.session_scoped = true;
  CachedCall call(cache, "range", range_fn(calls), o);
  CallIdentity alice{{{"user_id", "alice"}, {"session_id", "s-a"}}};
  CallIdentity bob{{{"user_id", "bob"}, {"session_id", "s-b"}}};
  auto a1 = call.call(json::object{{"n", 1}}, alice);
  auto a2 = call.call(json::object{{"n", 1}}, alice);
  auto b1 = call.call(json::object{{"n", 1}}, bob);
  EXPECT_EQ(a1.at("ref_id"), a2.at("ref_id"));
  EXPECT_NE(a1.at("ref_id"), b1.at("ref_id"));
  EXPECT_EQ(calls, 2);
  EntryPtr e = cache.backend().get(a1.at("ref_id").as_string());
  EXPECT_EQ(e->ns, "user:alice");
  EXPECT_EQ(e->policy.owner, "user:alice");
  EXPECT_EQ(e->policy.bound_session, "s-a");
  EXPECT_THROW(cache.resolve(std::string(a1.at("ref_id").as_string()), Actor::user("bob", "s-b")),
               PermissionDenied);
  // Alice in another session cannot use her session-bound result either.
  EXPECT_THROW(
      cache.resolve(std::string(a1.at("ref_id").as_string()), Actor::user("alice", "s-other")),
      PermissionDenied);
}

TEST(CachedCall, TemplatesAndActors) {
  std::map<std::string, std::string> v = {{"org_id", "acme"}, {"user_id", "bob"}};
  EXPECT_EQ(expand_template("org:{org_id}:user:{user_id}", v), "org:acme:user:bob");
  EXPECT_EQ(expand_template("org:{org_id}:user:{user_id}", {}), "org:default:user:anonymous");
  EXPECT_EQ(expand_template("{nope}", {}), "unknown");
  EXPECT_EQ(expand_template("{a}{b}", {{"a", "1"}, {"b", "2"}}), "12");
  EXPECT_EQ(expand_template("", {}), "");
  EXPECT_EQ(expand_template("{not closed", {}), "{not closed");
  EXPECT_EQ(derive_actor({{{"user_id", "u"}, {"agent_id", "a"}}}).to_string(), "user:u");
  EXPECT_EQ(derive_actor({{{"user_id", "anonymous"}, {"agent_id", "a"}}}).to_string(), "agent:a");
  Actor d = derive_actor({{{"session_id", "s1"}}});
  EXPECT_EQ(d.to_string(), "agent:*");
  EXPECT_EQ(d.session_id, "s1");  // kept, unlike the reference
  EXPECT_FALSE(derive_actor({{{"session_id", "nosession"}}}).session_id);
}

TEST(CachedCall, HitPathChecksPermissionsAndDoesNotLeak) {
  RefCache cache(char_opts());
  std::atomic<int> calls{0};
  CachedCallOptions o;
  o.policy = AccessPolicy::user_only();
  CachedCall call(cache, "range", range_fn(calls), o);
  CallIdentity user{{{"user_id", "u1"}}};
  auto first = call.call(json::object{{"n", 1}}, user);
  EXPECT_EQ(first.at("value"), J("[1,2,3,4,5]"));
  // An agent calling the same function with the same arguments does not receive the user's
  // cached result; it gets its own computation, answered without the value it may not read.
  auto agent = call.call(json::object{{"n", 1}}, CallIdentity{});
  EXPECT_NE(agent.at("ref_id"), first.at("ref_id"));
  EXPECT_FALSE(agent.contains("value"));
  EXPECT_EQ(calls, 2);
}

TEST(CachedCall, AsyncTimeoutAnswersAtOnceAndFinishesExactlyOnce) {
  RefCache cache(char_opts());
  std::atomic<int> runs{0};
  std::atomic<bool> release{false};
  CachedCallOptions o;
  o.async_timeout = 50ms;
  CachedCall slow(
      cache, "slow",
      [&](const json::object&, CallContext& ctx) -> json::value {
        ++runs;
        ctx.report_progress(1, 2, "half way");
        while (!release) std::this_thread::sleep_for(1ms);
        return J("[1,2,3]");
      },
      o);
  auto t0 = std::chrono::steady_clock::now();
  auto r = slow.call({});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(r.at("status"), "processing");
  EXPECT_EQ(r.at("is_async"), true);
  EXPECT_EQ(r.at("is_complete"), false);
  EXPECT_TRUE(r.contains("started_at"));
  const std::string ref(r.at("ref_id").as_string());
  // Polling reports the task with its progress.
  ASSERT_TRUE(eventually([&] {
    auto g = cache.get(ref, Actor::agent());
    auto* t = std::get_if<AsyncTaskResponse>(&g);
    return t && t->progress && t->progress->current == 1;
  }));
  auto g = cache.get(ref, Actor::agent());
  EXPECT_EQ(std::get<AsyncTaskResponse>(g).message, "half way");
  // A second identical call while running answers with the same task, without running.
  auto again = slow.call({});
  EXPECT_EQ(again.at("ref_id"), r.at("ref_id"));
  EXPECT_EQ(again.at("is_async"), true);
  release = true;
  ASSERT_TRUE(eventually(
      [&] { return std::holds_alternative<CacheResponse>(cache.get(ref, Actor::agent())); }));
  EXPECT_EQ(std::get<CacheResponse>(cache.get(ref, Actor::agent())).preview, J("[1,2,3]"));
  auto done = slow.call({});
  EXPECT_EQ(done.at("is_complete"), true);
  EXPECT_EQ(done.at("ref_id"), r.at("ref_id"));
  EXPECT_EQ(runs, 1);  // exactly once
}

TEST(CachedCall, AsyncFastCallsAnswerNormally) {
  RefCache cache(char_opts());
  CachedCallOptions o;
  o.async_timeout = 5s;
  CachedCall fast(
      cache, "fast", [](const json::object&, CallContext&) { return json::value(1); }, o);
  auto r = fast.call({});
  EXPECT_EQ(r.at("value"), 1);
  EXPECT_EQ(r.at("is_async"), false);
}

TEST(CachedCall, AsyncFailuresRetryWithBackoffThenFailThenRunAgain) {
  RefCache cache(char_opts());
  std::atomic<int> runs{0};
  CachedCallOptions o;
  o.async_timeout = 10ms;
  o.max_attempts = 3;
  o.retry_base_delay = 20ms;
  CachedCall flaky(
      cache, "flaky",
      [&](const json::object&, CallContext&) -> json::value {
        ++runs;
        std::this_thread::sleep_for(20ms);
        throw std::invalid_argument("boom");
      },
      o);
  auto r = flaky.call({});
  const std::string ref(r.at("ref_id").as_string());
  ASSERT_TRUE(eventually([&] {
    auto t = cache.task(ref);
    return t && t->status == TaskStatus::kFailed;
  }));
  EXPECT_EQ(runs, 3);
  auto t = cache.task(ref);
  EXPECT_EQ(t->error, "boom");
  EXPECT_EQ(t->attempt, 3);
  auto g = std::get<AsyncTaskResponse>(cache.get(ref, Actor::agent()));
  EXPECT_EQ(g.message, "Task failed: boom");
  EXPECT_EQ(g.to_json(AsyncResponseFormat::kFull).at("retry_count"), 2);
  EXPECT_THROW(cache.resolve(ref, Actor::agent()), NotFound);
  // A later call with the same arguments runs again.
  auto again = flaky.call({});
  EXPECT_NE(again.at("ref_id"), r.at("ref_id"));
  // Its attempts end before the test does: they count in `runs`.
  const std::string again_ref(again.at("ref_id").as_string());
  ASSERT_TRUE(eventually([&] {
    auto t2 = cache.task(again_ref);
    return t2 && t2->status == TaskStatus::kFailed;
  }));
  EXPECT_EQ(runs, 6);
}

// The backoff doubles from retry_base_delay and is capped by retry_max_delay, however large
// the doubling gets: a base of a day with a cap of 20 ms retries within milliseconds.
TEST(CachedCall, RetryDelaysAreCappedWithoutOverflow) {
  RefCache cache(char_opts());
  std::atomic<int> runs{0};
  CachedCallOptions o;
  o.async_timeout = 10ms;
  o.max_attempts = 40;
  o.retry_base_delay = 24h;
  o.retry_max_delay = 1ms;
  CachedCall flaky(
      cache, "flaky",
      [&](const json::object&, CallContext&) -> json::value {
        ++runs;
        throw std::invalid_argument("boom");
      },
      o);
  const std::string ref(flaky.call({}).at("ref_id").as_string());
  ASSERT_TRUE(eventually([&] {
    auto t = cache.task(ref);
    return t && t->status == TaskStatus::kFailed;
  }));
  EXPECT_EQ(runs, 40);
}

// The longest durations wait for ever rather than overflow: an async timeout of
// milliseconds::max() answers a call once it is done, and task records of a cache whose
// task_record_ttl is kNoExpiry never expire.
TEST(CachedCall, TheLongestDurationsMeanForEver) {
  RefCacheOptions ro = char_opts();
  ro.task_record_ttl = kNoExpiry;
  RefCache cache(ro);
  CachedCallOptions o;
  o.async_timeout = std::chrono::milliseconds::max();
  CachedCall c(
      cache, "c",
      [](const json::object&, CallContext&) -> json::value {
        std::this_thread::sleep_for(20ms);
        return 5;
      },
      o);
  auto r = c.call({});
  EXPECT_EQ(r.at("value"), 5);
  auto t = cache.task(std::string(r.at("ref_id").as_string()));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, TaskStatus::kComplete);
  EXPECT_FALSE(t->expires_at);
}

TEST(CachedCall, ALeaseOutsideTenMillisecondsToADayIsRefused) {
  RefCache cache(char_opts());
  auto fn = [](const json::object&, CallContext&) -> json::value { return 1; };
  for (auto lease : {std::chrono::milliseconds(9), std::chrono::milliseconds(0),
                     std::chrono::milliseconds(-1), std::chrono::milliseconds(24h + 1ms)})
    EXPECT_THROW(CachedCall(cache, "c", fn, {.claim_lease = lease}), InvalidArgument)
        << lease.count();
  EXPECT_NO_THROW(CachedCall(cache, "c", fn, {.claim_lease = 10ms}));
  EXPECT_NO_THROW(CachedCall(cache, "c", fn, {.claim_lease = 24h}));
}

TEST(CachedCall, AsyncCancellationReachesTheFunctionAndStoresNothing) {
  RefCache cache(char_opts());
  std::atomic<bool> saw_cancel{false};
  CachedCallOptions o;
  o.async_timeout = 10ms;
  CachedCall slow(
      cache, "slow",
      [&](const json::object&, CallContext& ctx) -> json::value {
        auto end = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < end) {
          if (ctx.cancelled()) {
            saw_cancel = true;
            return 1;
          }
          std::this_thread::sleep_for(1ms);
        }
        return 2;
      },
      o);
  auto r = slow.call({});
  const std::string ref(r.at("ref_id").as_string());
  EXPECT_TRUE(cache.cancel(ref, Actor::agent()));
  ASSERT_TRUE(eventually([&] {
    auto t = cache.task(ref);
    return t && t->status == TaskStatus::kCancelled;
  }));
  EXPECT_TRUE(saw_cancel);
  EXPECT_THROW(cache.resolve(ref, Actor::agent()), NotFound);
  EXPECT_EQ(std::get<AsyncTaskResponse>(cache.get(ref, Actor::agent())).message,
            "Task was cancelled");
}

TEST(CachedCall, ProgressReachesTheCallerHookAndOnlyIncreases) {
  RefCache cache(char_opts());
  std::vector<std::int64_t> seen;
  CachedCall work(cache, "work", [](const json::object&, CallContext& ctx) -> json::value {
    ctx.report_progress(1, 3);
    ctx.report_progress(1, 3);  // not an increase: dropped
    ctx.report_progress(3, 3, "done");
    return 0;
  });
  CallOverrides ov;
  ov.on_progress = [&](const TaskProgress& p) { seen.push_back(*p.current); };
  work.call({}, {}, ov);
  EXPECT_EQ(seen, (std::vector<std::int64_t>{1, 3}));
}

TEST(CachedCall, ConcurrentIdenticalCallsComputeOnce) {
  RefCache cache(char_opts());
  std::atomic<int> runs{0};
  CachedCall slow(cache, "slow", [&](const json::object&, CallContext&) -> json::value {
    ++runs;
    std::this_thread::sleep_for(100ms);
    return 42;
  });
  std::vector<std::thread> threads;
  std::vector<std::string> refs(6);
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&, i] { refs[i] = slow.call({}).at("ref_id").as_string(); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(runs, 1);
  for (const auto& r : refs) EXPECT_EQ(r, refs[0]);
}

// Two caches on one backend stand for two processes sharing it. A claim is taken with a short
// lease and renewed while its call runs: the second process waits for the first one's result
// although the call outlasts the lease many times, and the claim is free once the call ends.
TEST(CachedCall, AClaimIsRenewedWhileItsCallRunsAndFreedWhenItEnds) {
  SharedBackend two;
  auto& [backend, first, second] = two;
  CachedCallOptions o;
  o.claim_lease = 100ms;
  o.claim_wait = 30s;
  std::atomic<bool> started{false};
  CachedCall slow_first(
      first, "slow",
      [&](const json::object&, CallContext&) -> json::value {
        started = true;
        std::this_thread::sleep_for(800ms);  // 8 leases
        return 7;
      },
      o);
  std::atomic<int> second_runs{0};
  CachedCall slow_second(
      second, "slow",
      [&](const json::object&, CallContext&) -> json::value {
        ++second_runs;
        return 8;
      },
      o);
  std::string first_ref;
  std::thread t([&] { first_ref = slow_first.call({}).at("ref_id").as_string(); });
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  auto r = slow_second.call({});
  t.join();
  EXPECT_EQ(second_runs, 0);
  EXPECT_EQ(r.at("ref_id").as_string(), first_ref);
  EXPECT_EQ(r.at("value"), json::value(7));
  const std::string claim = "call:public:" + slow_first.call_key({});
  EXPECT_TRUE(eventually([&, b = backend] { return b->claim_holder(claim) == std::nullopt; }));
}

// An async run keeps its claim for as long as it runs (far beyond the lease): a second
// process asking meanwhile is answered with the running task.
TEST(CachedCall, AsyncRunsKeepTheirClaimUntilTheyEnd) {
  SharedBackend two;
  auto& [backend, first, second] = two;
  CachedCallOptions o;
  o.claim_lease = 100ms;
  o.async_timeout = 20ms;
  std::atomic<bool> release{false};
  std::atomic<int> runs{0};
  auto fn = [&](const json::object&, CallContext&) -> json::value {
    ++runs;
    while (!release) std::this_thread::sleep_for(1ms);
    return 9;
  };
  CachedCall a(first, "job", fn, o), b(second, "job", fn, o);
  auto r = a.call({});
  ASSERT_EQ(r.at("status"), "processing");
  std::this_thread::sleep_for(600ms);  // 6 leases
  auto again = b.call({});
  EXPECT_EQ(again.at("ref_id"), r.at("ref_id"));
  EXPECT_EQ(again.at("status"), "processing");
  release = true;
  const std::string claim = "call:public:" + a.call_key({});
  EXPECT_TRUE(eventually([&, b = backend] { return b->claim_holder(claim) == std::nullopt; }));
  EXPECT_EQ(runs, 1);
}

// A claim whose holder is gone (it died, or the backend was away when it released) lapses
// with its lease; a caller waiting for it then computes the call itself at once, rather than
// waiting out claim_wait.
TEST(CachedCall, AWaiterTakesOverAClaimThatLapses) {
  auto backend = std::make_shared<MemoryBackend>();
  RefCacheOptions ro = char_opts();
  ro.backend = backend;
  RefCache cache(ro);
  CachedCallOptions o;
  o.claim_wait = 60s;
  std::atomic<int> runs{0};
  CachedCall c(cache, "c", range_fn(runs), o);
  const std::string claim = "call:public:" + c.call_key({{"n", 1}});
  ASSERT_TRUE(backend->try_claim(claim, "gone", 300ms));  // its last renewal
  const auto t0 = std::chrono::steady_clock::now();
  c.call({{"n", 1}});
  EXPECT_EQ(runs, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);  // far from claim_wait
  EXPECT_TRUE(eventually([&, b = backend] { return b->claim_holder(claim) == std::nullopt; }));
}

// Short calls with a lease so short that renewals often run while calls end: every call
// answers right, and no claim outlives its call (a renewal racing a release must not take
// the released claim again). Under the sanitizers (CI runs TSan and ASan), this also watches
// the keeper's use of claims that live on the calls' stacks.
TEST(CachedCall, RenewalsRacingReleasesLeaveNoClaimBehind) {
  auto backend = std::make_shared<MemoryBackend>();
  RefCacheOptions ro = char_opts();
  ro.backend = backend;
  RefCache cache(ro);
  CachedCallOptions o;
  o.claim_lease = 10ms;  // renewed every 3 ms
  std::atomic<int> runs{0};
  CachedCall c(
      cache, "c",
      [&](const json::object& args, CallContext&) -> json::value {
        ++runs;
        std::this_thread::sleep_for(std::chrono::microseconds(500 * (args.at("n").as_int64() % 9)));
        return args.at("n");
      },
      o);
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 60; ++i) {
        const std::int64_t n = t * 1000 + i;
        if (c.call({{"n", n}}).at("value") != json::value(n)) ++wrong;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(runs, 240);
  // Right after the calls: at most the claim whose renewal was in flight when its call ended
  // (the keeper releases it when the renewal returns). A renewal that took a released claim
  // again would leave claims standing for a lease.
  std::vector<std::string> claims;
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 60; ++i)
      claims.push_back("call:public:" + c.call_key({{"n", t * 1000 + i}}));
  int standing = 0;
  for (const auto& claim : claims) standing += backend->claim_holder(claim).has_value();
  EXPECT_LE(standing, 1);
  for (const auto& claim : claims)
    EXPECT_TRUE(eventually([&] { return backend->claim_holder(claim) == std::nullopt; })) << claim;
}
