#include "refcache/responses.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <ctime>

namespace refcache {
namespace json = boost::json;

namespace {
template <class T>
json::value opt(const std::optional<T>& v) {
  if (!v) return nullptr;
  return json::value(*v);
}
}  // namespace

json::object CacheReference::to_json() const {
  json::object o;
  o["ref_id"] = ref_id;
  o["cache_name"] = cache_name;
  o["namespace"] = ns;
  o["tool_name"] = opt(tool_name);
  o["created_at"] = created_at;
  o["expires_at"] = opt(expires_at);
  o["total_items"] = opt(total_items);
  o["total_size"] = total_size;
  return o;
}

json::object CacheResponse::to_json() const {
  json::object o;
  o.reserve(16);
  o["ref_id"] = ref_id;
  o["cache_name"] = cache_name;
  o["namespace"] = ns;
  o["total_items"] = opt(total_items);
  o["original_size"] = values_withheld ? json::value(nullptr) : json::value(original_size);
  o["preview_size"] = preview_size;
  o["preview"] = preview;
  o["preview_strategy"] = custom_strategy.empty()
                              ? json::string(refcache::to_string(preview_strategy))
                              : json::string(custom_strategy);
  o["page"] = opt(page);
  o["total_pages"] = opt(total_pages);
  if (page) {
    o["page_size"] = opt(page_size);
    o["has_next"] = total_pages && *page < *total_pages;
    o["has_previous"] = *page > 1;
  }
  json::array actions;
  for (const auto& a : available_actions) actions.emplace_back(a);
  o["available_actions"] = std::move(actions);
  o["complete"] = complete;
  if (complete) return o;
  o["omitted"] = omitted;
  json::array more;
  if (values_withheld) {
    more.emplace_back("pass ref_id='" + ref_id +
                      "' to tools that take it: you may use this value but not read it");
    o["how_to_get_more"] = std::move(more);
    return o;
  }
  const std::string ref = "get_cached_result(ref_id='" + ref_id + "'";
  if (page && total_pages && *page < *total_pages)
    more.emplace_back(ref + ", page=" + std::to_string(*page + 1) + ") for the next page");
  more.emplace_back(ref + ", full=true) for the whole value");
  more.emplace_back(ref + ", max_size=...) for a larger preview");
  more.emplace_back(
      "query_cached_result(ref_id='" + ref_id +
      "', sql='SELECT ... FROM data') for exactly the rows or figures needed, where offered");
  o["how_to_get_more"] = std::move(more);
  return o;
}

std::optional<AsyncResponseFormat> async_format_from_string(std::string_view s) {
  if (s == "minimal") return AsyncResponseFormat::kMinimal;
  if (s == "standard") return AsyncResponseFormat::kStandard;
  if (s == "full") return AsyncResponseFormat::kFull;
  return std::nullopt;
}

AsyncTaskResponse AsyncTaskResponse::from_task(const TaskRecord& t, double now) {
  AsyncTaskResponse r;
  r.ref_id = t.ref_id;
  r.status = t.status;
  r.progress = t.progress;
  r.started_at = t.started_at;
  r.error = t.error;
  r.retry_count = t.attempt > 1 ? t.attempt - 1 : 0;
  // A failed call runs again when called again with the same arguments.
  r.can_retry = t.status == TaskStatus::kFailed || t.status == TaskStatus::kCancelled;
  if (t.progress && t.progress->current && t.progress->total && *t.progress->current > 0 &&
      now > t.started_at) {
    double rate = static_cast<double>(*t.progress->current) / (now - t.started_at);
    double left = static_cast<double>(*t.progress->total - *t.progress->current);
    r.eta_seconds = left > 0 ? left / rate : 0.0;
  }
  switch (t.status) {
    case TaskStatus::kProcessing:
      r.message = t.progress && t.progress->message
                      ? *t.progress->message
                      : "Task is processing (ref_id=" + t.ref_id + ")";
      break;
    case TaskStatus::kPending:
      r.message = "Task is queued and will start shortly";
      break;
    case TaskStatus::kFailed:
      r.message = "Task failed: " + t.error.value_or("unknown error");
      break;
    case TaskStatus::kCancelled:
      r.message = "Task was cancelled";
      break;
    case TaskStatus::kComplete:
      r.message = "Task completed successfully";
      break;
  }
  return r;
}

json::object AsyncTaskResponse::to_json(AsyncResponseFormat format) const {
  json::object o;
  o["ref_id"] = ref_id;
  o["status"] = refcache::to_string(status);
  o["is_complete"] = false;
  o["is_async"] = true;
  if (format == AsyncResponseFormat::kMinimal) return o;
  o["started_at"] = iso8601(started_at);
  if (progress) {
    json::object p;
    p["current"] = opt(progress->current);
    p["total"] = opt(progress->total);
    p["message"] = opt(progress->message);
    p["percentage"] = opt(progress->percentage());
    o["progress"] = std::move(p);
  } else {
    o["progress"] = nullptr;
  }
  o["message"] = message;
  if (format == AsyncResponseFormat::kStandard) return o;
  o["eta_seconds"] = opt(eta_seconds);
  o["error"] = opt(error);
  o["retry_count"] = retry_count;
  o["can_retry"] = can_retry;
  return o;
}

std::string iso8601(double unix_seconds) {
  double whole = std::floor(unix_seconds);
  auto micros = static_cast<long long>(std::nearbyint((unix_seconds - whole) * 1e6));
  auto secs = static_cast<std::time_t>(whole);
  if (micros >= 1000000) {
    micros -= 1000000;
    ++secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf, n);
  if (micros != 0) {
    char frac[32];
    const int len = std::snprintf(frac, sizeof frac, ".%06lld", micros);
    if (len > 0) out.append(frac, static_cast<std::size_t>(len));
  }
  out += "+00:00";
  return out;
}

}  // namespace refcache
