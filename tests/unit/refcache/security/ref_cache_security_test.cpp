// RefCache read paths do not reveal which refs exist: a missing ref and a forbidden one make
// the same backend calls in the same order, and listings show only refs the actor may use.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "integration/recording_backend.hpp"
#include "refcache/memory_backend.hpp"
#include "refcache/ref_cache.hpp"
#include "unit/refcache/test_util.hpp"

using namespace refcache;
using refcache::testing::RecordingBackend;
using Ops = std::vector<std::string>;

namespace {

struct Fixture {
  std::shared_ptr<RecordingBackend> rec = std::make_shared<RecordingBackend>(
      std::make_shared<MemoryBackend>(MemoryBackendOptions{.clock = &refcache_test::fake_now}));
  RefCache cache{[this] {
    RefCacheOptions o;
    o.name = "sec";
    o.clock = &refcache_test::fake_now;
    o.backend = rec;
    return o;
  }()};

  // The backend calls `read` makes (exceptions are part of the answer, not of the test).
  template <class Read>
  Ops ops_of(Read read) {
    rec->start();
    try {
      read();
    } catch (const Error&) {
    }
    return rec->stop();
  }
};

}  // namespace

// For each read path: a ref that was never stored, and one that exists in another user's
// namespace (or with a policy the actor has no rights under).
TEST(RefCacheSecurity, MissingAndForbiddenRefsMakeTheSameBackendCalls) {
  Fixture f;
  SetOptions alice;
  alice.ns = "user:alice";
  const std::string forbidden = f.cache.set("", 1, alice).ref_id;
  SetOptions hidden;
  hidden.policy = AccessPolicy::user_only();
  const std::string no_rights = f.cache.set("", 2, hidden).ref_id;
  const std::string missing = "sec:0123456789abcdef";
  const Actor bob = Actor::user("bob");
  const Actor agent = Actor::agent();

  struct Path {
    const char* name;
    std::function<void(const std::string&, const Actor&)> read;
  };
  RefCache& c = f.cache;
  const std::vector<Path> paths = {
      {"get", [&](const std::string& r, const Actor& a) { c.get(r, a); }},
      {"resolve", [&](const std::string& r, const Actor& a) { c.resolve(r, a); }},
      {"entry_for READ",
       [&](const std::string& r, const Actor& a) { c.entry_for(r, a, Permission::kRead); }},
      {"entry_for EXECUTE",
       [&](const std::string& r, const Actor& a) { c.entry_for(r, a, Permission::kExecute); }},
      {"entry_for none",
       [&](const std::string& r, const Actor& a) { c.entry_for(r, a, Permission::kNone); }},
      {"exists", [&](const std::string& r, const Actor& a) { c.exists(r, a); }},
  };
  for (const auto& p : paths) {
    SCOPED_TRACE(p.name);
    const Ops for_missing = f.ops_of([&] { p.read(missing, bob); });
    EXPECT_EQ(for_missing, f.ops_of([&] { p.read(forbidden, bob); }));
    EXPECT_EQ(for_missing, f.ops_of([&] { p.read(missing, agent); }));
    EXPECT_EQ(for_missing, f.ops_of([&] { p.read(no_rights, agent); }));
  }
  // get: the entry, then the task record (a missing entry may be an async call running).
  EXPECT_EQ(f.ops_of([&] { c.get(missing, bob); }), (Ops{"get", "get_task"}));
  // A ref-shaped argument is never also looked up as a key.
  EXPECT_EQ(f.ops_of([&] { c.resolve(missing, bob); }), Ops{"get"});
  // And the answers are the ones the tool layers turn into one opaque text.
  EXPECT_THROW(c.get(missing, bob), NotFound);
  EXPECT_THROW(c.get(forbidden, bob), PermissionDenied);
  EXPECT_FALSE(c.exists(missing, bob));
  EXPECT_FALSE(c.exists(forbidden, bob));
}

// A ref whose async call is still running (a task record, no entry yet): an actor allowed to
// poll it gets its status; one that is not is refused at the cost of a missing ref, before the
// run's claim is checked, so a hidden running task does not show either.
TEST(RefCacheSecurity, HiddenRunningTasksCostWhatMissingRefsCost) {
  Fixture f;
  TaskRecord t;
  t.ref_id = "sec:00000000000000aa";
  t.status = TaskStatus::kProcessing;
  t.started_at = refcache_test::fake_now();
  t.updated_at = t.started_at;
  t.leased = true;  // live_view() asks who holds its run's claim
  t.ns = "user:alice";
  f.rec->put_task(t);
  const Actor alice = Actor::user("alice");
  const Actor bob = Actor::user("bob");
  GetResult polled = f.cache.get(t.ref_id, alice);
  ASSERT_TRUE(std::holds_alternative<AsyncTaskResponse>(polled));

  const Ops for_missing = f.ops_of([&] { f.cache.get("sec:0123456789abcdef", bob); });
  EXPECT_EQ(for_missing, (Ops{"get", "get_task"}));
  EXPECT_EQ(f.ops_of([&] { f.cache.get(t.ref_id, bob); }), for_missing);
  EXPECT_THROW(f.cache.get(t.ref_id, bob), PermissionDenied);
  // The owner's poll checks the claim (a run whose server died is reported failed).
  EXPECT_EQ(f.ops_of([&] { f.cache.get(t.ref_id, alice); }),
            (Ops{"get", "get_task", "claim_holder"}));
}

TEST(RefCacheSecurity, ListShowsOnlyRefsTheActorMayUse) {
  Fixture f;
  auto with_agent_mask = [&](Permission p) {
    SetOptions so;
    so.policy = AccessPolicy{};
    so.policy->agent_permissions = p;
    return f.cache.set("", 1, so).ref_id;
  };
  const std::string readable = with_agent_mask(Permission::kRead);
  const std::string executable = with_agent_mask(Permission::kExecute);
  const std::string delete_only = with_agent_mask(Permission::kDelete);
  const std::string write_only = with_agent_mask(Permission::kWrite | Permission::kUpdate);
  const std::string nothing = with_agent_mask(Permission::kNone);
  auto listed = f.cache.list("public", Actor::agent()).ref_ids;
  std::sort(listed.begin(), listed.end());
  std::vector<std::string> expected{readable, executable};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(listed, expected);
  // Users (FULL by default) see all five.
  EXPECT_EQ(f.cache.list("public", Actor::user()).ref_ids.size(), 5u);
  (void)delete_only;
  (void)write_only;
  (void)nothing;
}
