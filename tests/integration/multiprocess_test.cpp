// Several processes sharing one store: a ref set by one is found by key in another (with its
// task record); many writer processes with many threads lose nothing and never see
// "database is locked"; a writer killed with SIGKILL mid-run leaves a consistent file; the
// claim of a server killed while computing a cached call lapses within its lease.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC bug 105329
#endif

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "integration/backend_fixture.hpp"
#include "integration/test_util.hpp"
#include "refcache/cached_call.hpp"
#include "refcache/errors.hpp"

namespace refcache::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class MultiProcess : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = make_temp_dir("multi"); }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string db_path() const { return (dir_ / "shared.db").string(); }
  std::string sqlite_url() const { return "sqlite:" + db_path(); }
  std::filesystem::path dir_;
};

void expect_cross_process_lookup(const std::string& url) {
  Worker a({"put", url, "calc", "primes(50)", "calc:3475398d6ddd6d26"});
  ASSERT_EQ(a.wait(), 0) << a.output();
  Worker b({"lookup", url, "calc", "primes(50)"});
  ASSERT_EQ(b.wait(), 0) << b.output();
  EXPECT_EQ(b.output(), "calc:3475398d6ddd6d26 processing worker-A {\"from\":\"A\"}\n");
  Worker c({"lookup", url, "calc", "primes(51)"});
  EXPECT_EQ(c.wait(), 1);
}

TEST_F(MultiProcess, SecondProcessFindsRefByKeyAndTaskOnSqlite) {
  expect_cross_process_lookup(sqlite_url());
}

TEST_F(MultiProcess, SecondProcessFindsRefByKeyAndTaskOnRedis) {
  RawRedis(shared_redis().port(), shared_redis().password()).cmd({"FLUSHALL"});
  expect_cross_process_lookup(shared_redis().url());
}

// Every entry p<proc>-t<thread>-<i> for i < n is present.
void expect_all_written(Backend& b, int procs, int threads, int n) {
  int missing = 0;
  for (int p = 0; p < procs; ++p)
    for (int t = 0; t < threads; ++t)
      for (int i = 0; i < n; ++i)
        if (!b.exists("p" + std::to_string(p) + "-t" + std::to_string(t) + "-" + std::to_string(i)))
          ++missing;
  EXPECT_EQ(missing, 0);
}

TEST_F(MultiProcess, ManySqliteWritersLoseNothing) {
  constexpr int kProcs = 4, kThreads = 4, kN = 200;
  { SQLiteBackend init(SQLiteOptions{.path = db_path()}); }
  std::vector<std::unique_ptr<Worker>> ws;
  for (int p = 0; p < kProcs; ++p)
    ws.push_back(std::make_unique<Worker>(std::vector<std::string>{
        "hammer", sqlite_url(), std::to_string(p), std::to_string(kThreads), std::to_string(kN)}));
  for (auto& w : ws) {
    EXPECT_EQ(w->wait(), 0) << w->output();
    EXPECT_EQ(w->output(), "done " + std::to_string(kThreads * kN) + "\n");
  }
  SQLiteBackend b(SQLiteOptions{.path = db_path()});
  EXPECT_EQ(b.keys("hammer").size(), static_cast<size_t>(kProcs * kThreads * kN));
  expect_all_written(b, kProcs, kThreads, kN);
  RawSqlite raw(db_path());
  EXPECT_EQ(raw.query("PRAGMA integrity_check")[0][0], "ok");
}

