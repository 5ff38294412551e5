// Internal: the task engine connects the task store (task_store.hpp) to the dispatcher: it
// decides whether a tools/call becomes a task, runs the handler as one on task threads of its
// own, and answers tasks/* in both eras (2026-07-28 extension io.modelcontextprotocol/tasks,
// SEP-2663; 2025-11-25 experimental tasks).
//
// Thread-safety: TaskEngine methods are called from transport and worker threads; its own
// state (the task threads) is guarded by pool_mu_.
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mcp/context.hpp"
#include "mcp/session.hpp"
#include "mcp/tasks.hpp"
#include "mcp/types.hpp"
#include "task_store.hpp"
#include "thread_annotations.hpp"
#include "worker_pool.hpp"

namespace mcp::detail {

struct CallState;
using TaskInvoke = std::function<CallToolResult(ToolContext&)>;

inline constexpr std::string_view kTasksExtension = "io.modelcontextprotocol/tasks";

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
