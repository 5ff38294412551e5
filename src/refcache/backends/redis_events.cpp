// The background thread of RedisBackend (see redis_events.hpp).
#include "refcache/backends/redis_events.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>

#include "jsonio/json_text.hpp"

namespace refcache::redis_detail {

namespace {

// A stream entry id "<ms>-<seq>" as a comparable pair; {0, 0} for what is not one.
std::pair<std::uint64_t, std::uint64_t> parse_id(std::string_view id) {
  std::pair<std::uint64_t, std::uint64_t> out{0, 0};
  auto dash = id.find('-');
  if (dash == std::string_view::npos) return out;
  std::from_chars(id.data(), id.data() + dash, out.first);
  std::from_chars(id.data() + dash + 1, id.data() + id.size(), out.second);
  return out;
}

// The value of `field` in a flat RESP2 field/value array (XINFO STREAM); null if absent.
const redisReply* field_of(const redisReply* r, std::string_view field) {
  if (!r || r->type != REDIS_REPLY_ARRAY) return nullptr;
  for (size_t i = 0; i + 1 < r->elements; i += 2)
    if (reply_text(r->element[i]) == field) return r->element[i + 1];
  return nullptr;
}

// A stream entry [id, [field, value, ...]]: its id.
std::string entry_id(const redisReply* e) {
  if (!e || e->type != REDIS_REPLY_ARRAY || e->elements < 1) return {};
  return reply_text(e->element[0]);
}

}  // namespace

void RedisEvents::start() {
  if (stream_.empty() && shared_.opts.expiry_sweep_interval.count() <= 0) return;
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
    if (stream_.empty()) {
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
        reconnect_ = false;
        check_position(*s);
        ready_ = true;
        backoff = opts.reconnect_backoff_min;
        read(*s);
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

void RedisEvents::check_position(RedisSocket& s) {
  auto deadline = Clock::now() + shared_.opts.socket_timeout;
  Reply info = s.call({"XINFO", "STREAM", stream_}, deadline);
  if (!info) throw TransportError("no reply to XINFO STREAM");
  if (info->type == REDIS_REPLY_ERROR) {
    std::string why = reply_text(info.get());
    if (why.find("no such key") == std::string::npos) throw TransportError(why);
    // No stream (nothing written yet, or it was deleted): start at its beginning.
    if (!last_id_.empty() && last_id_ != "0-0") hooks_.deliver({ChangeKind::kResync, "", ""});
    last_id_ = "0-0";
    return;
  }
  std::string last = reply_text(field_of(info.get(), "last-generated-id"));
  if (last_id_.empty()) {  // the first connection: from the end
    last_id_ = last.empty() ? "0-0" : last;
    return;
  }
  const auto pos = parse_id(last_id_);
  if (parse_id(last) < pos) {
    // The stream was replaced (deleted and written again, or a failover lost entries): what
    // it holds now is all news to us, and what we missed is unknown.
    hooks_.deliver({ChangeKind::kResync, "", ""});
    last_id_ = "0-0";
    return;
  }
  // Trimmed past us: the oldest entry left is newer than the next one we would read, and
  // the entry we read last is gone (if it is still there, nothing after it was trimmed).
  std::string first = entry_id(field_of(info.get(), "first-entry"));
  if (first.empty() || !(pos < parse_id(first))) return;
  const redisReply* added = field_of(info.get(), "entries-added");
  const redisReply* length = field_of(info.get(), "length");
  if (added && length && added->type == REDIS_REPLY_INTEGER &&
      length->type == REDIS_REPLY_INTEGER && added->integer == length->integer)
    return;  // nothing was ever trimmed
  Reply mine = s.call({"XRANGE", stream_, last_id_, last_id_}, deadline);
  if (mine && mine->type == REDIS_REPLY_ARRAY && mine->elements == 1) return;
  hooks_.deliver({ChangeKind::kResync, "", ""});
}

void RedisEvents::read(RedisSocket& s) {
  static constexpr std::size_t kBatch = 1000;
  const std::string batch = std::to_string(kBatch);
  while (!stop_ && !reconnect_) {
    maybe_sweep();
    Reply r = s.call({"XREAD", "COUNT", batch, "BLOCK", "100", "STREAMS", stream_, last_id_},
                     Clock::now() + shared_.opts.socket_timeout + std::chrono::milliseconds(100));
    if (!r) throw TransportError("no reply to XREAD");
    if (r->type == REDIS_REPLY_ERROR) throw TransportError(reply_text(r.get()));
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1) continue;  // nil: nothing new
    const redisReply* one = r->element[0];
    if (one->type != REDIS_REPLY_ARRAY || one->elements < 2) continue;
    const redisReply* entries = one->element[1];
    if (entries->type != REDIS_REPLY_ARRAY) continue;
    for (size_t i = 0; i < entries->elements; ++i) {
      const redisReply* e = entries->element[i];
      std::string id = entry_id(e);
      if (id.empty()) continue;
      if (e->elements >= 2 && e->element[1]->type == REDIS_REPLY_ARRAY) {
        const redisReply* fields = e->element[1];
        if (const redisReply* v = field_of(fields, "e")) deliver(reply_text(v));
      }
      last_id_ = std::move(id);
    }
    // A full batch: the reader is behind, and the writers may be trimming past it.
    if (entries->elements >= kBatch) check_position(s);
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
