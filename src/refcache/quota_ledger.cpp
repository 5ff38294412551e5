#include "refcache/quota_ledger.hpp"

#include <algorithm>
#include <limits>

namespace refcache {

namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();

}  // namespace

QuotaLedger::QuotaLedger(QuotaOptions options, double sweep_interval)
    : options_(options), sweep_interval_(sweep_interval) {}

void QuotaLedger::admit(std::string_view principal, std::string_view ref_id, std::string_view ns,
                        std::uint64_t bytes, double expires_at, double now) {
  std::lock_guard lock(mu_);
  maybe_sweep(now);
  if (options_.max_bytes != 0 && bytes > options_.max_bytes)
    throw QuotaExceeded("value of " + std::to_string(bytes) + " bytes exceeds the quota of " +
                        std::to_string(options_.max_bytes) +
                        " bytes per principal (quota.max_bytes)");
  if (auto pit = principals_.find(principal); pit != principals_.end()) {
    prune(pit->second, now);
    drop_if_empty(pit->second);
  }
  auto old = by_ref_.find(ref_id);
  if (options_.on_exceed == QuotaOverflow::kRefuse) {
    std::size_t entries = 0;
    std::uint64_t held = 0;
    if (auto pit = principals_.find(principal); pit != principals_.end()) {
      entries = pit->second.records.size();
      held = pit->second.bytes;
    }
    // The record of an entry this set overwrites stops counting.
    if (old != by_ref_.end() && old->second.principal->name == principal) {
      entries -= 1;
      held -= old->second.record->bytes;
    }
    if (options_.max_entries != 0 && entries + 1 > options_.max_entries)
      throw QuotaExceeded("the quota of " + std::to_string(options_.max_entries) +
                          " entries per principal is reached (quota.max_entries): delete "
                          "entries or wait for them to expire");
    if (options_.max_bytes != 0 && held + bytes > options_.max_bytes)
      throw QuotaExceeded("storing " + std::to_string(bytes) +
                          " more bytes would exceed the quota of " +
                          std::to_string(options_.max_bytes) +
                          " bytes per principal (quota.max_bytes): delete entries or wait for "
                          "them to expire");
  }
  if (old != by_ref_.end()) {
    Principal& holder = *old->second.principal;
    erase(holder, old->second.record);
    drop_if_empty(holder);
  }
  Principal& p = principal_for(principal);
  p.records.push_back(QuotaRecord{std::string(ref_id), std::string(ns), bytes, expires_at, true});
  by_ref_.emplace(p.records.back().ref_id, Location{&p, std::prev(p.records.end())});
  p.bytes += bytes;
  ++p.pending;
  p.pending_bytes += bytes;
  p.next_expiry = std::min(p.next_expiry, expires_at);
}

std::vector<QuotaRecord> QuotaLedger::settle(std::string_view principal, std::string_view ref_id,
                                             bool stored, double now) {
  std::lock_guard lock(mu_);
  if (auto it = by_ref_.find(ref_id);
      it != by_ref_.end() && it->second.principal->name == principal) {
    if (stored) {
      Principal& p = *it->second.principal;
      QuotaRecord& r = *it->second.record;
      if (r.pending) {
        r.pending = false;
        --p.pending;
        p.pending_bytes -= r.bytes;
      }
    } else {
      Principal& p = *it->second.principal;
      erase(p, it->second.record);
      drop_if_empty(p);
    }
  }
  auto pit = principals_.find(principal);
  if (pit == principals_.end()) return {};
  Principal& p = pit->second;
  prune(p, now);
  std::vector<QuotaRecord> victims = take_victims(p);
  drop_if_empty(p);
  return victims;
}

void QuotaLedger::restore(std::string_view principal, std::vector<QuotaRecord> victims) {
  if (victims.empty()) return;
  std::lock_guard lock(mu_);
  Principal& p = principal_for(principal);
  // Back to the front, in their order: they were the oldest.
  std::reverse(victims.begin(), victims.end());
  for (QuotaRecord& r : victims) {
    if (by_ref_.find(r.ref_id) != by_ref_.end()) continue;  // charged again meanwhile
    r.pending = false;
    p.bytes += r.bytes;
    p.next_expiry = std::min(p.next_expiry, r.expires_at);
    p.records.push_front(std::move(r));
    by_ref_.emplace(p.records.front().ref_id, Location{&p, p.records.begin()});
  }
  drop_if_empty(p);
}

