// The background thread of RedisBackend (see redis_events.hpp).
#include "refcache/backends/redis_events.hpp"

#include <algorithm>

#include "jsonio/json_text.hpp"

namespace refcache::redis_detail {

void RedisEvents::start() {
  if (channel_.empty() && shared_.opts.expiry_sweep_interval.count() <= 0) return;
  thread_ = std::thread([this] { loop(); });
}

void RedisEvents::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void RedisEvents::maybe_sweep() {
  if (hooks_.check_topology && Clock::now() >= next_topology_check_) {
    // Cluster: a periodic look at the slot map, beside the refreshes that MOVED and failed
    // nodes trigger, so that a failover or resharding is seen before a call trips on it.
    next_topology_check_ = Clock::now() + std::chrono::seconds(5);
    try {
      hooks_.check_topology();
    } catch (const std::exception&) {
    }
  }
  const auto interval = shared_.opts.expiry_sweep_interval;
  if (interval.count() <= 0 || Clock::now() < next_sweep_) return;
  next_sweep_ = Clock::now() + interval;
  try {
    hooks_.sweep();
  } catch (const std::exception&) {
    // Redis unreachable or closing: the next sweep catches up.
  }
}

void RedisEvents::loop() {
  const RedisOptions& opts = shared_.opts;
  std::chrono::milliseconds backoff = opts.reconnect_backoff_min;
  while (!stop_) {
    if (channel_.empty()) {
      maybe_sweep();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    std::unique_ptr<RedisSocket> s;
    try {
      auto deadline = Clock::now() + opts.connect_timeout;
      std::string err;
      s = hooks_.open(deadline, err);
      if (err.empty()) {
        Reply r = s->call({"SUBSCRIBE", channel_}, deadline);
        if (r && r->type == REDIS_REPLY_ARRAY) {
          ready_ = true;
          backoff = opts.reconnect_backoff_min;
          read(*s);
        }
      }
    } catch (const std::exception&) {
    }
    ready_ = false;
    s.reset();
    // Wait (in small steps, to stop promptly) before reconnecting.
    auto until = Clock::now() + backoff;
    while (!stop_ && Clock::now() < until) {
      maybe_sweep();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    backoff = std::min(backoff * 2, opts.reconnect_backoff_max);
  }
}

void RedisEvents::read(RedisSocket& s) {
  reconnect_ = false;
  while (!stop_ && !reconnect_) {
    maybe_sweep();
    Reply r = s.next_reply();
    if (!r) {
      s.fill(Clock::now() + std::chrono::milliseconds(100));  // throws when the link dies
      continue;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) continue;
    if (reply_text(r->element[0]) != "message") continue;
    deliver(reply_text(r->element[2]));
  }
}

void RedisEvents::deliver(const std::string& text) {
  std::error_code ec;
  auto v = jsonio::parse(text, ec);
  if (ec || !v.is_array() || v.as_array().size() != 4) return;
  const auto& a = v.as_array();
  for (const auto& x : a)
    if (!x.is_string()) return;
  if (a[0].as_string() == origin_) return;  // our own change, already delivered
  std::string_view kind = a[1].as_string();
  ChangeEvent e;
  if (kind == "updated")
    e.kind = ChangeKind::kUpdated;
  else if (kind == "deleted")
    e.kind = ChangeKind::kDeleted;
  else if (kind == "cleared")
    e.kind = ChangeKind::kCleared;
  else if (kind == "expired")
    e.kind = ChangeKind::kExpired;
  else
    return;
  e.ref_id = std::string(a[2].as_string());
  e.ns = std::string(a[3].as_string());
  hooks_.deliver(e);
}

}  // namespace refcache::redis_detail
