// RedisBackend (see include/refcache/redis_backend.hpp): the Backend contract on Redis. This
// file holds what each operation does with the keys and scripts; the parts it runs on are
// private headers beside it:
//   redis_shared.hpp          options, address, TLS context and counters of one backend
//   redis_keys.hpp            the key layout (single node and cluster ref groups)
//   redis_scripts.*           the Lua scripts
//   redis_compression.*       zstd-compressed entry blobs
//   redis_call.hpp            one public call: deadline, retries, circuit_breaker.*
//   redis_client.*            commands, scripts and error replies
//   redis_pool.*              the connections to one server
//   redis_sentinel.*          the primary named by the sentinels, and the failover watch
//   redis_cluster_router.*    Redis Cluster: slot map, a pool per node, redirections
//   redis_events.*            the background thread: other processes' changes, expiry sweep
//   redis_connection.*        sockets, RESP, TLS; redis_cluster.hpp: hash slots, MOVED/ASK
#include "refcache/redis_backend.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <csignal>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include <boost/json/array.hpp>

#include "jsonio/json_text.hpp"
#include "refcache/backends/circuit_breaker.hpp"
#include "refcache/backends/redis_call.hpp"
#include "refcache/backends/redis_client.hpp"
#include "refcache/backends/redis_cluster.hpp"
#include "refcache/backends/redis_cluster_router.hpp"
#include "refcache/backends/redis_compression.hpp"
#include "refcache/backends/redis_connection.hpp"
#include "refcache/backends/redis_events.hpp"
#include "refcache/backends/redis_keys.hpp"
#include "refcache/backends/redis_pool.hpp"
#include "refcache/backends/redis_scripts.hpp"
#include "refcache/backends/redis_sentinel.hpp"
#include "refcache/backends/redis_shared.hpp"
#include "refcache/entry_codec.hpp"
#include "refcache/errors.hpp"

namespace refcache {

namespace {

using redis_detail::Clock;
using redis_detail::Reply;
using redis_detail::reply_int;
using redis_detail::reply_text;

using redis_detail::bind_script;
using redis_detail::claim_script;
using redis_detail::clear_script;
using redis_detail::find_bound_script;
using redis_detail::find_script;
using redis_detail::index_script;
using redis_detail::layout_script;
using redis_detail::list_script;
using redis_detail::release_script;
using redis_detail::remove_script;
using redis_detail::set_script;
using redis_detail::sweep_script;

std::string ms_text(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(std::llround(v)));
  if (ec != std::errc()) return "0";
  return std::string(buf, end);
}

void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    if (sigaction(SIGPIPE, nullptr, &sa) == 0 && sa.sa_handler == SIG_DFL) {
      sa.sa_handler = SIG_IGN;
      sigaction(SIGPIPE, &sa, nullptr);
    }
  });
}

std::string random_origin() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int word = 0; word < 2; ++word)
    for (unsigned v = rd(), i = 0; i < 8; ++i, v >>= 4) out += kHex[v & 0xfU];
  return out;
}

// The number of ref groups in cluster mode (0 on a single node). Throws InvalidArgument for
// options a cluster cannot have.
int cluster_groups(const RedisOptions& o) {
  if (o.cluster_nodes.empty()) return 0;
  if (o.cluster_groups < 1 || o.cluster_groups > redis_detail::kClusterSlots)
    throw InvalidArgument("RedisOptions::cluster_groups must be within 1 .. 16384 (is " +
                          std::to_string(o.cluster_groups) + ")");
  if (o.db != 0)
    throw InvalidArgument("Redis Cluster has database 0 only (RedisOptions::db is " +
                          std::to_string(o.db) + ")");
  return o.cluster_groups;
}

// The events stream's MAXLEN, as text. Throws InvalidArgument for 0.
std::string stream_cap(const RedisOptions& o) {
  if (o.events_stream_maxlen == 0)
    throw InvalidArgument("RedisOptions::events_stream_maxlen must be at least 1");
  return std::to_string(o.events_stream_maxlen);
}

}  // namespace