TEST_F(MultiProcess, SqliteSurvivesAWriterKilledMidRun) {
  constexpr int kThreads = 3, kN = 300;
  { SQLiteBackend init(SQLiteOptions{.path = db_path()}); }
  // The victim writes "forever"; the others a fixed amount.
  Worker victim({"hammer", sqlite_url(), "9", "3", "1000000"});
  std::vector<std::unique_ptr<Worker>> ws;
  for (int p = 0; p < 3; ++p)
    ws.push_back(std::make_unique<Worker>(std::vector<std::string>{
        "hammer", sqlite_url(), std::to_string(p), std::to_string(kThreads), std::to_string(kN)}));
  // Kill it once it has certainly written something, while the others are writing.
  bool victim_wrote = false;
  for (int i = 0; i < 400 && !victim_wrote; ++i) {
    std::this_thread::sleep_for(10ms);
    RawSqlite probe(db_path());
    victim_wrote =
        probe.query("SELECT COUNT(*) FROM cache_entries WHERE key LIKE 'p9-%'")[0][0] != "0";
  }
  ASSERT_TRUE(victim_wrote);
  victim.kill9();
  EXPECT_EQ(victim.wait(), -SIGKILL);
  for (auto& w : ws) EXPECT_EQ(w->wait(), 0) << w->output();
  {
    RawSqlite raw(db_path());
    EXPECT_EQ(raw.query("PRAGMA integrity_check")[0][0], "ok");
  }
  SQLiteBackend b(SQLiteOptions{.path = db_path()});
  expect_all_written(b, 3, kThreads, kN);
  // What the victim committed is readable, and the file takes new writes.
  auto victim_keys = b.keys("hammer");
  int readable = 0;
  for (auto& k : victim_keys) {
    if (k.rfind("p9-", 0) != 0) continue;
    readable += b.get(k) != nullptr;
  }
  EXPECT_GT(readable, 0);
  Worker after({"hammer", sqlite_url(), "20", "2", "20"});
  EXPECT_EQ(after.wait(), 0) << after.output();
  RawSqlite raw(db_path());
  EXPECT_EQ(raw.query("PRAGMA integrity_check")[0][0], "ok");
}

TEST_F(MultiProcess, ManyRedisClientsLoseNothing) {
  RawRedis(shared_redis().port(), shared_redis().password()).cmd({"FLUSHALL"});
  constexpr int kProcs = 3, kThreads = 4, kN = 150;
  std::vector<std::unique_ptr<Worker>> ws;
  for (int p = 0; p < kProcs; ++p)
    ws.push_back(std::make_unique<Worker>(
        std::vector<std::string>{"hammer", shared_redis().url(), std::to_string(p),
                                 std::to_string(kThreads), std::to_string(kN)}));
  for (auto& w : ws) EXPECT_EQ(w->wait(), 0) << w->output();
  RedisBackend b(shared_redis().options());
  EXPECT_EQ(b.keys("hammer").size(), static_cast<size_t>(kProcs * kThreads * kN));
  expect_all_written(b, kProcs, kThreads, kN);
}

// This process's side of the claim tests: the cached call slow({"n":1}) of a RefCache "calc"
// on `url`, which returns 42 at once and counts its runs.
struct CountedCall {
  CountedCall(const std::string& url, const CachedCallOptions& co)
      : backend(open_backend(url)),
        cache(RefCacheOptions{.name = "calc", .backend = backend}),
        slow(
            cache, "slow",
            [this](const json::object&, CallContext&) -> json::value {
              ++runs;
              return 42;
            },
            co) {}
  std::shared_ptr<Backend> backend;
  RefCache cache;
  std::atomic<int> runs{0};
  CachedCall slow;
};

