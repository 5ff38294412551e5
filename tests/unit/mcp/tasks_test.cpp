// Tasks: the task store (lifecycle, cancel, expiry, bounds, isolation, input rounds) and the
// task flow through Server::handle in both eras.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "jsonio/json_text.hpp"
#include "mcp/server.hpp"
#include "mcp/task_engine.hpp"
#include "unit/recording_outbound.hpp"

namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;
using mcp::detail::TaskStatus;
using mcp::detail::TaskStore;

struct FakeClock {
  TaskStore::Clock::time_point now = TaskStore::Clock::now();
  std::function<TaskStore::Clock::time_point()> fn() {
    return [this] { return now; };
  }
};

mcp::TaskOptions small_options() {
  mcp::TaskOptions o;
  o.max_tasks = 4;
  o.max_tasks_per_owner = 3;
  o.default_ttl = 10s;
  o.max_ttl = 60s;
  return o;
}

TaskStatus status_of(TaskStore& s, const mcp::detail::TaskPtr& t) {
  return s.read(t, [](const mcp::detail::TaskRecord& r) { return r.status; });
}

TEST(TaskStore, LifecycleCompleteIsFinal) {
  FakeClock clock;
  TaskStore s(small_options(), clock.fn());
  auto t = s.create("alice");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->id.size(), 32u);  // 128 random bits, hex
  EXPECT_EQ(status_of(s, t), TaskStatus::kWorking);
  EXPECT_EQ(s.find(t->id, "alice"), t);
  EXPECT_TRUE(s.complete(t, bj::object{{"content", bj::array{}}}));
  EXPECT_EQ(status_of(s, t), TaskStatus::kCompleted);
  // Terminal states do not change any more.
  EXPECT_FALSE(s.fail(t, bj::object{{"code", -1}}));
  EXPECT_FALSE(s.cancel(t));
  EXPECT_FALSE(s.park(t, bj::object{{"k", 1}}, "st"));
  EXPECT_EQ(status_of(s, t), TaskStatus::kCompleted);
  EXPECT_TRUE(s.read(t, [](const auto& r) { return r.result.is_object(); }));
}

TEST(TaskStore, IdsAreUnique) {
  mcp::TaskOptions o;
  o.max_tasks = o.max_tasks_per_owner = 500;
  TaskStore s(o);
  std::set<std::string> ids;
  for (int i = 0; i < 500; ++i) ids.insert(s.create("o")->id);
  EXPECT_EQ(ids.size(), 500u);
}

TEST(TaskStore, CancelRunsTheCancellerOnceAndIsIdempotent) {
  TaskStore s(small_options());
  auto t = s.create("o");
  int cancelled = 0;
  s.attach(t, nullptr, [&] { ++cancelled; });
  EXPECT_TRUE(s.cancel(t));
  EXPECT_FALSE(s.cancel(t));
  EXPECT_EQ(cancelled, 1);
  EXPECT_EQ(status_of(s, t), TaskStatus::kCancelled);
  // A late result of the handler is dropped.
  EXPECT_FALSE(s.complete(t, bj::object{}));
  EXPECT_EQ(status_of(s, t), TaskStatus::kCancelled);
  // Attaching a handler to a cancelled task cancels it at once.
  int late = 0;
  s.attach(t, nullptr, [&] { ++late; });
  EXPECT_EQ(late, 1);
}

TEST(TaskStore, WaitersRunWhenTerminal) {
  TaskStore s(small_options());
  auto t = s.create("o");
  int woke = 0;
  s.when_terminal(t, [&] { ++woke; });
  EXPECT_EQ(woke, 0);
  s.fail(t, bj::object{{"code", -32603}, {"message", "x"}});
  EXPECT_EQ(woke, 1);
  s.when_terminal(t, [&] { ++woke; });  // already terminal: runs now
  EXPECT_EQ(woke, 2);
}