// One backend's parts, wired together. A single server (or the primary the sentinels name)
// is reached through `pool`; a cluster through `router`; exactly one of the two exists.
// The background threads (events, and the sentinel watch) run between start() and stop().
class RedisBackend::Impl {
 public:
  Impl(RedisOptions o, RedisBackend* owner)
      : shared(std::move(o)),
        clock(shared.opts.clock ? shared.opts.clock : &unix_now),
        keys(shared.opts.key_prefix, cluster_groups(shared.opts)),
        origin(random_origin()),
        stream(shared.opts.share_events ? keys.events_stream() : std::string()),
        cap(stream_cap(shared.opts)),
        channel(stream.empty() || keys.cluster() ? std::string() : cap + ":" + stream),
        breaker(shared.opts.breaker_threshold, shared.opts.breaker_open_time),
        sentinel(shared.opts.sentinels.empty()
                     ? nullptr
                     : std::make_unique<redis_detail::RedisSentinel>(shared)),
        pool(keys.cluster()
                 ? nullptr
                 : std::make_unique<redis_detail::RedisPool>(
                       shared,
                       redis_detail::RedisPool::Spec{
                           .open = [this](Clock::time_point deadline,
                                          std::string& err) { return open_server(deadline, err); },
                       })),
        router(keys.cluster() ? std::make_unique<redis_detail::ClusterRouter>(shared) : nullptr),
        client(shared, keys, pool.get(), router.get()),
        events(shared, stream, origin,
               redis_detail::RedisEvents::Hooks{
                   .open =
                       [this](Clock::time_point deadline, std::string& err) {
                         // A cluster: the primary of the stream's slot.
                         return router ? router->open_primary(redis_detail::key_hash_slot(stream),
                                                              deadline, err)
                                       : open_server(deadline, err);
                       },
                   .deliver = [owner](const ChangeEvent& e) { owner->emit(e); },
                   .sweep =
                       [owner] {
                         // The sweeps' commands are not counted by commands_sent().
                         redis_detail::tl_background = true;
                         owner->sweep_expired();
                       },
                   .check_topology = keys.cluster()
                                         ? std::function<void()>([this] { router->refresh(false); })
                                         : std::function<void()>(),
               }) {
    ignore_sigpipe_once();
  }

  ~Impl() {
    stop();
    close();
  }

  // Starts the background threads.
  void start() {
    if (sentinel) {
      // Our primary moved: every connection is dropped, so that the next call asks the
      // sentinels again instead of writing to the old primary until it is demoted.
      sentinel->start_watch([this] {
        if (pool) pool->fail_all("the server became a replica (failover)");
        events.resubscribe();
      });
    }
    events.start();
  }

  // Stops the background threads and waits for them.
  void stop() {
    events.request_stop();
    if (sentinel) sentinel->request_stop();
    events.stop();
    if (sentinel) sentinel->stop_watch();
  }

  void close() {
    shared.closed = true;
    if (pool) pool->close();
    if (router) router->close();
  }

  // An authenticated socket to the server (with sentinels: to the primary they name).
  std::unique_ptr<redis_detail::RedisSocket> open_server(Clock::time_point deadline,
                                                         std::string& err) {
    if (sentinel) return sentinel->open_primary(deadline, err);
    auto s = redis_detail::RedisSocket::connect(shared.opts, shared.tls.get(), deadline);
    err = redis_detail::handshake(*s, shared.opts, deadline);
    return s;
  }

  redis_detail::RedisCounters& counters() { return shared.counters; }

  // Runs one public call (redis_call.hpp).
  template <class F>
  auto run(bool idempotent, F&& f) -> decltype(f()) {
    return redis_detail::run_call(shared, breaker, idempotent, std::forward<F>(f));
  }

  // Cluster: every server sharing the cluster must group refs the same way, or they would
  // look for an entry under another hash tag. The first one records its layout in
  // "<prefix>cluster-layout"; a server with another cluster_groups is refused at start-up.
  void check_layout() {
    std::string want = "groups=" + std::to_string(keys.groups().size());
    std::string key = keys.layout_key();
    std::string have =
        run(true, [&] { return reply_text(client.eval(layout_script(), {key}, {want}).get()); });
    if (have != want)
      throw InvalidArgument(shared.message("the cache under '" + keys.prefix() +
                                           "' in this cluster uses " + have + " (key " + key +
                                           "), this backend " + want +
                                           ": every server sharing it must have the same "
                                           "cluster_groups"));
  }

  // Milliseconds until `expires_at` (at least 1, so that an already expired entry is
  // stored for a moment and invisible meanwhile).
  std::string ttl_ms(double expires_at) const {
    double ms = std::ceil((expires_at - clock()) * 1000.0);
    if (ms < 1) ms = 1;
    return ms_text(ms);
  }

  // A position in a namespace index: a ref id and its score, as Redis writes it ("inf" for
  // no expiry). Ordered as the index orders its members: by score, then by ref id.
  struct IndexPos {
    std::string score;
    std::string ref;
    double value() const { return std::strtod(score.c_str(), nullptr); }
    bool operator<(const IndexPos& o) const {
      double a = value(), b = o.value();
      return a < b || (a == b && ref < o.ref);
    }
  };
  // Listing cursors of one namespace are "<score> <ref id>" (the last position returned).
  static IndexPos parse_cursor(std::string_view cursor) {
    auto space = cursor.find(' ');
    if (space == std::string_view::npos || space == 0 || space + 1 == cursor.size())
      throw InvalidArgument("invalid listing cursor");
    IndexPos pos{std::string(cursor.substr(0, space)), std::string(cursor.substr(space + 1))};
    char* end = nullptr;
    const double score = std::strtod(pos.score.c_str(), &end);
    if (end != pos.score.c_str() + pos.score.size() || std::isnan(score))
      throw InvalidArgument("invalid listing cursor");
    return pos;
  }

