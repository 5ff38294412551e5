// The Redis Cluster router of RedisBackend (private): which primary serves which hash slot,
// a connection pool per node, and the redirections (docs/backends.md, "Redis Cluster").
//
// The slot map names the primary of each of the 16384 hash slots, read with CLUSTER SLOTS
// from any node that answers (known primaries first, then the other known nodes, then the
// seeds; nodes that failed lately last). Every command goes to the primary of its first
// key's slot (redis_cluster.hpp), on that node's own RedisPool, so a dead primary does not
// slow the calls that go elsewhere.
//   - MOVED: that slot is re-pointed at once, a refresh of the whole map is asked for, and
//     the command goes to the named node.
//   - ASK (a slot in mid-migration): ASKING and the command go to the named node in one
//     write; the map is not changed.
//   - TRYAGAIN, CLUSTERDOWN and a script's "...non local key..." error: the command did not
//     run (or a script our scripts allow to run again was cut short); a short wait (5 ms
//     doubling to 200 ms) and the command again.
//   - A node that fails: the call fails (BackendUnavailable) and the map is read again
//     before the next command.
// Nothing waits past the call's deadline (redis_call.hpp); after 50 hops a call gives up.
//
// The router owns its nodes, each with its pool; a call holds its node's NodePtr while it
// uses it, so a node the slot map no longer names stays valid until the call is done. It
// refers to the backend's RedisShared, which outlives it.
//
// Thread-safety: every method may be called from any thread. topo_mu_ (a reader-writer
// lock: every command reads the map) guards the nodes and the slot map; refresh_mu_ lets
// one thread at a time read the map from the cluster, and guards when it last did. Lock
// order: refresh_mu_, then topo_mu_, then a node's pool (redis_pool.hpp).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "refcache/backends/redis_connection.hpp"
#include "refcache/backends/redis_pool.hpp"
#include "refcache/backends/redis_shared.hpp"
#include "thread_annotations.hpp"

namespace refcache::redis_detail {

class ClusterRouter {
 public:
  struct Node {
    Node(RedisShared& shared, ClusterRouter& router, std::string host, int port);
    const std::string host;
    const int port;
    const std::string name;  // "host:port"
    RedisPool pool;
  };
  using NodePtr = std::shared_ptr<Node>;

  // Connects to nothing yet: refresh() reads the slot map.
  explicit ClusterRouter(RedisShared& shared);
  ClusterRouter(const ClusterRouter&) = delete;
  ClusterRouter& operator=(const ClusterRouter&) = delete;

  // Reads the slot map from the cluster and installs it. Unless `force`, does nothing
  // (returns false) when another thread is reading it or it was read in the last 100 ms;
  // with `force`, waits for another thread's refresh within the call's deadline. Throws
  // BackendUnavailable naming every node asked when none answers, at once when one refuses
  // the password.
  bool refresh(bool force) EXCLUDES(refresh_mu_, topo_mu_);

  // The primary serving `hslot` (-1: any primary), reading the map first when a failure or
  // a redirection asked for it. Throws BackendUnavailable.
  NodePtr node_for(int hslot) EXCLUDES(topo_mu_);

  // Sends `bytes` (`count` formatted commands) to the primary of `hslot` (-1: any), following
  // redirections (above), and returns the replies. Throws BackendUnavailable.
  std::vector<Reply> send(int hslot, std::string_view bytes, std::size_t count);

  // Sends `bytes` to node `n` as they are. Throws BackendUnavailable.
  std::vector<Reply> send_to(Node& n, std::string_view bytes, std::size_t count);

  // One command per ref group, pipelined per node (one round trip per primary); a command
  // whose reply is an error (MOVED, ASK, TRYAGAIN, NOSCRIPT, ...) or whose node failed is
  // run again alone through `redo`, which handles it or throws.
  std::vector<Reply> per_group(const std::vector<std::vector<std::string>>& cmds,
                               const std::function<Reply(std::size_t)>& redo);

  // The hash slot a command goes to: its first key (for EVAL/EVALSHA the first of KEYS);
  // -1 for a command without a key.
  static int route_slot(const std::vector<std::string_view>& args);

  // The primaries of the slot map, each once, in slot order.
  std::vector<NodePtr> primaries() const EXCLUDES(topo_mu_);

  // A socket of its own to the primary serving `hslot` (the events stream's reader, whose
  // blocking reads must not hold a pooled connection). Throws BackendUnavailable or
  // TransportError; a failed handshake is reported in `err`.
  std::unique_ptr<RedisSocket> open_primary(int hslot, Clock::time_point deadline, std::string& err)
      EXCLUDES(topo_mu_);

  // Closes the connections of every node.
  void close() EXCLUDES(topo_mu_);

 private:
  // The node at host:port, created on first use.
  NodePtr node_at(const std::string& host, int port) EXCLUDES(topo_mu_);
  // The options of a connection to host:port.
  RedisOptions node_options(const std::string& host, int port) const;
  // Takes refresh_mu_: without `force` only if it is free, with `force` waiting for it
  // within the call's deadline (then throws BackendUnavailable). Polling, not a timed
  // mutex: ThreadSanitizer does not see pthread_mutex_clocklock, which std::timed_mutex uses.
  bool acquire_refresh(bool force) TRY_ACQUIRE(true, refresh_mu_);
  bool refresh_locked(bool force) REQUIRES(refresh_mu_) EXCLUDES(topo_mu_);

  RedisShared& shared_;

  mutable refcache_sync::SharedMutex topo_mu_;
  std::map<std::string, NodePtr> nodes_ GUARDED_BY(topo_mu_);  // by "host:port"
  // The primary of each hash slot (null: none known yet).
  std::vector<NodePtr> slot_map_ GUARDED_BY(topo_mu_);

  refcache_sync::Mutex refresh_mu_;
  Clock::time_point last_refresh_ GUARDED_BY(refresh_mu_){};
  // A failure or a redirection asks for the map to be read again before the next command.
  std::atomic<bool> refresh_wanted_{false};
};

}  // namespace refcache::redis_detail
