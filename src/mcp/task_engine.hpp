// Internal: tasks. TaskStore keeps task records (status, timestamps, ttl, outcome, pending input)
// with bounds and expiry and knows nothing about requests; TaskEngine connects it to the
// dispatcher: it decides whether a tools/call becomes a task, runs the handler as one, and
// answers tasks/* in both eras (2026-07-28 extension io.modelcontextprotocol/tasks, SEP-2663;
// 2025-11-25 experimental tasks).
//
// Thread-safety: TaskStore is internally synchronized (one mutex; callbacks run outside it).
// TaskEngine methods are called from transport and worker threads.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mcp/context.hpp"
#include "mcp/session.hpp"
#include "mcp/tasks.hpp"
#include "mcp/types.hpp"
#include "thread_annotations.hpp"
#include "worker_pool.hpp"

namespace mcp::detail {

struct CallState;
using TaskInvoke = std::function<CallToolResult(ToolContext&)>;

inline constexpr std::string_view kTasksExtension = "io.modelcontextprotocol/tasks";

enum class TaskStatus { kWorking, kInputRequired, kCompleted, kFailed, kCancelled };
const char* to_string(TaskStatus s);
inline bool is_terminal(TaskStatus s) {
  return s == TaskStatus::kCompleted || s == TaskStatus::kFailed || s == TaskStatus::kCancelled;
}

struct TaskRecord {
  // Fixed at creation.
  std::string id;
  std::string owner;
  std::chrono::system_clock::time_point created;
  std::chrono::steady_clock::time_point expires;
  std::chrono::milliseconds ttl{0};
  // Guarded by the store's mutex (read them through TaskStore::read).
  std::chrono::system_clock::time_point updated;
  TaskStatus status = TaskStatus::kWorking;
  std::string status_message;
  boost::json::value result;                       // completed: the CallToolResult
  boost::json::value error;                        // failed: {code, message, data?}
  boost::json::object input_requests;              // input_required: still unanswered, by key
  boost::json::object input_responses;             // answers of the current round so far
  std::string request_state;                       // the handler's state for the next round
  std::shared_ptr<CallState> call;                 // the call that runs (or ran) the handler
  std::function<void()> cancel_running;            // cancels the running handler
  std::vector<std::function<void()>> on_terminal;  // waiters (2025-11-25 tasks/result)
};
using TaskPtr = std::shared_ptr<TaskRecord>;

class TaskStore {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TaskStore(TaskOptions options, std::function<Clock::time_point()> now = {});

  // A new working task of `owner` (ttl clamped to (0, max_ttl], default_ttl if absent). Null
  // when the store (or the owner's share) is full after dropping expired tasks.
  TaskPtr create(const std::string& owner,
                 std::optional<std::chrono::milliseconds> ttl = std::nullopt);
  // The task `id` if it exists, has not expired and belongs to `owner`; else null.
  TaskPtr find(std::string_view id, std::string_view owner);
  std::vector<TaskPtr> list(std::string_view owner);

  // Transitions; each returns false (and changes nothing) when the task is already terminal.
  bool complete(const TaskPtr& t, boost::json::value result);
  bool fail(const TaskPtr& t, boost::json::value error);
  // Cancels and runs cancel_running; idempotent (false when already terminal).
  bool cancel(const TaskPtr& t);
  // working -> input_required with `requests` pending.
  bool park(const TaskPtr& t, boost::json::object requests, std::string state);
  enum class Update { kAcked, kResume, kNotWaiting };
  // Records the answers to pending keys (others are ignored). kResume when no key is pending any
  // more: the task is working again and `answers`/`state` are what the next round gets.
  Update update(const TaskPtr& t, const boost::json::object& responses,
                boost::json::object& answers, std::string& state);
  // Sets what runs the handler now (call + how to cancel it).
  void attach(const TaskPtr& t, std::shared_ptr<CallState> call, std::function<void()> cancel);
  // Runs `fn` once the task is terminal (now, on this thread, if it already is). False (and
  // `fn` is dropped) when the task already has kMaxWaiters waiting.
  static constexpr std::size_t kMaxWaiters = 16;
  bool when_terminal(const TaskPtr& t, std::function<void()> fn);

  template <class F>
  auto read(const TaskPtr& t, F&& f) {
    refcache_sync::Lock lk(mu_);
    return f(static_cast<const TaskRecord&>(*t));
  }