  ListPage list_ns(std::string_view ns, std::string_view cursor, std::size_t limit) {
    std::string now = ms_text(std::floor(clock() * 1000.0));
    IndexPos after = cursor.empty() ? IndexPos{} : parse_cursor(cursor);
    // One group's answer: its positions in index order, and whether it has more.
    auto positions_of = [](const redisReply* r, std::vector<IndexPos>& out) {
      if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) return false;
      for (size_t i = 0; i + 2 < r->elements; i += 2)
        out.push_back({reply_text(r->element[i + 1]), reply_text(r->element[i])});
      return reply_int(r->element[r->elements - 1]) == 1;
    };
    auto page_from = [](std::vector<IndexPos>& got, bool more) {
      ListPage page;
      for (auto& p : got) page.ref_ids.push_back(p.ref);
      if (more && !got.empty()) page.next_cursor = got.back().score + " " + got.back().ref;
      return page;
    };
    std::string ns_s(ns);
    if (!keys.cluster()) {
      std::string k1 = keys.idx_key(ns, keys.prefix()), k2 = keys.namespaces_key(keys.prefix());
      Reply r =
          client.eval(list_script(), {k1, k2},
                      {now, after.score, after.ref, std::to_string(limit), keys.prefix(), ns_s});
      std::vector<IndexPos> got;
      bool more = positions_of(r.get(), got);
      return page_from(got, more);
    }
    // Cluster: the namespace's index is sharded over the ref groups. Each round asks every
    // group (pipelined per node) for a small batch of its members after the cursor: about
    // twice the page's share per group, since ref ids spread evenly over the groups. The
    // union, in index order, is complete up to the smallest last position of the groups that
    // have more (beyond it a group may hold members it did not send); the page takes from
    // there, and another round follows from its last position when it is not full yet. So a
    // page reads about 2·limit members, not cluster_groups·limit.
    std::vector<IndexPos> page;
    bool more = false;
    const std::size_t groups = keys.groups().size();
    for (int round = 0; round < 1000; ++round) {
      std::size_t want = limit - page.size();
      std::size_t per = std::max<std::size_t>(1, (2 * want + groups - 1) / groups);
      std::string per_s = std::to_string(per);
      auto replies =
          client.eval_groups(list_script(), [&](const std::string& p, auto& ks, auto& argv) {
            ks = {keys.idx_key(ns_s, p), keys.namespaces_key(p)};
            argv = {now, after.score, after.ref, per_s, p, ns_s};
          });
      std::vector<IndexPos> got;
      std::optional<IndexPos> cutoff;  // smallest last position of a group that has more
      for (const auto& r : replies) {
        std::vector<IndexPos> one;
        if (positions_of(r.get(), one) && !one.empty() && (!cutoff || one.back() < *cutoff))
          cutoff = one.back();
        got.insert(got.end(), std::make_move_iterator(one.begin()),
                   std::make_move_iterator(one.end()));
      }
      std::sort(got.begin(), got.end());
      if (cutoff) got.erase(std::upper_bound(got.begin(), got.end(), *cutoff), got.end());
      more = cutoff.has_value();
      if (got.size() > want) {
        got.resize(want);
        more = true;
      }
      page.insert(page.end(), std::make_move_iterator(got.begin()),
                  std::make_move_iterator(got.end()));
      if (!more || page.size() >= limit || page.empty()) break;
      after = page.back();
    }
    return page_from(page, more);
  }

  std::vector<std::string> namespaces() {
    std::vector<std::string> out;
    auto collect = [&](const redisReply* r) {
      for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; ++i)
        out.push_back(reply_text(r->element[i]));
    };
    if (!keys.cluster()) {
      collect(client.checked({"SMEMBERS", keys.namespaces_key(keys.prefix())}).get());
    } else {
      std::vector<std::vector<std::string>> cmds;
      for (const auto& p : keys.groups()) cmds.push_back({"SMEMBERS", keys.namespaces_key(p)});
      auto replies = client.checked_groups(cmds);
      for (const auto& r : replies) collect(r.get());
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  redis_detail::RedisShared shared;
  const ClockFn clock;
  const redis_detail::RedisKeys keys;
  const std::string origin;  // identifies this object's own events in the stream
  const std::string stream;  // the events stream's key; "" when events are not shared
  const std::string cap;     // its MAXLEN
  // The scripts' event argument, "<cap>:<stream key>": "" when events are not shared or on a
  // cluster, whose stream has a slot of its own (the client appends the events, record()).
  const std::string channel;

  // Appends `e` to the events stream after the change (the changes that no script makes,
  // and every change on a cluster): a process that dies in between loses the event, never
  // records one for a change that did not happen.
  void record(const ChangeEvent& e) {
    if (stream.empty()) return;
    boost::json::array msg{origin, std::string(to_string(e.kind)), e.ref_id, e.ns};
    client.checked({"XADD", stream, "MAXLEN", "~", cap, "*", "e", jsonio::to_string(msg)});
  }
  // record() on a cluster, where the scripts cannot append.
  void record_after_script(const ChangeEvent& e) {
    if (keys.cluster()) record(e);
  }
  redis_detail::CircuitBreaker breaker;
  std::unique_ptr<redis_detail::RedisSentinel> sentinel;  // with RedisOptions::sentinels
  std::unique_ptr<redis_detail::RedisPool> pool;          // a single server
  std::unique_ptr<redis_detail::ClusterRouter> router;    // cluster mode
  redis_detail::RedisClient client;
  redis_detail::RedisEvents events;
};

