// Tasks: a tool call that the server answers with a task, followed to its end. 2025-11-25 (the
// experimental core tasks): the client asks for one with params.task, waits with tasks/result
// (the server's requests meanwhile reach the handlers), lists and cancels. 2026-07-28 (the
// extension io.modelcontextprotocol/tasks): the server decides, the client polls tasks/get and
// answers a waiting task's input requests with tasks/update.
#include <thread>

#include "client_impl.hpp"

namespace mcp {

namespace bj = boost::json;
using Kind = ClientError::Kind;
using std::chrono::milliseconds;

namespace {

bj::object task_params(const std::string& id) {
  return bj::object{{"taskId", id}};
}

}  // namespace

void Client::Impl::cancel_task_quietly(const std::string& task_id) {
  try {
    detail::CallControl c = control({.timeout = milliseconds(2000)});
    call("tasks/cancel", task_params(task_id), c);
  } catch (const std::exception& e) {
    detail::client_log().debug("mcp client: tasks/cancel {} failed: {}", task_id, e.what());
  }
}

CallToolResult Client::Impl::follow_task(const TaskInfo& task, const detail::CallControl& c) {
  const std::string what = "task " + task.task_id;
  if (!modern()) {
    detail::CallControl rc = c;
    rc.on_progress = nullptr;
    try {
      return detail::call_result_from(call("tasks/result", task_params(task.task_id), rc),
                                      "tasks/result " + task.task_id);
    } catch (const ClientError& e) {
      if (e.kind() == Kind::kTimeout || e.kind() == Kind::kCancelled)
        cancel_task_quietly(task.task_id);
      throw;
    }
  }
  TaskInfo t = task;
  std::size_t rounds = 0;
  for (;;) {
    if (t.status == "completed") {
      if (!t.result || !t.result->is_object())
        detail::malformed(what, "a completed task without a result object");
      return detail::call_result_from(t.result->get_object(), what);
    }
    if (t.status == "failed") {
      if (t.error) std::rethrow_exception(detail::error_from(*t.error, what));
      throw Error(error_code::kInternalError, what + " failed: " + t.status_message);
    }
    if (t.status == "cancelled")
      throw ClientError(Kind::kCancelled,
                        what + " was cancelled" +
                            (t.status_message.empty() ? std::string() : ": " + t.status_message));
    if (t.status == "input_required" && t.input_requests) {
      if (++rounds > opt.max_input_rounds) {
        cancel_task_quietly(t.task_id);
        throw ClientError(Kind::kUnsupported, what + " still asks for input after " +
                                                  std::to_string(opt.max_input_rounds) +
                                                  " rounds (ClientOptions::max_input_rounds)");
      }
      bj::object answers;
      try {
        answers = answer_inputs(*t.input_requests);
      } catch (...) {
        cancel_task_quietly(t.task_id);
        throw;
      }
      bj::object params = task_params(t.task_id);
      params["inputResponses"] = std::move(answers);
      call("tasks/update", std::move(params), c);
    } else {
      // Working: wait the interval the server suggests (bounded), watching the deadline and
      // the caller's cancellation.
      milliseconds interval =
          t.poll_interval_ms ? milliseconds(*t.poll_interval_ms) : milliseconds(500);
      interval = std::clamp(interval, opt.min_poll_interval, opt.max_poll_interval);
      const auto until = std::min(detail::ClientClock::now() + interval, c.deadline);
      while (detail::ClientClock::now() < until) {
        if (c.cancellation && c.cancellation->cancelled()) break;
        std::this_thread::sleep_for(std::min<detail::ClientClock::duration>(
            milliseconds(20), until - detail::ClientClock::now()));
      }
    }
    if (c.cancellation && c.cancellation->cancelled()) {
      cancel_task_quietly(t.task_id);
      throw ClientError(Kind::kCancelled, what + " was cancelled by the caller");
    }
    if (detail::ClientClock::now() >= c.deadline) {
      cancel_task_quietly(t.task_id);
      throw ClientError(Kind::kTimeout, what + " did not end within the deadline of " +
                                            detail::duration_text(c.timeout));
    }
    detail::CallControl gc = c;
    gc.on_progress = nullptr;
    t = detail::task_from(call("tasks/get", task_params(t.task_id), gc), "tasks/get " + t.task_id);
  }
}

ToolTask Client::call_tool_as_task(const std::string& name, const json& arguments,
                                   std::optional<milliseconds> ttl, const CallOptions& options) {
  detail::CallControl c = impl_->control(options);
  c.name = name;
  if (!arguments.is_null() && !arguments.is_object())
    throw ClientError(Kind::kUnsupported, "tools/call " + name + ": arguments must be an object");
  bj::object params{{"name", name}};
  if (arguments.is_object()) params["arguments"] = arguments;
  const bool is_modern = impl_->modern();
  if (!is_modern) {
    bj::object t;
    if (ttl) t["ttl"] = ttl->count();
    params["task"] = std::move(t);
  }
  bj::object r = impl_->call("tools/call", std::move(params), c);
  const std::string what = "tools/call " + name;
  ToolTask out;
  if (is_modern) {
    auto rt = r.find("resultType");
    if (rt != r.end() && rt->value().is_string() && rt->value().get_string() == "task")
      out.task = detail::task_from(r, what);
    else
      out.result = detail::call_result_from(std::move(r), what);
  } else if (auto t = r.find("task"); t != r.end() && t->value().is_object()) {
    out.task = detail::task_from(t->value().get_object(), what);
  } else {
    out.result = detail::call_result_from(std::move(r), what);
  }
  return out;
}

TaskInfo Client::get_task(const std::string& task_id, const CallOptions& options) {
  return detail::task_from(impl_->call("tasks/get", task_params(task_id), impl_->control(options)),
                           "tasks/get " + task_id);
}

CallToolResult Client::task_result(const std::string& task_id, const CallOptions& options) {
  const detail::CallControl c = impl_->control(options);
  TaskInfo t;
  t.task_id = task_id;
  if (impl_->modern()) t = get_task(task_id, options);
  return impl_->follow_task(t, c);
}

void Client::cancel_task(const std::string& task_id, const CallOptions& options) {
  impl_->call("tasks/cancel", task_params(task_id), impl_->control(options));
}

std::vector<TaskInfo> Client::list_tasks(const CallOptions& options) {
  if (impl_->modern())
    throw ClientError(Kind::kUnsupported, "tasks/list does not exist in the 2026-07-28 era");
  const detail::CallControl c = impl_->control(options);
  std::vector<TaskInfo> out;
  std::optional<std::string> cursor;
  for (std::size_t page = 0; page < impl_->opt.max_list_pages; ++page) {
    bj::object params;
    if (cursor) params["cursor"] = *cursor;
    bj::object r = impl_->call("tasks/list", std::move(params), c);
    auto tasks = r.find("tasks");
    if (tasks == r.end() || !tasks->value().is_array())
      detail::malformed("tasks/list", "\"tasks\" is missing or not an array");
    for (const auto& t : tasks->value().get_array()) {
      if (!t.is_object()) detail::malformed("tasks/list", "a task is not an object");
      out.push_back(detail::task_from(t.get_object(), "tasks/list"));
    }
    auto next = r.find("nextCursor");
    if (next == r.end() || !next->value().is_string() || next->value().get_string().empty())
      return out;
    if (cursor && *cursor == next->value().get_string())
      detail::malformed("tasks/list", "the server handed out the same cursor twice");
    cursor = std::string(next->value().get_string());
  }
  detail::malformed("tasks/list", "too many pages (ClientOptions::max_list_pages)");
}

}  // namespace mcp
