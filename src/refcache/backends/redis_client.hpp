// The commands of RedisBackend (private): each call's commands go, formatted in RESP, to
// the single server's pool (redis_pool.hpp) or through the cluster router to the primary
// of their first key's slot (redis_cluster_router.hpp). Scripts are sent as EVALSHA, and
// again as EVAL when the server does not know them yet (NOSCRIPT). Error replies become
// exceptions here (error_reply):
//   - READONLY (after a failover we talk to the old primary, now a replica): the pool's
//     connections are dropped, so that the next call finds the new primary, and the call
//     fails with BackendUnavailable;
//   - a refusal by the server's ACL: BackendError naming the user and the key prefix that
//     must be allowed (retrying cannot help, and the breaker does not count it);
//   - anything else: BackendError with the reply's text.
// Commands sent by public calls are counted (RedisCounters::commands), those of background
// work are not (redis_call.hpp, tl_background).
//
// Thread-safety: every method may be called from any thread; the client holds no state of
// its own, only references to the backend's parts (shared state, keys, pool or router),
// which outlive it.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "refcache/backends/redis_cluster_router.hpp"
#include "refcache/backends/redis_connection.hpp"
#include "refcache/backends/redis_keys.hpp"
#include "refcache/backends/redis_pool.hpp"
#include "refcache/backends/redis_scripts.hpp"
#include "refcache/backends/redis_shared.hpp"

namespace refcache::redis_detail {

class RedisClient {
 public:
  // Exactly one of `pool` (a single server) and `router` (a cluster) is given.
  RedisClient(RedisShared& shared, const RedisKeys& keys, RedisPool* pool, ClusterRouter* router)
      : shared_(shared), keys_(keys), pool_(pool), router_(router) {}

  // One command and its reply; an error reply is returned, not thrown. Throws
  // BackendUnavailable on a connection failure or timeout.
  Reply command(const std::vector<std::string_view>& args);
  // One command; an error reply is thrown (error_reply).
  Reply checked(const std::vector<std::string_view>& args);
  // MULTI, the commands, EXEC in one write, every reply checked; returns EXEC's array.
  Reply transaction(const std::vector<std::vector<std::string_view>>& cmds);
  // Runs a script; an error reply is thrown.
  Reply eval(const Script& s, const std::vector<std::string_view>& keys,
             const std::vector<std::string_view>& argv);
  // Cluster: the same script run in every ref group (its keys and arguments made by `make`
  // from the group's prefix), pipelined per node.
  std::vector<Reply> eval_groups(
      const Script& script,
      const std::function<void(const std::string& prefix, std::vector<std::string>& keys,
                               std::vector<std::string>& argv)>& make);
  // Cluster: one command per ref group, pipelined per node (ClusterRouter::per_group), each
  // reply checked.
  std::vector<Reply> checked_groups(const std::vector<std::vector<std::string>>& cmds);
  // Cluster: the (binding key, ref) pairs a script returned after its `head` fixed elements
  // are deleted where the binding still names the ref. Failures are ignored: such a binding
  // is not trusted by find_by_key (the ref's binding set decides) and expires with its
  // entry. Does nothing on a single node.
  void drop_foreign(const redisReply* r, std::size_t head);

  // Throws the exception an error reply stands for (above); `what` names the command.
  [[noreturn]] void error_reply(const redisReply* r, std::string_view what);

 private:
  // Sends `bytes` (`n` commands); `hslot`: their hash slot in cluster mode (-1: any node).
  std::vector<Reply> send(std::string_view bytes, std::size_t n, int hslot);

  RedisShared& shared_;
  const RedisKeys& keys_;
  RedisPool* const pool_;
  ClusterRouter* const router_;
};

}  // namespace refcache::redis_detail