RedisBackend::RedisBackend(RedisOptions options)
    : impl_(std::make_unique<Impl>(std::move(options), this)) {
  if (impl_->shared.opts.connect_on_start) {
    if (impl_->router) {
      impl_->router->refresh(true);  // reaches a seed, authenticates, reads the slot map
      impl_->check_layout();
    } else {
      impl_->pool->connect_now();  // connects and authenticates
    }
  }
  impl_->start();
}

RedisBackend::~RedisBackend() {
  impl_->stop();
  impl_->close();
}

const std::string& RedisBackend::address() const {
  return impl_->shared.address;
}

EntryPtr RedisBackend::get(std::string_view ref_id) {
  auto& im = *impl_;
  return im.run(true, [&]() -> EntryPtr {
    ++im.counters().gets;
    std::string k = im.keys.entry_key(ref_id);
    Reply r = im.client.checked({"GET", k});
    if (r->type != REDIS_REPLY_STRING) {
      ++im.counters().misses;
      return nullptr;
    }
    CacheEntry e;
    try {
      e = redis_detail::unpack_entry(ref_id, std::string_view(r->str, r->len));
    } catch (const CorruptEntry&) {
      ++im.counters().errors;
      throw;
    }
    if (e.is_expired(im.clock())) {
      ++im.counters().misses;
      return nullptr;
    }
    ++im.counters().hits;
    return std::make_shared<const CacheEntry>(std::move(e));
  });
}

