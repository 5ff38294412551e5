// The Redis Cluster router of RedisBackend (see redis_cluster_router.hpp).
#include "refcache/backends/redis_cluster_router.hpp"

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <thread>
#include <tuple>

#include "refcache/backends/redis_call.hpp"
#include "refcache/backends/redis_cluster.hpp"
#include "refcache/errors.hpp"

namespace refcache::redis_detail {

namespace {
// Appends every piece to `out` (no temporary strings).
void append_all(std::string& out, std::initializer_list<std::string_view> pieces) {
  for (auto p : pieces) out.append(p);
}
}  // namespace

ClusterRouter::Node::Node(RedisShared& shared, ClusterRouter& router, std::string h, int p)
    : host(std::move(h)),
      port(p),
      name(host + ":" + std::to_string(port)),
      pool(shared,
           RedisPool::Spec{
               .open =
                   [&shared, &router, h = host, p](Clock::time_point deadline, std::string& err) {
                     RedisOptions o = router.node_options(h, p);
                     auto s = RedisSocket::connect(o, shared.tls.get(), deadline);
                     err = handshake(*s, o, deadline);
                     return s;
                   },
               .label = "node " + host + ":" + std::to_string(port),
               .count_refusals = true,
               // The node may have failed: its replica may have taken over.
               .on_failure = [&router] { router.refresh_wanted_ = true; },
           }) {}

ClusterRouter::ClusterRouter(RedisShared& shared) : shared_(shared) {
  slot_map_.assign(kClusterSlots, nullptr);
}

RedisOptions ClusterRouter::node_options(const std::string& host, int port) const {
  RedisOptions o = shared_.opts;
  o.host = host;
  o.port = port;
  o.db = 0;
  return o;
}

ClusterRouter::NodePtr ClusterRouter::node_at(const std::string& host, int port) {
  std::string name = host + ":" + std::to_string(port);
  {
    refcache_sync::ReaderLock lock(topo_mu_);
    auto it = nodes_.find(name);
    if (it != nodes_.end()) return it->second;
  }
  refcache_sync::WriterLock lock(topo_mu_);
  auto& n = nodes_[name];
  if (!n) n = std::make_shared<Node>(shared_, *this, host, port);
  return n;
}

ClusterRouter::NodePtr ClusterRouter::node_for(int hslot) {
  if (refresh_wanted_.load(std::memory_order_relaxed) && refresh_wanted_.exchange(false)) {
    try {
      // Skipped (another thread refreshes, or one did just now): ask again later.
      if (!refresh(false)) refresh_wanted_ = true;
    } catch (const BackendUnavailable&) {
      // keep the map we have; the call below fails or succeeds on its own
    }
  }
  for (int pass = 0; pass < 2; ++pass) {
    {
      refcache_sync::ReaderLock lock(topo_mu_);
      if (hslot >= 0) {
        if (slot_map_[static_cast<std::size_t>(hslot)])
          return slot_map_[static_cast<std::size_t>(hslot)];
      } else {
        for (const auto& n : slot_map_)
          if (n) return n;
      }
    }
    if (pass == 0) refresh(true);
  }
  ++shared_.counters.errors;
  throw BackendUnavailable(shared_.message("no primary serves hash slot " + std::to_string(hslot) +
                                           " (cluster not fully covered)"));
}

bool ClusterRouter::acquire_refresh(bool force) {
  // A caller that only wants a fresher map does not wait for another thread's refresh
  // (which may be stuck connecting to a dead host); one that has no node for its slot
  // waits, within its own deadline.
  if (!force) return refresh_mu_.try_lock();
  auto until = Clock::now() + remaining(shared_.opts);
  while (!refresh_mu_.try_lock()) {
    if (Clock::now() >= until) {
      ++shared_.counters.errors;
      throw BackendUnavailable(
          shared_.message("no slot map yet (another thread is still asking the nodes)"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

bool ClusterRouter::refresh(bool force) {
  if (!acquire_refresh(force)) return false;
  try {
    bool done = refresh_locked(force);
    refresh_mu_.unlock();
    return done;
  } catch (...) {
    refresh_mu_.unlock();
    throw;
  }
}

bool ClusterRouter::refresh_locked(bool force) {
  auto now = Clock::now();
  if (!force && now - last_refresh_ < std::chrono::milliseconds(100)) return false;
  // Nodes that failed lately go last (a dead host may cost a whole connect_timeout).
  std::vector<std::pair<std::string, int>> candidates, failing;
  auto add = [&](const std::string& h, int p, bool failed) {
    for (const auto* list : {&candidates, &failing})
      for (const auto& c : *list)
        if (c.first == h && c.second == p) return;
    (failed ? failing : candidates).emplace_back(h, p);
  };
  {
    refcache_sync::ReaderLock lock(topo_mu_);
    for (const auto& n : slot_map_)
      if (n) add(n->host, n->port, n->pool.failing());
    for (const auto& [name, n] : nodes_) add(n->host, n->port, n->pool.failing());
  }
  const RedisOptions& opts = shared_.opts;
  for (const auto& seed : opts.cluster_nodes) add(seed.host, seed.port, false);
  candidates.insert(candidates.end(), failing.begin(), failing.end());
  std::string why;
  for (const auto& [host, port] : candidates) {
    RedisOptions o = node_options(host, port);
    auto left = remaining(opts);
    if (left.count() <= 0) left = std::chrono::milliseconds(1);
    auto deadline = Clock::now() + std::min(opts.connect_timeout, left);
    try {
      auto s = RedisSocket::connect(o, shared_.tls.get(), deadline);
      std::string err = handshake(*s, o, deadline);
      if (!err.empty()) {
        append_all(why, {" ", host, ":", std::to_string(port), ": ", err, ";"});
        if (err.rfind("authentication", 0) == 0) {
          // A wrong password is wrong on every node: say so at once.
          ++shared_.counters.errors;
          std::string what;
          append_all(what, {host, ":", std::to_string(port), ": ", err});
          throw BackendUnavailable(shared_.message(what));
        }
        continue;
      }
      Reply r = s->call({"CLUSTER", "SLOTS"}, deadline);
      if (r->type != REDIS_REPLY_ARRAY) {
        append_all(why,
                   {" ", host, ":", std::to_string(port), ": CLUSTER SLOTS: ",
                    r->type == REDIS_REPLY_ERROR ? reply_text(r.get()) : "unexpected reply", ";"});
        continue;
      }
      std::vector<std::tuple<int, int, std::string, int>> ranges;
      for (std::size_t i = 0; i < r->elements; ++i) {
        const redisReply* e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3) continue;
        const redisReply* primary = e->element[2];
        if (primary->type != REDIS_REPLY_ARRAY || primary->elements < 2) continue;
        std::string h = reply_text(primary->element[0]);
        if (h.empty() || h == "?") h = host;  // the node does not know its address
        ranges.emplace_back(static_cast<int>(reply_int(e->element[0])),
                            static_cast<int>(reply_int(e->element[1])), h,
                            static_cast<int>(reply_int(primary->element[1])));
      }
      if (ranges.empty()) {
        why += " " + host + ":" + std::to_string(port) + ": no slot is assigned;";
        continue;
      }
      std::vector<NodePtr> map(kClusterSlots);
      for (const auto& [lo, hi, h, p] : ranges) {
        NodePtr n = node_at(h, p);
        for (int k = std::max(lo, 0); k <= hi && k < kClusterSlots; ++k)
          map[static_cast<std::size_t>(k)] = n;
      }
      {
        refcache_sync::WriterLock lock(topo_mu_);
        slot_map_.swap(map);
      }
      last_refresh_ = Clock::now();
      return true;
    } catch (const TransportError& e) {
      why += std::string(" ") + e.what() + ";";
    }
  }
  last_refresh_ = Clock::now();
  ++shared_.counters.errors;
  throw BackendUnavailable(shared_.message("no cluster node answered CLUSTER SLOTS:" + why));
}

std::vector<Reply> ClusterRouter::send_to(Node& n, std::string_view bytes, std::size_t count) {
  require_time_left(shared_);
  return n.pool.send(bytes, count);
}

std::vector<Reply> ClusterRouter::send(int hslot, std::string_view bytes, std::size_t count) {
  NodePtr target = node_for(hslot);
  bool asking = false;
  std::chrono::milliseconds pause{5};
  std::string last;
  for (int hop = 0;; ++hop) {
    std::vector<Reply> replies;
    if (asking) {
      std::string with;
      format_command(with, {"ASKING"});
      with.append(bytes);
      replies = send_to(*target, with, count + 1);
      replies.erase(replies.begin());
    } else {
      replies = send_to(*target, bytes, count);
    }
    std::optional<Redirect> redirect;
    bool wait = false;
    for (const auto& r : replies) {
      if (r->type != REDIS_REPLY_ERROR) continue;
      std::string_view text(r->str, r->len);
      if ((redirect = parse_redirect(text))) {
        last = std::string(text);
        break;
      }
      // A script that touches a key of a slot in mid-migration which has already left
      // this node fails with "...non local key..." (before or after some of its writes;
      // our scripts are safe to run again): wait for the migration, as for TRYAGAIN.
      if (text.rfind("TRYAGAIN", 0) == 0 || text.rfind("CLUSTERDOWN", 0) == 0 ||
          text.find("non local key") != std::string_view::npos) {
        last = std::string(text);
        wait = true;
        break;
      }
    }
    if (!redirect && !wait) return replies;
    ++shared_.counters.redirections;
    if (hop >= 50 || remaining(shared_.opts).count() <= 0) {
      ++shared_.counters.errors;
      throw BackendUnavailable(
          shared_.message("hash slot " + std::to_string(hslot) + " still unavailable after " +
                          std::to_string(hop + 1) + " attempts (last reply: " + last + ")"));
    }
    if (redirect) {
      NodePtr to = node_at(redirect->host.empty() ? target->host : redirect->host, redirect->port);
      if (redirect->ask) {
        asking = true;
      } else {
        asking = false;
        refcache_sync::WriterLock lock(topo_mu_);
        slot_map_[static_cast<std::size_t>(redirect->slot)] = to;
        refresh_wanted_ = true;  // other slots probably moved as well
      }
      target = to;
      continue;
    }
    auto nap = std::min(pause, remaining(shared_.opts));
    std::this_thread::sleep_for(nap);
    pause = std::min(pause * 2, std::chrono::milliseconds(200));
    if (last.rfind("CLUSTERDOWN", 0) == 0) refresh_wanted_ = true;
    asking = false;
    target = node_for(hslot);
  }
}

int ClusterRouter::route_slot(const std::vector<std::string_view>& args) {
  if (args.size() < 2) return -1;
  if (args[0] == "EVALSHA" || args[0] == "EVAL") {
    if (args.size() < 4 || args[2] == "0") return -1;
    return key_hash_slot(args[3]);
  }
  if (args[0] == "PUBLISH") return -1;
  return key_hash_slot(args[1]);
}

std::vector<Reply> ClusterRouter::per_group(const std::vector<std::vector<std::string>>& cmds,
                                            const std::function<Reply(std::size_t)>& redo) {
  std::vector<Reply> out(cmds.size());
  std::map<Node*, std::pair<NodePtr, std::vector<std::size_t>>> by_node;
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    std::vector<std::string_view> args(cmds[i].begin(), cmds[i].end());
    NodePtr n = node_for(route_slot(args));
    auto& e = by_node[n.get()];
    e.first = n;
    e.second.push_back(i);
  }
  for (auto& [raw, entry] : by_node) {
    std::string bytes;
    for (std::size_t i : entry.second) {
      std::vector<std::string_view> args(cmds[i].begin(), cmds[i].end());
      format_command(bytes, args);
    }
    std::vector<Reply> replies;
    try {
      if (!tl_background) shared_.counters.commands += entry.second.size();
      replies = send_to(*entry.first, bytes, entry.second.size());
    } catch (const BackendUnavailable&) {
      replies.clear();  // each one again below, through the normal path
    }
    for (std::size_t k = 0; k < entry.second.size(); ++k) {
      std::size_t i = entry.second[k];
      if (k < replies.size() && replies[k]->type != REDIS_REPLY_ERROR)
        out[i] = std::move(replies[k]);
      else
        out[i] = redo(i);
    }
  }
  return out;
}

std::vector<ClusterRouter::NodePtr> ClusterRouter::primaries() const {
  std::vector<NodePtr> out;
  refcache_sync::ReaderLock lock(topo_mu_);
  for (const auto& p : slot_map_)
    if (p && std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  return out;
}

std::unique_ptr<RedisSocket> ClusterRouter::open_primary(int hslot, Clock::time_point deadline,
                                                         std::string& err) {
  NodePtr n = node_for(hslot);
  RedisOptions o = node_options(n->host, n->port);
  auto s = RedisSocket::connect(o, shared_.tls.get(), deadline);
  err = handshake(*s, o, deadline);
  return s;
}

void ClusterRouter::close() {
  std::vector<NodePtr> nodes;
  {
    refcache_sync::ReaderLock lock(topo_mu_);
    for (const auto& [name, n] : nodes_) nodes.push_back(n);
  }
  for (auto& n : nodes) n->pool.close();
}

}  // namespace refcache::redis_detail
