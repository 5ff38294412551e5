// ChangeNotifier: backend change events -> notifications/resources/updated, with the access
// checks described in cached_tools.hpp.
#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "refcache/resolution.hpp"
#include "refcache_mcp/cached_tools.hpp"

namespace refcache::mcp {

namespace {
constexpr std::string_view kPrefix = "refcache://";
}

struct ChangeNotifier::State {
  ::mcp::Server* server;
  RefCache* cache;
  std::atomic<bool> alive{true};
  std::atomic<int> in_flight{0};  // deliveries running (the destructor waits for them)

  // The latest policy and namespace of each ref someone subscribed to: a deletion is
  // checked against the policy the ref had, since the entry is gone by then.
  struct Known {
    AccessPolicy policy;
    std::string ns;
  };
  std::mutex mu;
  std::unordered_map<std::string, Known> known;
  std::atomic<std::size_t> known_count{0};
  static constexpr std::size_t kMaxKnown = 100000;  // beyond: forget half of them

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stop = false;

  std::array<metrics::Counter, 5> events;  // by ChangeKind
  metrics::Counter sent, suppressed;

  void remember(const std::string& ref, const AccessPolicy& p, const std::string& ns) {
    std::lock_guard lk(mu);
    if (known.size() >= kMaxKnown && !known.count(ref)) {
      // Unbounded growth would follow from subscriptions to refs that are never deleted;
      // a forgotten ref only loses its deletion notice.
      std::size_t drop = known.size() / 2;
      for (auto it = known.begin(); it != known.end() && drop > 0; --drop) it = known.erase(it);
    }
    known[ref] = Known{p, ns};
    known_count.store(known.size(), std::memory_order_relaxed);
  }

  std::optional<Known> find(const std::string& ref, bool erase) {
    std::lock_guard lk(mu);
    auto it = known.find(ref);
    if (it == known.end()) return std::nullopt;
    Known k = it->second;
    if (erase) {
      known.erase(it);
      known_count.store(known.size(), std::memory_order_relaxed);
    }
    return k;
  }

  void notify(const std::string& ref, const Known& k) {
    const PermissionChecker& checker = cache->checker();
    server->notify_resource_updated(std::string(kPrefix) + ref, [&](const ::mcp::Subscriber& s) {
      Actor a = derive_actor(identity_of(s.session_id, s.principal));
      bool ok = checker.allows(k.policy, Permission::kRead, a, k.ns);
      (ok ? sent : suppressed).inc();
      return ok;
    });
  }

  void write_metrics(metrics::TextWriter& w) const;

  // One watch round: every subscribed ref that no longer exists is announced as deleted.
  void watch_once() {
    if (known_count.load(std::memory_order_relaxed) == 0) return;
    std::vector<std::pair<std::string, Known>> all;
    {
      std::lock_guard lk(mu);
      all.assign(known.begin(), known.end());
    }
    for (const auto& [ref, k] : all) {
      {
        std::lock_guard lk(stop_mu);
        if (stop) return;
      }
      bool gone = false;
      try {
        gone = !cache->backend().exists(ref);
      } catch (const std::exception&) {
        return;  // the store is unreachable: try again next round
      }
      if (gone && find(ref, true)) {
        watch_found.inc();
        notify(ref, k);
      }
    }
  }
  metrics::Counter watch_found;

  // kResync: changes may have been missed. Every client is told that the resource list may
  // have changed, and each subscribed ref is announced as updated (or deleted, if it is
  // gone), as a change of it may be among the missed ones.
  void resync() {
    server->notify_resources_list_changed();
    std::vector<std::pair<std::string, Known>> all;
    {
      std::lock_guard lk(mu);
      all.assign(known.begin(), known.end());
    }
    for (const auto& [ref, k] : all) {
      EntryPtr entry;
      try {
        entry = cache->backend().get(ref);
      } catch (const std::exception&) {
        notify(ref, k);  // unreachable store: announced under the policy it had
        continue;
      }
      if (entry) {
        remember(ref, entry->policy, entry->ns);
        notify(ref, Known{entry->policy, entry->ns});
      } else if (find(ref, true)) {
        notify(ref, k);
      }
    }
  }

