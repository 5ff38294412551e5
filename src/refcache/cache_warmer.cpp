#include "refcache/cache_warmer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "refcache/errors.hpp"

namespace refcache {

namespace {

std::chrono::milliseconds seconds_to_ms(double s) {
  if (s <= 0) return std::chrono::milliseconds(0);
  // Bounded: a due time days away is re-checked then, not slept through in one wait.
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::min(s, 86400.0) * 1000.0));
}

}  // namespace

CacheWarmer::CacheWarmer(RefCache& cache, CacheWarmerOptions options)
    : cache_(cache), options_(std::move(options)) {
  if (!(options_.refresh_at > 0 && options_.refresh_at < 1))
    throw InvalidArgument("refresh_at must be between 0 and 1 (a fraction of the TTL)");
  if (options_.retry_delay.count() <= 0 || options_.retry_max < options_.retry_delay)
    throw InvalidArgument("retry_delay must be positive and at most retry_max");
  const double now = cache_.now();
  for (const auto& c : options_.calls) {
    if (c.tool.empty()) throw InvalidArgument("a warmed call needs a tool name");
    status_.push_back(WarmCallStatus{.tool = c.tool, .next_run = now});
  }
  created_at_.assign(options_.calls.size(), 0);
  backoff_.assign(options_.calls.size(), options_.retry_delay);
  thread_ = std::thread([this] { run(); });
}

CacheWarmer::~CacheWarmer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cancel_->store(true);
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<WarmCallStatus> CacheWarmer::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void CacheWarmer::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // The call due first; none when no call will run again.
    std::optional<std::size_t> due;
    for (std::size_t i = 0; i < status_.size(); ++i)
      if (status_[i].next_run && (!due || *status_[i].next_run < *status_[*due].next_run)) due = i;
    if (!due) {
      wake_.wait(lock, [this] { return stopping_; });
      break;
    }
    const double wait_s = *status_[*due].next_run - cache_.now();
    if (wait_s > 0) {
      wake_.wait_for(lock, seconds_to_ms(wait_s));
      continue;  // stopped, or re-pick (the clock may have moved)
    }
    lock.unlock();
    make_call(*due);
    lock.lock();
  }
}

void CacheWarmer::make_call(std::size_t i) {
  const WarmCall& c = options_.calls[i];
  double have;
  {
    std::lock_guard lock(mu_);
    have = created_at_[i];
  }
  std::string error;
  std::string ref_id;
  double created = 0;
  std::optional<double> expires;
  try {
    std::shared_ptr<CachedCall> call = cache_.find_call(c.tool);
    if (!call) throw InvalidArgument("no cached tool named '" + c.tool + "'");
    CallOverrides ov;
    ov.cancel = cancel_;
    // A refresh asks for a result newer than the one it has; the first call takes any.
    if (have > 0) ov.not_before = std::nextafter(have, HUGE_VAL);
    boost::json::object answer = call->call(c.arguments, c.identity, ov);
    auto r = answer.find("ref_id");
    if (r == answer.end() || !r->value().is_string()) throw Error("the call answered no ref_id");
    ref_id = std::string(r->value().get_string());
    if (answer.contains("status") && !answer.contains("value") && !answer.contains("preview") &&
        !answer.contains("value_withheld"))
      throw Error("the call is still running in the background (async); retrying");
    EntryPtr e = cache_.tenant(c.identity.tenant).backend().get(ref_id);
    if (!e) throw Error("its result expired at once");
    created = e->created_at;
    expires = e->expires_at;
  } catch (const std::exception& ex) {
    error = ex.what();
  }
  std::lock_guard lock(mu_);
  WarmCallStatus& s = status_[i];
  const double now = cache_.now();
  if (!error.empty()) {
    if (stopping_) return;
    ++s.failures;
    s.last_error = error;
    s.next_run = now + std::chrono::duration<double>(backoff_[i]).count();
    spdlog::warn("cache warming: {} failed ({} in a row), retried in {} ms: {}", c.tool, s.failures,
                 backoff_[i].count(), error);
    backoff_[i] = std::min(backoff_[i] * 2, options_.retry_max);
    return;
  }
  ++s.runs;
  s.failures = 0;
  s.last_error.clear();
  s.ref_id = ref_id;
  backoff_[i] = options_.retry_delay;
  created_at_[i] = created;
  if (!expires) {
    s.next_run.reset();  // never expires: nothing to refresh
    return;
  }
  double due = created + options_.refresh_at * (*expires - created);
  // A result already past its refresh point (another process's, late) is refreshed soon,
  // not in a loop: at least a tenth of the time it has left.
  if (due <= now) due = now + std::max(0.1 * (*expires - now), 0.01);
  s.next_run = due;
}

}  // namespace refcache
