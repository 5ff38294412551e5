#include "refcache/backend.hpp"

#include <algorithm>
#include <chrono>

namespace refcache {

double unix_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

std::string_view to_string(ChangeKind k) {
  switch (k) {
    case ChangeKind::kUpdated:
      return "updated";
    case ChangeKind::kDeleted:
      return "deleted";
    case ChangeKind::kCleared:
      return "cleared";
    case ChangeKind::kExpired:
      return "expired";
    case ChangeKind::kResync:
      return "resync";
  }
  return "updated";
}

std::vector<std::string> Backend::keys(std::optional<std::string_view> ns) {
  std::vector<std::string> out;
  std::string cursor;
  // Bounded: every page either advances the cursor or ends the listing.
  for (;;) {
    ListPage page = list(ns, cursor, 1000);
    out.insert(out.end(), std::make_move_iterator(page.ref_ids.begin()),
               std::make_move_iterator(page.ref_ids.end()));
    if (page.next_cursor.empty() || page.next_cursor == cursor) break;
    cursor = std::move(page.next_cursor);
  }
  return out;
}

std::uint64_t Backend::subscribe(ChangeListener listener) {
  std::lock_guard lock(listeners_mu_);
  std::uint64_t id = next_listener_id_++;
  listeners_.emplace_back(id, std::make_shared<ChangeListener>(std::move(listener)));
  listener_count_.store(listeners_.size(), std::memory_order_relaxed);
  return id;
}

void Backend::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(listeners_mu_);
  listeners_.erase(std::remove_if(listeners_.begin(), listeners_.end(),
                                  [id](const auto& p) { return p.first == id; }),
                   listeners_.end());
  listener_count_.store(listeners_.size(), std::memory_order_relaxed);
}

void Backend::emit(const ChangeEvent& event) {
  if (!has_listeners()) return;
  std::vector<std::shared_ptr<ChangeListener>> copy;
  {
    std::lock_guard lock(listeners_mu_);
    copy.reserve(listeners_.size());
    for (const auto& p : listeners_) copy.push_back(p.second);
  }
  for (const auto& l : copy) {
    try {
      (*l)(event);
    } catch (...) {
      // A failing listener must not break the write that triggered it.
    }
  }
}

}  // namespace refcache