TEST(TaskStore, ExpiresAfterTtlNotBefore) {
  FakeClock clock;
  TaskStore s(small_options(), clock.fn());
  auto done = s.create("o", 2000ms);
  auto running = s.create("o", 5000ms);
  s.complete(done, bj::object{});
  int cancelled = 0;
  s.attach(running, nullptr, [&] { ++cancelled; });

  clock.now += 1999ms;
  EXPECT_TRUE(s.find(done->id, "o"));
  clock.now += 1ms;
  EXPECT_FALSE(s.find(done->id, "o"));
  EXPECT_EQ(s.size(), 1u);

  clock.now += 3000ms;
  EXPECT_EQ(s.purge(), 1u);
  EXPECT_EQ(cancelled, 1);  // a task running past its ttl is cancelled
  EXPECT_EQ(status_of(s, running), TaskStatus::kCancelled);
  EXPECT_EQ(s.size(), 0u);
}

TEST(TaskStore, TtlIsClampedAndDefaulted) {
  TaskStore s(small_options());
  EXPECT_EQ(s.create("o")->ttl, 10s);
  EXPECT_EQ(s.create("o", 3600s)->ttl, 60s);
  EXPECT_EQ(s.create("o", 0ms)->ttl, 10s);
}

TEST(TaskStore, BoundedInTotalAndPerOwner) {
  FakeClock clock;
  TaskStore s(small_options(), clock.fn());
  ASSERT_TRUE(s.create("a"));
  ASSERT_TRUE(s.create("a"));
  ASSERT_TRUE(s.create("a"));
  EXPECT_FALSE(s.create("a"));  // per-owner bound
  ASSERT_TRUE(s.create("b"));
  EXPECT_FALSE(s.create("c"));  // total bound, even for a new owner
  EXPECT_EQ(s.size(), 4u);
  // Finished tasks are still kept until their ttl; then the room comes back.
  clock.now += 10s;
  EXPECT_TRUE(s.create("c"));
  EXPECT_EQ(s.size(), 1u);
}

TEST(TaskStore, OwnersSeeOnlyTheirTasks) {
  TaskStore s(small_options());
  auto a = s.create("principal:alice");
  auto b = s.create("principal:bob");
  EXPECT_FALSE(s.find(a->id, "principal:bob"));
  EXPECT_FALSE(s.find(a->id, ""));
  EXPECT_EQ(s.find(b->id, "principal:bob"), b);
  auto list = s.list("principal:alice");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0], a);
  EXPECT_FALSE(s.find("no-such-task", "principal:alice"));
}

TEST(TaskStore, DropOwnerCancelsAndForgets) {
  TaskStore s(small_options());
  auto a = s.create("session:1");
  auto b = s.create("session:2");
  int cancelled = 0;
  s.attach(a, nullptr, [&] { ++cancelled; });
  EXPECT_EQ(s.drop_owner("session:1"), 1u);
  EXPECT_EQ(cancelled, 1);
  EXPECT_FALSE(s.find(a->id, "session:1"));
  EXPECT_EQ(s.find(b->id, "session:2"), b);
  EXPECT_EQ(s.size(), 1u);
}

TEST(TaskStore, WaitersAreBounded) {
  TaskStore s(small_options());
  auto t = s.create("o");
  for (std::size_t i = 0; i < TaskStore::kMaxWaiters; ++i) EXPECT_TRUE(s.when_terminal(t, [] {}));
  EXPECT_FALSE(s.when_terminal(t, [] {}));
}

