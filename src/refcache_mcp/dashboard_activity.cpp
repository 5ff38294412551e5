#include "refcache_mcp/dashboard_activity.hpp"

#include <algorithm>
#include <stdexcept>

namespace refcache::mcp {

DashboardActivity::DashboardActivity(std::shared_ptr<Backend> inner,
                                     DashboardActivityOptions options)
    : inner_(std::move(inner)), opt_(options) {
  if (!inner_) throw std::invalid_argument("DashboardActivity needs a backend");
  listener_ = inner_->subscribe([this](const ChangeEvent& e) {
    on_event(e);
    emit(e);
  });
}

DashboardActivity::~DashboardActivity() {
  inner_->unsubscribe(listener_);
}

EntryPtr DashboardActivity::get(std::string_view ref_id) {
  EntryPtr e = inner_->get(ref_id);
  if (e) track(ref_id, *e, true);
  return e;
}

std::optional<std::string> DashboardActivity::set(std::string_view ref_id, EntryPtr entry,
                                                  const KeyBinding* binding) {
  // Measured before the store: the preview the caller is about to be shown of this value.
  std::optional<std::uint64_t> saved;
  if (entry) {
    try {
      PreviewRequest req;
      req.max_size = opt_.preview.max_size;
      req.strategy = opt_.preview.default_strategy;
      req.known_total_chars = metadata_count(entry->standard.total_chars);
      PreviewResult pr = generate_preview(entry->value, req, opt_.preview);
      saved = pr.original_size > pr.preview_size ? pr.original_size - pr.preview_size : 0;
    } catch (const std::exception&) {
      // A value the preview cannot measure is stored all the same; it only goes uncounted.
    }
  }
  EntryPtr kept = entry;
  auto out = inner_->set(ref_id, std::move(entry), binding);
  if (kept) {
    track(ref_id, *kept, false);
    if (saved) {
      std::lock_guard lk(mu_);
      tokens_saved_ += *saved;
      ++stores_measured_;
    }
  }
  return out;
}

void DashboardActivity::track(std::string_view ref_id, const CacheEntry& e, bool read) {
  std::lock_guard lk(mu_);
  auto it = refs_.find(std::string(ref_id));
  if (it == refs_.end()) {
    make_room();
    it = refs_.emplace(std::string(ref_id), TrackedRef{.ref_id = std::string(ref_id)}).first;
  }
  TrackedRef& t = it->second;
  t.ns = e.ns;
  t.expires_at = e.expires_at;
  if (auto n = metadata_count(e.standard.total_size)) t.bytes = static_cast<std::int64_t>(*n);
  if (read) ++t.reads;
}

void DashboardActivity::make_room() {
  if (refs_.size() < std::max<std::size_t>(1, opt_.max_refs)) return;
  std::vector<std::pair<std::uint64_t, std::string>> by_reads;
  by_reads.reserve(refs_.size());
  for (const auto& [id, t] : refs_) by_reads.emplace_back(t.reads, id);
  const auto half = by_reads.begin() + static_cast<std::ptrdiff_t>(by_reads.size() / 2);
  std::nth_element(by_reads.begin(), half, by_reads.end());
  for (auto it = by_reads.begin(); it != half; ++it) refs_.erase(it->second);
  if (refs_.size() >= opt_.max_refs) refs_.erase(refs_.begin());
}

void DashboardActivity::on_event(const ChangeEvent& e) {
  std::lock_guard lk(mu_);
  switch (e.kind) {
    case ChangeKind::kUpdated:
      // Another server's store names the ref and its namespace; its size shows once read.
      if (!e.ref_id.empty() && refs_.find(e.ref_id) == refs_.end()) {
        make_room();
        refs_.emplace(e.ref_id, TrackedRef{.ref_id = e.ref_id, .ns = e.ns});
      }
      break;
    case ChangeKind::kDeleted:
    case ChangeKind::kExpired:
      refs_.erase(e.ref_id);
      break;
    case ChangeKind::kCleared:
      for (auto it = refs_.begin(); it != refs_.end();)
        it = e.ns.empty() || it->second.ns == e.ns ? refs_.erase(it) : std::next(it);
      break;
    case ChangeKind::kResync:
      // Changes were missed: the refs seen stay listed (they are this server's observations),
      // and the feed shows the resync so that an operator knows the view may be stale.
      break;
  }
  events_.push_back(SeenEvent{
      .seq = ++last_seq_, .time = unix_now(), .kind = e.kind, .ref_id = e.ref_id, .ns = e.ns});
  while (events_.size() > std::max<std::size_t>(1, opt_.max_events)) events_.pop_front();
}

DashboardActivity::Snapshot DashboardActivity::snapshot(double now) const {
  Snapshot s;
  std::lock_guard lk(mu_);
  s.refs.reserve(refs_.size());
  for (const auto& [id, t] : refs_)
    if (!t.expires_at || now < *t.expires_at) s.refs.push_back(t);
  s.tokens_saved = tokens_saved_;
  s.stores_measured = stores_measured_;
  return s;
}

std::vector<SeenEvent> DashboardActivity::events_since(std::uint64_t after,
                                                       std::uint64_t& last) const {
  std::lock_guard lk(mu_);
  last = last_seq_;
  std::vector<SeenEvent> out;
  for (const auto& e : events_)
    if (e.seq > after) out.push_back(e);
  return out;
}

}  // namespace refcache::mcp