void QuotaLedger::forget(std::string_view ref_id) {
  std::lock_guard lock(mu_);
  auto it = by_ref_.find(ref_id);
  // A pending record's set has not landed yet: an event about an earlier entry under the same
  // ref id must not uncount the one being stored.
  if (it == by_ref_.end() || it->second.record->pending) return;
  Principal& p = *it->second.principal;
  erase(p, it->second.record);
  drop_if_empty(p);
}

void QuotaLedger::forget_namespace(std::optional<std::string_view> ns) {
  std::lock_guard lock(mu_);
  for (auto pit = principals_.begin(); pit != principals_.end();) {
    Principal& p = pit->second;
    for (auto it = p.records.begin(); it != p.records.end();) {
      auto next = std::next(it);
      if (!it->pending && (!ns || it->ns == *ns)) erase(p, it);
      it = next;
    }
    if (p.records.empty())
      pit = principals_.erase(pit);
    else
      ++pit;
  }
}

void QuotaLedger::sweep(double now) {
  std::lock_guard lock(mu_);
  sweep_locked(now);
}

QuotaLedger::Usage QuotaLedger::usage(std::string_view principal) const {
  std::lock_guard lock(mu_);
  auto it = principals_.find(principal);
  if (it == principals_.end()) return {};
  return Usage{it->second.records.size(), it->second.bytes};
}

std::size_t QuotaLedger::records() const {
  std::lock_guard lock(mu_);
  return by_ref_.size();
}

std::size_t QuotaLedger::principals() const {
  std::lock_guard lock(mu_);
  return principals_.size();
}

QuotaLedger::Principal& QuotaLedger::principal_for(std::string_view name) {
  auto it = principals_.find(name);
  if (it == principals_.end()) {
    it = principals_.emplace(std::string(name), Principal{}).first;
    it->second.name = it->first;
    it->second.next_expiry = kNever;
  }
  return it->second;
}

void QuotaLedger::erase(Principal& p, std::list<QuotaRecord>::iterator it) {
  p.bytes -= it->bytes;
  if (it->pending) {
    --p.pending;
    p.pending_bytes -= it->bytes;
  }
  by_ref_.erase(it->ref_id);
  p.records.erase(it);
}

void QuotaLedger::drop_if_empty(Principal& p) {
  if (p.records.empty()) principals_.erase(principals_.find(std::string_view(p.name)));
}

void QuotaLedger::prune(Principal& p, double now) {
  if (now < p.next_expiry) return;
  double next = kNever;
  for (auto it = p.records.begin(); it != p.records.end();) {
    auto following = std::next(it);
    if (now >= it->expires_at)  // expiry is inclusive, as on every read path
      erase(p, it);
    else
      next = std::min(next, it->expires_at);
    it = following;
  }
  p.next_expiry = next;
}

bool QuotaLedger::over(const Principal& p) const {
  // Settled records only: a set in flight is counted by its own settle().
  return (options_.max_entries != 0 && p.records.size() - p.pending > options_.max_entries) ||
         (options_.max_bytes != 0 && p.bytes - p.pending_bytes > options_.max_bytes);
}

std::vector<QuotaRecord> QuotaLedger::take_victims(Principal& p) {
  std::vector<QuotaRecord> victims;
  for (auto it = p.records.begin(); it != p.records.end() && over(p);) {
    auto next = std::next(it);
    if (!it->pending) {
      by_ref_.erase(it->ref_id);
      p.bytes -= it->bytes;
      victims.push_back(std::move(*it));
      p.records.erase(it);
    }
    it = next;
  }
  return victims;
}

void QuotaLedger::sweep_locked(double now) {
  for (auto pit = principals_.begin(); pit != principals_.end();) {
    prune(pit->second, now);
    if (pit->second.records.empty())
      pit = principals_.erase(pit);
    else
      ++pit;
  }
}

void QuotaLedger::maybe_sweep(double now) {
  if (now < next_sweep_) return;
  sweep_locked(now);
  next_sweep_ = now + sweep_interval_;
}

}  // namespace refcache
