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

// The store a caller's operations use: its tenant's when the cache has tenants, else the
// cache's own ("").
std::string store_of(const RefCache& cache, const CallIdentity& who) {
  return cache.has_tenants() ? who.tenant : std::string();
}

// Subscribed refs are known per store: "tenant/ref" (neither a tenant id nor a ref id holds a
// '/'), so that equal ref ids in two tenants' stores stay apart.
std::string known_key(const std::string& tenant, const std::string& ref) {
  return tenant.empty() ? ref : tenant + "/" + ref;
}
}  // namespace

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
    std::string tenant;  // the store the ref lives in ("" = the cache's own)
    std::string ref;
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

  // The backend of each store whose events are listened to (the cache's own, and each tenant's
  // once one of its sessions subscribes): tenant -> listener id.
  std::mutex listeners_mu;
  std::unordered_map<std::string, std::uint64_t> listeners;

  Backend& store(const std::string& tenant) { return cache->tenant(tenant).backend(); }

  void remember(const std::string& key, const Known& k) {
    std::lock_guard lk(mu);
    if (known.size() >= kMaxKnown && !known.count(key)) {
      // Unbounded growth would follow from subscriptions to refs that are never deleted;
      // a forgotten ref only loses its deletion notice.
      std::size_t drop = known.size() / 2;
      for (auto it = known.begin(); it != known.end() && drop > 0; --drop) it = known.erase(it);
    }
    known[key] = k;
    known_count.store(known.size(), std::memory_order_relaxed);
  }

  std::optional<Known> find(const std::string& key, bool erase) {
    std::lock_guard lk(mu);
    auto it = known.find(key);
    if (it == known.end()) return std::nullopt;
    Known k = it->second;
    if (erase) {
      known.erase(it);
      known_count.store(known.size(), std::memory_order_relaxed);
    }
    return k;
  }

  void notify(const Known& k) {
    const PermissionChecker& checker = cache->checker();
    server->notify_resource_updated(std::string(kPrefix) + k.ref, [&](const ::mcp::Subscriber& s) {
      const CallIdentity who = identity_of(s.session_id, s.principal);
      // Only the ref's own tenant hears of it, whatever its policy lets others do.
      bool ok = store_of(*cache, who) == k.tenant &&
                checker.allows(k.policy, Permission::kRead, derive_actor(who), k.ns);
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
    for (const auto& [key, k] : all) {
      {
        std::lock_guard lk(stop_mu);
        if (stop) return;
      }
      bool gone = false;
      try {
        gone = !store(k.tenant).exists(k.ref);
      } catch (const std::exception&) {
        continue;  // that store is unreachable: try again next round
      }
      if (gone && find(key, true)) {
        watch_found.inc();
        notify(k);
      }
    }
  }
  metrics::Counter watch_found;

  // kResync: changes may have been missed. Every client is told that the resource list may
  // have changed, and each subscribed ref is announced as updated (or deleted, if it is
  // gone), as a change of it may be among the missed ones.
  void resync(const std::string& tenant) {
    server->notify_resources_list_changed();
    std::vector<std::pair<std::string, Known>> all;
    {
      std::lock_guard lk(mu);
      for (const auto& [key, k] : known)
        if (k.tenant == tenant) all.emplace_back(key, k);
    }
    for (const auto& [key, k] : all) {
      EntryPtr entry;
      try {
        entry = store(tenant).get(k.ref);
      } catch (const std::exception&) {
        notify(k);  // unreachable store: announced under the policy it had
        continue;
      }
      if (entry) {
        Known now{entry->policy, entry->ns, tenant, k.ref};
        remember(key, now);
        notify(now);
      } else if (find(key, true)) {
        notify(k);
      }
    }
  }

  // An event of the store of `tenant`.
  void on_event(const ChangeEvent& e, const std::string& tenant) {
    events[static_cast<std::size_t>(e.kind)].inc();
    if (e.kind == ChangeKind::kResync) {
      resync(tenant);
      return;
    }
    if (known_count.load(std::memory_order_relaxed) == 0) return;  // nobody subscribed
    const std::string key = known_key(tenant, e.ref_id);
    switch (e.kind) {
      case ChangeKind::kUpdated: {
        if (!find(key, false)) return;
        EntryPtr entry;
        try {
          entry = store(tenant).get(e.ref_id);
        } catch (const std::exception&) {
          return;  // the store is unreachable; the next event will tell
        }
        if (!entry) return;  // deleted meanwhile: its own event follows
        Known now{entry->policy, entry->ns, tenant, e.ref_id};
        remember(key, now);
        notify(now);
        return;
      }
      case ChangeKind::kDeleted:
      case ChangeKind::kExpired: {
        if (auto k = find(key, true)) notify(*k);
        return;
      }
      case ChangeKind::kCleared: {
        // The event names a namespace (or everything); the refs that went are the known ones
        // of that namespace that no longer exist.
        std::vector<std::pair<std::string, Known>> candidates;
        {
          std::lock_guard lk(mu);
          for (const auto& [k_key, k] : known)
            if (k.tenant == tenant && (e.ns.empty() || k.ns == e.ns))
              candidates.emplace_back(k_key, k);
        }
        for (const auto& [k_key, k] : candidates) {
          bool gone = false;
          try {
            gone = !store(tenant).exists(k.ref);
          } catch (const std::exception&) {
            continue;
          }
          if (gone && find(k_key, true)) notify(k);
        }
        return;
      }
      case ChangeKind::kResync:
        return;  // handled above
    }
  }

  // Listens to the events of the store of `tenant`, once.
  static void listen(const std::shared_ptr<State>& st, const std::string& tenant) {
    std::lock_guard lk(st->listeners_mu);
    if (st->listeners.count(tenant)) return;
    std::weak_ptr<State> weak = st;
    st->listeners[tenant] = st->store(tenant).subscribe([weak, tenant](const ChangeEvent& e) {
      auto s = weak.lock();
      if (!s) return;
      s->in_flight.fetch_add(1);
      if (s->alive.load()) {
        try {
          s->on_event(e, tenant);
        } catch (...) {
          // A notification must never break the write that triggered it.
        }
      }
      s->in_flight.fetch_sub(1);
    });
  }
};

ChangeNotifier::ChangeNotifier(::mcp::Server& server, RefCache& cache,
                               ChangeNotifierOptions options)
    : server_(server), state_(std::make_shared<State>()) {
  state_->server = &server;
  state_->cache = &cache;
  std::weak_ptr<State> weak = state_;
  server.set_subscribe_check([weak](const std::string& uri, ::mcp::RequestContext& ctx) {
    auto st = weak.lock();
    if (!st) return true;
    if (uri.compare(0, kPrefix.size(), kPrefix) != 0) return true;  // not a ref: not ours
    std::string ref = uri.substr(kPrefix.size());
    if (!is_ref_id(ref)) return false;
    const CallIdentity who = identity_of(ctx);
    const Actor actor = derive_actor(who);
    try {
      const std::string tenant = store_of(*st->cache, who);
      EntryPtr e = st->store(tenant).get(ref);
      if (!e || !st->cache->checker().allows(e->policy, Permission::kRead, actor, e->ns))
        return false;  // the same answer for missing and unreadable
      State::listen(st, tenant);
      st->remember(known_key(tenant, ref), State::Known{e->policy, e->ns, tenant, ref});
      return true;
    } catch (const std::exception&) {
      return false;
    }
  });
  server.add_metrics_source([weak](metrics::TextWriter& w) {
    if (auto st = weak.lock()) st->write_metrics(w);
  });
  State::listen(state_, "");
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
  {
    std::lock_guard lk(state_->listeners_mu);
    for (const auto& [tenant, id] : state_->listeners) state_->store(tenant).unsubscribe(id);
  }
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