TEST(TaskStore, InputRoundsNeedEveryKey) {
  TaskStore s(small_options());
  auto t = s.create("o");
  ASSERT_TRUE(s.park(t, bj::object{{"x", 1}, {"y", 2}}, "state-1"));
  EXPECT_EQ(status_of(s, t), TaskStatus::kInputRequired);
  bj::object answers;
  std::string state;
  EXPECT_EQ(s.update(t, bj::object{{"unknown", 0}}, answers, state), TaskStore::Update::kAcked);
  EXPECT_EQ(s.update(t, bj::object{{"x", "ax"}}, answers, state), TaskStore::Update::kAcked);
  EXPECT_EQ(status_of(s, t), TaskStatus::kInputRequired);
  EXPECT_EQ(s.read(t, [](const auto& r) { return r.input_requests.size(); }), 1u);
  EXPECT_TRUE(s.read(t, [](const auto& r) { return r.input_requests.contains("y"); }));
  EXPECT_EQ(s.update(t, bj::object{{"y", "ay"}}, answers, state), TaskStore::Update::kResume);
  EXPECT_EQ(status_of(s, t), TaskStatus::kWorking);
  EXPECT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers.at("x").as_string(), "ax");
  EXPECT_EQ(state, "state-1");
  EXPECT_EQ(s.update(t, bj::object{{"y", "again"}}, answers, state),
            TaskStore::Update::kNotWaiting);
}

TEST(TaskStore, Iso8601) {
  auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  EXPECT_EQ(mcp::detail::iso8601(t), "2023-11-14T22:13:20.123Z");
}

// --- through the server ----------------------------------------------------------------------

using Capture = test_support::RecordingOutbound;

struct None {};
BOOST_DESCRIBE_STRUCT(None, (), ())

constexpr const char* kWithTasks =
    R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}})";
constexpr const char* kWithoutTasks =
    R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}})";

class TaskServerTest : public ::testing::Test {
 protected:
  TaskServerTest() : server(options()) {
    server.tool<None>({.name = "sync", .description = ""},
                      [](const None&, mcp::ToolContext&) { return std::string("now"); });
    server.tool<None>(
        {.name = "long", .description = "", .task_support = mcp::TaskSupport::kOptional},
        [this](const None&, mcp::ToolContext& ctx) {
          running = true;
          while (!ctx.cancelled() && !release) std::this_thread::sleep_for(2ms);
          saw_cancel = ctx.cancelled();
          return std::string("long done, task ") + ctx.task_id();
        });
    server.tool<None>(
        {.name = "must", .description = "", .task_support = mcp::TaskSupport::kRequired},
        [](const None&, mcp::ToolContext&) { return std::string("ran"); });
    server.tool<None>(
        {.name = "asks", .description = "", .task_support = mcp::TaskSupport::kOptional},
        [](const None&, mcp::ToolContext& ctx) -> std::string {
          if (auto* a = ctx.input_response("a"))
            return "got " + jsonio::to_string(*a) + " " + ctx.request_state();
          ctx.require_input(bj::object{{"a", bj::object{{"method", "elicitation/create"}}}}, "s");
        });
    server.tool<None>(
        {.name = "boom", .description = "", .task_support = mcp::TaskSupport::kOptional},
        [](const None&, mcp::ToolContext&) -> std::string {
          throw mcp::Error(-32603, "protocol failure");
        });
    server.tool<None>({.name = "later",
                       .description = "",
                       .task_support = mcp::TaskSupport::kRequired,
                       .task_deferred = true},
                      [](const None&, mcp::ToolContext& ctx) -> std::string {
                        auto* n = ctx.input_response("n");
                        if (!n) ctx.require_input(bj::object{{"n", bj::object{}}}, "r1");
                        std::string got = jsonio::to_string(*n) + " " + ctx.request_state();
                        if (!ctx.start_task()) return "sync " + got;
                        return "task " + got;
                      });
    session = std::make_shared<mcp::Session>("s1", mcp::TransportKind::kInMemory);
  }
  ~TaskServerTest() override { release = true; }
  static mcp::ServerOptions options() {
    mcp::ServerOptions o;
    o.worker_threads = 3;
    o.tasks.max_tasks_per_owner = 2;
    return o;
  }
  bj::value call(const std::string& text, mcp::MessageInfo info = {},
                 std::shared_ptr<mcp::Session> s = nullptr) {
    auto out = std::make_shared<Capture>();
    server.handle(s ? s : session, jsonio::parse_or_throw(text), out, info);
    EXPECT_TRUE(out->wait()) << text;
    return out->response;
  }
  bj::value modern(const std::string& method, const std::string& params,
                   const char* meta = kWithTasks, mcp::MessageInfo info = {}) {
    return call(R"({"jsonrpc":"2.0","id":1,"method":")" + method + R"(","params":{)" + params +
                    (params.empty() ? "" : ",") + meta + "}}",
                info);
  }
  bj::object get(const std::string& id, mcp::MessageInfo info = {}) {
    return modern("tasks/get", R"("taskId":")" + id + R"(")", kWithTasks, info)
        .at("result")
        .as_object();
  }
  bj::object wait_status(const std::string& id, std::string_view status) {
    bj::object r;
    for (int i = 0; i < 500; ++i) {
      r = get(id);
      if (r.at("status").as_string() == status) break;
      std::this_thread::sleep_for(5ms);
    }
    return r;
  }

