// Task records: the state of an async cached call, stored through the Backend so that any
// process sharing the store can poll it.
#pragma once

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include "refcache/access_policy.hpp"

namespace refcache {

enum class TaskStatus { kPending, kProcessing, kComplete, kFailed, kCancelled };
std::string_view to_string(TaskStatus s);  // "pending", "processing", ...
std::optional<TaskStatus> task_status_from_string(std::string_view s);

struct TaskProgress {
  std::optional<std::int64_t> current{};
  std::optional<std::int64_t> total{};
  std::optional<std::string> message{};
  // current/total*100 when both are set and total > 0.
  std::optional<double> percentage() const;
  bool operator==(const TaskProgress&) const = default;
};

struct TaskRecord {
  std::string ref_id{};  // the task id is the future ref id
  TaskStatus status = TaskStatus::kPending;
  std::optional<TaskProgress> progress{};
  double started_at = 0;  // Unix seconds
  std::optional<double> completed_at{};
  double updated_at = 0;  // last change; workers refresh it as a heartbeat
  std::optional<std::string> error{};
  int attempt = 0;  // attempts made so far (1 = first run)
  int max_attempts = 1;
  bool cancel_requested = false;
  std::string worker{};                // "<host>:<pid>" of the process running it
  std::optional<double> expires_at{};  // the record disappears after this
  std::string ns = "public";           // namespace and policy the result will be stored under;
  AccessPolicy policy{};               // polling a task is checked against them
  // Its run holds the claim task_lease_claim(ref_id) while it lives (renewed every third of
  // the claim lease): a record still "processing" whose claim has lapsed lost its server.
  bool leased = false;

  bool is_terminal() const {
    return status == TaskStatus::kComplete || status == TaskStatus::kFailed ||
           status == TaskStatus::kCancelled;
  }
  bool operator==(const TaskRecord&) const = default;
};

// The liveness claim of a leased task's run.
inline std::string task_lease_claim(std::string_view ref_id) {
  return "task:" + std::string(ref_id);
}

boost::json::object to_json(const TaskRecord& t);
// Throws std::invalid_argument on a malformed record.
TaskRecord task_from_json(const boost::json::value& v);

}  // namespace refcache
