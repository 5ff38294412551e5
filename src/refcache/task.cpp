#include "refcache/task.hpp"

#include <boost/json.hpp>
#include <stdexcept>

namespace refcache {
namespace json = boost::json;

std::string_view to_string(TaskStatus s) {
  switch (s) {
    case TaskStatus::kPending:
      return "pending";
    case TaskStatus::kProcessing:
      return "processing";
    case TaskStatus::kComplete:
      return "complete";
    case TaskStatus::kFailed:
      return "failed";
    case TaskStatus::kCancelled:
      return "cancelled";
  }
  return "pending";
}

std::optional<TaskStatus> task_status_from_string(std::string_view s) {
  if (s == "pending") return TaskStatus::kPending;
  if (s == "processing") return TaskStatus::kProcessing;
  if (s == "complete") return TaskStatus::kComplete;
  if (s == "failed") return TaskStatus::kFailed;
  if (s == "cancelled") return TaskStatus::kCancelled;
  return std::nullopt;
}

std::optional<double> TaskProgress::percentage() const {
  if (current && total && *total > 0)
    return static_cast<double>(*current) / static_cast<double>(*total) * 100.0;
  return std::nullopt;
}

namespace {
template <class T>
json::value opt(const std::optional<T>& v) {
  if (!v) return nullptr;
  return json::value(*v);
}

const json::value* field(const json::object& o, std::string_view k) {
  auto it = o.find(k);
  return it == o.end() || it->value().is_null() ? nullptr : &it->value();
}

double num(const json::value& v, std::string_view name) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  throw std::invalid_argument("task field '" + std::string(name) + "' must be a number");
}

std::int64_t integer(const json::value& v, std::string_view name) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) return static_cast<std::int64_t>(v.get_uint64());
  throw std::invalid_argument("task field '" + std::string(name) + "' must be an integer");
}

std::string str(const json::value& v, std::string_view name) {
  if (!v.is_string())
    throw std::invalid_argument("task field '" + std::string(name) + "' must be a string");
  return std::string(v.get_string());
}
}  // namespace

json::object to_json(const TaskRecord& t) {
  json::object o;
  o["ref_id"] = t.ref_id;
  o["status"] = to_string(t.status);
  if (t.progress) {
    json::object p;
    p["current"] = opt(t.progress->current);
    p["total"] = opt(t.progress->total);
    p["message"] = opt(t.progress->message);
    p["percentage"] = opt(t.progress->percentage());
    o["progress"] = std::move(p);
  } else {
    o["progress"] = nullptr;
  }
  o["started_at"] = t.started_at;
  o["completed_at"] = opt(t.completed_at);
  o["updated_at"] = t.updated_at;
  o["error"] = opt(t.error);
  o["attempt"] = t.attempt;
  o["max_attempts"] = t.max_attempts;
  o["cancel_requested"] = t.cancel_requested;
  o["worker"] = t.worker;
  o["expires_at"] = opt(t.expires_at);
  o["namespace"] = t.ns;
  o["policy"] = to_json(t.policy);
  o["leased"] = t.leased;
  return o;
}

TaskRecord task_from_json(const json::value& v) {
  if (!v.is_object()) throw std::invalid_argument("task record must be a JSON object");
  const auto& o = v.get_object();
  TaskRecord t;
  const json::value* f = field(o, "ref_id");
  if (!f) throw std::invalid_argument("task record lacks 'ref_id'");
  t.ref_id = str(*f, "ref_id");
  f = field(o, "status");
  if (!f) throw std::invalid_argument("task record lacks 'status'");
  auto st = task_status_from_string(str(*f, "status"));
  if (!st) throw std::invalid_argument("task record has an unknown status");
  t.status = *st;
  if ((f = field(o, "progress"))) {
    if (!f->is_object()) throw std::invalid_argument("task field 'progress' must be an object");
    const auto& po = f->get_object();
    TaskProgress p;
    if (auto* c = field(po, "current")) p.current = integer(*c, "progress.current");
    if (auto* c = field(po, "total")) p.total = integer(*c, "progress.total");
    if (auto* c = field(po, "message")) p.message = str(*c, "progress.message");
    t.progress = p;
  }
  if ((f = field(o, "started_at"))) t.started_at = num(*f, "started_at");
  if ((f = field(o, "completed_at"))) t.completed_at = num(*f, "completed_at");
  if ((f = field(o, "updated_at"))) t.updated_at = num(*f, "updated_at");
  if ((f = field(o, "error"))) t.error = str(*f, "error");
  if ((f = field(o, "attempt"))) t.attempt = static_cast<int>(integer(*f, "attempt"));
  if ((f = field(o, "max_attempts")))
    t.max_attempts = static_cast<int>(integer(*f, "max_attempts"));
  if ((f = field(o, "cancel_requested"))) {
    if (!f->is_bool()) throw std::invalid_argument("task field 'cancel_requested' must be bool");
    t.cancel_requested = f->get_bool();
  }
  if ((f = field(o, "worker"))) t.worker = str(*f, "worker");
  if ((f = field(o, "expires_at"))) t.expires_at = num(*f, "expires_at");
  if ((f = field(o, "namespace"))) t.ns = str(*f, "namespace");
  if ((f = field(o, "policy"))) t.policy = policy_from_json(*f);
  if ((f = field(o, "leased"))) {
    if (!f->is_bool()) throw std::invalid_argument("task field 'leased' must be bool");
    t.leased = f->get_bool();
  }
  return t;
}

}  // namespace refcache