  mcp::Server server;
  std::shared_ptr<mcp::Session> session;
  std::atomic<bool> running{false}, release{false}, saw_cancel{false};
};

TEST_F(TaskServerTest, TaskToolAnswersWithATaskAndCompletes) {
  auto r = modern("tools/call", R"("name":"long")").at("result").as_object();
  EXPECT_EQ(r.at("resultType").as_string(), "task");
  EXPECT_EQ(r.at("status").as_string(), "working");
  EXPECT_TRUE(r.at("ttlMs").is_int64());
  EXPECT_FALSE(r.contains("result"));
  std::string id(r.at("taskId").as_string());
  EXPECT_EQ(get(id).at("status").as_string(), "working");  // durable at once
  release = true;
  auto done = wait_status(id, "completed");
  ASSERT_EQ(done.at("status").as_string(), "completed");
  EXPECT_EQ(done.at("result").at("content").at(0).at("text").as_string(), "long done, task " + id);
  EXPECT_EQ(done.at("resultType").as_string(), "complete");
}

TEST_F(TaskServerTest, CancelReachesTheHandler) {
  auto r = modern("tools/call", R"("name":"long")").at("result").as_object();
  std::string id(r.at("taskId").as_string());
  for (int i = 0; i < 500 && !running; ++i) std::this_thread::sleep_for(2ms);
  auto ack = modern("tasks/cancel", R"("taskId":")" + id + R"(")").at("result").as_object();
  EXPECT_EQ(ack.at("resultType").as_string(), "complete");
  EXPECT_FALSE(ack.contains("status"));
  EXPECT_EQ(get(id).at("status").as_string(), "cancelled");
  for (int i = 0; i < 1000 && !saw_cancel; ++i) std::this_thread::sleep_for(2ms);
  EXPECT_TRUE(saw_cancel);
  // Idempotent on a terminal task.
  EXPECT_TRUE(modern("tasks/cancel", R"("taskId":")" + id + R"(")").as_object().contains("result"));
}

TEST_F(TaskServerTest, WithoutTheExtension) {
  // Optional: runs synchronously; required: -32021 naming the extension; tasks/*: -32021.
  release = true;
  auto r = modern("tools/call", R"("name":"long")", kWithoutTasks);
  EXPECT_EQ(r.at("result").at("resultType").as_string(), "complete");
  r = modern("tools/call", R"("name":"must")", kWithoutTasks);
  EXPECT_EQ(r.at("error").at("code").as_int64(), -32021);
  EXPECT_TRUE(r.at("error")
                  .at("data")
                  .at("requiredCapabilities")
                  .at("extensions")
                  .as_object()
                  .contains("io.modelcontextprotocol/tasks"));
  r = modern("tasks/get", R"("taskId":"x")", kWithoutTasks);
  EXPECT_EQ(r.at("error").at("code").as_int64(), -32021);
  // A sync tool never becomes a task.
  r = modern("tools/call", R"("name":"sync","task":{"ttl":1000})");
  EXPECT_EQ(r.at("result").at("resultType").as_string(), "complete");
  // Unknown task, removed methods.
  EXPECT_EQ(modern("tasks/get", R"("taskId":"nope")").at("error").at("code").as_int64(), -32602);
  EXPECT_EQ(modern("tasks/list", "").at("error").at("code").as_int64(), -32601);
  EXPECT_EQ(modern("tasks/result", R"("taskId":"nope")").at("error").at("code").as_int64(), -32601);
}