  void on_event(const ChangeEvent& e) {
    events[static_cast<std::size_t>(e.kind)].inc();
    if (e.kind == ChangeKind::kResync) {
      resync();
      return;
    }
    if (known_count.load(std::memory_order_relaxed) == 0) return;  // nobody subscribed
    switch (e.kind) {
      case ChangeKind::kUpdated: {
        if (!find(e.ref_id, false)) return;
        EntryPtr entry;
        try {
          entry = cache->backend().get(e.ref_id);
        } catch (const std::exception&) {
          return;  // the store is unreachable; the next event will tell
        }
        if (!entry) return;  // deleted meanwhile: its own event follows
        remember(e.ref_id, entry->policy, entry->ns);
        notify(e.ref_id, Known{entry->policy, entry->ns});
        return;
      }
      case ChangeKind::kDeleted:
      case ChangeKind::kExpired: {
        if (auto k = find(e.ref_id, true)) notify(e.ref_id, *k);
        return;
      }
      case ChangeKind::kCleared: {
        // The event names a namespace (or everything); the refs that went are the known ones
        // of that namespace that no longer exist.
        std::vector<std::pair<std::string, Known>> candidates;
        {
          std::lock_guard lk(mu);
          for (const auto& [ref, k] : known)
            if (e.ns.empty() || k.ns == e.ns) candidates.emplace_back(ref, k);
        }
        for (const auto& [ref, k] : candidates) {
          bool gone = false;
          try {
            gone = !cache->backend().exists(ref);
          } catch (const std::exception&) {
            continue;
          }
          if (gone && find(ref, true)) notify(ref, k);
        }
        return;
      }
      case ChangeKind::kResync:
        return;  // handled above
    }
  }
};

ChangeNotifier::ChangeNotifier(::mcp::Server& server, RefCache& cache,
                               ChangeNotifierOptions options)
    : server_(server), cache_(cache), state_(std::make_shared<State>()) {
  state_->server = &server;
  state_->cache = &cache;
  std::weak_ptr<State> weak = state_;
  server.set_subscribe_check([weak](const std::string& uri, ::mcp::RequestContext& ctx) {
    auto st = weak.lock();
    if (!st) return true;
    if (uri.compare(0, kPrefix.size(), kPrefix) != 0) return true;  // not a ref: not ours
    std::string ref = uri.substr(kPrefix.size());
    if (!is_ref_id(ref)) return false;
    const Actor actor = derive_actor(identity_of(ctx));
    try {
      EntryPtr e = st->cache->backend().get(ref);
      if (!e || !st->cache->checker().allows(e->policy, Permission::kRead, actor, e->ns))
        return false;  // the same answer for missing and unreadable
      st->remember(ref, e->policy, e->ns);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  });
  server.add_metrics_source([weak](metrics::TextWriter& w) {
    if (auto st = weak.lock()) st->write_metrics(w);
  });
  listener_ = cache.backend().subscribe([st = state_](const ChangeEvent& e) {
    st->in_flight.fetch_add(1);
    if (st->alive.load()) {
      try {
        st->on_event(e);
      } catch (...) {
        // A notification must never break the write that triggered it.
      }
    }
    st->in_flight.fetch_sub(1);
  });
  if (options.watch_interval.count() > 0)
    watcher_ = std::thread([st = state_, every = options.watch_interval] {
      for (;;) {
        {
          std::unique_lock lk(st->stop_mu);
          if (st->stop_cv.wait_for(lk, every, [&] { return st->stop; })) return;
        }
        try {
          st->watch_once();
        } catch (...) {
        }
      }
    });
}

ChangeNotifier::~ChangeNotifier() {
  {
    std::lock_guard lk(state_->stop_mu);
    state_->stop = true;
  }
  state_->stop_cv.notify_all();
  if (watcher_.joinable()) watcher_.join();
  cache_.backend().unsubscribe(listener_);
  server_.set_subscribe_check({});
  state_->alive.store(false);
  // A delivery already past the alive check may still be using the server and the cache.
  while (state_->in_flight.load() > 0) std::this_thread::yield();
}

void ChangeNotifier::write_metrics(metrics::TextWriter& w) const {
  state_->write_metrics(w);
}

void ChangeNotifier::State::write_metrics(metrics::TextWriter& w) const {
  w.family("refcache_change_events_total", "counter",
           "Change events seen from the backend (this process's and, with Redis, other "
           "processes'), by kind.");
  for (ChangeKind k : {ChangeKind::kUpdated, ChangeKind::kDeleted, ChangeKind::kCleared,
                       ChangeKind::kExpired, ChangeKind::kResync})
    w.sample("refcache_change_events_total", {{"kind", to_string(k)}},
             events[static_cast<std::size_t>(k)].value());
  w.family("refcache_resource_notifications_total", "counter",
           "notifications/resources/updated for refcache:// URIs: sent, or suppressed because "
           "the subscriber may not read the ref.");
  w.sample("refcache_resource_notifications_total", {{"result", "sent"}}, sent.value());
  w.sample("refcache_resource_notifications_total", {{"result", "suppressed"}}, suppressed.value());
  w.family("refcache_watch_vanished_total", "counter",
           "Subscribed refs found gone by the periodic watch (no event had announced it: "
           "another process on SQLite, an unnoticed expiry).");
  w.sample("refcache_watch_vanished_total", {}, watch_found.value());
}

}  // namespace refcache::mcp