  std::size_t size();
  // Cancels every task that is not terminal (server shutdown).
  void cancel_all();
  // Cancels and forgets the tasks of `owner` (its session ended: nobody can reach them).
  std::size_t drop_owner(const std::string& owner);
  // Drops expired tasks (a running one is cancelled first). Returns how many.
  std::size_t purge();
  const TaskOptions& options() const { return opt_; }

 private:
  struct Callbacks {
    std::vector<std::function<void()>> fns;
    void run();
  };
  void purge_locked(Clock::time_point now, Callbacks& cb) REQUIRES(mu_);
  void erase_locked(std::unordered_map<std::string, TaskPtr>::iterator it) REQUIRES(mu_);
  bool settle_locked(TaskRecord& t, TaskStatus s, Callbacks& cb) REQUIRES(mu_);

  TaskOptions opt_;
  std::function<Clock::time_point()> now_;
  // Also guards the fields of every TaskRecord below "Guarded by the store's mutex" (which the
  // analysis cannot name from TaskRecord).
  refcache_sync::Mutex mu_;
  std::unordered_map<std::string, TaskPtr> tasks_ GUARDED_BY(mu_);
  std::unordered_map<std::string, std::size_t> per_owner_ GUARDED_BY(mu_);
};

// ISO 8601 UTC with milliseconds, e.g. 2026-11-25T22:10:00.123Z.
std::string iso8601(std::chrono::system_clock::time_point t);

class TaskEngine {
 public:
  struct Hooks {
    // Sends a result for `call` (decorated as its era wants).
    std::function<void(const std::shared_ptr<CallState>&, boost::json::value)> respond;
    std::function<void(const std::shared_ptr<CallState>&, int, std::string_view,
                       const boost::json::value&)>
        respond_error;
  };
  TaskEngine(const TaskOptions& options, Hooks hooks);
  ~TaskEngine();
  // Cancels every task and stops the task threads (waits for the handlers to return).
  void shutdown();

  TaskStore& store() { return store_; }
  // A stateful session ended: its tasks (unless owned by a principal) are unreachable now.
  void session_ended(const Session& s) { store_.drop_owner("session:" + s.id()); }

  // tools/call of a tool with `spec`: nullopt when tasks play no part (run the handler as
  // usual). Otherwise the call was handled here: null when the response has been (or will be)
  // sent, or the synchronous result. Throws mcp::Error for task-support violations.
  std::optional<boost::json::value> tool_call(const std::shared_ptr<CallState>& c,
                                              const ToolSpec& spec, TaskInvoke invoke);
  // ToolContext::start_task.
  bool start(const std::shared_ptr<CallState>& c,
             std::optional<std::chrono::milliseconds> ttl = std::nullopt);

  // 2026-07-28 (extension): tasks/get, tasks/update, tasks/cancel.
  boost::json::value modern_get(const std::shared_ptr<CallState>& c);
  boost::json::value modern_update(const std::shared_ptr<CallState>& c);
  boost::json::value modern_cancel(const std::shared_ptr<CallState>& c);
  // 2025-11-25: tasks/get, tasks/result, tasks/list, tasks/cancel.
  boost::json::value legacy_get(const std::shared_ptr<CallState>& c);
  boost::json::value legacy_result(const std::shared_ptr<CallState>& c);
  boost::json::value legacy_list(const std::shared_ptr<CallState>& c);
  boost::json::value legacy_cancel(const std::shared_ptr<CallState>& c);

  // Whether the request declared the extension in its client capabilities (2026-07-28).
  static bool negotiated(const CallState& c);
  // Task owner of a request: the principal, else a stateful session, else "" (everyone).
  static std::string owner_of(const CallState& c);

 private:
  void execute(const std::shared_ptr<CallState>& c);
  void settle_exception(const TaskPtr& t, const std::shared_ptr<CallState>& c,
                        const std::exception_ptr& e);
  boost::json::value run_sync(const std::shared_ptr<CallState>& c);
  void resume(const TaskPtr& t, boost::json::object answers, std::string state);
  TaskPtr lookup(const std::shared_ptr<CallState>& c);
  void gate(const std::shared_ptr<CallState>& c) const;
  void deliver_result(const std::shared_ptr<CallState>& c, const TaskPtr& t);
  // Runs the task's handler on the task threads; fails the task when that is not possible.
  void run_async(const TaskPtr& t, const std::shared_ptr<CallState>& c);

  TaskStore store_;
  Hooks hooks_;
  refcache_sync::Mutex pool_mu_;
  std::unique_ptr<WorkerPool> pool_ GUARDED_BY(pool_mu_);  // created with the first task
  bool stopped_ GUARDED_BY(pool_mu_) = false;
};

}  // namespace mcp::detail
