// Internal: the state of one request being served, shared by the dispatcher, ToolContext and
// the task engine.
//
// Thread-safety: the dispatcher fills a CallState before anything else can see it (a worker,
// a cancellation, the deadline timer); afterwards it is read-only, except `last_progress`
// (progress_mu), the atomics and the token (synchronized themselves), and the task fields,
// which the task engine sets on the thread running the call before it hands the call over.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>

#include "deadline_timer.hpp"
#include "mcp/context.hpp"
#include "mcp/session.hpp"
#include "mcp/trace_context.hpp"
#include "thread_annotations.hpp"

namespace mcp::detail {

class TaskEngine;
struct TaskRecord;

struct CallState {
  std::shared_ptr<Session> session;
  std::shared_ptr<Outbound> out;
  boost::json::value id;
  std::string id_key;  // compact JSON of id, for the in-flight table
  std::string method;
  Era era = Era::kLegacy;
  std::string version;
  boost::json::object params;
  boost::json::object meta;
  boost::json::object client_caps;
  std::optional<Principal> principal;
  std::string peer_address;  // MessageInfo::peer_address
  // The request's span (a child of the trace context it carried, or a new trace); set for
  // every request the dispatcher takes. `tool`: params.name of a tools/call, for log lines.
  std::optional<TraceContext> trace;
  std::string tool;
  boost::json::value progress_token;  // null = none
  refcache_sync::Mutex progress_mu;
  double last_progress GUARDED_BY(progress_mu) = -std::numeric_limits<double>::infinity();
  int log_threshold = -1;  // -1 = send all levels, 100 = send none
  CancellationToken token;
  std::atomic<bool> done{false};                         // response sent (or abandoned)
  std::atomic<bool> suppressed{false};                   // cancelled by the client: do not respond
  const boost::json::object* input_responses = nullptr;  // points into params
  std::string request_state;
  // Tasks (task_engine.cpp): set when this tools/call may become a task / once it is one.
  TaskEngine* tasks = nullptr;
  std::function<CallToolResult(ToolContext&)> task_invoke;
  std::string task_id;
  std::weak_ptr<TaskRecord> task;
  std::atomic<bool> detached{false};  // a task now: transport events no longer cancel it
  // The call's deadline (ServerOptions::call_timeout), armed before it is queued; disarmed by
  // the answer.
  std::optional<DeadlineTimer::Key> deadline;
};

}  // namespace mcp::detail