std::optional<std::string> RedisBackend::set(std::string_view ref_id, EntryPtr entry,
                                             const KeyBinding* binding) {
  auto& im = *impl_;
  return im.run(false, [&]() -> std::optional<std::string> {
    if (!entry) throw InvalidArgument("RedisBackend::set: null entry");
    std::string blob = redis_detail::pack_blob(encode_entry_blob(*entry), entry->ns,
                                               im.shared.opts.compress_min_bytes,
                                               im.shared.opts.compression_level);
    std::string ttl = entry->expires_at ? im.ttl_ms(*entry->expires_at) : std::string();
    // The index orders by expiry; an entry that never expires sorts last.
    std::string score =
        entry->expires_at ? ms_text(std::ceil(*entry->expires_at * 1000.0)) : "+inf";
    // The key prefix, or the ref's group prefix (cluster).
    const std::string& gp = im.keys.pfx(ref_id);
    std::string k1 = im.keys.entry_key(ref_id), k2 = im.keys.idx_key(entry->ns, gp),
                k3 = im.keys.namespaces_key(gp);
    if (!binding && !im.channel.empty()) {
      // Shared events on a single node: the script writes the event with the change.
      Reply r = im.client.eval(
          set_script(), {k1, k2, k3},
          {blob, ttl, ref_id, entry->ns, score, im.keys.prefix(), im.channel, im.origin});
      ++im.counters().sets;
      if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && reply_int(r->element[0]) == 1)
        emit({ChangeKind::kUpdated, std::string(ref_id), entry->ns});
      return std::nullopt;
    }
    if (!binding) {
      // Entry and index in one MULTI/EXEC (cheaper for Redis than a script).
      std::vector<std::string_view> set_cmd{"SET", k1, blob};
      if (!ttl.empty()) {
        set_cmd.emplace_back("PX");
        set_cmd.emplace_back(ttl);
      }
      set_cmd.emplace_back("GET");
      Reply exec =
          im.client.transaction({set_cmd, {"ZADD", k2, score, ref_id}, {"SADD", k3, entry->ns}});
      ++im.counters().sets;
      const redisReply* old = exec->element[0];
      if (old->type == REDIS_REPLY_STRING) {
        // An overwrite: leave the old namespace's index if the namespace changed.
        try {
          CacheEntry before =
              redis_detail::unpack_entry(ref_id, std::string_view(old->str, old->len));
          if (before.ns != entry->ns) {
            im.client.checked({"ZREM", im.keys.idx_key(before.ns, gp), ref_id});
          }
        } catch (const CorruptEntry&) {
          // The old value was unreadable; listings drop stale members by themselves.
        }
        im.record({ChangeKind::kUpdated, std::string(ref_id), entry->ns});
        emit({ChangeKind::kUpdated, std::string(ref_id), entry->ns});
      }
      return std::nullopt;
    }
    std::string k4 = im.keys.binding_key(binding->ns, binding->key),
                k5 = im.keys.refbind_key(ref_id);
    std::optional<std::string> displaced;
    if (!im.keys.cluster()) {
      Reply r = im.client.eval(
          set_script(), {k1, k2, k3, k4, k5},
          {blob, ttl, ref_id, entry->ns, score, im.keys.prefix(), im.channel, im.origin});
      ++im.counters().sets;
      if (r->type == REDIS_REPLY_ARRAY && r->elements >= 3) {
        if (reply_int(r->element[0]) == 1)
          emit({ChangeKind::kUpdated, std::string(ref_id), entry->ns});
        std::string d = reply_text(r->element[1]);
        if (!d.empty()) {
          ++im.counters().deletes;
          emit({ChangeKind::kDeleted, d, reply_text(r->element[2])});
          displaced = std::move(d);
        }
      }
      return displaced;
    }
    // Cluster: the binding key has its own slot. 1. the entry, its index and its binding set
    // (naming the binding) in the ref's group; 2. the binding itself, which says which ref it
    // named before; 3. that ref removed if it was still bound to the key. A reader trusts a
    // binding only if the ref's binding set names it (find_by_key), so the steps in between
    // and a failure half-way never show a wrong ref.
    Reply r = im.client.eval(set_script(), {k1, k2, k3, k5},
                             {blob, ttl, ref_id, entry->ns, score, gp, im.channel, im.origin, k4});
    ++im.counters().sets;
    bool overwrote =
        r->type == REDIS_REPLY_ARRAY && r->elements >= 3 && reply_int(r->element[0]) == 1;
    Reply b = im.client.eval(bind_script(), {k4}, {ref_id, ttl});
    im.client.drop_foreign(r.get(), 3);
    if (overwrote) {
      im.record({ChangeKind::kUpdated, std::string(ref_id), entry->ns});
      emit({ChangeKind::kUpdated, std::string(ref_id), entry->ns});
    }
    std::string prev = reply_text(b.get());
    if (!prev.empty() && prev != ref_id) {
      std::string pk = im.keys.entry_key(prev);
      Reply d = im.client.eval(remove_script(), {pk},
                               {im.keys.pfx(prev), prev, im.channel, im.origin, k4});
      if (d->type == REDIS_REPLY_ARRAY && d->elements >= 2 && reply_int(d->element[0]) == 1) {
        ++im.counters().deletes;
        im.record({ChangeKind::kDeleted, prev, reply_text(d->element[1])});
        emit({ChangeKind::kDeleted, prev, reply_text(d->element[1])});
        displaced = prev;
      }
      im.client.drop_foreign(d.get(), 2);
    }
    return displaced;
  });
}

bool RedisBackend::remove(std::string_view ref_id) {
  auto& im = *impl_;
  return im.run(false, [&]() -> bool {
    std::string k = im.keys.entry_key(ref_id);
    Reply r =
        im.client.eval(remove_script(), {k}, {im.keys.pfx(ref_id), ref_id, im.channel, im.origin});
    im.client.drop_foreign(r.get(), 2);
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || reply_int(r->element[0]) != 1)
      return false;
    ++im.counters().deletes;
    ChangeEvent e{ChangeKind::kDeleted, std::string(ref_id), reply_text(r->element[1])};
    im.record_after_script(e);
    emit(e);
    return true;
  });
}

bool RedisBackend::exists(std::string_view ref_id) {
  auto& im = *impl_;
  return im.run(true, [&]() -> bool {
    std::string k = im.keys.entry_key(ref_id);
    Reply r = im.client.checked({"GET", k});
    if (r->type != REDIS_REPLY_STRING) return false;
    CacheEntry e = redis_detail::unpack_entry(ref_id, std::string_view(r->str, r->len));
    return !e.is_expired(im.clock());
  });
}