// A server computing a cached call is SIGKILLed: its claim on the call lapses within the
// claim lease, and another server then computes the call itself, instead of waiting out
// claim_wait (60 s here) for a result that will never come. While the holder lived, its claim
// outlived several leases (it renews it).
void expect_dead_holders_claim_lapses(const std::string& url) {
  constexpr double kLease = 0.5;
  CountedCall here(url, {.claim_wait = 60s});
  auto& [backend, cache, runs, slow] = here;
  const std::string claim = "call:public:" + slow.call_key({{"n", 1}});

  Worker holder({"hold-call", url, std::to_string(kLease)});
  for (int i = 0; i < 1000 && holder.output().empty(); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(holder.output(), "computing\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(kLease * 4000)));
  EXPECT_FALSE(backend->try_claim(claim, "someone-else", 10s)) << "the live holder's claim lapsed";

  holder.kill9();
  EXPECT_EQ(holder.wait(), -SIGKILL);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = slow.call({{"n", 1}});
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(r.at("value"), json::value(42));
  // Anything near claim_wait means the dead holder's claim was waited out.
  EXPECT_LT(waited, 20s);
}

// An async call running in another server: a second server asking for the same call is
// answered with that task (through the claim's holder and the shared task record) instead of
// computing it too. Once the first server is killed, its claims lapse within the lease: its
// task is reported failed, and the call is computed here.
void expect_running_task_seen_across_processes(const std::string& url) {
  CountedCall here(url, {.async_timeout = 5s});
  auto& [backend, cache, runs, slow] = here;

  Worker holder({"hold-call", url, "0.5", "async"});
  for (int i = 0; i < 1000 && holder.output().find("task ") == std::string::npos; ++i)
    std::this_thread::sleep_for(10ms);
  const std::string out = holder.output();
  ASSERT_EQ(out.rfind("computing\ntask ", 0), 0u) << out;
  const std::string task = out.substr(15, out.size() - 16);
  std::this_thread::sleep_for(1500ms);  // three leases: the claim is renewed
  auto r = slow.call({{"n", 1}});
  EXPECT_EQ(r.at("ref_id").as_string(), task);
  EXPECT_EQ(r.at("status"), "processing");
  EXPECT_EQ(runs, 0);
  ASSERT_TRUE(cache.task(task));
  EXPECT_EQ(cache.task(task)->status, TaskStatus::kProcessing);

  holder.kill9();
  EXPECT_EQ(holder.wait(), -SIGKILL);
  // The dead server's task record still says "processing", but its run's claim lapses
  // within the lease: the task is then reported failed, with the reason.
  bool reported_failed = false;
  for (int i = 0; i < 100 && !reported_failed; ++i) {
    auto t = cache.task(task);
    reported_failed = t && t->status == TaskStatus::kFailed;
    if (!reported_failed) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(reported_failed);
  EXPECT_NE(cache.task(task)->error.value_or("").find("stopped before it finished"),
            std::string::npos);
  auto polled = cache.get(task, Actor::agent());
  ASSERT_TRUE(std::holds_alternative<AsyncTaskResponse>(polled));
  EXPECT_EQ(std::get<AsyncTaskResponse>(polled).status, TaskStatus::kFailed);
  // And a call computes the result here.
  json::object done;
  for (int i = 0; i < 100 && runs == 0; ++i) {
    done = slow.call({{"n", 1}});
    if (runs == 0) std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(done.at("value"), json::value(42));
  EXPECT_NE(done.at("ref_id").as_string(), task);
}

TEST_F(MultiProcess, ARunningTaskIsSeenAcrossProcessesOnSqlite) {
  expect_running_task_seen_across_processes(sqlite_url());
}

TEST_F(MultiProcess, ARunningTaskIsSeenAcrossProcessesOnRedis) {
  RawRedis(shared_redis().port(), shared_redis().password()).cmd({"FLUSHALL"});
  expect_running_task_seen_across_processes(shared_redis().url());
}

TEST_F(MultiProcess, ADeadHoldersClaimLapsesWithinItsLeaseOnSqlite) {
  expect_dead_holders_claim_lapses(sqlite_url());
}

TEST_F(MultiProcess, ADeadHoldersClaimLapsesWithinItsLeaseOnRedis) {
  RawRedis(shared_redis().port(), shared_redis().password()).cmd({"FLUSHALL"});
  expect_dead_holders_claim_lapses(shared_redis().url());
}

}  // namespace
}  // namespace refcache::testing
