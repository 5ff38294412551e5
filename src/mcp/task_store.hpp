// Internal: the task store. TaskStore keeps task records (status, timestamps, ttl, outcome,
// pending input) with bounds (TaskOptions::max_tasks, max_tasks_per_owner) and expiry (each
// task's ttl), and the status transitions between them; it knows nothing about requests
// (task_engine.hpp connects it to the dispatcher).
//
// Thread-safety: internally synchronized by one mutex, which also guards the fields of every
// TaskRecord marked so (read them through read()); callbacks (cancellation, waiters) run
// outside it.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mcp/tasks.hpp"
#include "thread_annotations.hpp"

namespace mcp::detail {

struct CallState;

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

}  // namespace mcp::detail