TEST_F(TaskServerTest, InputRequiredThenUpdateResumes) {
  auto r = modern("tools/call", R"("name":"asks")").at("result").as_object();
  std::string id(r.at("taskId").as_string());
  auto waiting = wait_status(id, "input_required");
  ASSERT_EQ(waiting.at("status").as_string(), "input_required");
  EXPECT_TRUE(waiting.at("inputRequests").as_object().contains("a"));
  EXPECT_FALSE(waiting.contains("requestState"));
  auto ack = modern("tasks/update", R"("taskId":")" + id + R"(","inputResponses":{"a":42})")
                 .at("result")
                 .as_object();
  EXPECT_EQ(ack.at("resultType").as_string(), "complete");
  auto done = wait_status(id, "completed");
  EXPECT_EQ(done.at("result").at("content").at(0).at("text").as_string(), "got 42 s");
}

TEST_F(TaskServerTest, DeferredTaskAfterAnInputRound) {
  // Round 1: a plain MRTR input_required, no task.
  auto r1 = modern("tools/call", R"("name":"later")").at("result").as_object();
  EXPECT_EQ(r1.at("resultType").as_string(), "input_required");
  EXPECT_FALSE(r1.contains("taskId"));
  std::string state(r1.at("requestState").as_string());
  // Round 2: the handler starts the task; the task's result has the answer.
  auto r2 = modern("tools/call",
                   R"("name":"later","inputResponses":{"n":7},"requestState":")" + state + R"(")")
                .at("result")
                .as_object();
  EXPECT_EQ(r2.at("resultType").as_string(), "task");
  EXPECT_FALSE(r2.contains("requestState"));
  auto done = wait_status(std::string(r2.at("taskId").as_string()), "completed");
  EXPECT_EQ(done.at("result").at("content").at(0).at("text").as_string(), "task 7 r1");
}

TEST_F(TaskServerTest, ProtocolErrorFailsTheTask) {
  std::string id(modern("tools/call", R"("name":"boom")").at("result").at("taskId").as_string());
  auto done = wait_status(id, "failed");
  ASSERT_EQ(done.at("status").as_string(), "failed");
  EXPECT_EQ(done.at("error").at("code").as_int64(), -32603);
  EXPECT_FALSE(done.contains("result"));
}

TEST_F(TaskServerTest, TasksBelongToTheirPrincipalAndAreBounded) {
  mcp::MessageInfo alice{.principal = mcp::Principal{.subject = "alice"}};
  mcp::MessageInfo bob{.principal = mcp::Principal{.subject = "bob"}};
  auto r = modern("tools/call", R"("name":"must")", kWithTasks, alice).at("result").as_object();
  std::string id(r.at("taskId").as_string());
  EXPECT_EQ(get(id, alice).at("taskId").as_string(), id);
  auto other = modern("tasks/get", R"("taskId":")" + id + R"(")", kWithTasks, bob);
  EXPECT_EQ(other.at("error").at("code").as_int64(), -32602);
  other = modern("tasks/cancel", R"("taskId":")" + id + R"(")", kWithTasks, bob);
  EXPECT_EQ(other.at("error").at("code").as_int64(), -32602);
  // max_tasks_per_owner = 2: the third required-task call is refused, an optional one runs
  // synchronously.
  modern("tools/call", R"("name":"must")", kWithTasks, alice);
  auto third = modern("tools/call", R"("name":"must")", kWithTasks, alice);
  EXPECT_EQ(third.at("error").at("code").as_int64(), -32603);
  release = true;
  auto sync = modern("tools/call", R"("name":"long")", kWithTasks, alice);
  EXPECT_EQ(sync.at("result").at("resultType").as_string(), "complete");
  // Bob still has room.
  EXPECT_EQ(modern("tools/call", R"("name":"must")", kWithTasks, bob)
                .at("result")
                .at("resultType")
                .as_string(),
            "task");
}

