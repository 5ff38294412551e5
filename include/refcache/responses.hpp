// The shapes RefCache hands back: the reference made by set(), the preview response of get(),
// and the status of an async task. Each has to_json() giving the reference's wire form.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "refcache/preview.hpp"
#include "refcache/task.hpp"

namespace refcache {

// Returned by RefCache::set().
struct CacheReference {
  std::string ref_id{};
  std::string cache_name{};
  std::string ns = "public";
  std::optional<std::string> tool_name{};
  double created_at = 0;
  std::optional<double> expires_at{};
  std::optional<std::size_t> total_items{};  // length of a list/object; null otherwise
  std::size_t total_size = 0;                // UTF-8 bytes of the compact JSON

  boost::json::object to_json() const;
};

// Returned by RefCache::get() for a stored value.
struct CacheResponse {
  std::string ref_id{};
  std::string cache_name{};
  std::string ns{};
  std::optional<std::size_t> total_items{};
  std::size_t original_size = 0;
  std::size_t preview_size = 0;
  boost::json::value preview{};
  PreviewStrategy preview_strategy = PreviewStrategy::kSample;
  std::optional<std::int64_t> page{};
  std::optional<std::int64_t> total_pages{};
  std::optional<std::int64_t> page_size{};
  std::vector<std::string> available_actions{};  // what this actor may do next
  // The name of the custom strategy that made the preview (then preview_strategy is not
  // reported); empty for a built-in strategy.
  std::string custom_strategy{};
  // True only when `preview` is the whole value (PreviewResult::complete).
  bool complete = false;
  // What the preview leaves out (PreviewResult::omitted); empty when complete.
  boost::json::object omitted{};
  // True for the view of a caller that may use the value but not read it (the structure-only
  // shape, RefCache::get): original_size is then written null (not told), and
  // how_to_get_more names the only use left, passing ref_id to tools.
  bool values_withheld = false;

  // {"ref_id","cache_name","namespace","total_items","original_size","preview_size",
  //  "preview","preview_strategy","page","total_pages","has_next","has_previous",
  //  "available_actions","complete","omitted","how_to_get_more"}; paging fields only when
  // paginated; "omitted" and "how_to_get_more" (calls that show the rest, as text) only when
  // not complete.
  boost::json::object to_json() const;
};

enum class AsyncResponseFormat { kMinimal, kStandard, kFull };
std::optional<AsyncResponseFormat> async_format_from_string(std::string_view s);

// Returned by RefCache::get() (and cached calls) while a task is pending/processing, or after
// it failed or was cancelled.
struct AsyncTaskResponse {
  std::string ref_id{};
  TaskStatus status = TaskStatus::kPending;
  std::optional<TaskProgress> progress{};
  double started_at = 0;
  std::optional<double> eta_seconds{};
  std::optional<std::string> error{};
  int retry_count = 0;
  bool can_retry = false;
  std::string message{};

  static AsyncTaskResponse from_task(const TaskRecord& t, double now);
  // The reference's to_dict(format) key order: ref_id, status, is_complete, is_async,
  // [started_at, progress, message], [eta_seconds, error, retry_count, can_retry].
  boost::json::object to_json(AsyncResponseFormat format = AsyncResponseFormat::kStandard) const;
};

// ISO-8601 UTC with microseconds, as Python's datetime.isoformat():
// 2026-11-25T17:07:37.018198+00:00
std::string iso8601(double unix_seconds);

}  // namespace refcache