std::size_t RedisBackend::clear(std::optional<std::string_view> ns) {
  auto& im = *impl_;
  return im.run(false, [&]() -> std::size_t {
    std::size_t n = 0;
    auto clear_one = [&](std::string_view one) {
      if (im.keys.cluster()) {
        std::string ns_s(one);
        auto keys_of = [&](const std::string& p) {
          return std::vector<std::string>{im.keys.idx_key(ns_s, p), im.keys.namespaces_key(p)};
        };
        auto replies = im.client.eval_groups(clear_script(),
                                             [&](const std::string& p, auto& keys, auto& argv) {
                                               keys = keys_of(p);
                                               argv = {p, "1000", ns_s};
                                             });
        for (std::size_t g = 0; g < replies.size(); ++g) {
          Reply r = std::move(replies[g]);
          const std::string& p = im.keys.groups()[g];
          auto ks = keys_of(p);
          for (int round = 0; round < 1000; ++round) {
            if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) break;
            n += static_cast<std::size_t>(reply_int(r->element[0]));
            im.client.drop_foreign(r.get(), 2);
            if (reply_int(r->element[1]) == 0) break;
            r = im.client.eval(clear_script(), {ks[0], ks[1]}, {p, "1000", ns_s});
          }
        }
        return;
      }
      std::string k1 = im.keys.idx_key(one, im.keys.prefix()),
                  k2 = im.keys.namespaces_key(im.keys.prefix());
      // Bounded: each round removes up to 1000 members; a namespace that keeps growing
      // meanwhile is cleared as far as 1000 rounds go.
      for (int round = 0; round < 1000; ++round) {
        Reply r = im.client.eval(clear_script(), {k1, k2}, {im.keys.prefix(), "1000", one});
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) break;
        n += static_cast<std::size_t>(reply_int(r->element[0]));
        if (reply_int(r->element[1]) == 0) break;
      }
    };
    if (ns) {
      clear_one(*ns);
    } else {
      for (const auto& one : im.namespaces()) clear_one(one);
      // Entries that carry no index (written by Python servers): one SCAN over the entries.
      // (Python servers have no cluster support: in cluster mode every entry is indexed.)
      std::string cursor = "0";
      std::string match = im.keys.prefix() + "entry:*";
      while (!im.keys.cluster()) {
        Reply r = im.client.checked({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) break;
        cursor = reply_text(r->element[0]);
        const redisReply* batch = r->element[1];
        for (size_t i = 0; i < batch->elements; ++i) {
          std::string key = reply_text(batch->element[i]);
          std::string ref = key.substr(im.keys.prefix().size() + 6);
          Reply d = im.client.eval(remove_script(), {key}, {im.keys.prefix(), ref, "", im.origin});
          if (d->type == REDIS_REPLY_ARRAY && d->elements >= 2 && reply_int(d->element[0]) == 1)
            ++n;
        }
        if (cursor == "0") break;
      }
    }
    im.counters().deletes += n;
    std::string cleared_ns = ns ? std::string(*ns) : std::string();
    im.record({ChangeKind::kCleared, "", cleared_ns});
    emit({ChangeKind::kCleared, "", cleared_ns});
    return n;
  });
}

ListPage RedisBackend::list(std::optional<std::string_view> ns, std::string_view cursor,
                            std::size_t limit) {
  auto& im = *impl_;
  return im.run(true, [&]() -> ListPage {
    if (limit == 0) limit = 1;
    if (ns) return im.list_ns(*ns, cursor, limit);
    // All namespaces, in namespace order; the cursor is "<namespace>\n<its cursor>", or
    // "<namespace>\n\xff" once that namespace is done.
    std::string cur_ns, cur_ref;
    if (!cursor.empty()) {
      auto nl = cursor.find('\n');
      if (nl == std::string_view::npos) throw InvalidArgument("invalid listing cursor");
      cur_ns = std::string(cursor.substr(0, nl));
      cur_ref = std::string(cursor.substr(nl + 1));
    }
    ListPage out;
    auto all = im.namespaces();
    for (const auto& one : all) {
      if (!cursor.empty() && (one < cur_ns || (one == cur_ns && cur_ref == "\xff"))) continue;
      std::string_view from = (!cursor.empty() && one == cur_ns) ? std::string_view(cur_ref) : "";
      ListPage p = im.list_ns(one, from, limit - out.ref_ids.size());
      out.ref_ids.insert(out.ref_ids.end(), p.ref_ids.begin(), p.ref_ids.end());
      if (!p.next_cursor.empty()) {
        out.next_cursor = one + "\n" + p.next_cursor;
        return out;
      }
      if (out.ref_ids.size() >= limit) {
        // This namespace is done; continue after it next time.
        out.next_cursor = one + "\n\xff";
        return out;
      }
    }
    return out;
  });
}