TEST_F(TaskServerTest, LegacyTaskAugmentedCall) {
  auto init = call(
      R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
  EXPECT_TRUE(
      init.at("result").at("capabilities").at("tasks").at("requests").at("tools").is_object());
  auto tools = call(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  bool listed = false;
  for (auto& t : tools.at("result").at("tools").as_array())
    if (t.at("name") == "must")
      listed = t.at("execution").at("taskSupport").as_string() == "required";
  EXPECT_TRUE(listed);
  // Required without `task`: -32601; forbidden with `task`: -32601.
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"must"}})")
                .at("error")
                .at("code")
                .as_int64(),
            -32601);
  EXPECT_EQ(
      call(
          R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"sync","task":{"ttl":5000}}})")
          .at("error")
          .at("code")
          .as_int64(),
      -32601);
  auto created = call(
      R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"must","task":{"ttl":5000}}})");
  auto task = created.at("result").at("task").as_object();
  EXPECT_EQ(task.at("ttl").as_int64(), 5000);
  std::string id(task.at("taskId").as_string());
  auto result = call(R"({"jsonrpc":"2.0","id":5,"method":"tasks/result","params":{"taskId":")" +
                     id + R"("}})");
  EXPECT_EQ(result.at("result").at("content").at(0).at("text").as_string(), "ran");
  EXPECT_EQ(result.at("result")
                .at("_meta")
                .at("io.modelcontextprotocol/related-task")
                .at("taskId")
                .as_string(),
            id);
  auto list = call(R"({"jsonrpc":"2.0","id":6,"method":"tasks/list"})");
  EXPECT_EQ(list.at("result").at("tasks").as_array().size(), 1u);
  // Cancelling a terminal task is an error in 2025-11-25.
  EXPECT_EQ(call(R"({"jsonrpc":"2.0","id":7,"method":"tasks/cancel","params":{"taskId":")" + id +
                 R"("}})")
                .at("error")
                .at("code")
                .as_int64(),
            -32602);
  // Another session does not see it.
  auto other = std::make_shared<mcp::Session>("s2", mcp::TransportKind::kInMemory);
  auto r =
      call(R"({"jsonrpc":"2.0","id":8,"method":"tasks/get","params":{"taskId":")" + id + R"("}})",
           {}, other);
  EXPECT_EQ(r.at("error").at("code").as_int64(), -32602);
}

}  // namespace

namespace {

TEST(TaskThreads, TasksDoNotTakeTheRequestWorkers) {
  mcp::ServerOptions o;
  o.worker_threads = 1;
  o.tasks.worker_threads = 2;
  // Before the server: its destructor waits for the tasks, which read it.
  std::atomic<bool> release{false};
  mcp::Server srv(o);
  srv.tool<None>({.name = "long", .description = "", .task_support = mcp::TaskSupport::kOptional},
                 [&](const None&, mcp::ToolContext& ctx) {
                   while (!release && !ctx.cancelled()) std::this_thread::sleep_for(2ms);
                   return std::string("x");
                 });
  srv.tool<None>({.name = "sync", .description = ""},
                 [](const None&, mcp::ToolContext&) { return std::string("now"); });
  auto session = std::make_shared<mcp::Session>("s", mcp::TransportKind::kInMemory);
  auto call = [&](const std::string& name) {
    auto out = std::make_shared<Capture>();
    srv.handle(session,
               jsonio::parse_or_throw(
                   R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":")" + name +
                   R"(",)" + kWithTasks + "}}"),
               out);
    EXPECT_TRUE(out->wait(2s)) << name;
    return out->response;
  };
  // Three running tasks (one more than the task threads) and the one request worker is free.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(call("long").at("result").at("resultType").as_string(), "task");
  EXPECT_EQ(call("sync").at("result").at("content").at(0).at("text").as_string(), "now");
  release = true;
}

}  // namespace