std::optional<std::string> RedisBackend::find_by_key(std::string_view ns, std::string_view key) {
  auto& im = *impl_;
  return im.run(true, [&]() -> std::optional<std::string> {
    std::string k = im.keys.binding_key(ns, key);
    if (im.keys.cluster()) {
      // The binding, then (in the ref's slot) the ref's binding set and entry: a binding the
      // set does not name is stale (its entry was removed or rebound) and deleted.
      Reply b = im.client.checked({"GET", k});
      if (b->type != REDIS_REPLY_STRING) return std::nullopt;
      std::string ref = reply_text(b.get());
      std::string rb = im.keys.refbind_key(ref), ek = im.keys.entry_key(ref);
      Reply e = im.client.eval(find_bound_script(), {rb, ek}, {k});
      if (e->type != REDIS_REPLY_STRING) {
        im.client.eval(release_script(), {k}, {ref});
        return std::nullopt;
      }
      CacheEntry entry = redis_detail::unpack_entry(ref, std::string_view(e->str, e->len));
      if (entry.is_expired(im.clock())) return std::nullopt;
      return ref;
    }
    Reply r = im.client.eval(find_script(), {k}, {im.keys.prefix()});
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return std::nullopt;
    std::string ref = reply_text(r->element[0]);
    CacheEntry e = redis_detail::unpack_entry(ref, reply_text(r->element[1]));
    if (e.is_expired(im.clock())) return std::nullopt;
    return ref;
  });
}

std::optional<KeyBinding> RedisBackend::binding_of(std::string_view ref_id) {
  auto& im = *impl_;
  return im.run(true, [&]() -> std::optional<KeyBinding> {
    Reply members = im.client.checked({"SMEMBERS", im.keys.refbind_key(ref_id)});
    if (members->type != REDIS_REPLY_ARRAY) return std::nullopt;
    const std::string head = im.keys.prefix() + "bind:";
    for (std::size_t i = 0; i < members->elements; ++i) {
      std::string k = reply_text(members->element[i]);
      // "<P>bind:<n>:<ns>:<key>", n = the namespace's length in bytes.
      if (k.compare(0, head.size(), head) != 0) continue;
      std::size_t colon = k.find(':', head.size());
      if (colon == std::string::npos) continue;
      std::size_t n = 0;
      for (std::size_t j = head.size(); j < colon; ++j) {
        if (k[j] < '0' || k[j] > '9') return std::nullopt;
        n = n * 10 + static_cast<std::size_t>(k[j] - '0');
      }
      if (colon + 1 + n + 1 > k.size() || k[colon + 1 + n] != ':') continue;
      // A member whose binding names another ref by now is stale.
      Reply bound = im.client.checked({"GET", k});
      if (bound->type != REDIS_REPLY_STRING || reply_text(bound.get()) != ref_id) continue;
      return KeyBinding{k.substr(colon + 1, n), k.substr(colon + 2 + n)};
    }
    return std::nullopt;
  });
}

bool RedisBackend::try_claim(std::string_view name, std::string_view owner,
                             std::chrono::milliseconds ttl) {
  auto& im = *impl_;
  return im.run(false, [&]() -> bool {
    std::string k = im.keys.claim_key(name);
    std::string t = std::to_string(std::max<long long>(1, ttl.count()));
    Reply r = im.client.eval(claim_script(), {k}, {owner, t});
    return reply_int(r.get()) == 1;
  });
}

void RedisBackend::release_claim(std::string_view name, std::string_view owner) {
  auto& im = *impl_;
  return im.run(false, [&]() {
    std::string k = im.keys.claim_key(name);
    im.client.eval(release_script(), {k}, {owner});
  });
}

std::optional<std::string> RedisBackend::claim_holder(std::string_view name) {
  auto& im = *impl_;
  return im.run(true, [&]() -> std::optional<std::string> {
    Reply r = im.client.checked({"GET", im.keys.claim_key(name)});  // PX expiry: only a live claim
    if (r->type != REDIS_REPLY_STRING) return std::nullopt;
    return std::string(r->str, r->len);
  });
}

void RedisBackend::put_task(const TaskRecord& task) {
  auto& im = *impl_;
  return im.run(false, [&]() {
    std::string k = im.keys.task_key(task.ref_id);
    std::string text = jsonio::to_string(to_json(task));
    if (task.expires_at) {
      std::string ttl = im.ttl_ms(*task.expires_at);
      im.client.checked({"SET", k, text, "PX", ttl});
    } else {
      im.client.checked({"SET", k, text});
    }
  });
}

std::optional<TaskRecord> RedisBackend::get_task(std::string_view ref_id) {
  auto& im = *impl_;
  return im.run(true, [&]() -> std::optional<TaskRecord> {
    std::string k = im.keys.task_key(ref_id);
    Reply r = im.client.checked({"GET", k});
    if (r->type != REDIS_REPLY_STRING) return std::nullopt;
    std::error_code ec;
    jsonio::ParseLimits limits;
    limits.max_depth = kMaxStoredJsonDepth;
    auto v = jsonio::parse(std::string_view(r->str, r->len), ec, limits);
    if (ec) throw CorruptEntry("corrupt task record '" + std::string(ref_id) + "': not JSON");
    TaskRecord t;
    try {
      t = task_from_json(v);
    } catch (const std::exception& e) {
      throw CorruptEntry("corrupt task record '" + std::string(ref_id) + "': " + e.what());
    }
    if (t.expires_at && im.clock() >= *t.expires_at) return std::nullopt;
    return t;
  });
}

bool RedisBackend::remove_task(std::string_view ref_id) {
  auto& im = *impl_;
  return im.run(false, [&]() -> bool {
    std::string k = im.keys.task_key(ref_id);
    return reply_int(im.client.checked({"DEL", k}).get()) > 0;
  });
}

Health RedisBackend::health() {
  try {
    auto& im = *impl_;
    if (im.router) {
      // Cluster: every primary of the slot map answers PING.
      std::size_t n = 0;
      im.run(true, [&] {
        im.router->node_for(-1);  // a slot map (refreshed if a failure asked for it)
        auto primaries = im.router->primaries();
        std::string ping;
        redis_detail::format_command(ping, {"PING"});
        for (const auto& p : primaries) {
          Reply r = std::move(im.router->send_to(*p, ping, 1).front());
          if (r->type == REDIS_REPLY_ERROR) im.client.error_reply(r.get(), "PING " + p->name);
        }
        n = primaries.size();
      });
      return {true, "ok (" + std::to_string(n) + " primaries)"};
    }
    im.run(true, [&] { im.client.checked({"PING"}); });
    return {true, "ok"};
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
}

BackendStats RedisBackend::stats() const {
  auto& im = *impl_;
  BackendStats s;
  s.gets = im.counters().gets;
  s.hits = im.counters().hits;
  s.misses = im.counters().misses;
  s.sets = im.counters().sets;
  s.deletes = im.counters().deletes;
  s.errors = im.counters().errors;
  s.reconnects = im.counters().reconnects;
  s.expirations = im.counters().expirations;
  s.circuit_state = static_cast<int>(im.breaker.state());
  return s;
}

void RedisBackend::close() {
  impl_->stop();
  impl_->close();
}

std::size_t RedisBackend::sweep_expired() {
  auto& im = *impl_;
  std::vector<ChangeEvent> events;
  im.run(false, [&] {
    std::string now = ms_text(std::floor(im.clock() * 1000.0));
    std::vector<Reply> replies;
    if (im.keys.cluster()) {
      replies =
          im.client.eval_groups(sweep_script(), [&](const std::string& p, auto& keys, auto& argv) {
            keys = {im.keys.namespaces_key(p)};
            argv = {p, now, "1000", im.channel, im.origin};
          });
    } else {
      std::string k = im.keys.namespaces_key(im.keys.prefix());
      replies.push_back(im.client.eval(sweep_script(), {k},
                                       {im.keys.prefix(), now, "1000", im.channel, im.origin}));
    }
    for (const auto& r : replies)
      for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        events.push_back(
            {ChangeKind::kExpired, reply_text(r->element[i]), reply_text(r->element[i + 1])});
  });
  im.counters().expirations += events.size();
  for (const auto& e : events) {
    try {
      im.record_after_script(e);
    } catch (const std::exception&) {
      // Redis unreachable: the entry is gone; other processes' watches find it.
    }
    emit(e);
  }
  return events.size();
}

bool RedisBackend::sharing_events() const {
  return impl_->events.subscribed();
}

std::size_t RedisBackend::reindex(bool dry_run) {
  auto& im = *impl_;
  return im.run(false, [&]() -> std::size_t {
    std::size_t added = 0;
    // Python servers have no cluster support: in cluster mode every entry is indexed.
    if (im.keys.cluster()) return added;
    std::string cursor = "0";
    std::string match = im.keys.prefix() + "entry:*";
    do {
      Reply r = im.client.checked({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) break;
      cursor = reply_text(r->element[0]);
      const redisReply* batch = r->element[1];
      for (size_t i = 0; i < batch->elements; ++i) {
        std::string key = reply_text(batch->element[i]);
        std::string ref = key.substr(im.keys.prefix().size() + 6);
        Reply a =
            im.client.eval(index_script(), {key}, {im.keys.prefix(), ref, dry_run ? "1" : ""});
        added += static_cast<std::size_t>(reply_int(a.get()));
      }
    } while (cursor != "0");
    return added;
  });
}

std::string RedisBackend::connected_to() const {
  auto& im = *impl_;
  if (im.router) {
    std::vector<std::string> names;
    for (const auto& n : im.router->primaries())
      if (std::find(names.begin(), names.end(), n->name) == names.end()) names.push_back(n->name);
    std::sort(names.begin(), names.end());
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
    return out;
  }
  const RedisOptions& o = im.shared.opts;
  std::string primary = im.sentinel ? im.sentinel->primary() : std::string();
  if (o.sentinels.empty() && primary.empty()) return o.host + ":" + std::to_string(o.port);
  return primary;
}

std::uint64_t RedisBackend::commands_sent() const {
  return impl_->shared.counters.commands;
}

std::uint64_t RedisBackend::cluster_redirections() const {
  return impl_->shared.counters.redirections;
}

}  // namespace refcache
